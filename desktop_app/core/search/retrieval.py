"""Hybrid retrieval: dense similarity fused with BM25 keyword ranking, duplicates removed."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from desktop_app.core.ingest.document_context import names_a_period
from desktop_app.core.ingest.embedding import Embedder
from desktop_app.core.records import Passage
from desktop_app.core.search.keywords import KeywordIndex
from desktop_app.core.search.vectors import VectorStore
from desktop_app.core.storage.store import ChunkStore

__all__ = ["RetrievalSettings", "Retriever", "Run", "fuse"]

_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="keyword-search")
DOCUMENT_CANDIDATES = 50  # documents whose cards can lift their passages, best matches first
RRF_K = 60  # the usual reciprocal-rank constant: rank 1 scores 1/61, rank 10 scores 1/70
_SPACE = re.compile(r"\s+")
Run = list[tuple[str, float]]  # (chunk id, score), best first
Runs = list[Run]


@dataclass(frozen=True, slots=True)
class RetrievalSettings:
    """What search needs of the settings (built by `Settings.retrieval()`, where the defaults
    are)."""

    top_k: int
    dense_candidates: int
    keyword_candidates: int
    dense_weight: float
    keyword_weight: float
    fusion: str  # "convex" (normalised scores) or "rrf" (reciprocal ranks)
    rrf_k: int
    document_weight: float = 0.0  # lift of passages whose document's card matches the question


def fuse(
    lists: Sequence[tuple[float, Sequence[tuple[str, float]]]],
    method: str = "convex",
    rrf_k: int = RRF_K,
) -> dict[str, float]:
    """Fuse weighted ranked (id, score) lists into id -> score, higher is better.

    "convex": each list's scores are min-max normalised to [0, 1], then averaged with the
    weights; a missing entry counts 0. On SciFact's training queries this beat reciprocal-rank
    fusion (nDCG@10 0.734 against 0.722 for RRF with k=60; docs/evaluation.md).
    "rrf": sum of weight / (rrf_k + rank).
    """
    fused: dict[str, float] = {}
    total = sum(weight for weight, ranked in lists if ranked) or 1.0
    for weight, ranked in lists:
        if not ranked:
            continue
        if method == "rrf":
            contributions = [weight / (rrf_k + rank) for rank in range(1, len(ranked) + 1)]
        else:
            high, low = ranked[0][1], ranked[-1][1]
            contributions = [weight / total * ((s - low) / (high - low) if high > low else 1.0)
                             for _, s in ranked]
        for (chunk_id, _score), value in zip(ranked, contributions, strict=True):
            fused[chunk_id] = fused.get(chunk_id, 0.0) + value
    return fused


class Retriever:
    def __init__(
        self, embedder: Embedder, vectors: VectorStore, keywords: KeywordIndex, store: ChunkStore
    ) -> None:
        self._embedder = embedder
        self._vectors = vectors
        self._keywords = keywords
        self._store = store

    def candidates(self, queries: Sequence[str], settings: RetrievalSettings,
                   within: Collection[str] | None = None) -> tuple[Runs, Runs]:
        """Dense and keyword candidate lists, one of each per query, best first; among the
        chunk ids `within` only, when given."""
        # Keyword search (SQLite) runs beside embedding and HNSW search (torch, Chroma): all
        # three release the GIL, so on two cores this takes about the time of the slower side.
        keyword_jobs = [_POOL.submit(self._keywords.search, q, settings.keyword_candidates, within)
                        for q in queries]
        dense_runs = [self._vectors.query(self._embedder.embed_query(q), settings.dense_candidates,
                                          within) for q in queries]
        return dense_runs, [job.result() for job in keyword_jobs]

    def search(self, queries: Sequence[str], settings: RetrievalSettings,
               only: Sequence[str] | None = None) -> list[Passage]:
        """The top-k passages for one or more phrasings of a question (fused together); from
        the documents `only` (paths), when given."""
        within = None if only is None else frozenset(self._store.chunk_ids_of(only))
        # Passages are lifted by their document's card only for a question that names a
        # period (a year, a quarter, a date), as questions about one of many look-alike
        # reports do: topical questions lose by it (SQuAD hit@5 0.970 against 0.863).
        dated = settings.document_weight and any(names_a_period(q) for q in queries)
        documents = _POOL.submit(self.document_scores, queries) if dated else None
        dense_runs, keyword_runs = self.candidates(queries, settings, within)
        lists = [(settings.dense_weight, run) for run in dense_runs]
        lists += [(settings.keyword_weight, run) for run in keyword_runs]
        fused = fuse(lists, settings.fusion, settings.rrf_k)
        chunks = self._store.chunks(fused)  # vectors without a chunk row are not evidence
        lift = documents.result() if documents is not None else {}
        lifted = {i: s + settings.document_weight * lift.get(chunks[i].document, 0.0)
                  for i, s in fused.items() if i in chunks}
        passages = []
        for chunk_id, score in sorted(lifted.items(), key=lambda kv: (-kv[1], kv[0])):
            passage = Passage(chunks[chunk_id], score, document_match=lift.get(
                chunks[chunk_id].document))
            _annotate(passage, dense_runs[0], keyword_runs[0])
            passages.append(passage)
        return _deduplicate(passages)[: settings.top_k]

    def document_scores(self, queries: Sequence[str]) -> dict[str, float]:
        """How well each document's card (its name, header and opening) matches the questions:
        1 for the best match, less in proportion, absent for no match. A workspace of one
        document lifts all its passages alike, which changes nothing."""
        best: dict[str, float] = {}
        for query in queries:
            for path, score in self._keywords.search_documents(query, DOCUMENT_CANDIDATES):
                best[path] = max(best.get(path, 0.0), score)
        top = max(best.values(), default=0.0)
        return {path: score / top for path, score in best.items()} if top > 0 else {}


def _annotate(passage: Passage, dense: list[tuple[str, float]], keyword: list[tuple[str, float]]) -> None:
    for rank, (chunk_id, score) in enumerate(dense, start=1):
        if chunk_id == passage.chunk.id:
            passage.dense_rank, passage.dense_score = rank, score
            break
    for rank, (chunk_id, score) in enumerate(keyword, start=1):
        if chunk_id == passage.chunk.id:
            passage.keyword_rank, passage.keyword_score = rank, score
            break


def _deduplicate(passages: list[Passage]) -> list[Passage]:
    """Drop passages whose text repeats a better one (copies of a file, repeated boilerplate)."""
    seen: set[str] = set()
    kept = []
    for passage in passages:
        key = _SPACE.sub(" ", passage.chunk.text).strip().lower()
        if key in seen:
            continue
        seen.add(key)
        kept.append(passage)
    return kept
