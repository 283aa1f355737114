"""Peak memory and speed of indexing one large plain-text file, read in parts or whole.

    python benchmarks/large_file.py [--mb 10,50,100] [--modes parts,whole] [--embedder hashing]

Writes a text file of each size (paragraphs of English words from tests/data), then indexes it
into a fresh workspace with the real parser, store and Chroma, each run in its own process so
that its peak resident memory (ru_maxrss) is its own. `parts` is the app as it is (a large text
file read a part at a time); `whole` turns that off, so the file goes to unstructured whole, as
before. `--embedder hashing` replaces the neural embedder by the fast hashing one, so that a
100 MB file takes minutes rather than the better part of an hour; memory and the other stages
are the app's own either way.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from desktop_app.core.offline import seal_environment

seal_environment()

from desktop_app.core import Library  # noqa: E402
from desktop_app.core.backends import RealBackends  # noqa: E402
from desktop_app.core.ingest.embedding import Embedder, HashingEmbedder  # noqa: E402
from desktop_app.core.ingest.parsing import streaming  # noqa: E402
from desktop_app.core.records import AddFinished, FileProgress  # noqa: E402

WORDS = Path(__file__).resolve().parent.parent / "tests" / "data" / "war-and-peace-1p.txt"


class HashingBackends(RealBackends):
    def embedder(self, name: str) -> Embedder:
        return HashingEmbedder(384)


def write_text(path: Path, megabytes: int) -> None:
    rng = random.Random(11)
    words = WORDS.read_text(encoding="utf-8").split()
    with path.open("w", encoding="utf-8") as out:
        while out.tell() < megabytes * 1_000_000:
            sentences = [" ".join(rng.choices(words, k=rng.randint(8, 30))) + "."
                         for _ in range(rng.randint(2, 8))]
            out.write(" ".join(sentences) + "\n\n")


def child(file: Path, mode: str, embedder: str) -> dict[str, object]:
    """Index `file` in this process; what it took."""
    if mode == "whole":
        streaming.STREAM_FROM_BYTES = 1 << 62
    backends = HashingBackends() if embedder == "hashing" else RealBackends()
    with tempfile.TemporaryDirectory() as home:
        library = Library(home, backends=backends)
        workspace = library.create("Large")
        backends.parser().warm_up()
        backends.embedder(workspace.settings.embedder).warm_up()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        started = time.perf_counter()
        first_progress, progress_events, finished = None, 0, None
        for event in workspace.add([file]):
            if isinstance(event, FileProgress):
                progress_events += 1
                first_progress = first_progress or time.perf_counter() - started
            elif isinstance(event, AddFinished):
                finished = event
        seconds = time.perf_counter() - started
        assert finished is not None
        (record,) = finished.records
        library.close()
    return {
        "mode": mode, "mb": round(file.stat().st_size / 1e6), "status": record.status.value,
        "chunks": record.chunks, "seconds": round(seconds, 1),
        "first_progress_s": round(first_progress, 2) if first_progress else None,
        "progress_events": progress_events,
        "rss_before_mb": round(before),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", default="10,50,100")
    parser.add_argument("--modes", default="parts,whole")
    parser.add_argument("--embedder", default="hashing", help="hashing, or the app's embedder setting")
    parser.add_argument("--child", nargs=2, metavar=("FILE", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(Path(args.child[0]), args.child[1], args.embedder)))
        return
    with tempfile.TemporaryDirectory() as folder:
        for size in (int(s) for s in args.mb.split(",")):
            file = Path(folder) / f"large-{size}mb.txt"
            write_text(file, size)
            for mode in args.modes.split(","):
                out = subprocess.run([sys.executable, __file__, "--embedder", args.embedder,
                                      "--child", str(file), mode],
                                     capture_output=True, text=True, check=True).stdout
                print(out.strip().splitlines()[-1], flush=True)


if __name__ == "__main__":
    main()
