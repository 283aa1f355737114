"""The Parser protocol and the checks every parser shares."""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from desktop_app.core.errors import DocumentError
from desktop_app.core.records import Chunk, Element

if TYPE_CHECKING:
    from desktop_app.core.ingest.chunking import ChunkRecipe

__all__ = ["IMAGE_EXTENSIONS", "SUPPORTED_EXTENSIONS", "ParsedDocument", "ParsedPart", "Parser",
           "check_readable", "readable_extensions", "unsupported_reason"]

SUPPORTED_EXTENSIONS = frozenset({
    ".pdf", ".docx", ".pptx", ".xlsx", ".xls", ".html", ".htm", ".xhtml", ".md", ".markdown",
    ".txt", ".text", ".log", ".csv", ".tsv", ".eml", ".msg", ".epub", ".odt", ".rtf", ".rst",
    ".org", ".json", ".xml",
})


# Scans and photos of pages: their text is read by OCR when Tesseract is installed.
IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"})
_NO_OCR = ("an image: its text is read when Tesseract is installed (Debian/Ubuntu: sudo apt "
           "install tesseract-ocr)")

# What to do with the formats people ask about most.
FORMAT_HINTS = {
    ".doc": "unsupported format .doc (legacy Word): save it as .docx",
    ".ppt": "unsupported format .ppt (legacy PowerPoint): save it as .pptx",
    **{suffix: _NO_OCR for suffix in IMAGE_EXTENSIONS},
}


def ocr_available() -> bool:
    return shutil.which("tesseract") is not None


def readable_extensions() -> frozenset[str]:
    """The formats this machine can index: images too where Tesseract is installed."""
    return SUPPORTED_EXTENSIONS | IMAGE_EXTENSIONS if ocr_available() else SUPPORTED_EXTENSIONS


def unsupported_reason(path: str | Path) -> str:
    """Why a file was not indexed for its format, with what to do where there is something."""
    suffix = Path(path).suffix.lower()
    return FORMAT_HINTS.get(suffix, f"unsupported format {suffix or '(no extension)'}")


@dataclass(frozen=True, slots=True)
class ParsedDocument:
    elements: list[Element]
    pages: int | None = None  # pages, slides or sheets, when the format has them


@dataclass(frozen=True, slots=True)
class ParsedPart:
    """A stretch of a document, in reading order, and how far into the file it reaches."""

    elements: list[Element]
    bytes_read: int  # of the file, up to the end of this part
    pages: int | None = None  # pages (or sheets) so far, when the format has them
    # Cut by the reading process when it was given a ChunkRecipe (see chunking.rebase).
    chunks: list[Chunk] | None = None


class Parser(Protocol):
    """Reads one file into elements.

    `parse` raises DocumentError with a message a person understands ("password-protected PDF",
    "file is corrupted", ...) and never anything else for a bad file. `parts` yields the same
    document in parts whose size is bounded whatever the file's (large plain-text files), or
    as one part; it raises what `parse` raises, possibly after some parts. `warm_up` loads
    heavy libraries; it is idempotent and called before the first parse. `read_ahead` is a
    hint: these files will be asked for next, in this order (it replaces the previous hint;
    an empty one lets go of whatever was read ahead), and, with a recipe, their parts are to
    come cut into chunks; a parser that reads in this process ignores it.
    """

    def warm_up(self) -> None: ...

    def supports(self, path: Path) -> bool: ...

    def parse(self, path: Path) -> ParsedDocument: ...

    def parts(self, path: Path) -> Iterator[ParsedPart]: ...

    def read_ahead(self, paths: Sequence[Path], recipe: ChunkRecipe | None = None) -> None: ...


def check_readable(path: Path, supported: frozenset[str]) -> None:
    """The failures that need no parser: missing, unreadable, empty, unsupported."""
    if not path.exists():
        raise DocumentError("file not found")
    if not path.is_file():
        raise DocumentError("not a regular file")
    if path.suffix.lower() not in supported:
        raise DocumentError(unsupported_reason(path))
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            handle.read(1)
    except OSError as exc:
        raise DocumentError(f"file cannot be read: {exc.strerror or exc}") from exc
    if size == 0:
        raise DocumentError("file is empty")
