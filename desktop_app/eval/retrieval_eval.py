"""Retrieval quality on a BEIR-format folder, through the app's own indexing and search."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from desktop_app.core import Library, Workspace
from desktop_app.core.records import AddFinished

from .metrics import mrr_at, ndcg_at, recall_at

__all__ = ["MODES", "evaluate_retrieval", "load_beir", "open_index"]

# (dense weight, keyword weight) of the fusion for each mode
MODES = {"dense": (1.0, 0.0), "keyword": (0.0, 1.0), "hybrid": (None, None)}
DEPTH = 100  # chunks retrieved per query, then folded into documents


@dataclass(frozen=True, slots=True)
class Beir:
    corpus: dict[str, tuple[str, str]]  # id -> (title, text)
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def load_beir(folder: Path, split: str) -> Beir:
    corpus = {str(d["_id"]): (d.get("title", ""), d.get("text", "")) for d in _jsonl(folder / "corpus.jsonl")}
    queries = {str(q["_id"]): q["text"] for q in _jsonl(folder / "queries.jsonl")}
    qrels: dict[str, dict[str, int]] = {}
    lines = (folder / "qrels" / f"{split}.tsv").read_text(encoding="utf-8").splitlines()
    for line in lines[1:] if lines and lines[0].startswith("query") else lines:
        query_id, doc_id, score = line.split("\t")[:3]
        qrels.setdefault(query_id, {})[doc_id] = int(score)
    return Beir(corpus, {q: queries[q] for q in qrels if q in queries}, qrels)


def open_index(library: Library, data: Beir, name: str) -> Workspace:
    """The corpus as a workspace of text files (title, blank line, abstract), built once."""
    workspace = library.open_or_create(name)
    if workspace.documents():
        return workspace
    folder = library.data_dir / f"{name}-files"
    folder.mkdir(parents=True, exist_ok=True)
    for doc_id, (title, text) in data.corpus.items():
        (folder / f"{doc_id}.txt").write_text(f"{title}\n\n{text}".strip() + "\n", encoding="utf-8")
    *_, finished = workspace.add([folder])
    assert isinstance(finished, AddFinished)
    return workspace


def evaluate_retrieval(workspace: Workspace, data: Beir, mode: str,
                       document_weight: float | None = None) -> dict[str, Any]:
    dense, keyword = MODES[mode]
    base = workspace.settings
    overrides: dict[str, Any] = {"dense_candidates": DEPTH, "keyword_candidates": DEPTH}
    if document_weight is not None:
        overrides["document_weight"] = document_weight
    if dense is not None and keyword is not None:
        overrides.update(dense_weight=dense, keyword_weight=keyword,
                         dense_candidates=DEPTH if dense else 0, keyword_candidates=DEPTH if keyword else 0)
    else:
        overrides.update(dense_weight=base.dense_weight, keyword_weight=base.keyword_weight)
    # Deeper than a person may set top_k (the settings refuse over 50): set on the view.
    retrieval = replace(base.with_overrides(overrides, strict=True).retrieval(), top_k=DEPTH)
    scores: dict[str, list[float]] = {"ndcg@10": [], "recall@10": [], "recall@100": [], "mrr@10": []}
    latencies = []
    for query_id, text in data.queries.items():
        started = time.perf_counter()
        passages = workspace.search(text, retrieval=retrieval)
        latencies.append((time.perf_counter() - started) * 1000)
        ranked = list(dict.fromkeys(Path(p.chunk.document).stem for p in passages))
        relevant = data.qrels[query_id]
        scores["ndcg@10"].append(ndcg_at(ranked, relevant, 10))
        scores["recall@10"].append(recall_at(ranked, relevant, 10))
        scores["recall@100"].append(recall_at(ranked, relevant, 100))
        scores["mrr@10"].append(mrr_at(ranked, relevant, 10))
    latencies.sort()
    result: dict[str, Any] = {k: round(statistics.fmean(v), 4) for k, v in scores.items()}
    result.update({
        "mode": mode, "document_weight": retrieval.document_weight,
        "queries": len(data.queries), "documents": len(data.corpus),
        "latency_ms_p50": round(latencies[len(latencies) // 2], 1),
        "latency_ms_p95": round(latencies[int(len(latencies) * 0.95)], 1),
    })
    return result
