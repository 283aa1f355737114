"""llama.cpp's speed by thread count while other programs keep the cores busy.

    python benchmarks/threads_under_load.py [--model FILE] [--threads 1,2,auto] [--busy 0,1,2]
        [--reps 3] [--max-tokens 48] [--json]

For each number of busy programs (each a Python process spinning on one core at normal
priority, as a build, a browser tab or a video call would) and each thread count, the app's
own model (`LlamaCppModel`, CPU) reads a prompt shaped like the app's (~450 tokens, a different
opening each time so nothing comes from the cache) and writes up to --max-tokens tokens.
Reported, medians over --reps: prompt tokens per second (time to the first token) and
generated pieces per second after it, and (for "auto", the app's default: as many threads as
cores are idle before each answer) the threads it chose. The model defaults to the built-in one.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from desktop_app.core.offline import seal_environment  # noqa: E402

seal_environment()

from desktop_app.core.answer.llama_model import LlamaCppModel  # noqa: E402
from desktop_app.core.answer.llm import ChatMessage  # noqa: E402
from desktop_app.core.answer.prompting import SYSTEM_PROMPT  # noqa: E402
from desktop_app.core.models.model_manager import AUTO, resolve_model  # noqa: E402

TEXT = Path(__file__).resolve().parents[1] / "tests" / "data" / "war-and-peace-1p.txt"
SPIN = "while True: pass"


def prompt(rep: int) -> list[ChatMessage]:
    words = TEXT.read_text(encoding="utf-8").split()[:300]
    return [ChatMessage("system", f"Session {rep * 7919}. {SYSTEM_PROMPT}"),
            ChatMessage("user", "Passages:\n\n[1] war-and-peace.txt: " + " ".join(words)
                        + "\n\nQuestion: Who wrote the invitations, and to whom?")]


def measure(model: LlamaCppModel, rep: int, max_tokens: int) -> tuple[float, float]:
    """(prompt tokens a second, pieces a second after the first)."""
    messages = prompt(rep)
    tokens = sum(model.count_tokens(m.content) for m in messages)
    started = time.perf_counter()
    first, pieces = None, 0
    for _piece in model.stream(messages, max_tokens, 0.0):
        pieces += 1
        first = first or time.perf_counter()
    end = time.perf_counter()
    first = first or end
    return tokens / (first - started), (pieces - 1) / max(1e-6, end - first)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path)
    parser.add_argument("--threads", default="1,2,auto")
    parser.add_argument("--busy", default="0,1,2")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    path = args.model or resolve_model(AUTO, Path(tempfile.mkdtemp()), 2048)
    results = []
    rep = 0
    for threads in args.threads.split(","):
        model = LlamaCppModel(path, 2048, 0, threads=None if threads == "auto" else int(threads))
        model.warm_up()
        measure(model, rep := rep + 1, 8)  # warm: the first decode allocates
        for busy in (int(b) for b in args.busy.split(",")):
            spinners = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(busy)]
            try:
                time.sleep(0.5)
                runs, chosen = [], []
                for _ in range(args.reps):
                    runs.append(measure(model, rep := rep + 1, args.max_tokens))
                    chosen.append(model.threads_used)
            finally:
                for spinner in spinners:
                    spinner.kill()
                    spinner.wait()
            results.append({"threads": threads, "busy": busy,
                            "prompt_tps": round(statistics.median(r[0] for r in runs), 1),
                            "decode_tps": round(statistics.median(r[1] for r in runs), 1),
                            "threads_used": chosen})
        model.close()
    if args.json:
        print(json.dumps({"model": path.name, "results": results}, indent=2))
    else:
        print(path.name)
        for row in results:
            print(f"threads {row['threads']} (used {row['threads_used']}), {row['busy']} busy: "
                  f"prompt {row['prompt_tps']} tokens/s, decode {row['decode_tps']} pieces/s")


if __name__ == "__main__":
    main()
