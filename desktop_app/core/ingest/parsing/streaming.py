"""Large plain-text files read a block at a time, so memory stays bounded whatever their size.

A 100 MB log or text export read whole (and handed to unstructured) grew past 1.4 GB and
showed no progress for twenty minutes. Read in parts instead, each part's elements are
chunked, embedded and staged before the next part is read, and the file's progress is the
bytes read so far.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Iterator
from pathlib import Path

from desktop_app.core.errors import DocumentError
from desktop_app.core.ingest.parsing.base import ParsedDocument, ParsedPart
from desktop_app.core.records import Element

__all__ = ["PART_CHARS", "STREAM_FROM_BYTES", "TEXT_EXTENSIONS", "in_parts", "stream_text"]

STREAM_FROM_BYTES = 4_000_000  # smaller files are parsed whole, with the format's own parser
# Plain-text formats read a block at a time when large (unstructured holds the whole text,
# several times over).
TEXT_EXTENSIONS = frozenset({".txt", ".text", ".log", ".md", ".markdown", ".rst", ".org", ".csv",
                             ".tsv"})
PART_CHARS = 1_000_000  # text per part: about a thousand passages
_BLOCK_BYTES = 1 << 20
_MAX_PARAGRAPH = 4000  # characters; longer runs without a blank line are cut at line ends
_TABULAR = {".csv", ".tsv"}
_MARKDOWN = {".md", ".markdown"}


def in_parts(
    parse: Callable[[Path], ParsedDocument], path: Path, streamed: frozenset[str],
    encoding: str | None,
) -> Iterator[ParsedPart]:
    """A document in parts: a large file of a `streamed` format is read a block at a time
    (decoded as `encoding`, or detected from its first block when None); any other file is
    parsed whole by `parse` and comes as one part."""
    size = path.stat().st_size if path.is_file() else 0
    if path.suffix.lower() in streamed and size >= STREAM_FROM_BYTES:
        yield from stream_text(path, encoding)
        return
    parsed = parse(path)
    yield ParsedPart(parsed.elements, size, parsed.pages)


def stream_text(path: Path, encoding: str | None = None) -> Iterator[ParsedPart]:
    """Paragraphs of a text file, in parts of about PART_CHARS characters; a form feed (\\f)
    starts a new page. Raises DocumentError when `encoding` is given and the bytes are not in
    it (the plain-text parser's "not valid UTF-8")."""
    kind = "Table" if path.suffix.lower() in _TABULAR else "NarrativeText"
    markdown = path.suffix.lower() in _MARKDOWN
    page, paged, buffer, read = 1, _has_form_feed(path), "", 0
    with path.open("rb") as handle:
        decoder = _Decoder(handle.read(64_000), encoding)
        handle.seek(0)
        while block := handle.read(_BLOCK_BYTES):
            read += len(block)
            buffer += decoder.decode(block)
            if len(buffer) < PART_CHARS:
                continue
            cut = _paragraph_end(buffer)
            elements, page = _elements(buffer[:cut], page, paged, kind, markdown)
            buffer = buffer[cut:]
            # Bytes of the file behind this part (the rest of the buffer is not in it yet).
            yield ParsedPart(elements, read - len(buffer.encode("utf-8", "replace")),
                             page if paged else None)
        buffer += decoder.decode(b"", final=True)
    elements, page = _elements(buffer, page, paged, kind, markdown)
    yield ParsedPart(elements, read, page if paged else None)


def _has_form_feed(path: Path) -> bool:
    """Whether the file has page breaks, so that its first page is numbered as well (one
    quick pass over the bytes: no encoding puts 0x0C inside another character)."""
    with path.open("rb") as handle:
        return any(b"\f" in block for block in iter(lambda: handle.read(_BLOCK_BYTES), b""))


class _Decoder:
    """Bytes to text a block at a time. With a fixed encoding, bytes outside it are an error.
    Otherwise the encoding is detected in the first block; a file that looks like UTF-8 (or
    plain ASCII) there but is not, further on, goes on as Windows-1252 from that block: what
    Windows programs write, and what browsers read undeclared Latin text as. (Detection on
    the few odd bytes of one block is a guess: it took "für 20 €" for DOS code page 775.)"""

    def __init__(self, sample: bytes, encoding: str | None) -> None:
        self._fixed = encoding is not None
        name = encoding or _detect(sample)
        self._decoder = codecs.getincrementaldecoder(name)(errors="strict")

    def decode(self, block: bytes, final: bool = False) -> str:
        try:
            return self._decoder.decode(block, final=final)
        except UnicodeDecodeError as exc:
            if self._fixed:
                raise DocumentError(f"file is corrupted: not valid {exc.encoding.upper()} text") from exc
            pending = self._decoder.getstate()[0]  # the start of a character cut by the block
            self._decoder = codecs.getincrementaldecoder("cp1252")(errors="replace")
            return self._decoder.decode(pending + block, final=final)


def _detect(sample: bytes) -> str:
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    if best is None or best.encoding in ("ascii", "utf_8"):
        return "utf-8-sig"
    return best.encoding


def _paragraph_end(text: str) -> int:
    """Where to end a part: after its last blank line, else its last line, else anywhere."""
    for mark in ("\n\n", "\n", " "):
        at = text.rfind(mark, len(text) // 2)
        if at > 0:
            return at + len(mark)
    return len(text)


def _elements(text: str, page: int, paged: bool, kind: str, markdown: bool
              ) -> tuple[list[Element], int]:
    """Elements of a stretch of text that starts on `page`; the page it ends on. A file
    without page breaks (`paged` false) has no page numbers."""
    elements: list[Element] = []
    bodies = text.split("\f")
    for n, body in enumerate(bodies):
        for paragraph in body.split("\n\n"):
            for piece in _bounded(paragraph.strip()):
                heading = markdown and piece.startswith("#")
                elements.append(Element(piece, "Title" if heading else kind, page if paged else None))
        if n < len(bodies) - 1:
            page += 1
    return elements, page


def _bounded(paragraph: str) -> list[str]:
    """A paragraph as pieces of at most _MAX_PARAGRAPH characters, cut at line ends where
    there are any (logs and tables have no blank lines between their lines)."""
    if len(paragraph) <= _MAX_PARAGRAPH:
        return [paragraph] if paragraph else []
    pieces: list[str] = []
    while len(paragraph) > _MAX_PARAGRAPH:
        at = paragraph.rfind("\n", 0, _MAX_PARAGRAPH)
        at = at if at > 0 else paragraph.rfind(" ", 0, _MAX_PARAGRAPH)
        at = at if at > 0 else _MAX_PARAGRAPH
        pieces.append(paragraph[:at].strip())
        paragraph = paragraph[at:].strip()
    return [p for p in [*pieces, paragraph] if p]
