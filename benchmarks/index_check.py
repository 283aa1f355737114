"""What checking Chroma's HNSW files costs each time a workspace's search index is opened.

    python benchmarks/index_check.py --vectors 50000

Builds an index of random unit vectors (MiniLM's 384 dimensions) in a temporary folder, then
times `hnsw_problem` (the check run before Chroma reads the files) and a whole open + verify.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from desktop_app.core.records import Chunk  # noqa: E402
from desktop_app.core.search.hnsw_files import hnsw_problem  # noqa: E402
from desktop_app.core.search.vectors import ChromaVectorStore  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vectors", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp()) / "vectors"
    rng = np.random.default_rng(0)
    store = ChromaVectorStore(folder)
    for start in range(0, args.vectors, 5000):
        batch = rng.normal(size=(min(5000, args.vectors - start), 384)).astype(np.float32)
        batch /= np.linalg.norm(batch, axis=1, keepdims=True)
        store.upsert([Chunk(f"id{i}", "/d", i, "", None, None, 0, 0)
                      for i in range(start, start + len(batch))], batch)
    store.close()
    checks, opens = [], []
    for _ in range(args.repeats):
        started = time.perf_counter()
        assert hnsw_problem(folder) is None
        checks.append(time.perf_counter() - started)
        started = time.perf_counter()
        store = ChromaVectorStore(folder)
        store.verify()
        opens.append(time.perf_counter() - started)
        store.close()
    print(f"{args.vectors} vectors: check median {statistics.median(checks):.3f} s, "
          f"open + check + verify median {statistics.median(opens):.3f} s")


if __name__ == "__main__":
    main()
