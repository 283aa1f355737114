"""The indexing panel: how far an add is (file i of n, inside a large file, time left), what
it could not read and why, and how it ended."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QProgressBar, QVBoxLayout, QWidget

from desktop_app.core.ingest.parsing import unsupported_reason
from desktop_app.core.records import (
    AddFinished,
    DocumentStatus,
    FileFinished,
    FileProgress,
    FileStarted,
    Repairing,
    Syncing,
    WaitingForWriter,
)

from .widgets import named, named_button

__all__ = ["IndexPanel"]


class IndexPanel(QWidget):
    """Progress of the running add; failures (and files in unsupported formats) listed with
    their reasons."""

    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.progress = named(QProgressBar(), "indexProgress", "Indexing progress")
        self.label = QLabel()
        self.label.setObjectName("indexLabel")
        self.cancel_button = named_button("Cancel", "cancelIndexButton",
                                          "Stop indexing (the files done so far stay)")
        self.failures = named(QListWidget(), "failureList", "Files that could not be indexed")
        self.failures.setMaximumHeight(80)
        self.failures.hide()  # shown with the first failure of a batch
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel_button)
        layout.addLayout(row)
        layout.addWidget(self.label)
        layout.addWidget(self.failures)
        self.cancel_button.clicked.connect(self.cancel_requested)
        self._started = 0.0
        self._bytes_before_file = self._bytes_total = 0  # of the running add, for the bar
        self.set_running(False)

    def begin(self, message: str) -> None:
        self._started = time.monotonic()
        self.set_running(True)
        self.label.setText(message)

    def set_running(self, running: bool) -> None:
        self.progress.setVisible(running)
        self.cancel_button.setVisible(running)
        self.cancel_button.setEnabled(running)
        if running:
            self.failures.clear()
            self.failures.hide()
            self.progress.setValue(0)

    def cancelling(self) -> None:
        self.cancel_button.setEnabled(False)
        self.label.setText("Cancelling…")

    def add_failure(self, path: str, error: str) -> None:
        self.failures.addItem(f"{Path(path).name}: {error}")
        self.failures.show()

    def show_progress(self, event: object) -> None:
        """One event of the running add, as the bar and the line under it."""
        if isinstance(event, WaitingForWriter):
            self.label.setText(event.message[:1].upper() + event.message[1:] + "…")
        elif isinstance(event, Repairing | Syncing):
            self.show_repair(event)
        elif isinstance(event, FileStarted):
            self._bytes_before_file, self._bytes_total = event.bytes_done, event.bytes_total
            self.progress.setMaximum(max(1, event.bytes_total))
            self.progress.setValue(event.bytes_done)
            self.label.setText(f"File {event.index} of {event.total}: {Path(event.path).name}"
                               f"{self._eta(event.bytes_done, event.bytes_total)}")
        elif isinstance(event, FileProgress):
            done = self._bytes_before_file + event.file_bytes_done
            self.progress.setValue(done)
            large = event.file_bytes >= 1_000_000
            share = f", {event.file_bytes_done * 100 // event.file_bytes}%" if large else ""
            self.label.setText(f"File {event.index} of {event.total}: {Path(event.path).name}"
                               f"{share}, {event.chunks_done} passages"
                               f"{self._eta(done, self._bytes_total)}")
        elif isinstance(event, FileFinished):
            self.progress.setValue(event.bytes_done)
            if event.record.error and event.record.status is DocumentStatus.FAILED:
                self.add_failure(event.record.path, event.record.error)

    def show_repair(self, event: Repairing | Syncing) -> None:
        """A damaged search index being rebuilt, or a shared workspace brought up to date:
        how far it is."""
        self.label.setText(f"{event.message} ({event.done} of {event.total})"
                           if event.done < event.total else event.message)

    def finish(self, finished: object) -> str:
        """The add is over: name each file skipped for its format, and say how it went;
        returns that summary ("" when the last event was not an AddFinished)."""
        self.set_running(False)
        summary = ""
        if isinstance(finished, AddFinished):
            for path in finished.ignored:
                self.add_failure(path, unsupported_reason(path))
            counts = finished.summary()
            summary = f"Files: {counts}." if counts else "Everything is up to date."
            self.label.setText(summary)
        self.failures.setVisible(self.failures.count() > 0)
        return summary

    def _eta(self, done: int, total: int) -> str:
        elapsed = time.monotonic() - self._started
        if done <= 0 or elapsed < 2:
            return ""
        remaining = elapsed * (total - done) / done
        return (f" · about {remaining:.0f} s left" if remaining < 120
                else f" · about {remaining / 60:.0f} min left")
