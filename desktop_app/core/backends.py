"""Where the core gets its parser, embedder, stores and model: real ones, or fast fakes."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from desktop_app.core.answer.llama_model import LlamaCppModel
from desktop_app.core.answer.llm import LanguageModel, ScriptedModel
from desktop_app.core.answer.remote_llm import RemoteModel, ServerConfig
from desktop_app.core.ingest.embedding import Embedder, HashingEmbedder, create_embedder
from desktop_app.core.ingest.parsing import Parser, PlainTextParser, create_isolated_parser
from desktop_app.core.offline import seal_environment
from desktop_app.core.search.keywords import FtsKeywordIndex, KeywordIndex
from desktop_app.core.search.shared_index import SharedIndex, SharedStore
from desktop_app.core.search.vectors import ChromaVectorStore, MemoryVectorStore, VectorStore
from desktop_app.core.storage.api_keys import KeyStore
from desktop_app.core.storage.database import Database
from desktop_app.core.storage.settings import Settings

__all__ = ["Backends", "FakeBackends", "RealBackends", "server_config"]


class Backends(Protocol):
    """Factories for the heavy parts; each is created on first use and shared where it can be."""

    def parser(self) -> Parser: ...

    def embedder(self, name: str, models_dir: Path | None = None) -> Embedder:
        """The embedder a settings value names; catalogue embedders are found in `models_dir`."""
        ...

    def vector_store(self, path: Path) -> VectorStore: ...

    def shared_index(self, store: SharedStore, token: str | None) -> SharedIndex:
        """A shared workspace's passages on its Chroma server (reached now)."""
        ...

    def keyword_index(self, db: Database) -> KeywordIndex: ...

    def language_model(self, settings: Settings, models_dir: Path, keys: KeyStore) -> LanguageModel:
        """The model that answers: on a server when `settings.server_url` names one (its key
        from `keys`), else a GGUF file from `models_dir` run here."""
        ...


class RealBackends:
    """unstructured + pdfium (in a worker process, each file within a budget), sentence-transformers,
    Chroma, SQLite FTS5 and llama.cpp."""

    def __init__(self, reading_workers: int | None = None) -> None:
        # Before any of the libraries below is imported (they read these variables once): a
        # script that only does `Library()` is as offline as the app.
        seal_environment()
        self._lock = threading.Lock()
        self._reading_workers = reading_workers  # None: as many as the cores spare
        self._parser: Parser | None = None
        self._embedders: dict[str, Embedder] = {}
        self._model: tuple[object, LlamaCppModel | RemoteModel] | None = None

    def parser(self) -> Parser:
        with self._lock:
            if self._parser is None:
                self._parser = create_isolated_parser(self._reading_workers)
            return self._parser

    def embedder(self, name: str, models_dir: Path | None = None) -> Embedder:
        with self._lock:
            if name not in self._embedders:
                self._embedders[name] = create_embedder(name, models_dir)
            return self._embedders[name]

    def vector_store(self, path: Path) -> VectorStore:
        return ChromaVectorStore(path)

    def shared_index(self, store: SharedStore, token: str | None) -> SharedIndex:
        return SharedIndex(store, token)

    def keyword_index(self, db: Database) -> KeywordIndex:
        return FtsKeywordIndex(db)

    def language_model(self, settings: Settings, models_dir: Path, keys: KeyStore) -> LanguageModel:
        """One model at a time: asking for another closes the previous one."""
        key: object
        make: Callable[[], LlamaCppModel | RemoteModel]
        if settings.server_url:
            config = server_config(settings, keys)
            key, make = config, functools.partial(RemoteModel, config)
        else:
            from desktop_app.core.models.model_manager import resolve_model

            path = resolve_model(settings.model, models_dir, settings.context_size)
            key = (path, settings.context_size, settings.gpu_layers)
            make = functools.partial(LlamaCppModel, path, settings.context_size, settings.gpu_layers)
        with self._lock:
            if self._model is not None and self._model[0] == key:
                return self._model[1]
            if self._model is not None:
                self._model[1].close()
            model = make()
            self._model = (key, model)
            return model


def server_config(settings: Settings, keys: KeyStore) -> ServerConfig:
    """How to reach the inference server the settings name, with its saved key."""
    return ServerConfig(settings.server_url, settings.server_model, keys.load(settings.server_url),
                        settings.server_verify_tls, settings.server_ca_bundle, settings.context_size)


@dataclass
class FakeBackends:
    """Plain-text parser, hashing embedder, in-memory vectors, scripted model: for unit tests.

    Vector stores live as long as this object, keyed by path, so reopening a workspace in the
    same test sees what was written before.
    """

    model: LanguageModel = field(default_factory=ScriptedModel)
    embedder_impl: Embedder = field(default_factory=HashingEmbedder)
    parser_impl: Parser = field(default_factory=PlainTextParser)
    stores: dict[Path, MemoryVectorStore] = field(default_factory=dict)

    def parser(self) -> Parser:
        return self.parser_impl

    def embedder(self, name: str, models_dir: Path | None = None) -> Embedder:
        return self.embedder_impl

    def vector_store(self, path: Path) -> VectorStore:
        return self.stores.setdefault(path, MemoryVectorStore())

    def shared_index(self, store: SharedStore, token: str | None) -> SharedIndex:
        return SharedIndex(store, token)  # a server is never faked: tests start a real one

    def keyword_index(self, db: Database) -> KeywordIndex:
        return FtsKeywordIndex(db)

    def language_model(self, settings: Settings, models_dir: Path, keys: KeyStore) -> LanguageModel:
        return self.model
