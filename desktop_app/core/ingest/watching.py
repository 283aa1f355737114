"""Watched folders: the file system's change events, debounced into one call per quiet moment.

The watcher only says *that* something changed under a folder; `Workspace.sync` finds what
(new, changed and deleted files, by their content hash), so a missed or repeated event costs
nothing but a rescan. Events come from watchdog (inotify, FSEvents, ReadDirectoryChangesW).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

__all__ = ["FolderWatcher"]

log = logging.getLogger(__name__)

QUIET_S = 2.0  # a copy of many files, or an editor's save, is one change, not hundreds
# Reads are not changes: the indexer's own reads would otherwise wake the watcher again.
_IGNORED_EVENTS = frozenset({"opened", "closed_no_write"})


class FolderWatcher:
    """Calls `changed(folders)`, from its own thread, once events under the watched folders
    have been quiet for `quiet_s` seconds; `folders` are the watched folders that saw them.
    Hidden files and folders (names starting with a dot: editors' swap files, .git) and
    everything under `ignore` (the app's own data folder) are not changes."""

    def __init__(self, changed: Callable[[set[str]], None], quiet_s: float = QUIET_S,
                 ignore: Iterable[Path] = ()) -> None:
        self._changed = changed
        self._quiet_s = quiet_s
        self._ignore = [str(p) for p in ignore]
        self._lock = threading.Lock()
        self._pending: set[str] = set()
        self._timer: threading.Timer | None = None
        self._observer: Any = None
        self._folders: list[str] = []

    def watch(self, folders: Iterable[str]) -> None:
        """Watch these folders (recursively) instead of the ones watched so far; folders that do
        not exist (a disconnected drive) are skipped until the next call."""
        wanted = sorted({str(f) for f in folders if Path(f).is_dir()})
        if wanted == self._folders and self._observer is not None:
            return
        self.stop()
        self._folders = wanted
        if not wanted:
            return
        observer = Observer()
        for folder in wanted:
            observer.schedule(_Handler(self, folder), folder, recursive=True)
        observer.daemon = True
        observer.start()
        self._observer = observer

    @property
    def folders(self) -> list[str]:
        return list(self._folders)

    def stop(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._timer, self._pending = None, set()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
            self._observer = None

    def _saw(self, folder: str, path: str) -> None:
        relative = Path(path).relative_to(folder).parts if path.startswith(folder) else ()
        if any(part.startswith(".") for part in relative):
            return
        if any(path.startswith(ignored) for ignored in self._ignore):
            return
        with self._lock:
            self._pending.add(folder)
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(self._quiet_s, self._fire)
            self._timer.daemon = True
            self._timer.start()

    def _fire(self) -> None:
        with self._lock:
            folders, self._pending, self._timer = self._pending, set(), None
        if folders:
            try:
                self._changed(folders)
            except Exception:  # a watcher thread has nobody to report to but the log
                log.exception("reacting to changes in %s failed", sorted(folders))


class _Handler(FileSystemEventHandler):
    """Every event of one watched folder goes to the watcher."""

    def __init__(self, watcher: FolderWatcher, folder: str) -> None:
        super().__init__()
        self._watcher = watcher
        self._folder = folder

    def dispatch(self, event: FileSystemEvent) -> None:
        # A folder is "modified" whenever an entry in it changes: that entry's own event says
        # whether it counts (a hidden swap file does not).
        if event.event_type in _IGNORED_EVENTS or (event.is_directory and event.event_type == "modified"):
            return
        for path in (event.src_path, event.dest_path):
            if path:
                self._watcher._saw(self._folder, os.fsdecode(path))  # noqa: SLF001 - its own handler
