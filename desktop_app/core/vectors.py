"""Vector stores: the Protocol, embedded Chroma, and an in-memory fake."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .errors import BackendError

__all__ = ["ChromaVectorStore", "MemoryVectorStore", "VectorStore"]

log = logging.getLogger(__name__)


class VectorStore(Protocol):
    """Unit vectors by chunk id.

    `upsert` is idempotent (the same id twice keeps one vector); `delete` ignores unknown ids;
    `query` returns up to n (id, cosine similarity) pairs, most similar first. Vectors are
    durable once `upsert` returns.
    """

    def upsert(self, ids: Sequence[str], vectors: np.ndarray) -> None: ...

    def delete(self, ids: Sequence[str]) -> None: ...

    def query(self, vector: np.ndarray, n: int) -> list[tuple[str, float]]: ...

    def count(self) -> int: ...

    def reset(self) -> None:
        """Delete every vector (before a re-index with another embedder)."""
        ...

    def close(self) -> None: ...


class ChromaVectorStore:
    """A Chroma collection in cosine space, fed only our own embeddings (no embedder attached)."""

    COLLECTION = "chunks"

    def __init__(self, path: Path, ef_search: int = 200) -> None:
        import chromadb
        from chromadb.config import Settings

        self._client: Any = None
        self._collection: Any = None
        try:
            self._client = chromadb.PersistentClient(
                path=str(path), settings=Settings(anonymized_telemetry=False, allow_reset=False)
            )
            # embedding_function=None on every get/create: otherwise Chroma attaches its
            # default ONNX embedder, which downloads a model at first use.
            self._ef_search = ef_search
            self._collection = self._open_collection()
            self._batch = int(self._client.get_max_batch_size())
        except Exception as exc:  # noqa: BLE001 - chromadb raises many types
            raise BackendError(f"could not open the vector store at {path}: {exc}") from exc

    def _open_collection(self) -> Any:
        return self._client.get_or_create_collection(
            self.COLLECTION,
            embedding_function=None,
            configuration={"hnsw": {"space": "cosine", "ef_search": self._ef_search,
                                    "ef_construction": 200}},
        )

    def reset(self) -> None:
        self._client.delete_collection(self.COLLECTION)
        self._collection = self._open_collection()

    def upsert(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        for start in range(0, len(ids), self._batch):
            end = start + self._batch
            self._collection.upsert(ids=list(ids[start:end]), embeddings=vectors[start:end])

    def delete(self, ids: Sequence[str]) -> None:
        for start in range(0, len(ids), self._batch):
            self._collection.delete(ids=list(ids[start:start + self._batch]))

    def query(self, vector: np.ndarray, n: int) -> list[tuple[str, float]]:
        total = self._collection.count()
        if total == 0 or n <= 0:
            return []
        result: Any = self._collection.query(
            query_embeddings=[vector], n_results=min(n, total), include=["distances"]
        )
        return [(i, 1.0 - float(d)) for i, d in zip(result["ids"][0], result["distances"][0], strict=True)]

    def count(self) -> int:
        return int(self._collection.count())

    def close(self) -> None:
        # Chroma has no public close; dropping references lets its system shut down.
        self._collection = None
        self._client = None


class MemoryVectorStore:
    """Exact cosine search over a dict; the fake for unit tests."""

    def __init__(self) -> None:
        self._vectors: dict[str, np.ndarray] = {}

    def upsert(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        for chunk_id, vector in zip(ids, vectors, strict=True):
            self._vectors[chunk_id] = np.asarray(vector, dtype=np.float32)

    def delete(self, ids: Iterable[str]) -> None:
        for chunk_id in ids:
            self._vectors.pop(chunk_id, None)

    def query(self, vector: np.ndarray, n: int) -> list[tuple[str, float]]:
        if not self._vectors or n <= 0:
            return []
        ids = list(self._vectors)
        scores = np.stack([self._vectors[i] for i in ids]) @ np.asarray(vector, dtype=np.float32)
        order = np.argsort(-scores, kind="stable")[:n]
        return [(ids[i], float(scores[i])) for i in order]

    def count(self) -> int:
        return len(self._vectors)

    def reset(self) -> None:
        self._vectors.clear()

    def close(self) -> None:
        return None
