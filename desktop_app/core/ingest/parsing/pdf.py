"""PDF text through pdfium, page by page, with Tesseract OCR for pages that have no text layer.

pdfium reads a text layer about 100 times faster than pdfminer (unstructured's "fast" strategy)
and needs no layout-model packages; paragraph and list structure is recovered from the lines.
"""

from __future__ import annotations

import io
import logging
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from desktop_app.core.errors import DocumentError
from desktop_app.core.ingest.parsing.base import ParsedDocument, ocr_available
from desktop_app.core.records import Element

__all__ = ["NO_TEXT_LAYER", "ocr_available", "parse_image", "parse_pdf", "parse_pdf_pages"]

log = logging.getLogger(__name__)

_BULLET = re.compile(r"^\s*(?:[•◦▪●‣∙·\-–*]|\(?\d{1,3}[.)]|\(?[a-z][.)])\s+")
_MIN_PAGE_CHARS = 16  # fewer characters than this and a page counts as having no text layer
_OCR_SCALE = 300 / 72  # render at 300 dpi
_OCR_TIMEOUT_S = 300  # a page Tesseract cannot read in five minutes fails its file


NO_TEXT_LAYER = ("no text layer and OCR unavailable: install Tesseract (package tesseract-ocr) "
                 "to index scanned PDFs")


def parse_pdf(path: Path) -> ParsedDocument:
    document, _ = parse_pdf_pages(path, 0, None)
    return document


def parse_pdf_pages(path: Path, first: int, count: int | None) -> tuple[ParsedDocument, int]:
    """Pages `first` to `first + count` (all from `first` when `count` is None), numbered as
    in the whole document, and the document's page count. Read whole, a PDF without a single
    page of text fails when OCR is unavailable; a stretch of pages without text is empty."""
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise DocumentError("password-protected PDF: remove the password to index it") from exc
        raise DocumentError("file is corrupted: not a readable PDF") from exc
    try:
        total = len(document)
        numbers = range(first, total if count is None else min(total, first + count))
        texts = [_page_text(document, i) for i in numbers]
        missing = [n for n, t in enumerate(texts) if len(t.strip()) < _MIN_PAGE_CHARS]
        if missing and ocr_available():
            for n in missing:
                texts[n] = _ocr_page(document, numbers[n])
        elif len(missing) == len(texts) == total:
            raise DocumentError(NO_TEXT_LAYER)
        elements = [e for page, text in zip(numbers, texts, strict=True)
                    for e in _page_elements(text, page + 1)]
        return ParsedDocument(elements, pages=len(texts)), total
    finally:
        document.close()


def parse_image(path: Path) -> ParsedDocument:
    """A scan or photo of pages, read by Tesseract (each page of a multi-page TIFF)."""
    if not ocr_available():
        raise DocumentError("an image: its text is read when Tesseract is installed "
                            "(Debian/Ubuntu: sudo apt install tesseract-ocr)")
    pages = _tesseract_text([str(path), "stdout"], b"", "the image").split("\f")
    pages = [p for p in pages if p.strip()] or [""]
    elements = [e for n, text in enumerate(pages, start=1) for e in _page_elements(text, n)]
    if not elements:
        raise DocumentError("no text found in the image")
    return ParsedDocument(elements, pages=len(pages))


def _page_text(document: Any, index: int) -> str:
    page = document[index]
    try:
        textpage = page.get_textpage()
        try:
            return str(textpage.get_text_range()).replace("\r\n", "\n").replace("\r", "\n")
        finally:
            textpage.close()
    finally:
        page.close()


def _ocr_page(document: Any, index: int) -> str:
    page = document[index]
    try:
        image = page.render(scale=_OCR_SCALE).to_pil()
    finally:
        page.close()
    png = io.BytesIO()
    image.save(png, format="PNG")
    return _tesseract_text(["stdin", "stdout"], png.getvalue(), f"page {index + 1}")


def _tesseract_text(arguments: list[str], stdin: bytes, what: str) -> str:
    """Tesseract's text for an image given as a file or on stdin."""
    # Tesseract's own threads fight each other on small machines: one is ~8x faster. The limit
    # goes to its process only: in ours it would also hold llama.cpp to one thread.
    try:
        result = subprocess.run([_tesseract(), *arguments], input=stdin,
                                capture_output=True, timeout=_OCR_TIMEOUT_S, check=False,
                                env={**os.environ, "OMP_THREAD_LIMIT": "1"})
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DocumentError(f"OCR failed on {what}: {exc}") from exc
    if result.returncode != 0:
        reason = result.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no reason"]
        raise DocumentError(f"OCR failed on {what}: {reason[0]}")
    return result.stdout.decode("utf-8", errors="replace")


def _tesseract() -> str:
    return shutil.which("tesseract") or "tesseract"


def _page_elements(text: str, page: int) -> list[Element]:
    """Paragraphs and list items from a page's lines; hyphenated line breaks are joined.

    A bulleted line starts a list item; the lines after it continue the item until one ends
    a sentence, since pdfium rarely reports the blank line that would end it.
    """
    elements: list[Element] = []
    lines: list[str] = []
    kind = "NarrativeText"

    def flush(next_kind: str = "NarrativeText") -> None:
        nonlocal kind
        if lines:
            elements.append(Element(_join_lines(lines), kind, page))
            lines.clear()
        kind = next_kind

    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            flush()
        elif _BULLET.match(line):
            flush("ListItem")
            lines.append(line)
        else:
            if kind == "ListItem" and lines and lines[-1].endswith((".", "!", "?", ":")):
                flush()
            lines.append(line)
    flush()
    return elements


def _join_lines(lines: list[str]) -> str:
    out = lines[0]
    for line in lines[1:]:
        if out.endswith("-") and line[:1].islower():
            out = out[:-1] + line
        else:
            out = f"{out} {line}"
    return out
