"""Watched folders in the window: the core's watcher, its changes delivered on the GUI thread."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from desktop_app.core import Workspace
from desktop_app.core.ingest.watching import FolderWatcher

__all__ = ["WatchedFolders"]


class WatchedFolders(QObject):
    """Watches the open workspace's folders; `changed` fires on the GUI thread when files in
    them were added, changed or deleted (debounced), and the window syncs the workspace."""

    changed = Signal()
    _seen = Signal(object)  # from the watcher's thread; queued onto the GUI thread

    def __init__(self, data_dir: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._seen.connect(self._on_seen)
        self._watcher = FolderWatcher(self._seen.emit, ignore=[data_dir])

    def follow(self, workspace: Workspace | None) -> list[str]:
        """Watch this workspace's folders (none: stop); returns them."""
        folders = workspace.watched() if workspace is not None else []
        self._watcher.watch(folders)
        return folders

    def stop(self) -> None:
        self._watcher.stop()

    def _on_seen(self, _folders: object) -> None:
        self.changed.emit()
