"""The in-app PDF viewer: opens at the cited page with the passage's words highlighted."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QTimer
from PySide6.QtGui import QShowEvent
from PySide6.QtPdf import QPdfDocument, QPdfSearchModel
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtWidgets import QDialog, QLabel, QVBoxLayout, QWidget

from .widgets import fit_to_screen

__all__ = ["PdfViewer"]


class PdfViewer(QDialog):
    def __init__(self, path: str, page: int | None, phrase: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pdfViewer")
        self.setWindowTitle(path)
        fit_to_screen(self, 820, 900)  # never taller than the screen it opens on
        self.document = QPdfDocument(self)
        self.document.load(path)
        self.view = QPdfView(self)
        self.view.setDocument(self.document)
        self.view.setPageMode(QPdfView.PageMode.MultiPage)
        self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        self.search = QPdfSearchModel(self)
        self.search.setDocument(self.document)
        self.view.setSearchModel(self.search)
        label = QLabel(f"Page {page}" if page else "")
        layout = QVBoxLayout(self)
        layout.addWidget(label)
        layout.addWidget(self.view, 1)
        self.page = max(0, (page or 1) - 1)
        if phrase:
            self.search.setSearchString(phrase)
            self.search.countChanged.connect(self._on_search_count_changed)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        # The view can only scroll once it is laid out: jump on the next turn of the loop.
        QTimer.singleShot(0, lambda: self.view.pageNavigator().jump(self.page, QPointF(), 0))

    def _on_search_count_changed(self) -> None:
        """Show the first hit on the cited page (else the first anywhere), highlighted."""
        rows = range(self.search.count())
        row = next((r for r in rows if self.search.resultAtIndex(r).page() == self.page), 0)
        if self.search.count():
            self.view.setCurrentSearchResultIndex(row)
            link = self.search.resultAtIndex(row)
            QTimer.singleShot(0, lambda: self.view.pageNavigator().jump(link))
