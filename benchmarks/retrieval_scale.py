"""Retrieval latency on a large workspace (default 100,000 chunks).

    python benchmarks/retrieval_scale.py TEXT_FOLDER [--chunks 100000] [--queries 50]

Chunk texts are real sentences from the .txt/.md/.html files under TEXT_FOLDER, recombined;
their vectors are random unit vectors (embedding 100k chunks would take an hour on 2 cores and
does not change what is measured: HNSW search, BM25 over FTS5, fusion and the row fetch).
Queries go through the real embedder. Reports the median and p95 of the whole search call.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import tempfile
import time
from pathlib import Path

from desktop_app.core.offline import seal_environment

seal_environment()

import numpy as np  # noqa: E402

from desktop_app.core.ingest.embedding import create_embedder  # noqa: E402
from desktop_app.core.records import Chunk, DocumentRecord, DocumentStatus  # noqa: E402
from desktop_app.core.search.keywords import FtsKeywordIndex  # noqa: E402
from desktop_app.core.search.retrieval import Retriever  # noqa: E402
from desktop_app.core.search.vectors import ChromaVectorStore  # noqa: E402
from desktop_app.core.storage.database import Database  # noqa: E402
from desktop_app.core.storage.settings import Settings  # noqa: E402
from desktop_app.core.storage.store import ChunkStore  # noqa: E402

QUERIES = ["Who patented the typewriter?", "quarterly revenue growth", "how to bake bread",
           "battery life of the device", "football club history", "password protected files",
           "what is the capital of the country", "annual family day activities"]


def sentences(folder: Path) -> list[str]:
    out: list[str] = []
    for path in folder.rglob("*"):
        if path.suffix.lower() in {".txt", ".md", ".html"} and path.is_file():
            text = re.sub(r"<[^>]+>", " ", path.read_text(encoding="utf-8", errors="ignore"))
            out += [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if 30 < len(s.strip()) < 300]
    return out


def build(home: Path, count: int, pool: list[str], dims: int) -> tuple[ChunkStore, ChromaVectorStore, FtsKeywordIndex]:
    rng = random.Random(7)
    db = Database(home / "workspace.sqlite3")
    keywords = FtsKeywordIndex(db)
    store = ChunkStore(db, keywords)
    vectors = ChromaVectorStore(home / "vectors")
    per_doc = 100
    for doc in range(count // per_doc):
        path = f"/synthetic/doc{doc}.txt"
        chunks = []
        for i in range(per_doc):
            text = " ".join(rng.choice(pool) for _ in range(6))
            chunks.append(Chunk(f"{doc:06d}{i:04d}", path, i, text, None, None, 0, len(text)))
        store.replace_document(DocumentRecord(path, DocumentStatus.INDEXED), "sha", "sig", chunks)
        matrix = np.random.default_rng(doc).normal(size=(per_doc, dims)).astype(np.float32)
        vectors.upsert(chunks, matrix / np.linalg.norm(matrix, axis=1, keepdims=True))
    return store, vectors, keywords


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=50)
    args = parser.parse_args()
    embedder = create_embedder("all-MiniLM-L6-v2")
    embedder.warm_up()
    with tempfile.TemporaryDirectory() as home:
        started = time.perf_counter()
        store, vectors, keywords = build(Path(home), args.chunks, sentences(args.folder), embedder.dimensions)
        build_s = time.perf_counter() - started
        retriever = Retriever(embedder, vectors, keywords, store)
        settings = Settings().retrieval()
        timings = []
        for i in range(args.queries):
            started = time.perf_counter()
            retriever.search([QUERIES[i % len(QUERIES)]], settings)
            timings.append((time.perf_counter() - started) * 1000)
        timings.sort()
        print(json.dumps({
            "chunks": store.chunk_count(), "vectors": vectors.count(), "build_s": round(build_s, 1),
            "search_ms_median": round(statistics.median(timings), 1),
            "search_ms_p95": round(timings[int(0.95 * (len(timings) - 1))], 1),
        }, indent=2))
        vectors.close()


if __name__ == "__main__":
    main()
