"""A shared workspace on a Chroma server behind Caddy (TLS, token) against the embedded store.

    python benchmarks/shared_search.py FOLDER [--queries 200] [--json]

Starts a Chroma server and Caddy on 127.0.0.1 the way the tests do (tests/servers.py; Caddy
from the PATH or .venv/tools), then with the real backends: indexes FOLDER into an embedded
workspace and into a shared one (same embedder, same chunking), opens the shared one from a
second data folder (the first open fetches every passage), and runs the same searches on the
three, interleaved. Queries are the first twelve words of passages drawn at random (seed 0).
Reported: add seconds (embedded, shared), the second app's first open, and the median and 95th
percentile of a search (the app's whole hybrid search: embedding the query, dense search,
keyword search, fusion).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from desktop_app.core.offline import seal_environment  # noqa: E402

seal_environment()

from desktop_app.core import Library  # noqa: E402
from desktop_app.core.backends import RealBackends  # noqa: E402
from desktop_app.core.search.shared_index import SharedStore  # noqa: E402
from tests.servers import caddy_proxy, chroma_server  # noqa: E402

TOKEN = "benchmark-token"


def timed(run) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp())
    backends = RealBackends()
    with chroma_server(scratch / "chroma") as url, \
            caddy_proxy(url, scratch / "proxy", TOKEN) as proxy:
        store = SharedStore(proxy.url, "benchmark", ca_bundle=str(proxy.ca_bundle))
        apps = [Library(scratch / name, backends=backends) for name in ("local", "a", "b")]
        for app in apps[1:]:
            app.keys.save(proxy.url, TOKEN)
        local, shared = apps[0].create("Local"), apps[1].create("Shared", store)
        backends.embedder(local.settings.embedder, apps[0].models_dir).warm_up()  # not timed
        results: dict[str, object] = {
            "add_embedded_s": timed(lambda: list(local.add([args.folder]))),
            "add_shared_s": timed(lambda: list(shared.add([args.folder]))),
        }
        other = apps[2].create("Shared", store)
        results["first_open_other_app_s"] = timed(lambda: list(other.heal()))
        results["passages"] = local.store.chunk_count()
        chunks = [c for batch in local.store.chunk_batches(1000) for c in batch]
        rng = random.Random(0)
        queries = [" ".join(rng.choice(chunks).text.split()[:12]) for _ in range(args.queries)]
        for workspace in (local, shared, other):
            workspace.search(queries[0])  # warm: the embedder, the connection, the caches
        times: dict[str, list[float]] = {"embedded": [], "shared": [], "shared, second app": []}
        for query in queries:
            for label, workspace in zip(times, (local, shared, other), strict=True):
                times[label].append(timed(lambda w=workspace: w.search(query)) * 1000)
        for label, values in times.items():
            results[f"search_ms_{label}"] = {"p50": round(statistics.median(values), 1),
                                             "p95": round(percentile(values, 0.95), 1)}
        for app in apps:
            app.close()
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for key, value in results.items():
            print(f"{key}: {value}")


if __name__ == "__main__":
    main()
