"""Does a 16-bit embedder rank as well as float32? Dense retrieval on a BEIR collection.

    python benchmarks/embedding_precision.py ../shared/eval/scifact [--dtype bfloat16] [--split test]

Embeds every document (title and text) and every query of the split with the built-in
embedder in float32 and in `--dtype` (on the CPU, or the GPU with `--device cuda`), ranks by
exact cosine, and prints nDCG@10 of each, the embedding time of each, and the cosine between
each document's two vectors (both normalised in float32).
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from desktop_app.core.offline import seal_environment  # noqa: E402

seal_environment()


def load(folder: Path, split: str) -> tuple[list[str], list[str], dict[str, str], dict[str, dict[str, int]]]:
    docs = [json.loads(line) for line in (folder / "corpus.jsonl").open(encoding="utf-8")]
    queries = {q["_id"]: q["text"] for q in map(json.loads, (folder / "queries.jsonl").open(encoding="utf-8"))}
    qrels: dict[str, dict[str, int]] = {}
    for line in list((folder / "qrels" / f"{split}.tsv").open(encoding="utf-8"))[1:]:
        query, doc, score = line.rstrip("\n").split("\t")
        qrels.setdefault(query, {})[doc] = int(score)
    texts = [f"{d.get('title', '')} {d['text']}".strip() for d in docs]
    return [d["_id"] for d in docs], texts, queries, qrels


def unit(vectors: np.ndarray) -> np.ndarray:
    rows = np.asarray(vectors, dtype=np.float32)
    normalised: np.ndarray = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    return normalised


def ndcg_at_10(scores: np.ndarray, ids: list[str], qids: list[str],
               qrels: dict[str, dict[str, int]]) -> float:
    total = 0.0
    for row, query in enumerate(qids):
        top = np.argsort(-scores[row])[:10]
        dcg = sum((2 ** qrels[query].get(ids[j], 0) - 1) / math.log2(r + 2) for r, j in enumerate(top))
        ideal = sorted(qrels[query].values(), reverse=True)[:10]
        idcg = sum((2 ** g - 1) / math.log2(r + 2) for r, g in enumerate(ideal))
        total += dcg / idcg if idcg else 0.0
    return total / len(qids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--split", default="test")
    parser.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float16"])
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    import torch
    from sentence_transformers import SentenceTransformer

    from desktop_app.core.ingest.embedding import BUILTIN_EMBEDDERS

    ids, texts, queries, qrels = load(args.folder, args.split)
    qids = [q for q in qrels if q in queries]
    full = SentenceTransformer(str(BUILTIN_EMBEDDERS["all-MiniLM-L6-v2"]()), device=args.device)
    reduced = copy.deepcopy(full).to(getattr(torch, args.dtype))
    result: dict[str, object] = {"documents": len(texts), "queries": len(qids)}
    vectors = {}
    for name, model in (("float32", full), (args.dtype, reduced)):
        started = time.perf_counter()
        docs = unit(model.encode(texts, batch_size=16))
        seconds = time.perf_counter() - started
        asked = unit(model.encode([queries[q] for q in qids], batch_size=16))
        vectors[name] = docs
        result[name] = {"ndcg_at_10": round(ndcg_at_10(asked @ docs.T, ids, qids, qrels), 4),
                        "embed_seconds": round(seconds, 1)}
    cosine = np.sum(vectors["float32"] * vectors[args.dtype], axis=1)
    result["cosine"] = {"min": round(float(cosine.min()), 5),
                        "p01": round(float(np.percentile(cosine, 1)), 5),
                        "median": round(float(np.median(cosine)), 5)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
