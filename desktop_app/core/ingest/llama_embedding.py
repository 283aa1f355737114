"""An embedder from a GGUF file, run by llama.cpp: on the GPU when the build has one.

Embedding models of the catalogue (nomic-embed-text, bge, granite ...) come as GGUF files the
app downloads like chat models; llama.cpp runs them with the same CPU variant and buffer
settings the engine check proved on this machine. Models trained with task prefixes
("search_query: ") get them here, so vectors match what the model's published scores assume.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from desktop_app.core.errors import BackendError

__all__ = ["LlamaEmbedder"]

log = logging.getLogger(__name__)

CONTEXT_TOKENS = 512  # inputs are chunks of at most 254 word pieces, plus a header and prefix


class LlamaEmbedder:
    """Embeds with a GGUF embedding model; `query_prefix` and `document_prefix` are put before
    questions and passages (both "" for a model trained without them)."""

    batch = 64

    def tokenizer_file(self) -> Path | None:
        return None  # chunks are cut in the indexing process

    def __init__(self, name: str, path: Path, query_prefix: str = "", document_prefix: str = "",
                 gpu_layers: int = -1, threads: int | None = None) -> None:
        self.name = name
        self._path = path
        self._query_prefix = query_prefix
        self._document_prefix = document_prefix
        self._gpu_layers = gpu_layers
        self._threads = threads or max(1, os.cpu_count() or 2)
        self._llm: Any = None
        self._lock = threading.Lock()  # one llama context: one call at a time

    def warm_up(self) -> None:
        if self._llm is not None:
            return
        if not self._path.is_file():
            raise BackendError(f"embedding model file not found: {self._path}")
        from desktop_app.core.models.engine_check import EngineChecks
        from desktop_app.core.models.llama_runtime import (
            capture_llama_log,
            load_llama,
            model_defaults,
        )

        config, _ = EngineChecks().current()
        llama_cpp = load_llama(config.variant)
        try:
            with capture_llama_log(), model_defaults(use_extra_bufts=config.extra_buffers):
                self._llm = llama_cpp.Llama(
                    model_path=str(self._path), embedding=True, n_ctx=CONTEXT_TOKENS,
                    n_batch=CONTEXT_TOKENS, n_ubatch=CONTEXT_TOKENS, n_threads=self._threads,
                    n_gpu_layers=self._gpu_layers, verbose=False)
        except Exception as exc:  # llama.cpp load failures come as ValueError etc.
            raise BackendError(f"could not load the embedder {self.name!r}: {exc}") from exc
        log.info("embedder %s loaded from %s", self.name, self._path)

    @property
    def dimensions(self) -> int:
        self.warm_up()
        return int(self._llm.n_embd())

    @property
    def max_tokens(self) -> int:
        # Room for the longest prefix, and for [CLS] and [SEP].
        return CONTEXT_TOKENS - 2 - max(self._count(self._query_prefix),
                                        self._count(self._document_prefix))

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [self._count(t) for t in texts]

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed([self._document_prefix + t for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        vector: np.ndarray = self._embed([self._query_prefix + text])[0]
        return vector

    def _count(self, text: str) -> int:
        if not text:
            return 0
        self.warm_up()
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def _embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        self.warm_up()
        with self._lock:
            vectors = self._llm.embed(texts, normalize=True, truncate=True)
        return np.stack([_pooled(v) for v in vectors]).astype(np.float32)


def _pooled(vector: Any) -> np.ndarray:
    """One unit-length vector for a text. A model whose header names no pooling (a chat model
    used for embeddings) gives one vector per token: their mean stands for the text."""
    array = np.asarray(vector, dtype=np.float32)
    if array.ndim == 2:
        array = array.mean(axis=0)
    norm = float(np.linalg.norm(array))
    pooled: np.ndarray = array / norm if norm else array
    return pooled
