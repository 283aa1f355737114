"""A follow-up question in the same thread: how much of the prompt comes from the KV cache, and
how soon its first token arrives against the same prompt read from scratch.

    python benchmarks/follow_up.py DOCUMENT [--model auto]

Indexes DOCUMENT into a fresh workspace, then for each pair of questions asks the first, then
the follow-up in the same thread (through `Workspace.answer_stream`, as the window and `chat`
do). For the follow-up it reports the share of the previous prompt that was reused, and its
time to the first token against the same prompt tokens evaluated with an empty cache. Medians
over the pairs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PAIRS = [
    ("Who patented the typewriter, and when?", "What came after the typewriter?"),
    ("What did early word processors run on?", "And what changed with personal computers?"),
    ("What is the concept of the word processor?", "Who used it first?"),
]


def first_token(events) -> tuple[float, object]:
    start = time.perf_counter()
    seen = None
    answer = None
    for event in events:
        if seen is None and type(event).__name__ == "AnswerToken":  # not the stages before it
            seen = time.perf_counter() - start
        answer = event
    return seen or 0.0, answer


def main(argv: list[str] | None = None) -> int:
    from desktop_app.core import Library
    from desktop_app.core.backends import RealBackends

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("document", type=Path)
    parser.add_argument("--model", default="auto")
    args = parser.parse_args(argv)
    backends = RealBackends()
    with tempfile.TemporaryDirectory() as home:
        library = Library(home, backends=backends)
        library.update_settings(temperature=0.0, model=args.model)
        workspace = library.create("Follow-ups")
        list(workspace.add([args.document]))
        rows = []
        for question, follow in PAIRS:
            _, first = first_token(workspace.answer_stream(question))
            model = backends.language_model(workspace.settings, workspace._models_dir,
                                            workspace._keys)
            previous = model.last_prompt[0]
            warm, _ = first_token(workspace.answer_stream(follow, first.thread_id))
            total, reused = model.last_prompt
            prompt = model._cached[:total]
            model._cached = []  # the same prompt, read from scratch
            cold, _ = first_token(model.generate(prompt, 1, 0.0))
            rows.append({"previous_prompt": previous, "follow_up_prompt": total, "reused": reused,
                         "reused_share_of_previous": reused / previous,
                         "first_token_s": warm, "cold_first_token_s": cold})
            print(json.dumps(rows[-1]), flush=True)
        summary = {key: statistics.median(r[key] for r in rows)
                   for key in ("reused_share_of_previous", "first_token_s", "cold_first_token_s")}
        summary["warm_over_cold"] = summary["first_token_s"] / summary["cold_first_token_s"]
        summary["model"] = model.name
        print(json.dumps(summary, indent=1))
        library.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
