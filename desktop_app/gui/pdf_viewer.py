"""The in-app PDF viewer: opens at the cited page with the whole cited passage highlighted.

Pages are rendered by Qt PDF (pdfium) and the passage's span is painted over them: its words
are found in the page's own text, and the page's character boxes for that run of text are
filled, so the highlight follows the lines wherever they break.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPixmap, QResizeEvent
from PySide6.QtPdf import QPdfDocument
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from .widgets import fit_to_screen, named, named_button

__all__ = ["PdfViewer", "find_span"]

_WORD = re.compile(r"\S+")
_FIRST_WORDS = 6  # words of the passage that must be found together to place it
_RESYNC = 4  # words either side tried when the page's text and the passage's part ways
HIGHLIGHT = QColor(255, 213, 0, 110)  # a marker's yellow, the page showing through


@dataclass(frozen=True, slots=True)
class Span:
    start: int  # character offsets in the page's text
    end: int
    whole: bool  # False: the passage goes on past this page (or could not all be followed)


def _key(word: str) -> str:
    return "".join(c for c in word.lower() if c.isalnum())


def find_span(page_text: str, passage: str) -> Span | None:
    """Where `passage` stands in a page's text, by its words (whitespace, line breaks and
    punctuation may differ between the two extractions); None when its opening words are
    not on the page."""
    words = [(m.start(), m.end(), _key(m.group())) for m in _WORD.finditer(page_text)]
    wanted = [k for k in (_key(w) for w in passage.split()) if k]
    page_keys = [w[2] for w in words]
    if not wanted or not words:
        return None
    head = wanted[:_FIRST_WORDS]
    start = next((i for i in range(len(page_keys) - len(head) + 1)
                  if page_keys[i:i + len(head)] == head), None)
    if start is None:
        return None
    i, j = start, 0  # page word, passage word
    last = start
    while i < len(page_keys) and j < len(wanted):
        if page_keys[i] == wanted[j]:
            last, i, j = i, i + 1, j + 1
            continue
        step = _resync(page_keys, i, wanted, j)
        if step is None:
            break
        i, j = i + step[0], j + step[1]
    return Span(words[start][0], words[last][1], j >= len(wanted))


def _resync(page: list[str], i: int, wanted: list[str], j: int) -> tuple[int, int] | None:
    """The smallest skip on either side after which the two texts agree again."""
    for total in range(1, 2 * _RESYNC + 1):
        for skip_page in range(total + 1):
            skip_passage = total - skip_page
            if skip_page > _RESYNC or skip_passage > _RESYNC:
                continue
            a, b = i + skip_page, j + skip_passage
            if a < len(page) and b < len(wanted) and page[a] == wanted[b]:
                return skip_page, skip_passage
    return None


class PdfViewer(QDialog):
    """One page at a time, fitted to the width, with Previous and Next; opened at the cited
    page with `passage` highlighted (on the next page too when it runs on)."""

    def __init__(self, path: str, page: int | None, passage: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pdfViewer")
        self.setWindowTitle(path)
        fit_to_screen(self, 820, 900)  # never taller than the screen it opens on
        self.document = QPdfDocument(self)
        self.document.load(path)
        self.passage = passage
        self.page = min(max(0, (page or 1) - 1), max(0, self.document.pageCount() - 1))
        self.cited_page = self.page
        self.spans: dict[int, Span] = self._find_passage()
        self._scrolled = False
        self.image = named(QLabel(), "pdfPage", "The page")
        self.image.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.page_area = QScrollArea()
        self.page_area.setWidget(self.image)
        self.page_area.setWidgetResizable(True)
        self.where = named(QLabel(), "pdfWhere", "Which page, and where the passage is")
        self.previous = named_button("◀ Previous", "pdfPrevious", "The page before")
        self.next = named_button("Next ▶", "pdfNext", "The page after")
        self.previous.clicked.connect(lambda: self.show_page(self.page - 1))
        self.next.clicked.connect(lambda: self.show_page(self.page + 1))
        bar = QHBoxLayout()
        bar.addWidget(self.previous)
        bar.addWidget(self.where, 1)
        bar.addWidget(self.next)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.page_area, 1)
        self._resize_timer = QTimer(self, singleShot=True, interval=80)
        self._resize_timer.timeout.connect(self._render)
        self.show_page(self.page)

    def _find_passage(self) -> dict[int, Span]:
        """The passage's span on the cited page, and on the following pages while it runs on."""
        spans: dict[int, Span] = {}
        remaining = self.passage
        for page in range(self.cited_page, min(self.cited_page + 3, self.document.pageCount())):
            text = self.document.getAllText(page).text()
            span = find_span(text, remaining)
            if span is None:
                break
            spans[page] = span
            if span.whole:
                break
            taken = len(_WORD.findall(text[span.start:span.end]))
            remaining = " ".join(remaining.split()[taken:])
        return spans

    def show_page(self, page: int) -> None:
        count = self.document.pageCount()
        self.page = min(max(0, page), max(0, count - 1))
        self.previous.setEnabled(self.page > 0)
        self.next.setEnabled(self.page < count - 1)
        if self.page in self.spans:
            note = "the cited passage is highlighted"
        elif self.page == self.cited_page and self.passage:
            note = "the cited passage's words were not found on this page's text"
        else:
            note = ""
        self.where.setText(f"Page {self.page + 1} of {count}" + (f" · {note}" if note else ""))
        self._render()

    def highlighted(self) -> int:
        """How many character boxes of this page are highlighted (for tests)."""
        span = self.spans.get(self.page)
        if span is None:
            return 0
        return len(self.document.getSelectionAtIndex(self.page, span.start,
                                                     span.end - span.start).bounds())

    def _render(self) -> None:
        size = self.document.pagePointSize(self.page)
        if size.width() <= 0:
            return
        width = max(200, self.page_area.viewport().width() - 24)
        scale = width / size.width()
        pixels = QSize(int(size.width() * scale), int(size.height() * scale))
        image = self.document.render(self.page, pixels)
        span = self.spans.get(self.page)
        if span is not None:
            painter = QPainter(image)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(HIGHLIGHT)
            painter.scale(scale, scale)  # the boxes are in page points
            selection = self.document.getSelectionAtIndex(self.page, span.start,
                                                          span.end - span.start)
            for polygon in selection.bounds():
                painter.drawPolygon(polygon)
            painter.end()
            if self.page == self.cited_page and not self._scrolled:
                self._scrolled = True  # once: later renders keep where the person scrolled
                top = selection.boundingRectangle().top() * scale
                QTimer.singleShot(0, lambda: self.page_area.verticalScrollBar().setValue(
                    max(0, int(top) - 80)))
        self.image.setPixmap(QPixmap.fromImage(image))

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._resize_timer.start()  # render once the size settles
