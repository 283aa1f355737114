"""The window's long work, run by the core in a child process and reported as Qt signals.

Why a process and not a thread: importing torch, parsing and embedding hold Python's
interpreter lock for up to a few hundred milliseconds at a time, which freezes a window that
shares it. In a child process they cannot; the window only reads events from a pipe.
"""

from __future__ import annotations

import atexit
import itertools
import logging
import multiprocessing
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from desktop_app.core.backends import Backends
from desktop_app.core.models.engine_check import EngineChecks, crashed, describe_exit
from desktop_app.core.operations import Ask, Operation
from desktop_app.core.service import serve

__all__ = ["Engine", "Job"]

log = logging.getLogger(__name__)
CRASHED = "The document engine stopped unexpectedly; it restarts with the next action."


class Job(QObject):
    """One request to the engine. Signals arrive on the GUI thread, in order."""

    progressed = Signal(object)
    finished = Signal(object)  # the last item the core yielded, or None
    cancelled = Signal()
    failed = Signal(str)
    _settled = Signal()  # emitted after the terminal signal: its handlers have run by then

    def __init__(self, engine: Engine, job_id: int, operation: Operation) -> None:
        super().__init__()
        self._engine = engine
        self.id = job_id
        self.operation = operation
        # True until every signal of the job has been handled on the GUI thread (not merely
        # received from the engine), so `running` never runs ahead of what the window shows.
        self.running = True
        self._settled.connect(self._on_settled)

    def _on_settled(self) -> None:
        self.running = False

    def settle(self) -> None:
        """Called on the reader thread after the terminal signal."""
        self._settled.emit()

    def cancel(self) -> None:
        if self.running:
            self._engine.cancel(self.id)


class Engine:
    """A child process serving the Library; restarted if it dies."""

    def __init__(self, data_dir: Path, make_backends: Callable[[], Backends] | None = None) -> None:
        self._data_dir = str(data_dir)
        self._make_backends = make_backends
        self._ids = itertools.count(1)
        self._jobs: dict[int, Job] = {}
        self._lock = threading.Lock()
        self._process: Any = None
        self._exit_hook = False
        self._conn: Any = None

    def warm_up(self) -> None:
        """Start the engine process now (at window start-up) rather than on the first action."""
        with self._lock:
            self._ensure_started()

    def _ensure_started(self) -> None:
        if self._process is not None and self._process.is_alive():
            return
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        # Not a daemon: the engine starts processes of its own (the document reader), which
        # daemons may not. It stops when told to, or when this process's end of the pipe
        # closes; and at exit, shutdown() runs before multiprocessing waits for it.
        self._process = context.Process(target=serve, name="document-engine",
                                        args=(child, self._data_dir, self._make_backends))
        self._process.start()
        if not self._exit_hook:
            atexit.register(self.shutdown)
            self._exit_hook = True
        child.close()
        threading.Thread(target=self._read, args=(self._conn, self._process),
                         name="engine-reader", daemon=True).start()

    def start(self, operation: Operation) -> Job:
        """Send an operation to the engine; the Job reports its events on the GUI thread."""
        with self._lock:
            self._ensure_started()
            job = Job(self, next(self._ids), operation)
            self._jobs[job.id] = job
            self._conn.send(("start", job.id, operation))
        return job

    def cancel(self, job_id: int) -> None:
        with self._lock:
            self._send(("cancel", job_id))

    def _send(self, message: tuple[Any, ...]) -> None:
        """To the engine, unless it has died: its reader then fails the jobs it had."""
        if self._conn is None:
            return
        try:
            self._conn.send(message)
        except (BrokenPipeError, ConnectionError, OSError):
            log.info("the document engine is gone; %s not sent", message[0])

    def _read(self, conn: Any, process: Any) -> None:
        """On the reader thread: route each message to its job's signals (queued to the GUI)."""
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                break
            kind = message[0]
            job = self._jobs.get(message[1]) if len(message) > 1 else None
            if job is None:
                continue
            if kind == "event":
                job.progressed.emit(message[2])
                continue
            self._jobs.pop(job.id, None)
            if kind == "done":
                job.finished.emit(message[2])
            elif kind == "cancelled":
                job.cancelled.emit()
            else:
                job.failed.emit(message[2])
            job.settle()
        if not self._jobs:
            return
        message = self._crash_message(process, list(self._jobs.values()))
        for job in list(self._jobs.values()):  # the child died: nothing more will come
            job.failed.emit(message)
            job.settle()
        self._jobs.clear()

    @staticmethod
    def _crash_message(process: Any, jobs: list[Job]) -> str:
        """Why the engine stopped. A crash in native code while answering is llama.cpp's: the
        machine steps down to a safer configuration once, so the next start does not crash
        the same way."""
        process.join(timeout=10)
        code = process.exitcode
        if code is None or not crashed(code) or not any(isinstance(job.operation, Ask) for job in jobs):
            return CRASHED
        log.error("the document engine crashed (%s) while answering", describe_exit(code))
        return f"The document engine crashed while answering. {EngineChecks().record_crash(code)}. " \
               "It restarts with the next action."

    def shutdown(self) -> None:
        with self._lock:
            if self._process is None:
                return
            for job_id in list(self._jobs):
                self._send(("cancel", job_id))
            self._send(("quit",))
            self._process.join(timeout=15)
            if self._process.is_alive():
                log.warning("document engine did not stop in time; terminating it")
                self._process.terminate()
            self._process = None
