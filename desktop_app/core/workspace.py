"""The Workspace facade: one set of documents, its index, settings and chat history."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .answering import AnswerSettings, Conversation, answer_stream
from .backends import Backends
from .database import Database
from .embedding import Embedder
from .errors import EmbedderMismatch, UserError
from .history import ChatHistory, Message, Thread
from .indexer import ChunkingSettings, Indexer
from .llm import ChatMessage
from .records import Answer, AnswerToken, DocumentRecord, Passage, Progress
from .retrieval import RetrievalSettings, Retriever
from .settings import Settings
from .store import ChunkStore
from .vectors import VectorStore
from .writer_lock import WriterLock

__all__ = ["Workspace", "WorkspaceInfo"]

log = logging.getLogger(__name__)
REMOVE_WAIT_S = 600  # a removal waits this long for another process's add
INFO_FILE = "workspace.json"


@dataclass(slots=True)
class WorkspaceInfo:
    """What workspace.json holds."""

    id: str
    name: str
    created_at: float
    embedder: dict[str, Any] | None = None  # {"name": ..., "dimensions": ...} once indexed
    overrides: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, folder: Path) -> WorkspaceInfo:
        data = json.loads((folder / INFO_FILE).read_text(encoding="utf-8"))
        return cls(data["id"], data["name"], data["created_at"], data.get("embedder"),
                   data.get("overrides", {}))

    def save(self, folder: Path) -> None:
        tmp = folder / (INFO_FILE + ".tmp")
        tmp.write_text(json.dumps({
            "id": self.id, "name": self.name, "created_at": self.created_at,
            "embedder": self.embedder, "overrides": self.overrides,
        }, indent=2), encoding="utf-8")
        tmp.replace(folder / INFO_FILE)


class Workspace:
    """Everything a person does with one workspace; the GUI and CLI call only this."""

    def __init__(self, folder: Path, base_settings: Callable[[], Settings], backends: Backends,
                 models_dir: Path) -> None:
        self.folder = folder
        self.info = WorkspaceInfo.load(folder)
        self._base = base_settings
        self._backends = backends
        self._models_dir = models_dir
        self._db = Database(folder / "workspace.sqlite3")
        self._keywords = backends.keyword_index(self._db)
        self.store = ChunkStore(self._db, self._keywords)
        self.history = ChatHistory(self._db)
        # Per thread, the last prompt as sent: a follow-up continues it (answering.Conversation).
        self._conversations: dict[int, Conversation] = {}
        self.last_thread_id: int | None = None
        self._vectors: VectorStore | None = None
        self._writer = WriterLock(folder)

    # -- identity and settings ---------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def settings(self) -> Settings:
        return self._base().with_overrides(self.info.overrides)

    def update_settings(self, **overrides: Any) -> None:
        """Override settings for this workspace only (validated, then persisted)."""
        self._base().with_overrides({**self.info.overrides, **overrides}, strict=True)
        self.info.overrides.update(overrides)
        self.info.save(self.folder)

    # -- documents ---------------------------------------------------------------------------

    def add(self, paths: Iterable[str | Path], force: bool = False) -> Generator[Progress, None, None]:
        """Index files and folders; yields progress. Close the iterator to cancel between files.

        One process at a time changes a workspace's documents: another's add waits its turn,
        saying so (WaitingForWriter)."""
        yield from self._writer.acquire("add")
        try:
            yield from self._add_locked(paths, force)
        finally:
            self._writer.release()

    def _add_locked(self, paths: Iterable[str | Path], force: bool) -> Generator[Progress, None, None]:
        indexer = self._indexer()
        self._record_embedder()
        yield from indexer.add([Path(p) for p in paths], force=force)

    def reindex(self) -> Generator[Progress, None, None]:
        """Rebuild every chunk and vector with the current embedder and chunking settings.

        Crash-safe: documents are first marked stale, so an interrupted rebuild is finished by
        the next add or reindex instead of leaving files that look indexed but have no vectors.
        """
        yield from self._writer.acquire("re-index")
        try:
            self._check_embedder(allow_change=True)
            paths = [r.path for r in self.store.documents()]
            self.store.mark_all_stale()
            self._vector_store().reset()
            self.info.embedder = None
            self.info.save(self.folder)
            yield from self._add_locked(paths, force=True)
        finally:
            self._writer.release()

    def remove(self, paths: Iterable[str | Path]) -> list[str]:
        """Forget documents (a folder removes every document under it); returns what was removed."""
        if not self._writer.acquire_blocking("removal", REMOVE_WAIT_S):
            raise UserError(f"another process is changing {self.name!r}; try again when it is done")
        try:
            indexer = self._indexer(check=False)
            removed = []
            for path in (Path(p).expanduser().resolve() for p in paths):
                targets = self.store.paths_under(str(path)) if path.is_dir() else [str(path)]
                removed += [t for t in targets if indexer.remove(t)]
            return removed
        finally:
            self._writer.release()

    def documents(self) -> list[DocumentRecord]:
        return self.store.documents()

    # -- asking ------------------------------------------------------------------------------

    def search(self, query: str, top_k: int | None = None) -> list[Passage]:
        settings = self._answer_settings()
        retrieval = settings.retrieval
        if top_k is not None:
            retrieval = replace(retrieval, top_k=top_k)
        return self._retriever().search([query], retrieval)

    def answer_stream(self, question: str, thread_id: int | None = None
                      ) -> Generator[AnswerToken | Answer, None, None]:
        """Stream an answer (AnswerToken pieces, then the Answer) and keep it in the thread.

        Closing the iterator stops generation; the partial answer is kept, marked stopped.
        """
        thread = self.history.thread(thread_id) if thread_id else self.history.create_thread(question[:80])
        earlier = self.history.messages(thread.id)
        self.history.add_message(thread.id, "user", question)
        self.last_thread_id = thread.id
        history = [ChatMessage(m.role, m.content) for m in earlier]
        model = self._backends.language_model(self.settings, self._models_dir)
        parts: list[str] = []
        finished: Answer | None = None
        try:
            conversation = self._conversations.setdefault(thread.id, Conversation())
            for event in answer_stream(question, history, self._retriever(), model,
                                       self._answer_settings(), self._similarity, conversation):
                if isinstance(event, Answer):
                    event.thread_id = thread.id
                    event.model = f"{model.name}: {model.placement}"  # answer_stream loaded it
                    finished = event
                else:
                    parts.append(event.text)
                yield event
        finally:
            if finished is None and parts:  # stopped mid-answer: keep what was said
                finished = Answer("".join(parts).strip(), [], [], stopped=True)
            if finished is not None:
                self.history.add_message(thread.id, "assistant", finished.text,
                                         finished.to_json()["citations"])

    def ask(self, question: str, thread_id: int | None = None) -> Answer:
        answer = None
        for event in self.answer_stream(question, thread_id):
            if isinstance(event, Answer):
                answer = event
        assert answer is not None
        return answer

    def _similarity(self, sentences: list[str], passages: list[str]) -> Any:
        embedder = self._embedder()
        return embedder.embed_documents(sentences) @ embedder.embed_documents(passages).T

    def threads(self) -> list[Thread]:
        return self.history.threads()

    def messages(self, thread_id: int) -> list[Message]:
        return self.history.messages(thread_id)

    def export_thread(self, thread_id: int) -> str:
        """The thread as Markdown, with the passages each answer cites quoted under it."""
        from .export import thread_markdown

        return thread_markdown(self.history.thread(thread_id), self.history.messages(thread_id))

    # -- plumbing ----------------------------------------------------------------------------

    def close(self) -> None:
        self._close_vectors()
        self._db.close()

    def _close_vectors(self) -> None:
        if self._vectors is not None:
            self._vectors.close()
            self._vectors = None

    def _vector_store(self) -> VectorStore:
        if self._vectors is None:
            self._vectors = self._backends.vector_store(self.folder / "vectors")
        return self._vectors

    def _embedder(self) -> Embedder:
        return self._backends.embedder(self.settings.embedder)

    def _indexer(self, check: bool = True) -> Indexer:
        if check:
            self._check_embedder()
        settings = self.settings
        return Indexer(self._backends.parser(), self._embedder(), self.store, self._vector_store(),
                       ChunkingSettings(settings.chunk_tokens, settings.chunk_overlap))

    def _retriever(self) -> Retriever:
        self._check_embedder()
        return Retriever(self._embedder(), self._vector_store(), self._keywords, self.store)

    def _answer_settings(self) -> AnswerSettings:
        s = self.settings
        return AnswerSettings(
            RetrievalSettings(s.top_k, s.dense_candidates, s.keyword_candidates, s.dense_weight,
                              s.keyword_weight, s.fusion, s.rrf_k),
            s.max_answer_tokens, s.temperature, s.min_relevance, rerank=s.rerank,
        )

    def _check_embedder(self, allow_change: bool = False) -> None:
        recorded = self.info.embedder
        wanted = self.settings.embedder
        if recorded and recorded["name"] != wanted and not allow_change:
            raise EmbedderMismatch(
                f"workspace {self.name!r} was indexed with the embedder {recorded['name']!r}, "
                f"but the settings now say {wanted!r}: re-index it (reindex {self.name!r}) "
                "or switch the embedder back"
            )

    def _record_embedder(self) -> None:
        if self.info.embedder is None:
            embedder = self._embedder()
            embedder.warm_up()
            self.info.embedder = {"name": self.settings.embedder, "dimensions": embedder.dimensions}
            self.info.save(self.folder)
