"""Serve a Library to another process: long work runs here, events go back over a pipe.

The desktop window runs the core in a child process so that nothing the core does (importing
torch, parsing, embedding) can hold the window's interpreter lock. Requests and events are plain
picklable tuples:

    parent -> child   ("start", job_id, op, workspace, args)   op: add | reindex | remove |
                                                                    answer | delete_workspace |
                                                                    download_model (no workspace)
                      ("cancel", job_id)
                      ("quit",)
    child -> parent   ("event", job_id, item)        an item the core's generator yielded
                      ("done", job_id, last_item)
                      ("cancelled", job_id)
                      ("failed", job_id, message)
                      ("ready",)                     once, when the child is listening

Jobs of the same kind queue behind each other: one lane for indexing, one for answering, one
for model downloads.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Any

from .backends import Backends
from .errors import AppError
from .library import Library
from .model_manager import download_variant

__all__ = ["serve"]

log = logging.getLogger(__name__)
_LANES = {"answer": "answer", "download_model": "download"}  # every other op: "index"


class _Server:
    def __init__(self, conn: Connection, library: Library) -> None:
        self._conn = conn
        self._library = library
        self._send_lock = threading.Lock()
        self._cancels: dict[int, threading.Event] = {}
        self._lanes = {name: ThreadPoolExecutor(1, name) for name in ("index", "answer", "download")}

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
                _, job_id, op, workspace, args = message
                self._cancels[job_id] = threading.Event()
                self._lanes[_LANES.get(op, "index")].submit(self._run, job_id, op, workspace, args)
        for job in self._cancels.values():
            job.set()
        for lane in self._lanes.values():
            lane.shutdown(wait=True)
        self._library.close()

    def _run(self, job_id: int, op: str, workspace: str, args: tuple[Any, ...]) -> None:
        cancel = self._cancels[job_id]
        last: Any = None
        try:
            self._library.reload_settings()
            iterator = self._operation(op, workspace, args)
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
            log.exception("%s failed", op)
            self.send(("failed", job_id, f"Unexpected error: {type(exc).__name__}: {exc}"))
        finally:
            self._cancels.pop(job_id, None)

    def _operation(self, op: str, name: str, args: tuple[Any, ...]) -> Iterator[Any]:
        if op == "delete_workspace":
            self._library.delete(name)
            return iter(())
        if op == "download_model":  # args: model id, quant, catalogue path or None
            return download_variant(self._library.models_dir, *args)
        workspace = self._library.open(name)
        operations: dict[str, Callable[[], Iterator[Any]]] = {
            "add": lambda: workspace.add(*args),
            "reindex": workspace.reindex,
            "remove": lambda: iter([workspace.remove(*args)]),
            "answer": lambda: workspace.answer_stream(*args),
        }
        if op not in operations:
            raise AppError(f"unknown operation {op!r}")
        return operations[op]()


def serve(conn: Connection, data_dir: str, make_backends: Callable[[], Backends] | None = None) -> None:
    """The child process's entry point: serve until told to quit or the parent goes away."""
    from .offline import seal_environment

    seal_environment()
    # Background work yields the CPU to the window: on a busy two-core machine the scheduler
    # otherwise lets embedding threads delay the window's repaint by 100 ms and more.
    if hasattr(os, "nice"):
        os.nice(10)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    library = Library(data_dir, backends=make_backends() if make_backends else None)
    _Server(conn, library).loop()
