"""Time to read a model's header for the fit estimate: the app's reader against gguf-py's.

    python benchmarks/gguf_header.py MODEL.gguf [MODEL.gguf ...] [--reps 5]

The app reads a GGUF header before every load that offloads to a GPU and for every model the
settings list. Both readers run on the same file in alternation; reported are the medians and
their ratio. A model with a large vocabulary (Llama 3: 128,256 tokens, 280,147 merges) is the
case that matters; docs/benchmarks.md says how to make one without downloading weights.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str] | None = None) -> int:
    import gguf

    from desktop_app.core.models.gguf_file import read_gguf

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", type=Path)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args(argv)
    for path in args.models:
        ours, theirs = [], []
        for _ in range(args.reps):
            start = time.perf_counter()
            info = read_gguf(path)
            ours.append(time.perf_counter() - start)
            start = time.perf_counter()
            gguf.GGUFReader(str(path), "r")
            theirs.append(time.perf_counter() - start)
        app, reference = statistics.median(ours), statistics.median(theirs)
        print(json.dumps({"model": path.name, "parameters": info.parameters,
                          "app_seconds": round(app, 4), "gguf_py_seconds": round(reference, 3),
                          "speed_up": round(reference / app, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
