"""Vector stores: the Protocol, embedded Chroma, and an in-memory fake."""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from desktop_app.core.errors import AppError, IndexDamaged
from desktop_app.core.offline import seal_environment
from desktop_app.core.records import Chunk
from desktop_app.core.search.hnsw_files import hnsw_problem

__all__ = ["ChromaVectorStore", "MemoryVectorStore", "VectorStore"]

log = logging.getLogger(__name__)


class VectorStore(Protocol):
    """Unit vectors of passages, by chunk id.

    `upsert` is idempotent (the same id twice keeps one vector; a store may keep the passage
    beside its vector, as a shared one does for the other apps); `delete` ignores unknown ids;
    `query` returns up to n (id, cosine similarity) pairs, most similar first, only among the
    ids `within` when it is given (a question asked of some documents only). Vectors are
    durable once `upsert` returns.
    """

    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None: ...

    def delete(self, ids: Sequence[str]) -> None: ...

    def query(self, vector: np.ndarray, n: int, within: Collection[str] | None = None
              ) -> list[tuple[str, float]]: ...

    def count(self) -> int: ...

    def reset(self) -> None:
        """Delete every vector (before a re-index with another embedder)."""
        ...

    def verify(self) -> None:
        """Read and search the stored vectors once; IndexDamaged if they cannot be."""
        ...

    def close(self) -> None:
        """Release the store's files (a damaged one can then be moved aside)."""
        ...


@contextmanager
def chroma_errors(doing: str) -> Iterator[None]:
    """Chroma's many exception types (InternalError, sqlite3 errors, pickle errors from a
    garbled index...) as one of ours, saying what was being done."""
    try:
        yield
    except AppError:
        raise
    except Exception as exc:  # noqa: BLE001 - chromadb raises many unrelated types
        raise IndexDamaged(f"{doing} failed: {type(exc).__name__}: {exc}") from exc


def _forget_failed_open(path: Path) -> None:
    """Chroma caches one system per folder and keeps it even when starting it failed (a
    damaged chroma.sqlite3), so every later client for that folder fails too, even after the
    folder was replaced. Drop such a system: one that no client holds."""
    from chromadb.api.shared_system_client import SharedSystemClient

    key = str(path)
    if key in SharedSystemClient._identifier_to_system and \
            not SharedSystemClient._identifier_to_refcount.get(key):  # noqa: SLF001
        SharedSystemClient._identifier_to_system.pop(key, None)  # noqa: SLF001


class ChromaVectorStore:
    """A Chroma collection in cosine space, fed only our own embeddings (no embedder attached)."""

    COLLECTION = "chunks"

    def __init__(self, path: Path, ef_search: int = 200) -> None:
        seal_environment()  # chromadb reads its telemetry switch at import
        import chromadb
        from chromadb.config import Settings

        self._client: Any = None
        self._collection: Any = None
        self._ef_search = ef_search
        problem = hnsw_problem(path)  # before Chroma's native code can crash on it
        if problem is not None:
            raise IndexDamaged(f"the file {problem}")
        with chroma_errors(f"opening the search index at {path}"):
            _forget_failed_open(path)
            self._client = chromadb.PersistentClient(
                path=str(path), settings=Settings(anonymized_telemetry=False, allow_reset=False)
            )
            try:
                # embedding_function=None on every get/create: otherwise Chroma attaches its
                # default ONNX embedder, which downloads a model at first use.
                self._collection = self._open_collection()
                self._batch = int(self._client.get_max_batch_size())
            except BaseException:
                self.close()  # its files stay closed, so they can be moved aside
                raise

    def _open_collection(self) -> Any:
        return self._client.get_or_create_collection(
            self.COLLECTION,
            embedding_function=None,
            configuration={"hnsw": {"space": "cosine", "ef_search": self._ef_search,
                                    "ef_construction": 200}},
        )

    def reset(self) -> None:
        with chroma_errors("emptying the search index"):
            self._client.delete_collection(self.COLLECTION)
            self._collection = self._open_collection()

    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        with chroma_errors("writing to the search index"):
            for start in range(0, len(chunks), self._batch):
                end = start + self._batch
                self._collection.upsert(ids=[c.id for c in chunks[start:end]],
                                        embeddings=vectors[start:end])

    def delete(self, ids: Sequence[str]) -> None:
        with chroma_errors("deleting from the search index"):
            for start in range(0, len(ids), self._batch):
                self._collection.delete(ids=list(ids[start:start + self._batch]))

    def query(self, vector: np.ndarray, n: int, within: Collection[str] | None = None
              ) -> list[tuple[str, float]]:
        with chroma_errors("searching the search index"):
            total = self._collection.count() if within is None else len(within)
            if total == 0 or n <= 0:
                return []
            scope = {} if within is None else {"ids": list(within)}
            result: Any = self._collection.query(
                query_embeddings=[vector], n_results=min(n, total), include=["distances"], **scope
            )
        return [(i, 1.0 - float(d)) for i, d in zip(result["ids"][0], result["distances"][0], strict=True)]

    def count(self) -> int:
        with chroma_errors("counting the search index"):
            return int(self._collection.count())

    def verify(self) -> None:
        """One stored vector read back and searched for: this loads the HNSW index, which is
        where truncated or garbled files show."""
        with chroma_errors("reading the search index"):
            sample: Any = self._collection.get(limit=1, include=["embeddings"])
        if len(sample["ids"]):
            self.query(np.asarray(sample["embeddings"][0], dtype=np.float32), 1)

    def close(self) -> None:
        client, self._client, self._collection = self._client, None, None
        if client is not None:
            try:
                client.close()  # stops Chroma's system once no other client uses this path
            except Exception:  # noqa: BLE001 - closing a broken store must not fail its repair
                log.warning("closing the search index failed", exc_info=True)


class MemoryVectorStore:
    """Exact cosine search over a dict; the fake for unit tests."""

    def __init__(self) -> None:
        self._vectors: dict[str, np.ndarray] = {}

    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        for chunk, vector in zip(chunks, vectors, strict=True):
            self._vectors[chunk.id] = np.asarray(vector, dtype=np.float32)

    def delete(self, ids: Iterable[str]) -> None:
        for chunk_id in ids:
            self._vectors.pop(chunk_id, None)

    def query(self, vector: np.ndarray, n: int, within: Collection[str] | None = None
              ) -> list[tuple[str, float]]:
        ids = [i for i in self._vectors if within is None or i in within]
        if not ids or n <= 0:
            return []
        scores = np.stack([self._vectors[i] for i in ids]) @ np.asarray(vector, dtype=np.float32)
        order = np.argsort(-scores, kind="stable")[:n]
        return [(ids[i], float(scores[i])) for i in order]

    def count(self) -> int:
        return len(self._vectors)

    def reset(self) -> None:
        self._vectors.clear()

    def verify(self) -> None:
        return None

    def close(self) -> None:
        return None
