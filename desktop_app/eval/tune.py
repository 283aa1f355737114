"""Choose fusion settings on a training split: candidates once per query, every fusion offline."""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from desktop_app.core import Workspace
from desktop_app.core.search.retrieval import Run

from .metrics import ndcg_at
from .retrieval_eval import DEPTH, Beir

__all__ = ["tune_fusion"]

Fusion = Callable[[Run, Run], dict[str, float]]


def _rrf(k: float, keyword_weight: float) -> Fusion:
    def fuse(dense: Run, keyword: Run) -> dict[str, float]:
        scores: dict[str, float] = {}
        for weight, run in ((1.0, dense), (keyword_weight, keyword)):
            for rank, (chunk_id, _) in enumerate(run, start=1):
                scores[chunk_id] = scores.get(chunk_id, 0.0) + weight / (k + rank)
        return scores
    return fuse


def _convex(alpha: float) -> Fusion:
    """alpha * dense + (1 - alpha) * keyword, each min-max normalised over its list."""
    def fuse(dense: Run, keyword: Run) -> dict[str, float]:
        scores: dict[str, float] = {}
        for weight, run in ((alpha, dense), (1 - alpha, keyword)):
            if not run:
                continue
            high, low = run[0][1], run[-1][1]
            for chunk_id, score in run:
                norm = (score - low) / (high - low) if high > low else 1.0
                scores[chunk_id] = scores.get(chunk_id, 0.0) + weight * norm
        return scores
    return fuse


def tune_fusion(workspace: Workspace, data: Beir) -> list[dict[str, Any]]:
    """nDCG@10 of each fusion variant on `data`, best first."""
    settings = replace(workspace.settings.retrieval(), top_k=DEPTH, dense_candidates=DEPTH,
                       keyword_candidates=DEPTH)
    documents: dict[str, str] = {}
    runs: dict[str, tuple[Run, Run]] = {}
    for query_id, text in data.queries.items():
        (runs[query_id],) = workspace.candidates([text], settings)
    ids = {c for d, k in runs.values() for c, _ in d + k}
    for chunk_id, chunk in workspace.store.chunks(ids).items():
        documents[chunk_id] = Path(chunk.document).stem
    variants: dict[str, Fusion] = {}
    for k, weight in itertools.product((5, 10, 20, 40, 60, 100), (0.6, 0.8, 1.0, 1.2, 1.5, 2.0)):
        variants[f"rrf k={k} keyword_weight={weight}"] = _rrf(k, weight)
    for alpha in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
        variants[f"convex alpha={alpha}"] = _convex(alpha)
    results = []
    for name, fusion in variants.items():
        scores = []
        for query_id, (dense, keyword) in runs.items():
            fused = fusion(dense, keyword)
            ranked = list(dict.fromkeys(documents[c] for c, _ in sorted(fused.items(), key=lambda kv: -kv[1])
                                        if c in documents))
            scores.append(ndcg_at(ranked, data.qrels[query_id], 10))
        results.append({"fusion": name, "ndcg@10": round(statistics.fmean(scores), 4)})
    return sorted(results, key=lambda r: -r["ndcg@10"])


def measure_reranker(workspace: Workspace, data: Beir, reranker: Any, queries: int,
                     depth: int = 10) -> dict[str, Any]:
    """nDCG@10 and added latency of reranking the top `depth` passages of `queries` queries."""
    import time

    chosen = list(data.queries.items())[:queries]
    before: list[float] = []
    after: list[float] = []
    seconds: list[float] = []
    for query_id, text in chosen:
        passages = workspace.search(text, depth)
        started = time.perf_counter()
        reranked = reranker.rerank(text, passages)
        seconds.append(time.perf_counter() - started)
        for target, ranking in ((before, passages), (after, reranked)):
            ranked = list(dict.fromkeys(Path(p.chunk.document).stem for p in ranking))
            target.append(ndcg_at(ranked, data.qrels[query_id], 10))
    return {"queries": len(chosen), "depth": depth,
            "ndcg@10_before": round(statistics.fmean(before), 4),
            "ndcg@10_after": round(statistics.fmean(after), 4),
            "seconds_per_query_median": round(statistics.median(seconds), 2)}
