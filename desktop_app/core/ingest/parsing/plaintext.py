"""A dependency-free parser for plain text; the fast fake for tests of the indexing logic."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from desktop_app.core.errors import DocumentError
from desktop_app.core.ingest.parsing.base import ParsedDocument, ParsedPart, check_readable
from desktop_app.core.ingest.parsing.streaming import in_parts
from desktop_app.core.records import Element

if TYPE_CHECKING:
    from desktop_app.core.ingest.chunking import ChunkRecipe

__all__ = ["PlainTextParser"]


class PlainTextParser:
    """Paragraphs of UTF-8 text files; a form feed (\\f) starts a new page."""

    extensions = frozenset({".txt", ".md"})

    def warm_up(self) -> None:
        return None

    def supports(self, path: Path) -> bool:
        return path.suffix.lower() in self.extensions

    def parse(self, path: Path) -> ParsedDocument:
        check_readable(path, self.extensions)
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise DocumentError("file is corrupted: not valid UTF-8 text") from exc
        pages = text.split("\f")
        elements = [
            Element(paragraph.strip(), "NarrativeText", page if len(pages) > 1 else None)
            for page, body in enumerate(pages, start=1)
            for paragraph in body.split("\n\n")
            if paragraph.strip()
        ]
        return ParsedDocument(elements, len(pages) if len(pages) > 1 else None)

    def parts(self, path: Path) -> Iterator[ParsedPart]:
        return in_parts(self.parse, path, self.extensions, "utf-8")

    def read_ahead(self, paths: Sequence[Path], recipe: ChunkRecipe | None = None) -> None:
        return None  # reads in this process, when asked
