"""Run the core's generators off the GUI thread and turn their yields into Qt signals.

A `Lane` is one worker thread: jobs on the same lane run one after another (indexing never
races indexing). A `Job` wraps a generator factory; cancelling it closes the generator at its
next yield, which is where the core keeps its work consistent.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QObject, Signal

from desktop_app.core.errors import AppError

__all__ = ["Job", "Lane"]

log = logging.getLogger(__name__)


class Job(QObject):
    """Signals arrive on the GUI thread (queued), in the order the generator yielded."""

    progressed = Signal(object)
    finished = Signal(object)  # the last item yielded, or None
    cancelled = Signal()
    failed = Signal(str)

    def __init__(self, make: Callable[[], Iterator[Any]], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._make = make
        self._cancel = threading.Event()
        self.running = False

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def run(self) -> None:
        """Called on the worker thread."""
        self.running = True
        last: Any = None
        try:
            iterator = self._make()
            for item in iterator:
                last = item
                self.progressed.emit(item)
                if self._cancel.is_set():
                    close = getattr(iterator, "close", None)
                    if close is not None:
                        close()
                    self.cancelled.emit()
                    return
            self.finished.emit(last)
        except AppError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - shown to the user through the notice bar
            log.exception("background job failed")
            self.failed.emit(f"Unexpected error: {type(exc).__name__}: {exc}")
        finally:
            self.running = False


class Lane:
    """One worker thread; jobs queue behind each other."""

    def __init__(self, name: str) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    def start(self, job: Job) -> Job:
        self._executor.submit(job.run)
        return job

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
