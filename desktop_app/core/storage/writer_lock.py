"""One writer per workspace, across processes: a lock file held while documents are added,
re-indexed or removed.

The window's engine and a command line run, or two command lines, may change the same
workspace at once. Without this, two adds on a brand-new workspace both created its vector
store and died on each other's tables. The lock is filelock's (an OS file lock: released by
the OS when its holder dies, so a killed add never blocks the next one). Who holds it is
written beside it, so the one who waits can say whom it waits for. Searches and answers take
no lock: they read, and keep working while an add runs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Generator
from pathlib import Path

from filelock import FileLock, Timeout

from desktop_app.core.records import WaitingForWriter

__all__ = ["WriterLock"]

POLL_S = 0.5


class WriterLock:
    def __init__(self, folder: Path) -> None:
        self._lock = FileLock(folder / "writer.lock")
        self._owner = folder / "writer.owner"

    def acquire(self, doing: str) -> Generator[WaitingForWriter, None, None]:
        """Take the lock, yielding a WaitingForWriter now and then while another process holds
        it (closing the generator gives up waiting)."""
        said = 0.0
        while True:
            try:
                self._lock.acquire(timeout=0)
                break
            except Timeout:
                if time.monotonic() - said > 10:  # say it at once, then every 10 s
                    said = time.monotonic()
                    yield WaitingForWriter(f"waiting for another {self._holder()} to finish")
                time.sleep(POLL_S)
        self._note_owner(doing)

    def _note_owner(self, doing: str) -> None:
        if self._lock.lock_counter == 1:  # a nested acquire by the holder keeps its note
            self._owner.write_text(f"{doing} in progress (pid {os.getpid()}, since "
                                   f"{time.strftime('%H:%M:%S')})", encoding="utf-8")

    def try_acquire(self, doing: str) -> bool:
        """Take the lock if nobody holds it; False at once otherwise."""
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            return False
        self._note_owner(doing)
        return True

    def acquire_blocking(self, doing: str, timeout_s: float) -> bool:
        """Take the lock without reporting progress; False when not taken in `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        waiting = self.acquire(doing)
        for _ in waiting:
            if time.monotonic() > deadline:
                waiting.close()
                return False
        return True

    def release(self) -> None:
        self._lock.release()

    def _holder(self) -> str:
        try:
            return self._owner.read_text(encoding="utf-8").strip() or "change"
        except OSError:
            return "change"
