"""The window's side panels: workspaces and their documents, and the sources of an answer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core import DocumentRecord, DocumentStatus, Source

from .rendering import passage_html
from .widgets import named, named_button

__all__ = ["SourcesPanel", "WorkspacePanel"]


class WorkspacePanel(QWidget):
    """Workspaces on top, the current workspace's documents below."""

    workspace_selected = Signal(str)
    create_requested = Signal()
    rename_requested = Signal(str)
    delete_requested = Signal(str)
    remove_documents_requested = Signal(list)
    pin_documents_requested = Signal(list)  # pins the selected documents, or unpins them
    reindex_requested = Signal()
    open_document_requested = Signal(str)
    show_in_folder_requested = Signal(str)
    reindex_documents_requested = Signal(list)
    settings_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace_list = named(QListWidget(), "workspaceList", "Workspaces")
        self.document_list = named(QListWidget(), "documentList", "Documents")
        self.document_list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.document_list.setWordWrap(True)
        new = named_button("New", "newWorkspaceButton", "Create a workspace")
        rename = named_button("Rename", "renameWorkspaceButton", "Rename the workspace")
        delete = named_button("Delete", "deleteWorkspaceButton", "Delete the workspace")
        own = named_button("Settings", "workspaceSettingsButton",
                           "This workspace's model, passages, answer length and instructions")
        remove = named_button("Remove", "removeDocumentsButton", "Remove the selected documents")
        reindex = named_button("Re-index", "reindexButton", "Rebuild this workspace's index")
        pin = named_button("Pin", "pinDocumentsButton",
                           "Pin (or unpin) the selected documents: always given to the model")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("<b>Workspaces</b>"))
        layout.addWidget(self.workspace_list, 1)
        row = QHBoxLayout()
        for b in (new, rename, delete, own):
            row.addWidget(b)
        layout.addLayout(row)
        self.documents_label = QLabel("<b>Documents</b>")
        layout.addWidget(self.documents_label)
        layout.addWidget(self.document_list, 2)
        row = QHBoxLayout()
        row.addWidget(pin)
        row.addWidget(remove)
        row.addWidget(reindex)
        layout.addLayout(row)
        self.workspace_list.currentTextChanged.connect(self._on_workspace_list_changed)
        # The documents act: double-click opens one; the context menu has the rest.
        self.document_list.itemDoubleClicked.connect(
            lambda item: self.open_document_requested.emit(item.data(Qt.ItemDataRole.UserRole)))
        self.document_list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.document_list.customContextMenuRequested.connect(self._on_document_menu)
        new.clicked.connect(self.create_requested)
        rename.clicked.connect(lambda: self._emit_current(self.rename_requested))
        delete.clicked.connect(lambda: self._emit_current(self.delete_requested))
        own.clicked.connect(lambda: self._emit_current(self.settings_requested))
        remove.clicked.connect(self._on_remove_clicked)
        pin.clicked.connect(lambda: self._emit_selected(self.pin_documents_requested))
        reindex.clicked.connect(self.reindex_requested)

    def set_workspaces(self, names: list[str], current: str | None) -> None:
        self.workspace_list.blockSignals(True)
        self.workspace_list.clear()
        self.workspace_list.addItems(names)
        matches = self.workspace_list.findItems(current or "", Qt.MatchFlag.MatchExactly)
        if matches:
            self.workspace_list.setCurrentItem(matches[0])
        self.workspace_list.blockSignals(False)

    def set_documents(self, records: list[DocumentRecord], pinned: set[str] | None = None) -> None:
        self.document_list.clear()
        for record in records:
            name = Path(record.path).name
            if record.status is DocumentStatus.FAILED:
                text = f"✗ {name}: {record.error}"
            else:
                text = f"✓ {name} ({record.chunks_text})"
            if record.path in (pinned or set()):
                text = f"📌 {text[2:]}, pinned"
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, record.path)
            item.setToolTip(record.path)
            self.document_list.addItem(item)
        failed = sum(r.status is DocumentStatus.FAILED for r in records)
        summary = f"{len(records)} documents" + (f", {failed} failed" if failed else "")
        self.documents_label.setText(f"<b>Documents</b> ({summary})")

    def _emit_current(self, signal: Any) -> None:
        item = self.workspace_list.currentItem()
        if item is not None:
            signal.emit(item.text())

    def _on_workspace_list_changed(self, name: str) -> None:
        if name:
            self.workspace_selected.emit(name)

    def document_menu(self) -> QMenu:
        """What can be done with the selected documents (Open and Show in folder act on the
        one under the pointer when several are selected)."""
        menu = QMenu(self)
        item = self.document_list.currentItem()
        path = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        if path:
            menu.addAction("Open", lambda: self.open_document_requested.emit(path))
            menu.addAction("Show in folder", lambda: self.show_in_folder_requested.emit(path))
        menu.addAction("Re-index", lambda: self._emit_selected(self.reindex_documents_requested))
        menu.addAction("Pin / unpin", lambda: self._emit_selected(self.pin_documents_requested))
        menu.addAction("Remove", self._on_remove_clicked)
        return menu

    def _on_document_menu(self, position: QPoint) -> None:
        if self.document_list.selectedItems():
            self.document_menu().exec(self.document_list.viewport().mapToGlobal(position))

    def _on_remove_clicked(self) -> None:
        self._emit_selected(self.remove_documents_requested)

    def _emit_selected(self, signal: Any) -> None:
        paths = [i.data(Qt.ItemDataRole.UserRole) for i in self.document_list.selectedItems()]
        if paths:
            signal.emit(paths)


def _why(source: Source) -> str:
    """Why this passage was retrieved: its rank in each list and the fused score."""
    e = source.explain
    dense = (f"meaning: rank {e['dense_rank']} (similarity {e['dense_score']})"
             if e.get("dense_rank") else "meaning: not in the top list")
    keyword = (f"keywords: rank {e['keyword_rank']} (BM25 {e['keyword_score']})"
               if e.get("keyword_rank") else "keywords: no match")
    return (f"{source.document}\n{dense}\n{keyword}\n"
            f"fused score {source.score:.3f} (how the passages were ranked)")


class SourcesPanel(QWidget):
    """Every passage the model was given for one answer: the cited ones first, then those the
    app found but the model did not cite; the selected one in full, its support highlighted."""

    open_requested = Signal(object)  # the Source to open

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.list = named(QListWidget(), "sourcesView", "Sources of the answer")
        self.list.setWordWrap(True)
        self.summary = named(QLabel(), "sourcesSummary", "What the answer rests on")
        self.summary.setWordWrap(True)
        self.detail = named(QTextBrowser(), "passageView", "Cited passage")
        self.open_button = named_button("Open", "openSourceButton", "Open the document at this page")
        self.open_button.setEnabled(False)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("<b>Sources</b>"))
        layout.addWidget(self.summary)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.detail, 2)
        layout.addWidget(self.open_button)
        self._sources: list[Source] = []
        self.list.currentRowChanged.connect(self._on_list_row_changed)
        self.open_button.clicked.connect(self._on_open_clicked)

    def show_sources(self, sources: list[Source], select: int | None = None) -> None:
        """An answer's sources (Answer.sources(): cited first, the uncited after); `select` is
        the marker number to show."""
        self._sources = sources
        self.list.clear()
        best = max((s.score for s in sources), default=0.0) or 1.0
        for source in sources:
            self.list.addItem(_source_label(source, best))
            self.list.item(self.list.count() - 1).setToolTip(_why(source))
        self.summary.setText(_summary(sources))
        self.summary.setVisible(bool(self.summary.text()))
        if not sources:
            self.detail.clear()
            self.open_button.setEnabled(False)
            return
        row = next((i for i, s in enumerate(sources) if s.n == select), 0)
        self.list.setCurrentRow(row)
        self._on_list_row_changed(row)

    def _on_list_row_changed(self, row: int) -> None:
        if 0 <= row < len(self._sources):
            self.detail.setHtml(passage_html(self._sources[row]))
            self.open_button.setEnabled(True)

    def _on_open_clicked(self) -> None:
        row = self.list.currentRow()
        if 0 <= row < len(self._sources):
            self.open_requested.emit(self._sources[row])


def _source_label(source: Source, best: float) -> str:
    """"[1] report.pdf, page 3 · cited", with a relevance bar against the best source."""
    where = Path(source.document).name + (f", page {source.page}"
                                          if source.page is not None else "")
    filled = max(1, round(5 * source.score / best)) if source.score > 0 else 0
    bar = "●" * filled + "○" * (5 - filled)
    if not source.cited:
        how = "found by the app, not cited by the model"
    elif source.matched:
        how = "matched to the answer by the app, not cited by the model"
    else:
        how = "cited by the answer"
    return f"[{source.n}] {where}\nrelevance {bar} · {how}"


def _summary(sources: list[Source]) -> str:
    """One line on what the answer rests on, when that is not plain citing."""
    if not sources:
        return ""
    if not any(s.cited for s in sources):
        return ("No passage supports this answer: the model cited none of the passages below, "
                "and the app could not match the answer to any of them. Check it against them.")
    if all(s.matched for s in sources if s.cited):
        return ("The app matched the answer to the passages marked: the model cited none, or "
                "cited passages that do not state it.")
    return ""
