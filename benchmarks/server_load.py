"""Answers per minute and time to first token with 1, 4 and 16 people asking one server at once.

    python benchmarks/server_load.py --url http://HOST:PORT/v1 [--key KEY] [--askers 1,4,16]
        [--questions 2] [--max-tokens 64] [--in-process MODEL.gguf]

Each asker sends its questions one after another through the app's own client
(`RemoteModel`: streamed chat completions), each question with a prompt shaped like the
app's (a system prompt, five passages of ~150 words from tests/data, the question) and a
different passage order per question, so no two prompts share a cached prefix. Reported per
concurrency: answers per minute over the whole run, and the median and 95th percentile of the
time to the first token. `--in-process MODEL.gguf` also runs the same prompts one after
another through llama.cpp in this process (`LlamaCppModel`), the path without a server.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from desktop_app.core.offline import seal_environment

seal_environment()

from desktop_app.core.answer.llm import ChatMessage, LanguageModel  # noqa: E402
from desktop_app.core.answer.prompting import SYSTEM_PROMPT  # noqa: E402
from desktop_app.core.answer.remote_llm import RemoteModel, ServerConfig  # noqa: E402

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "war-and-peace-1p.txt"
QUESTION = "What did Anna Pavlovna write in her invitations, and to whom?"


def prompts(count: int) -> list[list[ChatMessage]]:
    words = DATA.read_text(encoding="utf-8").split()
    passages = [" ".join(words[i:i + 150]) for i in range(0, len(words) - 150, 150)]
    out = []
    for n in range(count):
        rng = random.Random(n)
        chosen = rng.sample(passages, min(5, len(passages)))
        body = "\n\n".join(f"[{i}] war-and-peace.txt: {p}" for i, p in enumerate(chosen, start=1))
        out.append([ChatMessage("system", SYSTEM_PROMPT),
                    ChatMessage("user", f"Passages:\n\n{body}\n\nQuestion: {QUESTION} ({n})")])
    return out


def ask(model: LanguageModel, messages: list[ChatMessage], max_tokens: int) -> float:
    """Seconds to the first piece of the answer (the rest is read to the end)."""
    started = time.perf_counter()
    first = None
    for _piece in model.stream(messages, max_tokens, 0.0):
        first = first or time.perf_counter() - started
    return first or time.perf_counter() - started


def load(config: ServerConfig, askers: int, per_asker: int, max_tokens: int) -> dict[str, object]:
    work = prompts(askers * per_asker)
    models = [RemoteModel(config) for _ in range(askers)]
    for model in models:
        model.warm_up()

    def one(asker: int) -> list[float]:
        return [ask(models[asker], work[asker * per_asker + q], max_tokens)
                for q in range(per_asker)]

    started = time.perf_counter()
    with ThreadPoolExecutor(askers) as pool:
        firsts = [t for times in pool.map(one, range(askers)) for t in times]
    seconds = time.perf_counter() - started
    return summary(f"server, {askers} asking", firsts, seconds)


def summary(label: str, firsts: list[float], seconds: float) -> dict[str, object]:
    ordered = sorted(firsts)
    return {"run": label, "answers": len(firsts), "seconds": round(seconds, 1),
            "answers_per_min": round(60 * len(firsts) / seconds, 1),
            "ttft_p50_s": round(statistics.median(ordered), 2),
            "ttft_p95_s": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 2)}


def in_process(path: Path, count: int, max_tokens: int, context: int) -> dict[str, object]:
    from desktop_app.core.answer.llama_model import LlamaCppModel

    model = LlamaCppModel(path, context)
    model.warm_up()
    work = prompts(count)
    started = time.perf_counter()
    firsts = [ask(model, messages, max_tokens) for messages in work]
    return summary("in process, 1 asking", firsts, time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", default=None)
    parser.add_argument("--askers", default="1,4,16")
    parser.add_argument("--questions", type=int, default=2, help="per asker")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--context", type=int, default=4096)
    parser.add_argument("--in-process", type=Path, default=None)
    args = parser.parse_args()
    config = ServerConfig(args.url, api_key=args.key, context_size=args.context)
    for askers in (int(a) for a in args.askers.split(",")):
        print(json.dumps(load(config, askers, args.questions, args.max_tokens)),
              flush=True)
    if args.in_process is not None:
        print(json.dumps(in_process(args.in_process, args.questions * 4, args.max_tokens,
                                    args.context)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
