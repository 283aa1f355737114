"""Files parsed in worker processes, each within a time and memory budget, ahead of need.

unstructured and pdfium read whatever a file says: a .docx that unpacked to 200 MB of
paragraphs grew to 4.4 GB and was still parsing after ten minutes, and a hang or crash in a
parser's native code took the whole batch with it. Here long-lived worker processes parse
one file (or one stretch of a long PDF's pages) each at a time; a thread of the indexer's
process hands out the work, watches the clock and each worker's memory, and a file over
budget (or one that kills its worker) fails alone, with the reason, while another worker is
started for what comes next. Told which files come next (`read_ahead`), the workers read
them while this process embeds the one before, on as many cores as are spare. Large
plain-text files are read in bounded parts in this process (streaming.py) and need no worker.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from desktop_app.core.errors import DocumentError
from desktop_app.core.ingest.chunking import ChunkRecipe
from desktop_app.core.ingest.parsing.base import (
    ParsedDocument,
    ParsedPart,
    Parser,
    ocr_available,
    readable_extensions,
)
from desktop_app.core.ingest.parsing.pdf import NO_TEXT_LAYER
from desktop_app.core.ingest.parsing.streaming import STREAM_FROM_BYTES, TEXT_EXTENSIONS, in_parts
from desktop_app.core.records import Chunk

__all__ = ["PAGES_PER_JOB", "IsolatedParser", "memory_budget", "reading_workers", "time_budget"]

log = logging.getLogger(__name__)

_POLL_S = 0.2
_START_S = 120.0  # a worker that is not ready by then (imports) is given up
PAGES_PER_JOB = 32  # a long PDF is read in stretches of this many pages, on several workers
_WORKER_BYTES = 512 * 2**20  # memory set aside for each worker when choosing how many


def time_budget(size_bytes: int) -> float:
    """Seconds a file may take to parse: 5 minutes, plus 20 s a megabyte (an 872-page .docx
    of 3 MB takes 18 s here; a 619-page PDF a few)."""
    return 300.0 + 20.0 * size_bytes / 1e6


def memory_budget(size_bytes: int) -> int:
    """Bytes the worker may hold while parsing a file: 2 GiB, or 40 times the file when that
    is more, and never more than half of this machine's memory."""
    import psutil

    return int(min(psutil.virtual_memory().total / 2, max(2 * 2**30, 40 * size_bytes)))


def reading_workers() -> int:
    """How many files are read at once: the cores beyond the two that embed and store, one
    at least, and no more than memory can hold comfortably (16 at most)."""
    import psutil

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    spare = int(psutil.virtual_memory().available // _WORKER_BYTES)
    return max(1, min((cores or 1) - 2, spare, 16))


@dataclass(frozen=True, slots=True)
class _Job:
    path: str
    first: int = 0  # the first page of a stretch of a PDF
    count: int | None = None  # pages in the stretch; None: the whole file
    recipe: ChunkRecipe | None = None  # to cut what was read into chunks, in the worker


@dataclass(frozen=True, slots=True)
class _Result:
    document: ParsedDocument | None
    error: str | None = None
    total_pages: int | None = None  # a stretch's document's page count
    chunks: list[Chunk] | None = None  # cut by the job's recipe


@dataclass(eq=False)
class _Worker:
    process: Any
    conn: Connection
    job: _Job | None = None
    ready: bool = False
    deadline: float = field(default_factory=lambda: time.monotonic() + _START_S)
    seconds: float = 0.0
    memory: int = 0


class IsolatedParser:
    """The Parser protocol, each parse done by `make_parser()`'s parser in a worker process
    (`make_parser` must be a module-level function: workers are spawned, not forked), by up
    to `workers` processes at once (reading_workers() by default)."""

    def __init__(self, make_parser: Callable[[], Parser],
                 time_limit: Callable[[int], float] = time_budget,
                 memory_limit: Callable[[int], int] = memory_budget,
                 workers: int | None = None) -> None:
        self._make_parser = make_parser
        self._time_limit, self._memory_limit = time_limit, memory_limit
        self._most = workers or reading_workers()
        self._changed = threading.Condition()
        self._queue: deque[_Job] = deque()  # waiting for a worker, most wanted first
        self._results: dict[_Job, _Result] = {}
        self._wanted: set[_Job] = set()  # queued or being read, and still wanted
        self._waiting: set[_Job] = set()  # what the indexer is waiting for now
        self._workers: list[_Worker] = []  # touched by the dispatcher thread only
        self._dispatcher: threading.Thread | None = None
        self._stopping = False
        self._recipe: ChunkRecipe | None = None

    def warm_up(self) -> None:
        return None  # workers start with the first file

    def supports(self, path: Path) -> bool:
        return path.suffix.lower() in readable_extensions()

    def read_ahead(self, paths: Sequence[Path], recipe: ChunkRecipe | None = None) -> None:
        with self._changed:
            self._recipe = recipe
            jobs = [self._first_job(p) for p in paths if self._in_worker(p)]
            keep = {j.path for j in jobs}
            self._results = {j: r for j, r in self._results.items() if j.path in keep}
            self._wanted = {j for j in self._wanted if j.path in keep}
            self._queue = deque(j for j in self._queue if j.path in keep)
            for job in jobs:
                self._want(job, first=False)
            self._start()

    def parts(self, path: Path) -> Iterator[ParsedPart]:
        if not self._in_worker(path):  # a large plain-text file: read here, a block at a time
            return in_parts(self.parse, path, TEXT_EXTENSIONS, None)
        return self._stretches(path, self._first_job(path))

    def parse(self, path: Path) -> ParsedDocument:
        document, _, _ = self._take(_Job(str(path)))
        return document

    def close(self) -> None:
        """Stop the workers (the next parse starts others)."""
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        if self._dispatcher is not None:
            self._dispatcher.join()
        self._dispatcher, self._stopping = None, False
        self._queue.clear()
        self._results.clear()
        self._wanted.clear()
        self._waiting.clear()

    def _stretches(self, path: Path, job: _Job) -> Iterator[ParsedPart]:
        """A file as one part, or a long PDF in stretches of pages read side by side, given
        in page order."""
        size = path.stat().st_size if path.is_file() else 0  # the worker says what is wrong
        document, total, chunks = self._take(job)
        if job.count is None:
            yield ParsedPart(document.elements, size, document.pages, chunks)
            return
        total = total or document.pages or 0
        later = [_Job(job.path, first, PAGES_PER_JOB, job.recipe)
                 for first in range(PAGES_PER_JOB, total, PAGES_PER_JOB)]
        with self._changed:
            for stretch in reversed(later):  # at the head of the queue, in page order
                self._want(stretch, first=True)
        read, found = document.pages or 0, bool(document.elements)
        yield ParsedPart(document.elements, size * read // max(total, 1), read, chunks)
        for stretch in later:
            document, _, chunks = self._take(stretch)
            read, found = read + (document.pages or 0), found or bool(document.elements)
            yield ParsedPart(document.elements, size * read // max(total, 1), read, chunks)
        if not found and not ocr_available():
            raise DocumentError(NO_TEXT_LAYER)

    def _first_job(self, path: Path) -> _Job:
        """A PDF is read in stretches where several workers can share it."""
        if path.suffix.lower() == ".pdf" and self._most > 1:
            return _Job(str(path), 0, PAGES_PER_JOB, self._recipe)
        return _Job(str(path), recipe=self._recipe)

    @staticmethod
    def _in_worker(path: Path) -> bool:
        size = path.stat().st_size if path.is_file() else 0
        return not (path.suffix.lower() in TEXT_EXTENSIONS and size >= STREAM_FROM_BYTES)

    def _want(self, job: _Job, first: bool) -> None:
        """Queue `job` unless it is read, being read or queued; `first`: before all others."""
        if job in self._results or job in self._wanted and job not in self._queue:
            return
        if job in self._queue:
            if not first:
                return
            self._queue.remove(job)
        self._wanted.add(job)
        if first:
            self._queue.appendleft(job)
        else:
            self._queue.append(job)
        self._changed.notify_all()

    def _take(self, job: _Job) -> tuple[ParsedDocument, int | None, list[Chunk] | None]:
        """The job's document (read now if it was not read ahead), or its DocumentError."""
        with self._changed:
            self._want(job, first=True)
            self._waiting.add(job)
            self._start()
            while job not in self._results:
                if self._dispatcher is None or not self._dispatcher.is_alive():
                    self._waiting.discard(job)
                    raise DocumentError("the document reader stopped before reading it")
                self._changed.wait(_POLL_S)
            result = self._results.pop(job)
            self._wanted.discard(job)
            self._waiting.discard(job)
        if result.document is None:
            raise DocumentError(result.error or "the document reader failed")
        return result.document, result.total_pages, result.chunks

    def _start(self) -> None:
        if self._dispatcher is None or not self._dispatcher.is_alive():
            self._dispatcher = threading.Thread(target=self._dispatch, name="document-readers",
                                                daemon=True)
            self._dispatcher.start()

    def _dispatch(self) -> None:
        """The dispatcher thread: hands out queued jobs, gathers what workers send, and stops
        a worker that is over its budget or has died."""
        try:
            while True:
                with self._changed:
                    if self._stopping:
                        return
                    self._hand_out()
                    if not self._wanted:  # nothing ahead: one worker waits, the rest go
                        for idle in [w for w in self._workers if w.job is None][1:]:
                            self._stop(idle)
                    listening = {w.conn: w for w in self._workers if w.job or not w.ready}
                    if not listening:
                        self._changed.wait(_POLL_S)
                        continue
                for conn in wait(list(listening), timeout=_POLL_S):
                    self._receive(listening[conn])  # type: ignore[index]
                for worker in list(self._workers):
                    problem = self._over_budget(worker) if worker.job else None
                    if problem is not None:
                        self._finish(worker, _Result(None, problem))
                        self._stop(worker)
        finally:
            for worker in list(self._workers):
                self._stop(worker)

    def _hand_out(self) -> None:
        """Queued jobs to idle workers, starting workers (up to the limit) while work waits;
        no more read ahead than twice the workers can hold."""
        held = len(self._results) + sum(1 for w in self._workers if w.job)
        while self._queue:
            job = self._queue[0]
            if held >= 2 * self._most + 2 and job not in self._waiting:
                return
            idle = next((w for w in self._workers if w.job is None), None)
            if idle is None and len(self._workers) < self._most:
                idle = self._spawn()
            if idle is None:
                return
            self._queue.popleft()
            size = Path(job.path).stat().st_size if Path(job.path).is_file() else 0
            idle.job, idle.seconds, idle.memory = job, self._time_limit(size), self._memory_limit(size)
            if idle.ready:
                idle.deadline = time.monotonic() + idle.seconds
            idle.conn.send((job.path, job.first, job.count, job.recipe))
            held += 1

    def _receive(self, worker: _Worker) -> None:
        try:
            message = worker.conn.recv()
        except (EOFError, OSError):
            if worker.job is not None:
                self._finish(worker, _Result(None, _crashed(worker.process)))
            self._stop(worker)
            return
        if message == "ready":
            worker.ready = True
            worker.deadline = time.monotonic() + (worker.seconds if worker.job else _START_S)
            return
        kind, value, total, chunks = message
        self._finish(worker, _Result(value, None, total, chunks) if kind == "ok"
                     else _Result(None, value))

    def _finish(self, worker: _Worker, result: _Result) -> None:
        with self._changed:
            if worker.job in self._wanted:
                self._results[worker.job] = result
            worker.job = None
            self._changed.notify_all()

    def _over_budget(self, worker: _Worker) -> str | None:
        if not worker.process.is_alive():
            return _crashed(worker.process)
        if not worker.ready:
            return "the document reader could not start" if time.monotonic() > worker.deadline \
                else None
        if time.monotonic() > worker.deadline:
            return (f"reading it took longer than {worker.seconds:.0f} s, so it was stopped; the "
                    "file may be damaged or built to overwhelm a reader")
        if _resident(worker.process.pid) > worker.memory:
            return (f"reading it needed more than {worker.memory / 2**30:.1f} GB of memory, so it "
                    "was stopped; the file may be damaged or built to overwhelm a reader")
        return None

    def _spawn(self) -> _Worker:
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        process = context.Process(target=_serve, args=(theirs, self._make_parser),
                                  name="document-reader", daemon=True)
        process.start()
        theirs.close()
        worker = _Worker(process, ours)
        self._workers.append(worker)
        return worker

    def _stop(self, worker: _Worker) -> None:
        if worker in self._workers:
            self._workers.remove(worker)
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(timeout=10)
        worker.conn.close()


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
    """A worker: read each (path, first page, pages, chunk recipe) sent, answer ("ok",
    ParsedDocument, the PDF's page count or None, chunks or None) or ("error", why, None,
    None). Heavy libraries are imported by the first file that needs them: a batch of PDFs
    never loads unstructured."""
    from desktop_app.core.offline import seal_environment

    seal_environment()
    # One core each: the workers are as many as the cores to spare already, and a tokenizer
    # spreading over every core in each of them would starve the process that embeds.
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    parser = make_parser()
    conn.send("ready")
    while True:
        try:
            path, first, count, recipe = conn.recv()
        except (EOFError, OSError):
            return
        try:
            document, total = _read(parser, Path(path), first, count)
            chunks = recipe.chunk(document.elements) if recipe is not None else None
            conn.send(("ok", document, total, chunks))
        except DocumentError as exc:
            conn.send(("error", str(exc), None, None))
        except Exception as exc:  # noqa: BLE001 - told to the indexer as this file's failure
            log.exception("parsing %s failed", path)
            conn.send(("error", f"internal error while reading it: {type(exc).__name__}: {exc}",
                       None, None))


def _read(parser: Parser, path: Path, first: int, count: int | None
          ) -> tuple[ParsedDocument, int | None]:
    parse_pages = getattr(parser, "parse_pages", None)
    if count is None or parse_pages is None:  # a parser without stretches reads it whole
        return parser.parse(path), None
    document, total = parse_pages(path, first, count)
    return document, total
