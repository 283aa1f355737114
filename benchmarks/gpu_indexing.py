"""Indexing on a GPU machine: the app end to end, the embed stage against the bare model, and
the vectors of half precision against full precision.

    python benchmarks/gpu_indexing.py FOLDER --embedder NAME|FOLDER [--runs 3] [--json]

1. Indexes FOLDER `--runs` times into new workspaces with the reading processes the machine
   spares, then `--runs` times with one reading process (the app before reading ahead),
   each in a process of the app's own backends: pages/s of each run, steady state = median of
   the runs after the first.
2. The bare model: the same passages (as embedded, with their context headers), tokenised up
   front and sorted by length, through the transformer alone in float16, batches of 256:
   passages/s. The app's embed stage is compared with it.
3. Every passage embedded by the app (float16 where it agrees) and by sentence-transformers
   in float32, both on the GPU: cosine of each pair.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from index_and_ask import index  # noqa: E402

from desktop_app.core import Library  # noqa: E402
from desktop_app.core.backends import RealBackends  # noqa: E402


def runs(folder: Path, embedder: str, count: int, workers: int | None) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as home:
        library = Library(home, backends=RealBackends(reading_workers=workers))
        library.update_settings(embedder=embedder)
        results = [index(library, folder, f"Run {n}") for n in range(1, count + 1)]
        texts = [c.searchable_text for batch in library.open("Run 1").store.chunk_batches(2000)
                 for c in batch]
        library.close()
    steady = results[1:] or results
    return {
        "reading_workers": workers or "spare cores",
        "runs": [{k: r[k] for k in ("seconds", "pages", "chunks", "pages_per_s",
                                    "stage_seconds")} for r in results],
        "steady_pages_per_s": statistics.median(float(r["pages_per_s"]) for r in steady),  # type: ignore[arg-type]
        "steady_embed_s": statistics.median(
            float(r["stage_seconds"]["embed"]) for r in steady),  # type: ignore[index]
        "texts": texts,
    }


def bare_model(folder: str, texts: list[str], batch: int = 256) -> float:
    """Passages a second through the transformer alone, float16, tokenised beforehand."""
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(folder, device="cuda").half()
    transformer = model[0].auto_model
    tokenizer = model.tokenizer
    ordered = sorted(texts, key=len)
    batches = [tokenizer(ordered[i:i + batch], padding=True, truncation=True,
                         max_length=model.max_seq_length, return_tensors="pt").to("cuda")
               for i in range(0, len(ordered), batch)]
    best = float("inf")
    with torch.inference_mode():
        for _ in range(4):  # the first pass meets each batch's shape for the first time
            torch.cuda.synchronize()
            started = time.perf_counter()
            for encoded in batches:
                transformer(**encoded)
            torch.cuda.synchronize()
            best = min(best, time.perf_counter() - started)
    return len(texts) / best


def agreement(folder: str, texts: list[str]) -> dict[str, object]:
    """The app's vectors (its embedder as indexing uses it) against sentence-transformers'
    own float32 encoding on the GPU."""
    from sentence_transformers import SentenceTransformer

    from desktop_app.core.ingest.embedding import create_embedder

    reference = SentenceTransformer(folder, device="cuda").encode(
        texts, batch_size=256, normalize_embeddings=True)
    embedder = create_embedder(folder)
    cosine = np.sum(reference * embedder.embed_documents(texts), axis=1)
    return {"passages": len(texts), "app_precision": getattr(embedder, "precision", "?"),
            "min": float(cosine.min()), "p01": float(np.percentile(cosine, 1)),
            "median": float(np.median(cosine))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--embedder", required=True, help="a sentence-transformers model folder")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    ahead = runs(args.folder, args.embedder, args.runs, None)
    one = runs(args.folder, args.embedder, args.runs, 1)
    texts: list[str] = ahead.pop("texts")  # type: ignore[assignment]
    one.pop("texts")
    bare = bare_model(args.embedder, texts)
    app_embed = len(texts) / float(ahead["steady_embed_s"])  # type: ignore[arg-type]
    result = {
        "reading_ahead": ahead, "one_reader": one,
        "bare_model_fp16_passages_per_s": round(bare),
        "app_embed_stage_passages_per_s": round(app_embed),
        "embed_stage_of_bare": round(app_embed / bare, 3),
        "app_vs_float32_cosine": agreement(args.embedder, texts),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
