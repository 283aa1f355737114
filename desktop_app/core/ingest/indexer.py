"""Adding documents to a workspace: a cancellable generator of progress, file by file.

Each file is committed whole or not at all, and is held in memory a part at a time: each
batch of chunks is staged in SQLite with its vector ids journaled, then its vectors are
written; the file's last transaction turns the staged rows into its chunks. A crash or a
cancel before that leaves staged rows and journaled vectors that are swept away (at once, or
by the next run), and the file's previous version stays as it was. Closing the generator at
any progress event cancels cleanly, inside a file as between files.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from desktop_app.core.errors import DocumentError, ServerError
from desktop_app.core.files import file_digest, file_size, resolved, symlink_problem
from desktop_app.core.ingest.chunking import (
    ChunkRecipe,
    Header,
    TokenCounter,
    chunk_document,
    next_offset,
    rebase,
)
from desktop_app.core.ingest.document_context import describe_document
from desktop_app.core.ingest.embedding import Embedder
from desktop_app.core.ingest.parsing import Parser
from desktop_app.core.records import (
    AddFinished,
    DocumentRecord,
    DocumentStatus,
    FileFinished,
    FileProgress,
    FileStarted,
    Progress,
)
from desktop_app.core.search.shared_index import DocumentManifest, SharedIndex
from desktop_app.core.search.vectors import VectorStore
from desktop_app.core.storage.store import ChunkStore, StoredDocument

__all__ = ["CHUNKER_VERSION", "ChunkingSettings", "Indexer", "expand_paths"]

log = logging.getLogger(__name__)
_EMBED_BATCH = 64  # chunks embedded and stored together, at least
_READ_AHEAD = 24  # files the parser is told of ahead of the one being indexed
# Changes with what chunks are made of (2: context headers); documents indexed by an older
# chunker are indexed again by the next add.
CHUNKER_VERSION = "chunker-2"
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ChunkingSettings:
    chunk_tokens: int
    overlap: float


def expand_paths(
    paths: Iterable[Path], supports: Callable[[Path], bool]
) -> tuple[list[Path], list[Path]]:
    """Files to index (folders walked recursively, hidden entries skipped), and ignored files.

    A file named explicitly is always indexed (and fails with a reason if unsupported); files
    found in folders are ignored when their format is not supported.
    """
    files: list[Path] = []
    ignored: list[Path] = []
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if any(part.startswith(".") for part in child.relative_to(path).parts):
                    continue
                if child.is_file():
                    (files if supports(child) else ignored).append(child)
        else:
            files.append(path)
    return list(dict.fromkeys(files)), ignored


class Indexer:
    """`shared` is the server of a shared workspace (then also `vectors`): a document's
    record goes there once all its passages are written, before it counts as indexed here,
    and a file already shared under another path is not stored twice."""

    def __init__(self, parser: Parser, embedder: Embedder, store: ChunkStore,
                 vectors: VectorStore, chunking: ChunkingSettings,
                 shared: SharedIndex | None = None) -> None:
        self._parser = parser
        self._embedder = embedder
        self._store = store
        self._vectors = vectors
        self._chunking = chunking
        self._shared = shared

    @property
    def signature(self) -> str:
        """What an indexed file depends on besides its bytes; a change re-indexes it."""
        c = self._chunking
        return f"{self._embedder.name}|{c.chunk_tokens}|{c.overlap}|{CHUNKER_VERSION}"

    def sweep(self) -> int:
        """Clear what an unfinished file left (staged chunks, vectors without chunk rows);
        returns how many vectors were deleted."""
        self._store.discard_staged()
        orphans = self._store.settle_journal()
        if orphans:
            self._vectors.delete(orphans)
            self._store.clear_journal(orphans)
            log.info("removed %d vectors left over by an interrupted run", len(orphans))
        return len(orphans)

    def _sweep_after_failure(self) -> None:
        """Sweep; vectors a server cannot delete now stay journaled for the next run's sweep."""
        try:
            self.sweep()
        except ServerError as exc:
            log.warning("left for the next add: %s", exc)

    def add(self, paths: Iterable[Path], force: bool = False) -> Generator[Progress, None, None]:
        roots = [resolved(p) for p in paths]
        self.sweep()
        files, ignored = expand_paths(roots, self._parser.supports)
        removed = self._remove_vanished(roots, {str(f) for f in files if f.exists()})
        # A folder deleted from disk, named again, takes its documents with it and is no file.
        gone = {str(r) for r in roots if not r.exists()
                and any(p.startswith(str(r).rstrip("/\\") + "/") for p in removed)}
        files = [f for f in files if str(f) not in removed and str(f) not in gone]
        sizes = [file_size(f) for f in files]
        total_bytes = sum(sizes)
        done_bytes = 0
        records: list[DocumentRecord] = []
        digests: dict[Path, str | None] = {}
        try:
            for index, (path, size) in enumerate(zip(files, sizes, strict=True), start=1):
                self._read_ahead(files[index - 1:index - 1 + _READ_AHEAD], force, digests)
                yield FileStarted(index, len(files), str(path), done_bytes, total_bytes)
                started = time.perf_counter()
                stages: dict[str, float] = {}
                record = yield from self._index_file(path, size, index, len(files), force,
                                                     stages, digests)
                done_bytes += size
                records.append(record)
                yield FileFinished(index, len(files), record, done_bytes, total_bytes,
                                   record.pages or 0, time.perf_counter() - started, stages)
        finally:
            self._parser.read_ahead([])
        yield AddFinished(records, removed, [str(p) for p in ignored])

    def _read_ahead(self, window: list[Path], force: bool,
                    digests: dict[Path, str | None]) -> None:
        """Tells the parser which of the next files it will be asked for (those that are
        new or changed), so they are read while this one is embedded."""
        changed = [p for p in window if self._changed(p, force, digests)]
        self._parser.read_ahead(changed, self._recipe() if changed else None)

    def _recipe(self) -> ChunkRecipe | None:
        """How the reading processes cut chunks as this one would, where the embedder's
        tokenizer can travel (loads the embedder)."""
        self._embedder.warm_up()
        tokenizer = self._embedder.tokenizer_file()
        if tokenizer is None:
            return None
        max_tokens = min(self._chunking.chunk_tokens, self._embedder.max_tokens)
        return ChunkRecipe(str(tokenizer), max_tokens, self._chunking.overlap)

    def _changed(self, path: Path, force: bool, digests: dict[Path, str | None]) -> bool:
        if path not in digests:
            try:
                digests[path] = file_digest(path) if path.is_file() else None
            except OSError:
                digests[path] = None
        sha = digests[path]
        return sha is not None and (force or not self._up_to_date(self._store.document(str(path)),
                                                                  sha))

    def _up_to_date(self, stored: StoredDocument | None, sha: str) -> bool:
        return (stored is not None and stored.sha256 == sha
                and stored.status is not DocumentStatus.FAILED
                and stored.signature == self.signature)

    def remove(self, path: str) -> bool:
        if self._store.document(path) is None:
            return False
        if self._shared is not None:
            self._shared.retract(path)  # first: no one takes passages that are going
        ids = self._store.remove_document(path)
        self._drop_vectors(ids)
        return True

    def _remove_vanished(self, roots: list[Path], present: set[str]) -> list[str]:
        """Documents under the given folders (or given as files) that no longer exist on disk."""
        vanished = []
        for root in roots:
            # A folder (or one deleted from disk since): the documents under it; a file: itself.
            known = [str(root)] if root.is_file() else [*self._store.paths_under(str(root)), str(root)]
            vanished += [p for p in known if p not in present and not Path(p).exists()]
        return [p for p in dict.fromkeys(vanished) if self.remove(p)]

    def _index_file(
        self, path: Path, size: int, index: int, total: int, force: bool,
        stages: dict[str, float], digests: dict[Path, str | None],
    ) -> Generator[Progress, None, DocumentRecord]:
        key = str(path)
        sha: str | None = None
        staging = False
        try:
            if not path.exists():
                raise DocumentError(symlink_problem(path) or "file not found")
            sha = digests.get(path) or file_digest(path)
            stored = self._store.document(key)
            if not force and stored is not None and self._up_to_date(stored, sha):
                record = DocumentRecord(key, DocumentStatus.SKIPPED, stored.chunks, None, None, size)
                self._store.record_status(record, sha)
                return record
            holder = self._shared.holder(sha) if self._shared is not None else None
            if holder is not None and holder != key:
                return DocumentRecord(key, DocumentStatus.SKIPPED, 0,
                                      f"the same file is already in this workspace as {holder}",
                                      None, size)
            self._embedder.warm_up()
            staging = True
            chunks, pages = yield from self._stage_parts(path, size, index, total, stages)
            if not chunks:
                raise DocumentError("no text found in the file")
            record = DocumentRecord(key, DocumentStatus.INDEXED, chunks, None, pages, size)
            with _timed(stages, "store"):
                if self._shared is not None:
                    self._shared.publish(DocumentManifest(key, sha, chunks, pages, size,
                                                          self.signature))
                self._drop_vectors(self._store.commit_staged(record, sha, self.signature))
            staging = False
            return record
        except DocumentError as exc:
            return self._fail(key, size, sha, str(exc))
        except OSError as exc:
            return self._fail(key, size, sha, f"file cannot be read: {exc.strerror or exc}")
        except ServerError:
            raise  # the shared workspace's server, not this file: the add stops, to be re-run
        except Exception as exc:  # noqa: BLE001 - one broken file must not stop the batch
            log.exception("indexing %s failed", key)
            return self._fail(key, size, sha, f"internal error while indexing: {exc}")
        finally:
            if staging:  # failed or cancelled inside the file: nothing of this try stays
                self._sweep_after_failure()

    def _stage_parts(
        self, path: Path, size: int, index: int, total: int, stages: dict[str, float]
    ) -> Generator[Progress, None, tuple[int, int | None]]:
        """Parse, chunk, embed and stage the file a part at a time (a large text file comes in
        many parts, anything else in one); returns the chunks staged and the pages seen."""
        key, max_tokens = str(path), min(self._chunking.chunk_tokens, self._embedder.max_tokens)
        staged, offset, pages, before = 0, 0, None, 0
        header: Header | None = None
        # Vectors are written by a thread while the next batch is embedded; one write at a
        # time, and the file's rows are staged (their ids journaled) before its write starts.
        with ThreadPoolExecutor(1, thread_name_prefix="index-writer") as writer:
            writing: Future[None] | None = None
            for part in _timed_iter(self._parser.parts(path), stages, "parse"):
                with _timed(stages, "chunk"):
                    if header is None:  # the first part holds the document's opening
                        header = _fitted_header(describe_document(key, part.elements).header,
                                                self._embedder.count_tokens,
                                                self._embedder.max_tokens - max_tokens)
                    if part.chunks is not None:  # cut by the reading process
                        chunks = rebase(part.chunks, key, offset, staged, header)
                    else:
                        chunks = chunk_document(key, part.elements, self._embedder.count_tokens,
                                                max_tokens, self._chunking.overlap,
                                                offset=offset, first_ordinal=staged,
                                                header=header)
                step = max(_EMBED_BATCH, self._embedder.batch)
                for start in range(0, len(chunks), step):
                    batch = chunks[start:start + step]
                    with _timed(stages, "embed"):
                        vectors = self._embedder.embed_documents([c.searchable_text for c in batch])
                    with _timed(stages, "store"):
                        if writing is not None:
                            writing.result()
                        self._store.stage(batch)
                        writing = writer.submit(self._vectors.upsert, batch, vectors)
                    done = start + len(batch)
                    read = before + (part.bytes_read - before) * done // len(chunks)
                    yield FileProgress(index, total, key, read, size, staged + done)
                staged += len(chunks)
                offset, pages, before = next_offset(offset, part.elements), part.pages, part.bytes_read
            if writing is not None:
                with _timed(stages, "store"):
                    writing.result()
        return staged, pages

    def _fail(self, key: str, size: int, sha: str | None, message: str) -> DocumentRecord:
        record = DocumentRecord(key, DocumentStatus.FAILED, 0, message, None, size)
        dropped = self._store.record_status(record, sha)
        if dropped and self._shared is not None:
            self._shared.retract(key)
        self._drop_vectors(dropped)
        return record

    def _drop_vectors(self, ids: list[str]) -> None:
        if ids:
            self._vectors.delete(ids)
            self._store.clear_journal(ids)


def _fitted_header(header: Header, count_tokens: TokenCounter, room: int) -> Header:
    """`header`, cut to the words that fit in `room` tokens beside a full chunk (the embedder
    would cut the chunk's end instead), remembered per heading."""
    cache: dict[str | None, str] = {}

    def fitted(heading: str | None) -> str:
        if heading not in cache:
            words = header(heading).split()
            while words and count_tokens([" ".join(words)])[0] + 2 > room:
                words = words[:max(0, len(words) * 3 // 4)] if len(words) > 8 else words[:-1]
            cache[heading] = " ".join(words)
        return cache[heading]

    return fitted


def _timed_iter(items: Iterator[T], stages: dict[str, float], stage: str) -> Iterator[T]:
    """The items of an iterator, the time spent producing each counted to `stage`."""
    while True:
        with _timed(stages, stage):
            item = next(items, None)
        if item is None:
            return
        yield item


@contextmanager
def _timed(stages: dict[str, float], stage: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        stages[stage] = stages.get(stage, 0.0) + time.perf_counter() - started
