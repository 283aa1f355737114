"""llama.cpp's CPU variants on this machine: which one the app picks, whether each step of the
app's fallback ladder decodes, and the portable build's speed against a native one, in one run.

    python benchmarks/cpu_variants.py MODEL.gguf [--native-lib DIR] [--reps 5]
        [--prompt-tokens 256] [--gen 64] [--threads N]

The portable build is the installed llama-cpp-python (or LLAMA_CPP_LIB_PATH): llama.cpp with
every CPU variant as a loadable backend. `--native-lib` names the library folder of the same
llama.cpp built with `-DGGML_NATIVE=ON` for this CPU (how to make one: docs/benchmarks.md).

Every measurement is a child process that loads MODEL through the app's own `LlamaCppModel`;
the two builds alternate, round after round (and which goes first alternates too), so both
see the same machine. Reported: medians of
prompt tokens/s (a fresh --prompt-tokens prompt each time) and greedy decode tokens/s, and
their ratio portable/native. First, each configuration of the app's ladder (best variant with
weight repacking, without it, the basic variant) decodes a few tokens in its own child: a crash
there is reported with its signal, as the app's probe would see it. Needs only llama-cpp-python
(or its source tree with a built library) and numpy, like benchmarks/gpu_generation.py.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gpu_generation import load_model_class  # noqa: E402


def child(model_path: str, config_json: str, prompt_tokens: int, gen: int, threads: int) -> None:
    """One load and one measurement, printed as JSON."""
    load_model_class()
    from desktop_app.core.answer.llama_model import LlamaCppModel
    from desktop_app.core.models.engine_check import EngineConfig
    from desktop_app.core.models.llama_runtime import loaded_variant

    config = EngineConfig.from_json(json.loads(config_json))
    model = LlamaCppModel(Path(model_path), context_size=prompt_tokens + gen + 64, gpu_layers=0,
                          threads=threads or None, engine=config)
    model.warm_up()
    n_vocab = int(model._llm.n_vocab())
    rng = random.Random(os.getpid())
    prompt = [rng.randrange(300, n_vocab - 2000) for _ in range(prompt_tokens)]
    start = time.perf_counter()
    pieces = model.generate(prompt, gen + 1, 0.0)
    next(pieces, None)  # the first token needs the whole prompt pass
    prompt_seconds = time.perf_counter() - start
    before, start = len(model._cached), time.perf_counter()
    for _piece in pieces:
        pass
    decoded = len(model._cached) - before
    variant = loaded_variant()
    print(json.dumps({"variant": variant.name if variant else "?", "placement": model.placement,
                      "prompt_tokens_per_s": prompt_tokens / prompt_seconds,
                      "decode_tokens_per_s": decoded / (time.perf_counter() - start)}))
    model.close()


def run_child(model: Path, config: dict, lib: str | None, prompt: int, gen: int,
              threads: int) -> tuple[int, dict]:
    env = dict(os.environ)
    if lib:
        env["LLAMA_CPP_LIB_PATH"] = lib
    done = subprocess.run([sys.executable, __file__, "--child", str(model), json.dumps(config),
                           str(prompt), str(gen), str(threads)], capture_output=True, text=True,
                          env=env, timeout=900)
    if done.returncode != 0:
        return done.returncode, {"error": done.stderr[-400:]}
    return 0, json.loads(done.stdout.strip().splitlines()[-1])


def exit_text(code: int) -> str:
    return signal.Signals(-code).name if code < 0 else f"exit {code}"


def ladder_report(model: Path, threads: int) -> list[dict]:
    load_model_class()
    from desktop_app.core.models.engine_check import ladder

    rows = []
    for step in ladder():
        code, result = run_child(model, step.to_json(), None, 32, 4, threads)
        rows.append({"config": step.to_json(), "outcome": "decodes" if code == 0 else
                     f"crashed ({exit_text(code)})" if code < 0 else exit_text(code),
                     **{k: v for k, v in result.items() if k in ("variant", "error")}})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--native-lib", default=None)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--prompt-tokens", type=int, default=256)
    parser.add_argument("--gen", type=int, default=64)
    parser.add_argument("--threads", type=int, default=0, help="0: the app's default")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args(argv)
    if args.child:
        child(str(args.model), *rest[:1], *(int(x) for x in rest[1:4]))
        return 0
    report: dict = {"model": args.model.name, "ladder": ladder_report(args.model, args.threads)}
    print(json.dumps(report["ladder"], indent=1), flush=True)
    builds = {"portable": None, **({"native": args.native_lib} if args.native_lib else {})}
    safe = next((row["config"] for row in report["ladder"] if row["outcome"] == "decodes"), {})
    samples: dict[str, list[dict]] = {name: [] for name in builds}
    for round_ in range(args.reps):
        order = list(builds.items())
        for name, lib in order if round_ % 2 == 0 else order[::-1]:  # neither always goes first
            # A native build has one CPU variant: only the repacking choice carries over.
            config = safe if lib is None else {**safe, "variant": None}
            code, result = run_child(args.model, config, lib, args.prompt_tokens, args.gen,
                                     args.threads)
            if code != 0:
                sys.exit(f"{name} build with {config}: {exit_text(code)} {result.get('error', '')}")
            samples[name].append(result)
    for name, rows in samples.items():
        report[name] = {"variant": rows[0]["variant"], "placement": rows[0]["placement"],
                        **{key: statistics.median(r[key] for r in rows)
                           for key in ("prompt_tokens_per_s", "decode_tokens_per_s")}}
    if "native" in report:
        report["portable_over_native"] = {
            key: report["portable"][key] / report["native"][key]
            for key in ("prompt_tokens_per_s", "decode_tokens_per_s")}
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
