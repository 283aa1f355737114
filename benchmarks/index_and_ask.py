"""Indexing throughput per stage, and ask latency, on any folder of documents.

    python benchmarks/index_and_ask.py FOLDER [--questions Q ...] [--embedder NAME|FOLDER]
        [--runs N] [--reading-workers N] [--no-ask] [--json]

Indexes FOLDER into a fresh temporary workspace with the real backends, then reports pages/s
and chunks/s (overall and for text PDFs alone), seconds per stage (parse, chunk, embed, store),
and for each question: retrieval ms, time to first token and decode tokens/s (medians); and
the process's peak memory. With `--runs N` the folder is indexed N times, each into a new
workspace of the same process: the first run includes start-up (embedder load, reader
processes), the later ones are the steady state (their median is reported as "steady").
`--reading-workers` sets how many processes read files ahead (default: the cores spare).
Stage seconds are summed over files; with readers working ahead, parse time overlaps the
other stages, so the wall-clock pages/s is the measure.
`--embedder` takes what the setting takes: a built-in name or a model folder (one with
`onnx/model.onnx` runs on ONNX Runtime, as in the installed app).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from desktop_app.core.offline import seal_environment

seal_environment()

from desktop_app.core import Answer, AnswerToken, DocumentStatus, Library  # noqa: E402
from desktop_app.core.backends import RealBackends  # noqa: E402
from desktop_app.core.records import AddFinished, FileFinished  # noqa: E402

DEFAULT_QUESTIONS = [
    "Who patented the typewriter?",
    "What does the 10-K say about revenue?",
    "How are scanned documents handled?",
]


def index(library: Library, folder: Path, name: str = "Benchmark") -> dict[str, object]:
    workspace = library.create(name)
    stages: dict[str, float] = {}
    pdf = {"pages": 0, "seconds": 0.0, "chunks": 0}
    started = time.perf_counter()
    finished = None
    for event in workspace.add([folder]):
        if isinstance(event, FileFinished) and event.record.status is DocumentStatus.INDEXED:
            for stage, seconds in event.stage_seconds.items():
                stages[stage] = stages.get(stage, 0.0) + seconds
            if event.record.path.lower().endswith(".pdf"):
                pdf["pages"] += event.pages_done
                pdf["seconds"] += event.seconds
                pdf["chunks"] += event.record.chunks
        elif isinstance(event, AddFinished):
            finished = event
    seconds = time.perf_counter() - started
    assert finished is not None
    indexed = [r for r in finished.records if r.status is DocumentStatus.INDEXED]
    pages = sum(r.pages or 0 for r in indexed)
    chunks = sum(r.chunks for r in indexed)
    return {
        "files": len(finished.records), "indexed": len(indexed),
        "failed": finished.count(DocumentStatus.FAILED), "pages": pages, "chunks": chunks,
        "seconds": round(seconds, 2), "pages_per_s": round(pages / seconds, 2),
        "chunks_per_s": round(chunks / seconds, 2),
        "stage_seconds": {k: round(v, 2) for k, v in sorted(stages.items())},
        "pdf_pages": pdf["pages"], "pdf_seconds": round(pdf["seconds"], 2),
        "pdf_pages_per_s": round(pdf["pages"] / pdf["seconds"], 2) if pdf["seconds"] else None,
    }


def describe_embedder(library: Library) -> str:
    settings = library.open("Benchmark 1").settings
    embedder = library.backends.embedder(settings.embedder, library.models_dir)
    return f"{embedder.name}, {getattr(embedder, 'precision', 'float32')}"


def ask(library: Library, questions: list[str], repeat: int, name: str) -> dict[str, object]:
    workspace = library.open(name)
    workspace.ask("warm-up question about anything")  # loads the model once
    retrieval_ms, first_token_s, tokens_per_s = [], [], []
    for _ in range(repeat):
        for question in questions:
            started = time.perf_counter()
            workspace.search(question)
            retrieval_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            first, pieces = None, 0
            for event in workspace.answer_stream(question):
                if isinstance(event, AnswerToken):
                    first = first or time.perf_counter()
                    pieces += 1
                elif isinstance(event, Answer) and first and pieces > 1:
                    first_token_s.append(first - started)
                    tokens_per_s.append((pieces - 1) / (time.perf_counter() - first))
    return {
        "retrieval_ms_median": round(statistics.median(retrieval_ms), 1),
        "first_token_s_median": round(statistics.median(first_token_s), 3) if first_token_s else None,
        "decode_tokens_per_s_median": round(statistics.median(tokens_per_s), 1) if tokens_per_s else None,
        "answers_timed": len(first_token_s),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--questions", nargs="*", default=DEFAULT_QUESTIONS)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--embedder", help="built-in name or model folder (default: the built-in)")
    parser.add_argument("--runs", type=int, default=1, help="index the folder this many times")
    parser.add_argument("--reading-workers", type=int, help="processes reading files ahead")
    parser.add_argument("--no-ask", action="store_true", help="index only")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        library = Library(home, backends=RealBackends(reading_workers=args.reading_workers))
        if args.embedder:
            library.update_settings(embedder=args.embedder)
        runs = [index(library, args.folder, f"Benchmark {n}") for n in range(1, args.runs + 1)]
        result: dict[str, object] = {"index": runs[0]}
        if len(runs) > 1:
            result["runs"] = runs
            result["steady"] = {key: statistics.median(float(r[key]) for r in runs[1:])  # type: ignore[arg-type]
                                for key in ("seconds", "pages_per_s", "chunks_per_s")}
        if not args.no_ask:
            result["ask"] = ask(library, args.questions, args.repeat, "Benchmark 1")
        result["embedder"] = describe_embedder(library)
        library.close()
    # Linux and macOS report the peak in KiB and bytes respectively.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result["peak_rss_mb"] = round(peak / (1e6 if sys.platform == "darwin" else 1e3))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
