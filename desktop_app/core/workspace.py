"""The Workspace facade: one set of documents, its index, settings and chat history."""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from desktop_app.core.answer.answering import Conversation, answer_stream
from desktop_app.core.answer.llm import ChatMessage, LanguageModel
from desktop_app.core.backends import Backends
from desktop_app.core.errors import EmbedderMismatch, IndexDamaged, UserError
from desktop_app.core.files import resolved
from desktop_app.core.ingest.embedding import Embedder
from desktop_app.core.ingest.indexer import CHUNKER_VERSION, Indexer
from desktop_app.core.records import (
    AddFinished,
    Answer,
    AnswerEvent,
    AnswerStage,
    AnswerToken,
    DocumentRecord,
    Passage,
    Progress,
    Repairing,
    Syncing,
    WaitingForWriter,
)
from desktop_app.core.search.retrieval import RetrievalSettings, Retriever, Run
from desktop_app.core.search.shared_index import SharedIndex, SharedStore
from desktop_app.core.search.vectors import VectorStore
from desktop_app.core.storage.api_keys import KeyStore
from desktop_app.core.storage.history import ChatHistory, Message, Thread
from desktop_app.core.storage.repair import open_database, set_aside
from desktop_app.core.storage.settings import Settings
from desktop_app.core.storage.shared_cache import pull
from desktop_app.core.storage.store import ChunkStore
from desktop_app.core.storage.workspace_info import (
    INFO_FILE,
    WorkspaceInfo,
    change_info,
    info_stamp,
)
from desktop_app.core.storage.writer_lock import WriterLock

__all__ = ["Workspace"]

log = logging.getLogger(__name__)
REMOVE_WAIT_S = 600  # a removal waits this long for another process's add
REBUILD_BATCH = 256  # passages embedded at a time when the search index is rebuilt
PINNED_WHOLE_CHUNKS = 12  # a pinned document up to this many passages goes in whole
PINNED_BEST_CHUNKS = 4  # of a longer one, the passages that best match the question
class Workspace:
    """Everything a person does with one workspace; the GUI and CLI call only this."""

    def __init__(self, folder: Path, base_settings: Callable[[], Settings], backends: Backends,
                 models_dir: Path, keys: KeyStore) -> None:
        self.folder = folder
        self._info, self._info_stamp = WorkspaceInfo.load(folder), info_stamp(folder / INFO_FILE)
        self._base = base_settings
        self._backends = backends
        self._models_dir = models_dir
        self._keys = keys
        self._writer = WriterLock(folder)
        # A damaged database is replaced by what could be read from it (repair.py); the
        # person is told by the next heal() or take_repair_note().
        self._db, self._repair_note = open_database(folder / "workspace.sqlite3", self._writer)
        self._keywords = backends.keyword_index(self._db)
        # The passages as stored: read it to inspect a workspace (the evaluation, tests); it
        # changes only through add, remove, reindex and heal.
        self.store = ChunkStore(self._db, self._keywords)
        self._history = ChatHistory(self._db)
        # Per thread, the last prompt as sent: a follow-up continues it (answering.Conversation).
        self._conversations: dict[int, Conversation] = {}
        self.last_thread_id: int | None = None
        self._vectors: VectorStore | None = None
        self._shared: SharedIndex | None = None  # the server of a shared workspace, once reached
        self._index_ok = False  # the search index was checked against the passages

    # -- identity and settings ---------------------------------------------------------------

    @property
    def info(self) -> WorkspaceInfo:
        """workspace.json as it is on disk now: the window and its engine process (or a CLI
        command) each hold the workspace open, and any of them may have changed it."""
        stamp = info_stamp(self.folder / INFO_FILE)
        if stamp != self._info_stamp:
            self._info, self._info_stamp = WorkspaceInfo.load(self.folder), stamp
        return self._info

    def _change_info(self, change: Callable[[WorkspaceInfo], object]) -> None:
        self._info, self._info_stamp = change_info(self.folder, change)

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def shared_store(self) -> SharedStore | None:
        """Where the passages of a shared workspace live; None for one kept on this computer."""
        return SharedStore.from_json(self.info.shared) if self.info.shared else None

    @property
    def settings(self) -> Settings:
        return self._base().with_overrides(self.info.overrides)

    def update_settings(self, **overrides: Any) -> None:
        """Override settings for this workspace only (validated, then persisted); a value of
        None drops the override, so the global setting applies again."""
        kept = {k: v for k, v in overrides.items() if v is not None}
        dropped = [k for k, v in overrides.items() if v is None]
        remaining = {k: v for k, v in self.info.overrides.items() if k not in dropped}
        self._base().with_overrides({**remaining, **kept}, strict=True)

        def change(info: WorkspaceInfo) -> None:
            for name in dropped:
                info.overrides.pop(name, None)
            info.overrides.update(kept)

        self._change_info(change)

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
        yield from self._heal_locked()
        indexer = self._indexer()
        self._record_embedder()
        finished = None
        for event in indexer.add([Path(p) for p in paths], force=force):
            if isinstance(event, AddFinished):
                finished = event  # last: after what others changed meanwhile is taken
            else:
                yield event
        if self._shared is not None:
            yield from pull(self.store, self._shared, self.name)
        if finished is not None:
            yield finished

    def reindex(self) -> Generator[Progress, None, None]:
        """Rebuild every chunk and vector with the current embedder and chunking settings.

        Crash-safe: documents are first marked stale, so an interrupted rebuild is finished by
        the next add or reindex instead of leaving files that look indexed but have no vectors.
        """
        if self.shared_store is not None:
            raise UserError(f"{self.name!r} is shared on {self.shared_store.host}: re-indexing "
                            "it here would empty it for everyone. Add changed documents again "
                            "instead; a new embedder needs a new shared workspace")
        yield from self._writer.acquire("re-index")
        try:
            self._check_embedder(allow_change=True)
            paths = [r.path for r in self.store.documents()]
            self.store.mark_all_stale()
            self._reset_vectors()
            self._change_info(lambda info: setattr(info, "embedder", None))
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
            for path in (resolved(Path(p)) for p in paths):
                # A folder, or a folder or file deleted from disk: every document at or under it.
                targets = [str(path)] if path.is_file() else [str(path), *self.store.paths_under(str(path))]
                removed += [t for t in targets if indexer.remove(t)]
            return removed
        finally:
            self._writer.release()

    def documents(self) -> list[DocumentRecord]:
        return self.store.documents()

    def out_of_date(self) -> int:
        """How many documents were indexed with another embedder or chunking than the
        settings now give: `reindex` brings them up to date (until then they are searched as
        they were indexed; another embedder cannot search them at all)."""
        settings = self.settings
        current = f"|{settings.chunk_tokens}|{settings.chunk_overlap}|{CHUNKER_VERSION}"
        recorded = self.info.embedder
        other_embedder = recorded is not None and recorded["name"] != settings.embedder
        return sum(count for signature, count in self.store.signatures().items()
                   if other_embedder or signature is None or not signature.endswith(current))

    def has_documents_at(self, path: str | Path) -> bool:
        """Whether a path is a document of this workspace or a folder holding some (on disk
        or not any more)."""
        return bool(self._documents_at(path))

    def _documents_at(self, path: str | Path) -> list[str]:
        """The document at `path`, or the documents under it when it is a folder."""
        key = str(resolved(Path(path)))
        return ([key] if self.store.document(key) is not None else []) + self.store.paths_under(key)

    # -- asking ------------------------------------------------------------------------------

    def search(self, query: str, top_k: int | None = None,
               retrieval: RetrievalSettings | None = None,
               only: Sequence[str | Path] | None = None) -> list[Passage]:
        """The best passages for `query`, by this workspace's settings unless `retrieval` is
        given (the evaluation measures other settings without saving them); from the
        documents and folders `only`, when given."""
        retrieval = retrieval or self.settings.retrieval()
        if top_k is not None:
            retrieval = replace(retrieval, top_k=top_k)
        for attempt in range(2):
            for event in self.heal():  # first: a shared workspace's documents come with it
                (log.info if isinstance(event, Syncing) else log.warning)("%s", event.message)
            documents = self.scope(only)
            try:
                return self._retriever().search([query], retrieval, documents)
            except IndexDamaged:  # damaged since it was checked: rebuild, then search once more
                if attempt:
                    raise
                self._index_failed()
        raise AssertionError("unreachable")

    def candidates(self, queries: Sequence[str],
                   retrieval: RetrievalSettings) -> list[tuple[Run, Run]]:
        """Each query's dense and keyword runs before they are fused (the evaluation tunes
        fusion on them)."""
        dense, keyword = self._retriever().candidates(list(queries), retrieval)
        return list(zip(dense, keyword, strict=True))

    def scope(self, only: Sequence[str | Path] | None) -> list[str] | None:
        """The documents a question is limited to: each path a document of this workspace or
        a folder holding some. None (no limit) when `only` is None or empty."""
        if not only:
            return None
        documents: list[str] = []
        for path in only:
            found = self._documents_at(path)
            if not found:
                raise UserError(f"{path} is not a document of {self.name!r}, nor a folder "
                                "holding any (see: docs)")
            documents += found
        return list(dict.fromkeys(documents))

    def pin(self, paths: Sequence[str | Path]) -> list[str]:
        """Always give these documents (or the documents of these folders) to the model with
        every question, as far as they fit; returns the documents pinned."""
        documents = self.scope(paths) or []
        self._change_info(lambda info: setattr(info, "pinned", sorted({*info.pinned, *documents})))
        return documents

    def unpin(self, paths: Sequence[str | Path]) -> list[str]:
        keys = {str(resolved(Path(p))) for p in paths}
        dropped = [p for p in self.info.pinned
                   if p in keys or any(p.startswith(k.rstrip("/") + "/") for k in keys)]
        self._change_info(lambda info: setattr(info, "pinned",
                                               [p for p in info.pinned if p not in dropped]))
        return dropped

    # -- watched folders ---------------------------------------------------------------------

    def watch(self, folders: Sequence[str | Path]) -> list[str]:
        """Keep these folders in sync with the workspace: `sync` indexes their new and changed
        files and forgets deleted ones (the window runs it when it opens the workspace and
        whenever a watcher sees a change). Returns the folders, as stored."""
        found = [str(resolved(Path(f))) for f in folders]
        missing = [f for f in found if not Path(f).is_dir()]
        if missing:
            raise UserError(f"{missing[0]} is not a folder; only folders can be watched")
        self._change_info(lambda info: setattr(info, "watched", sorted({*info.watched, *found})))
        return found

    def unwatch(self, folders: Sequence[str | Path]) -> list[str]:
        """Stop watching these folders (their documents stay); returns those that were watched."""
        names = {str(resolved(Path(f))) for f in folders} | {str(f) for f in folders}
        dropped = [f for f in self.info.watched if f in names]
        self._change_info(lambda info: setattr(info, "watched",
                                               [f for f in info.watched if f not in dropped]))
        return dropped

    def watched(self) -> list[str]:
        return list(self.info.watched)

    def sync(self) -> Generator[Progress, None, None]:
        """Bring the watched folders' documents up to date: new and changed files indexed,
        unchanged ones skipped by their hash, deleted ones (a deleted folder's too) removed."""
        return self.add(self.watched())

    def pinned(self) -> list[str]:
        """The pinned documents that are still documents of this workspace."""
        return [p for p in self.info.pinned if self.store.document(p) is not None]

    def _pinned_passages(self, question: str) -> list[Passage]:
        """Each pinned document whole when it is short, else its passages that best match
        the question; first in the prompt, so they are the last to be left out."""
        passages: list[Passage] = []
        for path in self.pinned():
            chunks = self.store.document_chunks(path)
            if len(chunks) <= PINNED_WHOLE_CHUNKS:
                passages += [Passage(c, 1.0) for c in chunks]
            else:
                retrieval = replace(self.settings.retrieval(), top_k=PINNED_BEST_CHUNKS)
                passages += self._retriever().search([question], retrieval, [path])
        return passages

    def answer_stream(self, question: str, thread_id: int | None = None,
                      only: Sequence[str | Path] | None = None, replace_last: bool = False
                      ) -> Generator[AnswerEvent, None, None]:
        """Stream an answer (AnswerToken pieces, then the Answer) and keep it in the thread;
        from the documents and folders `only`, when given. With `replace_last`, the thread's
        last question and answer give way to this one (regenerate, or edit and resend). A
        damaged search index is rebuilt first (Repairing events).

        Closing the iterator stops generation; the partial answer is kept, marked stopped.
        """
        yield from self.heal()
        documents = self.scope(only)
        if thread_id:
            thread = self._history.thread(thread_id)
        else:
            thread = self._history.create_thread(question[:80])
        if replace_last and thread_id:
            self._history.drop_last_exchange(thread.id)
            self._conversations.pop(thread.id, None)  # the model's cache holds the old reply
        earlier = self._history.messages(thread.id)
        self._history.add_message(thread.id, "user", question)
        self.last_thread_id = thread.id
        history = [ChatMessage(m.role, m.content) for m in earlier]
        model = self._backends.language_model(self.settings, self._models_dir, self._keys)
        parts: list[str] = []
        finished: Answer | None = None
        conversation = self._conversations.setdefault(thread.id, Conversation())
        try:
            for event in self._answer_events(question, history, model, conversation, documents):
                if isinstance(event, Answer):
                    event.thread_id = thread.id
                    event.model = f"{model.name}: {model.placement}"  # answer_stream loaded it
                    finished = event
                elif isinstance(event, AnswerToken):
                    parts.append(event.text)
                yield event
        finally:
            if finished is None and parts:  # stopped mid-answer: keep what was said
                finished = Answer("".join(parts).strip(), [], [], stopped=True)
            if finished is not None:
                # Every passage the model was given, cited ones marked: the window shows them
                # all when the conversation is opened again.
                self._history.add_message(thread.id, "assistant", finished.text, finished.sources())

    def _answer_events(self, question: str, history: list[ChatMessage], model: LanguageModel,
                       conversation: Conversation, documents: list[str] | None
                       ) -> Iterator[AnswerEvent]:
        """answering.answer_stream; a search index found damaged by its search (before any
        word was written) is rebuilt, and the question searched once more."""
        def answer() -> Iterator[AnswerStage | AnswerToken | Answer]:
            return answer_stream(question, history, self._retriever(), model,
                                 self.settings.answering(), self._similarity, conversation,
                                 documents, self._pinned_passages(question))

        try:
            yield from answer()
        except IndexDamaged:
            self._index_failed()
            yield from self.heal()
            yield from answer()

    def ask(self, question: str, thread_id: int | None = None,
            only: Sequence[str | Path] | None = None) -> Answer:
        answer = None
        for event in self.answer_stream(question, thread_id, only):
            if isinstance(event, Answer):
                answer = event
        assert answer is not None
        return answer

    def _similarity(self, sentences: list[str], passages: list[str]) -> Any:
        embedder = self._embedder()
        return embedder.embed_documents(sentences) @ embedder.embed_documents(passages).T

    def threads(self, matching: str = "") -> list[Thread]:
        """Most recently used first; with `matching`, those whose title or messages hold it."""
        return self._history.threads(matching)

    def thread(self, thread_id: int) -> Thread:
        return self._history.thread(thread_id)

    def rename_thread(self, thread_id: int, title: str) -> None:
        self._history.rename_thread(thread_id, title)

    def delete_thread(self, thread_id: int) -> None:
        """The thread and its answers; a follow-up cache of it goes with it."""
        self._history.delete_thread(thread_id)
        self._conversations.pop(thread_id, None)
        if self.last_thread_id == thread_id:
            self.last_thread_id = None

    def messages(self, thread_id: int) -> list[Message]:
        return self._history.messages(thread_id)

    def export_thread(self, thread_id: int) -> str:
        """The thread as Markdown, with the passages each answer cites quoted under it."""
        from desktop_app.core.answer.export import thread_markdown

        return thread_markdown(self._history.thread(thread_id), self._history.messages(thread_id))

    # -- health ------------------------------------------------------------------------------

    def heal(self) -> Generator[Repairing | Syncing | WaitingForWriter, None, None]:
        """Rebuild the search index from the stored passages when it is damaged or missing;
        a shared workspace's local copy of the passages is brought up to date instead.

        Runs before every add, re-index, search and answer; once the index has been found
        sound it costs nothing until a search fails. The index is compared with the passages
        only while no one else is changing them (their counts differ in the middle of an add);
        an index that cannot be read is rebuilt after waiting for such a change to finish.
        """
        if self._index_ok and self._repair_note is None:
            return
        if not self._writer.try_acquire("search index check"):
            if self._vector_problem(compare=False) is None:
                return
            yield from self._writer.acquire("search index repair")
        try:
            yield from self._heal_locked()
        finally:
            self._writer.release()

    def _heal_locked(self) -> Generator[Repairing | Syncing, None, None]:
        note = self.take_repair_note()
        if note is not None:
            yield Repairing(note, 0, 0)
        if self._index_ok:
            return
        if self.shared_store is not None:  # the server keeps its index; take what changed
            self._vector_store()
            assert self._shared is not None
            yield from pull(self.store, self._shared, self.name)
            self._index_ok = True
            return
        problem = self._vector_problem(compare=True)
        if problem is not None:
            yield from self._rebuild_vectors(problem)
        self._index_ok = True

    def take_repair_note(self) -> str | None:
        """What was done to a damaged workspace database when it was opened, once."""
        note, self._repair_note = self._repair_note, None
        return None if note is None else f"Workspace {self.name!r}: {note}."

    def _vector_problem(self, compare: bool) -> str | None:
        """Why the search index cannot serve this workspace's passages, or None."""
        try:
            vectors = self._vector_store()
            vectors.verify()
            if not compare:
                return None
            held, current = vectors.count(), self.store.current_chunk_count()
        except IndexDamaged as exc:
            self._close_vectors()
            return str(exc)
        if held < current:
            return f"it holds {held} of {current} passages" if held else "it is empty"
        return None

    def _rebuild_vectors(self, problem: str) -> Generator[Repairing, None, None]:
        """Embed every stored passage again into a new index; the old files are kept aside."""
        total = self.store.chunk_count()
        doing = (f"The search index of {self.name!r} is damaged ({problem}); rebuilding it from "
                 f"the {total} passages of your documents")
        log.info("%s", doing)
        yield Repairing(doing, 0, total)
        self._close_vectors()
        kept = set_aside(self.folder / "vectors")
        vectors = self._reset_vectors()
        embedder = self._embedder()
        self._record_embedder()
        done = 0
        for batch in self.store.chunk_batches(REBUILD_BATCH):
            texts = [c.searchable_text for c in batch]
            vectors.upsert(batch, embedder.embed_documents(texts))
            done += len(batch)
            if done < total:
                yield Repairing(doing, done, total)
        self.store.clear_journal(self.store.settle_journal())  # nothing is orphaned in a new index
        yield Repairing(f"The search index of {self.name!r} is rebuilt ({total} passages)"
                        + (f"; the damaged files are kept in {kept}" if kept else ""), total, total)

    def _reset_vectors(self) -> VectorStore:
        """An empty index (an empty index is sound: the add that follows fills it); one that
        cannot even be emptied is set aside for a new one."""
        try:
            vectors = self._vector_store()
            vectors.reset()
        except IndexDamaged as exc:
            log.warning("search index of %r set aside: %s", self.name, exc)
            self._close_vectors()
            set_aside(self.folder / "vectors")
            vectors = self._vector_store()
            vectors.reset()
        self._index_ok = True
        return vectors

    def _index_failed(self) -> None:
        self._index_ok = False
        self._close_vectors()

    # -- plumbing ----------------------------------------------------------------------------

    def close(self) -> None:
        self._close_vectors()
        self._db.close()

    def _close_vectors(self) -> None:
        if self._vectors is not None:
            self._vectors.close()
            self._vectors = self._shared = None

    def _vector_store(self) -> VectorStore:
        if self._vectors is None:
            shared = self.shared_store
            if shared is None:
                self._vectors = self._backends.vector_store(self.folder / "vectors")
            else:
                self._shared = self._backends.shared_index(shared, self._keys.load(shared.url))
                self._vectors = self._shared
        return self._vectors

    def _embedder(self) -> Embedder:
        return self._backends.embedder(self.settings.embedder, self._models_dir)

    def _indexer(self, check: bool = True) -> Indexer:
        if check:
            self._check_embedder()
        settings = self.settings
        vectors = self._vector_store()
        return Indexer(self._backends.parser(), self._embedder(), self.store, vectors,
                       settings.chunking(), self._shared)

    def _retriever(self) -> Retriever:
        self._check_embedder()
        return Retriever(self._embedder(), self._vector_store(), self._keywords, self.store)

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
            recorded = {"name": self.settings.embedder, "dimensions": embedder.dimensions}
            self._change_info(lambda info: setattr(info, "embedder", recorded))
        if self._shared is not None and self._shared.embedder() is None:
            self._shared.set_embedder(self.info.embedder or {})
