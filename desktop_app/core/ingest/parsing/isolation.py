"""Each file parsed in a worker process, within a time and memory budget.

unstructured and pdfium read whatever a file says: a .docx that unpacked to 200 MB of
paragraphs grew to 4.4 GB and was still parsing after ten minutes, and a hang or crash in a
parser's native code took the whole batch with it. Here a long-lived worker process parses
one file at a time; the indexer's process watches the clock and the worker's memory, and a
file over budget (or one that kills the worker) fails alone, with the reason, while the
worker is started afresh for the next file. Large plain-text files are read in bounded
parts in this process (streaming.py) and need no worker.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from desktop_app.core.errors import DocumentError
from desktop_app.core.ingest.parsing.base import (
    ParsedDocument,
    ParsedPart,
    Parser,
    readable_extensions,
)
from desktop_app.core.ingest.parsing.streaming import TEXT_EXTENSIONS, in_parts

__all__ = ["IsolatedParser", "memory_budget", "time_budget"]

log = logging.getLogger(__name__)

_POLL_S = 0.2


def time_budget(size_bytes: int) -> float:
    """Seconds a file may take to parse: 5 minutes, plus 20 s a megabyte (an 872-page .docx
    of 3 MB takes 18 s here; a 619-page PDF a few)."""
    return 300.0 + 20.0 * size_bytes / 1e6


def memory_budget(size_bytes: int) -> int:
    """Bytes the worker may hold while parsing a file: 2 GiB, or 40 times the file when that
    is more, and never more than half of this machine's memory."""
    import psutil

    return int(min(psutil.virtual_memory().total / 2, max(2 * 2**30, 40 * size_bytes)))


class IsolatedParser:
    """The Parser protocol, each parse done by `make_parser()`'s parser in a worker process
    (`make_parser` must be a module-level function: the worker is spawned, not forked)."""

    def __init__(self, make_parser: Callable[[], Parser],
                 time_limit: Callable[[int], float] = time_budget,
                 memory_limit: Callable[[int], int] = memory_budget) -> None:
        self._make_parser = make_parser
        self._time_limit, self._memory_limit = time_limit, memory_limit
        self._worker: tuple[Any, Connection] | None = None

    def warm_up(self) -> None:
        self._ensure_worker()

    def supports(self, path: Path) -> bool:
        return path.suffix.lower() in readable_extensions()

    def parts(self, path: Path) -> Iterator[ParsedPart]:
        return in_parts(self.parse, path, TEXT_EXTENSIONS, None)

    def parse(self, path: Path) -> ParsedDocument:
        process, conn = self._ensure_worker()
        size = path.stat().st_size if path.is_file() else 0
        seconds, memory = self._time_limit(size), self._memory_limit(size)
        conn.send(str(path))
        deadline = time.monotonic() + seconds
        while not conn.poll(_POLL_S):
            problem = self._over_budget(process, deadline, seconds, memory)
            if problem is not None:
                self.close()
                raise DocumentError(problem)
        try:
            kind, value = conn.recv()
        except (EOFError, OSError) as exc:
            self.close()
            raise DocumentError(_crashed(process)) from exc
        if kind == "ok":
            return value  # type: ignore[no-any-return]
        raise DocumentError(value)

    def close(self) -> None:
        """Stop the worker (the next parse starts another)."""
        if self._worker is not None:
            process, conn = self._worker
            self._worker = None
            if process.is_alive():
                process.kill()
            process.join(timeout=10)
            conn.close()

    def _over_budget(self, process: Any, deadline: float, seconds: float, memory: int
                     ) -> str | None:
        if not process.is_alive():
            return _crashed(process)
        if time.monotonic() > deadline:
            return (f"reading it took longer than {seconds:.0f} s, so it was stopped; the "
                    "file may be damaged or built to overwhelm a reader")
        if _resident(process.pid) > memory:
            return (f"reading it needed more than {memory / 2**30:.1f} GB of memory, so it was "
                    "stopped; the file may be damaged or built to overwhelm a reader")
        return None

    def _ensure_worker(self) -> tuple[Any, Connection]:
        if self._worker is not None and self._worker[0].is_alive():
            return self._worker
        self.close()
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        process = context.Process(target=_serve, args=(theirs, self._make_parser),
                                  name="document-reader", daemon=True)
        process.start()
        theirs.close()
        if not ours.poll(120) or ours.recv() != "ready":  # imports and warms up the parser
            process.kill()
            raise DocumentError("the document reader could not start")
        self._worker = (process, ours)
        return self._worker


def _resident(pid: int | None) -> int:
    import psutil

    try:
        return int(psutil.Process(pid).memory_info().rss)
    except psutil.Error:
        return 0


def _crashed(process: Any) -> str:
    process.join(timeout=5)
    code = process.exitcode
    how = f"signal {-code}" if isinstance(code, int) and code < 0 else f"exit code {code}"
    return f"the document reader crashed on this file ({how}); the file may be damaged"


def _serve(conn: Connection, make_parser: Callable[[], Parser]) -> None:
    """The worker: parse each path sent, answer ("ok", ParsedDocument) or ("error", why)."""
    from desktop_app.core.offline import seal_environment

    seal_environment()
    parser = make_parser()
    parser.warm_up()
    conn.send("ready")
    while True:
        try:
            path = conn.recv()
        except (EOFError, OSError):
            return
        try:
            conn.send(("ok", parser.parse(Path(path))))
        except DocumentError as exc:
            conn.send(("error", str(exc)))
        except Exception as exc:  # noqa: BLE001 - told to the indexer as this file's failure
            log.exception("parsing %s failed", path)
            conn.send(("error", f"internal error while reading it: {type(exc).__name__}: {exc}"))
