"""Serve a Library to another process: long work runs here, events go back over a pipe.

The desktop window runs the core in a child process so that nothing the core does (importing
torch, parsing, embedding) can hold the window's interpreter lock. Messages are picklable
tuples; the work itself is an operation object (operations.py):

    parent -> child   ("start", job_id, operation)
                      ("cancel", job_id)
                      ("quit",)
    child -> parent   ("event", job_id, item)        an item the operation yielded
                      ("done", job_id, last_item)
                      ("cancelled", job_id)
                      ("failed", job_id, message)
                      ("ready",)                     once, when the child is listening

Operations of one lane queue behind each other (one worker thread per lane); those of the
"immediate" lane (settings) run at once, before the next message is read, so every operation
sent after them sees them.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Any, get_args

from desktop_app.core.backends import Backends
from desktop_app.core.errors import AppError
from desktop_app.core.library import Library
from desktop_app.core.operations import Lane, Operation

__all__ = ["serve"]

log = logging.getLogger(__name__)


class Server:
    """Runs the operations that arrive on `conn` against `library` until told to quit."""

    def __init__(self, conn: Connection, library: Library) -> None:
        self._conn = conn
        self._library = library
        self._send_lock = threading.Lock()
        self._cancels: dict[int, threading.Event] = {}
        self._lanes = {lane: ThreadPoolExecutor(1, lane) for lane in get_args(Lane) if lane != "immediate"}

    def send(self, message: tuple[Any, ...]) -> None:
        with self._send_lock:
            self._conn.send(message)

    def loop(self) -> None:
        self.send(("ready",))
        while True:
            try:
                message = self._conn.recv()
            except (EOFError, OSError):
                break
            if message[0] == "quit":
                break
            if message[0] == "cancel":
                self._cancels.get(message[1], threading.Event()).set()
            elif message[0] == "start":
                self._start(message[1], message[2])
        for job in self._cancels.values():
            job.set()
        for lane in self._lanes.values():
            lane.shutdown(wait=True)
        self._library.close()

    def _start(self, job_id: int, operation: Operation) -> None:
        self._cancels[job_id] = threading.Event()
        if operation.lane == "immediate":
            self._run(job_id, operation)
        else:
            self._lanes[operation.lane].submit(self._run, job_id, operation)

    def _run(self, job_id: int, operation: Operation) -> None:
        cancel = self._cancels[job_id]
        last: Any = None
        try:
            iterator = operation.run(self._library)
            for item in iterator:
                last = item
                self.send(("event", job_id, item))
                if cancel.is_set():
                    close = getattr(iterator, "close", None)
                    if close is not None:
                        close()
                    self.send(("cancelled", job_id))
                    return
            self.send(("done", job_id, last))
        except AppError as exc:
            self.send(("failed", job_id, str(exc)))
        except Exception as exc:  # noqa: BLE001 - reported to the window, never swallowed
            log.exception("%s failed", type(operation).__name__)
            self.send(("failed", job_id, f"Unexpected error: {type(exc).__name__}: {exc}"))
        finally:
            self._cancels.pop(job_id, None)


def serve(conn: Connection, data_dir: str, make_backends: Callable[[], Backends] | None = None) -> None:
    """The child process's entry point: serve until told to quit or the parent goes away."""
    from desktop_app.core.offline import seal_environment

    seal_environment()
    # Background work yields the CPU to the window: on a busy two-core machine the scheduler
    # otherwise lets embedding threads delay the window's repaint by 100 ms and more.
    if hasattr(os, "nice"):
        os.nice(10)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    library = Library(data_dir, backends=make_backends() if make_backends else None)
    Server(conn, library).loop()
