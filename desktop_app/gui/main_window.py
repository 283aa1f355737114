"""The main window: wires the panels to a Library, running long work on worker lanes."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QPoint, Qt, QTimer, QUrl
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDesktopServices,
    QDragEnterEvent,
    QDropEvent,
    QKeySequence,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core import Answer, AnswerToken, Library, Settings, Source, Workspace
from desktop_app.core.models.model_manager import AUTO
from desktop_app.core.operations import (
    AddPaths,
    ApplySettings,
    Ask,
    CheckServer,
    CreateSharedWorkspace,
    DeleteWorkspace,
    DownloadModel,
    Reindex,
    RemovePaths,
    SaveServerKey,
    SyncWatched,
)
from desktop_app.core.records import (
    AddFinished,
    AnswerStage,
    DocumentStatus,
    FileFinished,
    Repairing,
    Syncing,
)
from desktop_app.core.storage.settings import REINDEX_FIELDS

from .chat_panel import ChatPanel
from .index_panel import IndexPanel
from .jobs import Engine, Job
from .panels import SourcesPanel, WorkspacePanel
from .rendering import Turn
from .settings_dialog import SettingsDialog
from .threads_panel import ThreadsPanel
from .watched_folders import WatchedFolders
from .widgets import ERROR_STYLE, fit_to_screen, named_button

__all__ = ["MainWindow"]

log = logging.getLogger(__name__)
DEFAULT_WORKSPACE = "My documents"


class MainWindow(QMainWindow):
    def __init__(self, library: Library, engine: Engine) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowTitle("Documents chat: private and offline")
        self.setAcceptDrops(True)
        fit_to_screen(self, 1280, 800)
        self.library = library
        self.workspace: Workspace | None = None
        self.thread_id: int | None = None
        self.model_report = ""  # where the last answer's model ran, from the engine
        self.index_job: Job | None = None
        self.answer_job: Job | None = None
        self.remove_job: Job | None = None
        self.delete_job: Job | None = None
        self.watching = WatchedFolders(library.data_dir, self)
        self.watching.changed.connect(self.sync_watched)
        self._sync_pending = False  # a change was seen while another indexing ran
        self.engine = engine

        self.workspaces = WorkspacePanel()
        self.chat = ChatPanel()
        self.threads = ThreadsPanel()
        self.sources = SourcesPanel()
        self.indexing = IndexPanel()
        self.settings_button = named_button("App settings", "settingsButton",
                                            "Settings for every workspace (Ctrl+,)")
        self._build_layout()
        self._build_actions()
        self._connect()
        self.statusBar().showMessage("Ready. Everything stays on this computer.")
        self.reload_workspaces()
        if self.library.settings.model == AUTO:  # nobody chose a model yet: say which answers
            QTimer.singleShot(0, self._advise_model)

    def _advise_model(self) -> None:
        settings = self.library.settings
        self.notify(self.library.models.advice(settings.context_size))

    # -- construction ------------------------------------------------------------------------

    def _build_layout(self) -> None:
        centre = QWidget()
        column = QVBoxLayout(centre)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.chat, 1)
        column.addWidget(self.indexing)
        left = QWidget()
        left_column = QVBoxLayout(left)
        left_column.setContentsMargins(0, 0, 0, 0)
        left_column.addWidget(self.workspaces, 3)
        left_column.addWidget(self.threads, 2)
        left_column.addWidget(self.settings_button)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        for widget in (left, centre, self.sources):
            splitter.addWidget(widget)
        splitter.setSizes([280, 640, 360])
        self.setCentralWidget(splitter)
        self.notice = QLabel()
        self.notice.setObjectName("noticeLabel")
        self.notice.setWordWrap(True)
        self.statusBar().addPermanentWidget(self.notice, 1)
        self._sections = (left, centre, self.sources)
        self._focus_ordered = False

    def _order_focus(self) -> None:
        """Tab goes as the eye reads: the left column top to bottom, then the conversation and
        the question, then the sources; within each, row by row (by default it followed the
        order the panels were built in, which put the conversations after the question)."""
        chain: list[QWidget] = []
        for section in self._sections:
            widgets = [w for w in section.findChildren(QWidget)  # not a combo box's popup
                       if w.focusPolicy() & Qt.FocusPolicy.TabFocus and w.window() is self]
            where = {w: w.mapTo(section, QPoint(0, 0)) for w in widgets}
            chain += sorted(widgets, key=lambda w: (where[w].y(), where[w].x()))
        for before, after in zip(chain, chain[1:]):
            QWidget.setTabOrder(before, after)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if not self._focus_ordered:  # positions are known once laid out
            self._focus_ordered = True
            self._order_focus()

    def _build_actions(self) -> None:
        menu = self.menuBar().addMenu("&File")
        chat_menu = self.menuBar().addMenu("&Chat")
        help_menu = self.menuBar().addMenu("&Help")
        specs = [
            (menu, "Add &files…", QKeySequence(QKeySequence.StandardKey.Open), self.choose_files),
            (menu, "Add f&older…", QKeySequence("Ctrl+Shift+O"), self.choose_folder),
            (menu, "&Watch a folder…", QKeySequence(), self.choose_watched_folder),
            (menu, "Stop watc&hing a folder…", QKeySequence(), self.choose_unwatched_folder),
            (menu, "&Settings…", QKeySequence("Ctrl+,"), self.open_settings),
            (menu, "Settings of this &workspace…", QKeySequence("Ctrl+Shift+,"),
             self._open_current_workspace_settings),
            (menu, "&Quit", QKeySequence(QKeySequence.StandardKey.Quit), self.close),
            (chat_menu, "&New chat", QKeySequence("Ctrl+N"), self.new_chat),
            (chat_menu, "&Stop answer", QKeySequence(Qt.Key.Key_Escape), self.stop_answer),
            (chat_menu, "&Focus question", QKeySequence("Ctrl+L"), self.chat.input.setFocus),
            (chat_menu, "&Export conversation…", QKeySequence("Ctrl+E"), self.export_thread),
            (help_menu, "&About", QKeySequence(), self.show_about),
        ]
        for target, text, shortcut, slot in specs:
            action = QAction(text, self)
            action.setShortcut(shortcut)
            action.triggered.connect(slot)
            target.addAction(action)

    def _connect(self) -> None:
        w = self.workspaces
        w.workspace_selected.connect(self.select_workspace)
        w.create_requested.connect(self.create_workspace)
        w.rename_requested.connect(self.rename_workspace)
        w.delete_requested.connect(self.delete_workspace)
        w.settings_requested.connect(self.open_workspace_settings)
        w.remove_documents_requested.connect(self.remove_documents)
        w.pin_documents_requested.connect(self.toggle_pins)
        w.reindex_requested.connect(self.reindex)
        w.open_document_requested.connect(self.open_document)
        w.show_in_folder_requested.connect(self.show_in_folder)
        w.reindex_documents_requested.connect(self.reindex_documents)
        c = self.chat
        c.question_submitted.connect(self.ask)
        c.stop_requested.connect(self.stop_answer)
        c.citation_clicked.connect(self.sources.show_sources)
        c.replace_requested.connect(lambda question: self.ask(question, replace_last=True))
        t = self.threads
        t.thread_selected.connect(self.select_thread)
        t.new_thread_requested.connect(self.new_chat)
        t.rename_thread_requested.connect(self.rename_thread)
        t.delete_thread_requested.connect(self.delete_thread)
        t.search_changed.connect(lambda _text: self.refresh_threads())
        self.indexing.cancel_requested.connect(self.cancel_indexing)
        self.sources.open_requested.connect(self.open_source)
        self.settings_button.clicked.connect(self.open_settings)

    # -- notices: the one place errors reach the user ----------------------------------------

    def notify(self, message: str, error: bool = False) -> None:
        if error:
            log.warning("shown to the user: %s", message)
        self.notice.setText(f"⚠ {message}" if error else message)
        self.notice.setStyleSheet(ERROR_STYLE if error else "")
        self.notice.setToolTip(message)  # whole, where the status bar cuts a long one

    # -- workspaces --------------------------------------------------------------------------

    def reload_workspaces(self, select: str | None = None) -> None:
        names = [info.name for info in self.library.list()]
        if not names:
            self.library.create(DEFAULT_WORKSPACE)
            names = [DEFAULT_WORKSPACE]
        current = select or (self.workspace.name if self.workspace else names[0])
        current = current if current in names else names[0]
        self.workspaces.set_workspaces(names, current)
        self.select_workspace(current)

    def select_workspace(self, name: str) -> None:
        self.workspace = self.library.open(name)
        self.thread_id = None
        self.refresh_documents()
        # Back where the person left off: the workspace's most recent conversation.
        latest = self.workspace.threads()
        self.select_thread(latest[0].id if latest else None)
        self.refresh_threads()
        note = self.workspace.take_repair_note()
        if note is not None:
            self.notify(note, error=True)
        following = self.watching.follow(self.workspace)
        if following or self.workspace.shared_store is not None:
            self.sync_watched()  # what changed while the app was closed, here or on the server

    def create_workspace(self) -> None:
        from .new_workspace import NewWorkspaceDialog

        dialog = NewWorkspaceDialog(self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        name, store = dialog.name.text(), dialog.store()
        if store is None:
            self._guarded(lambda: self.library.create(name))
            self.reload_workspaces(select=" ".join(name.split()))
            return
        # Reaching the server can take seconds: in the engine, never on the window's thread.
        self.notify(f"Connecting to {store.host}…")
        job = self.engine.start(CreateSharedWorkspace(name, store, dialog.token.text().strip()
                                                      or None))
        job.finished.connect(lambda created: self._on_shared_workspace_created(str(created)))
        job.failed.connect(lambda message: self.notify(message, error=True))

    def _on_shared_workspace_created(self, name: str) -> None:
        self.reload_workspaces(select=name)
        self.notify(f"Workspace {name!r} is shared: what its members add appears here.")

    def _open_current_workspace_settings(self) -> None:
        if self.workspace is not None:
            self.open_workspace_settings(self.workspace.name)

    def open_workspace_settings(self, name: str) -> None:
        """The workspace's own model, passages, answer length and instructions; the engine
        reads them from the workspace's file with the next question."""
        from .workspace_settings import WorkspaceSettingsDialog

        workspace = self._guarded(lambda: self.library.open(name))
        if workspace is None:
            return
        dialog = WorkspaceSettingsDialog(workspace, self.library.settings, self.library.models,
                                         self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.notify(f"Settings of {name!r} saved: they apply to its next answer.")

    def rename_workspace(self, name: str) -> None:
        new_name, ok = QInputDialog.getText(self, "Rename workspace", "New name:", text=name)
        if ok and new_name.strip():
            self._guarded(lambda: self.library.rename(name, new_name))
            self.reload_workspaces(select=" ".join(new_name.split()))

    def delete_workspace(self, name: str) -> None:
        answer = QMessageBox.question(
            self, "Delete workspace",
            f"Delete the workspace “{name}”, its index and its chats? Your files are not touched.")
        if answer != QMessageBox.StandardButton.Yes:
            return
        self.workspace = None
        self.library.forget(name)
        job = self.engine.start(DeleteWorkspace(name))
        job.finished.connect(lambda _: self.reload_workspaces())
        job.failed.connect(lambda message: self.notify(message, error=True))
        self.delete_job = job

    def refresh_documents(self) -> None:
        if self.workspace is not None:
            documents = self.workspace.documents()
            self.workspaces.set_documents(documents, set(self.workspace.pinned()))
            self.chat.set_documents([d.path for d in documents if not d.error])

    # -- adding documents --------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.add_paths(paths)

    def choose_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Add files to the workspace")
        if paths:
            self.add_paths(paths)

    def export_thread(self) -> None:
        if self.workspace is None or self.thread_id is None:
            self.notify("Open a conversation first: there is nothing to export yet.")
            return
        title = self.workspace.thread(self.thread_id).title
        suggested = "".join(c if c.isalnum() or c in " -_" else "_" for c in title).strip()
        path, _ = QFileDialog.getSaveFileName(self, "Export the conversation as Markdown",
                                              f"{suggested or 'conversation'}.md",
                                              "Markdown (*.md)")
        if not path:
            return
        try:
            Path(path).write_text(self.workspace.export_thread(self.thread_id), encoding="utf-8")
        except OSError as exc:
            self.notify(f"Could not write {path}: {exc.strerror or exc}", error=True)
            return
        self.notify(f"Conversation exported to {path}.")

    def choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Add a folder to the workspace")
        if path:
            self.add_paths([path])

    def add_paths(self, paths: list[str]) -> None:
        if self.workspace is not None:
            self._start_indexing(AddPaths(self.workspace.name, tuple(paths)),
                                 f"Adding {len(paths)} item(s)…")

    def choose_watched_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Watch a folder: keep it in sync")
        if path and self.workspace is not None:
            self.watch_folder(path)

    def watch_folder(self, path: str) -> None:
        """Index a folder now and whenever files in it change, until unwatched."""
        workspace = self.workspace
        if workspace is not None and self._guarded(lambda: workspace.watch([path])) is not None:
            self.watching.follow(workspace)
            self.notify(f"Watching {path}: new, changed and deleted files are indexed as they change.")
            self.sync_watched()

    def choose_unwatched_folder(self) -> None:
        folders = self.workspace.watched() if self.workspace is not None else []
        if not folders:
            self.notify("No folder of this workspace is watched.")
            return
        folder, chosen = QInputDialog.getItem(self, "Stop watching", "Folder (its documents stay):",
                                              folders, 0, False)
        if chosen and self.workspace is not None:
            self.workspace.unwatch([folder])
            self.watching.follow(self.workspace)
            self.notify(f"No longer watching {folder}; its documents stay in the workspace.")

    def sync_watched(self) -> None:
        """Index what changed in the watched folders (and take what a shared workspace's
        other members changed), now or after the indexing under way."""
        workspace = self.workspace
        if workspace is None or not (workspace.watched() or workspace.shared_store):
            return
        if self.index_job is not None and self.index_job.running:
            self._sync_pending = True
            return
        self._sync_pending = False
        self._start_indexing(SyncWatched(workspace.name), "Checking the watched folders…"
                             if workspace.watched() else "Checking the shared workspace…")

    def reindex(self) -> None:
        if self.workspace is not None:
            self._start_indexing(Reindex(self.workspace.name), "Re-indexing every document…")

    def _start_indexing(self, operation: AddPaths | Reindex | SyncWatched, message: str) -> None:
        if self.workspace is None:
            return
        if self.index_job is not None and self.index_job.running:
            self.notify("Indexing is already running: wait for it or cancel it first.", error=True)
            return
        job = self.engine.start(operation)
        job.progressed.connect(self._on_index_job_progressed)
        job.finished.connect(self._on_index_job_finished)
        job.cancelled.connect(self._on_index_job_cancelled)
        job.failed.connect(self._on_index_job_failed)
        self.index_job = job
        self.indexing.begin(message)

    def cancel_indexing(self) -> None:
        if self.index_job is not None:
            self.index_job.cancel()
            self.indexing.cancelling()

    def _on_index_job_progressed(self, event: object) -> None:
        self.indexing.show_progress(event)
        if isinstance(event, Repairing):
            self._notify_repair(event)
        elif isinstance(event, Syncing):
            self.indexing.show_repair(event)
        elif isinstance(event, FileFinished):
            self.refresh_documents()
            if not self.chat.turns and not event.record.error:
                self.chat.show_turns([], empty_workspace=False)

    def _notify_repair(self, event: Repairing) -> None:
        """A damaged search index is being rebuilt: say so when it starts and when it is done."""
        if event.done == 0 or event.done == event.total:
            self.notify(event.message, error=event.done == 0 and event.total > 0)

    def _on_index_job_finished(self, finished: object) -> None:
        summary = self.indexing.finish(finished)
        self.refresh_documents()
        if summary:
            self.notify(summary, error=isinstance(finished, AddFinished)
                        and bool(finished.count(DocumentStatus.FAILED)))
        if self.workspace is not None and not self.chat.turns:
            self.chat.show_turns([], empty_workspace=not self.workspace.documents())
        if self._sync_pending:
            self.sync_watched()

    def _on_index_job_cancelled(self) -> None:
        self._sync_pending = False
        self.indexing.set_running(False)
        self.refresh_documents()
        self.indexing.label.setText("Cancelled: the files finished so far are indexed.")
        self.notify("Indexing cancelled; add the same files again to finish.")

    def _on_index_job_failed(self, message: str) -> None:
        self.indexing.set_running(False)
        self.refresh_documents()
        self.indexing.label.setText("")
        self.notify(f"Indexing stopped: {message}", error=True)

    def toggle_pins(self, paths: list[str]) -> None:
        """Pin the selected documents; when all of them are pinned already, unpin them."""
        if self.workspace is None:
            return
        workspace = self.workspace
        if set(paths) <= set(workspace.pinned()):
            workspace.unpin(paths)
            self.notify(f"Unpinned {len(paths)} document(s).")
        elif self._guarded(lambda: workspace.pin(paths)) is not None:
            self.notify(f"Pinned {len(paths)} document(s): they go to the model with every "
                        "question, as far as they fit.")
        self.refresh_documents()

    def open_document(self, path: str) -> None:
        """A document of the list, as a citation of its first page would open it."""
        self._open_file(path, None, "")

    def show_in_folder(self, path: str) -> None:
        folder = Path(path).parent
        if not folder.is_dir():
            self.notify(f"{folder} is not on this computer.", error=True)
        elif not QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
            self.notify(f"No file manager on this computer opens {folder}.", error=True)

    def reindex_documents(self, paths: list[str]) -> None:
        """Read these documents again, whatever their content hash says."""
        if self.workspace is not None:
            self._start_indexing(AddPaths(self.workspace.name, tuple(paths), force=True),
                                 f"Re-indexing {len(paths)} document(s)…")

    def remove_documents(self, paths: list[str]) -> None:
        if self.workspace is None:
            return
        job = self.engine.start(RemovePaths(self.workspace.name, tuple(paths)))
        job.finished.connect(self._on_remove_job_finished)
        job.failed.connect(lambda message: self.notify(message, error=True))
        self.remove_job = job

    def _on_remove_job_finished(self, removed: object) -> None:
        self.refresh_documents()
        count = len(removed) if isinstance(removed, list) else 0
        self.notify(f"Removed {count} document(s) from the workspace.")

    # -- asking ------------------------------------------------------------------------------

    def ask(self, question: str, replace_last: bool = False) -> None:
        """Ask in the open conversation (a new one when none is open); with `replace_last`,
        the answer replaces the conversation's last question and answer."""
        workspace = self.workspace
        if workspace is None or (self.answer_job is not None and self.answer_job.running):
            return
        replace_last = replace_last and self.thread_id is not None
        job = self.engine.start(Ask(workspace.name, question, self.thread_id,
                                    self.chat.scope_paths(), replace_last))
        job.progressed.connect(self._on_answer_job_progressed)
        job.finished.connect(self._on_answer_job_finished)
        job.cancelled.connect(self._on_answer_job_cancelled)
        job.failed.connect(self._on_answer_job_failed)
        self.answer_job = job
        self.chat.begin_answer(question, replacing=replace_last)
        self.notify("Answering…")

    def stop_answer(self) -> None:
        if self.answer_job is not None and self.answer_job.running:
            self.answer_job.cancel()

    def _on_answer_job_progressed(self, event: object) -> None:
        if isinstance(event, AnswerToken):
            self.chat.append_token(event.text)
        elif isinstance(event, AnswerStage):
            self.chat.show_stage(event.describe())
        elif isinstance(event, Repairing):
            self.indexing.show_repair(event)
            self._notify_repair(event)
        elif isinstance(event, Syncing):
            self.indexing.show_repair(event)
        elif isinstance(event, Answer):
            self.thread_id = event.thread_id
            self.model_report = event.model or self.model_report
            sources = event.sources()  # what the model was given, cited first
            note = "" if event.answered_from_documents else "Not found in your documents."
            if event.unsupported:
                flagged = "; ".join(f"“{c.sentence}”" for c in event.unsupported)
                note = (f"⚠ Not supported by the passage it cites, check it: {flagged}")
            self.chat.finish_answer(event.text, sources, note)
            self.sources.show_sources(sources)

    def _on_answer_job_finished(self, _last: object) -> None:
        self._after_answer()
        self.notify(f"Ready. Model {self.model_report}" if self.model_report else "Ready.")

    def _on_answer_job_cancelled(self) -> None:
        turn = self.chat.turns[-1]
        self.chat.finish_answer(turn.text, [], "Stopped.")
        self._after_answer()
        self.notify("Answer stopped.")

    def _on_answer_job_failed(self, message: str) -> None:
        self.chat.finish_answer(self.chat.turns[-1].text, [], "No answer: see the notice below.")
        self._after_answer()
        self.notify(message, error=True)

    def _after_answer(self) -> None:
        if self.workspace is not None:
            if self.thread_id is None:  # stopped before the answer was complete
                threads = self.workspace.threads()
                self.thread_id = threads[0].id if threads else None
            self.refresh_threads()

    # -- threads -----------------------------------------------------------------------------

    def refresh_threads(self) -> None:
        if self.workspace is not None:
            matching = self.threads.search.text()
            self.threads.set_threads(self.workspace.threads(matching), self.thread_id)

    def select_thread(self, thread_id: object) -> None:
        if self.workspace is None:
            return
        self.thread_id = thread_id if isinstance(thread_id, int) else None
        turns = []
        if self.thread_id is not None:
            turns = [Turn(m.role, m.content, m.citations) for m in self.workspace.messages(self.thread_id)]
        self.chat.show_turns(turns, empty_workspace=not self.workspace.documents())
        last = next((t for t in reversed(turns) if t.role == "assistant"), None)
        self.sources.show_sources(last.citations if last else [])

    def new_chat(self) -> None:
        self.select_thread(None)
        self.refresh_threads()
        self.chat.input.setFocus()

    def rename_thread(self, thread_id: int) -> None:
        if self.workspace is None:
            return
        title, ok = QInputDialog.getText(self, "Rename chat", "Title:",
                                         text=self.workspace.thread(thread_id).title)
        if ok and title.strip():
            self.workspace.rename_thread(thread_id, title.strip())
            self.refresh_threads()

    def delete_thread(self, thread_id: int) -> None:
        if self.workspace is None:
            return
        if QMessageBox.question(self, "Delete chat", "Delete this chat and its answers?") \
                == QMessageBox.StandardButton.Yes:
            self.workspace.delete_thread(thread_id)
            self.new_chat()

    # -- sources -----------------------------------------------------------------------------

    def open_source(self, source: Source) -> None:
        """A cited passage's document, at its page with the passage highlighted."""
        self._open_file(source.document, source.page, source.supporting_text)

    def _open_file(self, path: str, page: int | None, passage: str) -> None:
        """PDFs in the built-in viewer (at `page`, `passage` highlighted), anything else in
        the application the system opens it with."""
        if not Path(path).exists():
            shared = self.workspace is not None and self.workspace.shared_store is not None
            self.notify(f"{path} is not on this computer (a shared workspace's document added "
                        "elsewhere): its passage is the text shown under Sources." if shared
                        else f"{path} is no longer there: it was moved or deleted.", error=True)
            return
        if path.lower().endswith(".pdf"):
            from .pdf_viewer import PdfViewer

            viewer = PdfViewer(path, page, passage, self)
            viewer.show()
        elif not QDesktopServices.openUrl(QUrl.fromLocalFile(path)):
            self.notify(f"No application on this computer opens {Path(path).name}.", error=True)

    def show_about(self) -> None:
        from desktop_app.build_info import describe_build

        QMessageBox.about(self, "About", f"{describe_build()}\n\nPrivate, offline chat with your own "
                          "documents. Nothing you add or ask leaves this computer."
                          + (f"\n\nModel {self.model_report}" if self.model_report else ""))

    # -- settings ----------------------------------------------------------------------------

    def open_settings(self) -> None:
        settings = self.library.settings
        dialog = SettingsDialog(settings, self.library.models, self, self.model_report,
                                downloads=self.download_model, server_checker=self.check_server,
                                server_key_saved=bool(settings.server_url
                                                      and self.library.keys.load(settings.server_url)))
        if dialog.exec() != SettingsDialog.DialogCode.Accepted:
            return
        changes, key = dialog.changes(), dialog.server.typed_key()
        if not changes and not key:
            return
        if changes and not self.change_settings(**changes):
            return
        if key and self.library.settings.server_url:
            # Sent before any later question, which runs with it (the immediate lane).
            self.engine.start(SaveServerKey(self.library.settings.server_url, key))
        self.notify("Settings saved; they apply to the next answer.")
        if REINDEX_FIELDS & set(changes):
            self.offer_reindex()

    def offer_reindex(self) -> None:
        """Name every workspace whose documents were indexed with other settings than the
        ones now saved, and offer to re-index them all (shared ones are left to their
        server: they cannot be re-indexed from one computer)."""
        stale = []
        for info in self.library.list():
            workspace = self.library.open(info.name)
            count = 0 if workspace.shared_store is not None else workspace.out_of_date()
            if count:
                stale.append((info.name, count))
        if not stale:
            return
        listed = "\n".join(f"• {name}: {count} document{'s' * (count != 1)}"
                           for name, count in stale)
        answer = QMessageBox.question(
            self, "Re-index?", "These workspaces were indexed with another embedder or "
            f"chunking than the settings now say:\n{listed}\n\nRe-index them now? Until then "
            "they are searched as they were indexed (after an embedder change, not at all).")
        if answer != QMessageBox.StandardButton.Yes:
            self.notify(f"{len(stale)} workspace(s) out of date: re-index them when convenient.")
            return
        for name, _count in stale:
            if self.workspace is not None and name == self.workspace.name:
                self.reindex()  # with its progress shown
            else:
                job = self.engine.start(Reindex(name))
                job.finished.connect(lambda _last, n=name: self.notify(f"{n!r} is re-indexed."))
                job.failed.connect(lambda message: self.notify(message, error=True))

    def change_settings(self, **changes: Any) -> bool:
        """Save global settings and hand them to the engine, so the next job uses them;
        False (and a notice saying why) when a value is refused."""
        settings = self._guarded(lambda: self.library.update_settings(**changes))
        if settings is None:
            return False
        self.engine.start(ApplySettings(settings))
        return True

    def check_server(self, settings: Settings, key: str | None) -> Job:
        """Connect to an inference server in the engine; the settings dialog shows the result."""
        return self.engine.start(CheckServer(settings, key))

    def download_model(self, model_id: str, quant: str, catalog: Path | None = None) -> Job:
        """Fetch a catalogue model in the engine; the settings dialog shows its progress."""
        return self.engine.start(DownloadModel(model_id, quant, catalog))

    # -- plumbing ----------------------------------------------------------------------------

    def _guarded(self, action: Any) -> Any:
        """Run a quick core call on the GUI thread; its errors become a notice."""
        try:
            return action()
        except Exception as exc:  # noqa: BLE001 - every failure is shown, none is swallowed
            log.exception("action failed")
            self.notify(str(exc), error=True)
            return None

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        self.watching.stop()
        for job in (self.index_job, self.answer_job):
            if job is not None:
                job.blockSignals(True)  # its last word would reach a window already closed
                job.cancel()
        self.engine.shutdown()
        # A job's last events may already wait in Qt's queue: with no workspace open, the
        # slots they reach leave the closed library alone.
        self.workspace = None
        self.library.close()
        super().closeEvent(event)
