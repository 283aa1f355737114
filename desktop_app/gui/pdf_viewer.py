"""The in-app PDF viewer: opens at the cited page with the passage's words highlighted."""

from __future__ import annotations

from PySide6.QtCore import QPointF
from PySide6.QtPdf import QPdfDocument, QPdfSearchModel
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtWidgets import QDialog, QLabel, QVBoxLayout, QWidget

__all__ = ["PdfViewer"]


class PdfViewer(QDialog):
    def __init__(self, path: str, page: int | None, phrase: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pdfViewer")
        self.setWindowTitle(path)
        self.resize(820, 900)
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
        self.view.pageNavigator().jump(self.page, QPointF(), 0)
        if phrase:
            self.search.setSearchString(phrase)
            self.search.countChanged.connect(self._on_search_count_changed)

    def _on_search_count_changed(self) -> None:
        """Select the first hit on the cited page (or any page) so it is shown highlighted."""
        for row in range(self.search.rowCount()):
            link = self.search.resultAtIndex(row)
            if link.page() == self.page:
                self.view.setCurrentSearchResultIndex(row)
                return
        if self.search.rowCount():
            self.view.setCurrentSearchResultIndex(0)
