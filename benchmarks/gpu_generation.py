"""The app's generation path against llama.cpp's own `llama-bench`, on the same model and GPU.

    python benchmarks/gpu_generation.py MODEL.gguf [MODEL.gguf ...] --llama-bench PATH

For each model it runs `llama-bench` (pp = prompt processing of --prompt-tokens, tg = decoding
of --gen tokens, flash attention on, all layers on the GPU), then loads the model through the
app's `LlamaCppModel` and measures, in the same process and run:

- time to first token for a --prompt-tokens prompt (fresh KV cache each time), against
  llama-bench's prompt-processing time for the same number of tokens;
- decode tokens/s, greedy (what llama-bench's tg measures: no sampling cost) and with the app's
  default sampler chain at temperature 0.2;
- sampled decode with the sampler chain in each place the app can put it (`device_sampling`:
  "off" = on the CPU over the whole vocabulary's logits, "top_k" = the top-k cut on the GPU and
  the rest on the CPU, "chain" = all of it on the GPU), and whether each picks tokens from the
  same distribution: the first token after one prompt drawn --draws times at temperature 1 in
  each place, total variation distance against the CPU's draws (and two CPU runs against each
  other, for the noise of that many draws);
- for reference, llama-cpp-python's streaming `create_completion` (greedy) on the same model.

Medians of --reps runs. It needs only llama-cpp-python (or its source tree with a built
libllama), numpy and gguf: the rest of the app's stack is not imported, so it runs on a bare
GPU server.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
import types
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_model_class() -> type:
    """`desktop_app.core.answer.llama_model` without running the package's __init__ (which
    opens the whole stack: Chroma, sentence-transformers), so a bare Python with
    llama-cpp-python suffices."""
    for name, folder in (("desktop_app", ROOT / "desktop_app"),
                         ("desktop_app.core", ROOT / "desktop_app" / "core")):
        if name not in sys.modules:
            package = types.ModuleType(name)
            package.__path__ = [str(folder)]
            sys.modules[name] = package
    from desktop_app.core.answer.llama_model import LlamaCppModel

    return LlamaCppModel


def llama_bench(binary: Path, model: Path, prompt_tokens: int, gen: int, reps: int) -> dict:
    out = subprocess.run(
        [str(binary), "-m", str(model), "-ngl", "99", "-fa", "1", "-p", str(prompt_tokens),
         "-n", str(gen), "-r", str(reps), "-o", "json"],
        check=True, capture_output=True, text=True).stdout
    rows = json.loads(out)
    pp = next(r for r in rows if r["n_prompt"] == prompt_tokens and r["n_gen"] == 0)
    tg = next(r for r in rows if r["n_gen"] == gen and r["n_prompt"] == 0)
    return {"pp_tokens_per_s": pp["avg_ts"], "tg_tokens_per_s": tg["avg_ts"],
            "prompt_seconds": prompt_tokens / pp["avg_ts"]}


def random_prompt(n_vocab: int, length: int, rng: random.Random) -> list[int]:
    # Ordinary tokens only: the first few hundred ids and the last thousands hold specials.
    return [rng.randrange(300, n_vocab - 2000) for _ in range(length)]


def first_token_seconds(model, n_vocab: int, length: int, reps: int, rng: random.Random) -> float:
    times = []
    for _ in range(reps):
        prompt = random_prompt(n_vocab, length, rng)  # a new prompt: nothing reused from cache
        start = time.perf_counter()
        for _piece in model.generate(prompt, 1, 0.0):
            break
        else:
            model._cached.append(-1)  # an empty first piece: still one token out
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def decode_rate(model, n_vocab: int, gen: int, temperature: float, reps: int,
                rng: random.Random) -> float:
    rates = []
    for _ in range(reps):
        prompt = random_prompt(n_vocab, 16, rng)
        pieces = model.generate(prompt, gen + 1, temperature)
        next(pieces, None)  # the first token comes from the prompt pass; time the rest
        start = time.perf_counter()
        before = len(model._cached)  # tokens actually generated, not text pieces
        for _piece in pieces:
            pass
        rates.append((len(model._cached) - before) / (time.perf_counter() - start))
    return statistics.median(rates)


def first_token_counts(model, prompt: list[int], temperature: float, draws: int) -> Counter:
    counts: Counter = Counter()
    for _ in range(draws):
        for _piece in model.generate(prompt, 1, temperature):
            pass
        counts[model._cached[-1]] += 1  # the token drawn (decoded into the cache after the prompt)
    return counts


def variation_distance(a: Counter, b: Counter) -> float:
    total_a, total_b = sum(a.values()), sum(b.values())
    return sum(abs(a[t] / total_a - b[t] / total_b) for t in set(a) | set(b)) / 2


def sampling_places(model, n_vocab: int, gen: int, reps: int, draws: int,
                    rng: random.Random) -> dict:
    prompt = random_prompt(n_vocab, 32, rng)
    out: dict = {}
    reference = None
    for place in ("off", "top_k", "chain"):
        model.device_sampling = place
        counts = first_token_counts(model, prompt, 1.0, draws)
        if reference is None:
            reference = counts
            noise = variation_distance(counts, first_token_counts(model, prompt, 1.0, draws))
            out["distance_cpu_vs_cpu"] = noise
        out[place] = {"decode_sampled_tokens_per_s": decode_rate(model, n_vocab, gen, 0.2, reps,
                                                                   rng),
                      "distance_to_cpu": variation_distance(reference, counts),
                      "distinct_first_tokens": len(counts)}
    model.device_sampling = "auto"
    return out


def create_completion_rate(model, n_vocab: int, gen: int, reps: int, rng: random.Random) -> float:
    llm = model._llm  # the same loaded weights, through the library's own loop
    rates = []
    for _ in range(reps):
        prompt = random_prompt(n_vocab, 16, rng)
        model._cached = []  # the library's loop rewrites the KV cache
        chunks = llm.create_completion(prompt, max_tokens=gen + 1, temperature=0.0, stream=True)
        next(chunks, None)
        start, count = time.perf_counter(), 0
        for _chunk in chunks:
            count += 1
        rates.append(count / (time.perf_counter() - start))
        llm.reset()
    model._cached = []
    return statistics.median(rates)


def measure(model_path: Path, bench: Path | None, prompt_tokens: int, gen: int,
            reps: int, draws: int) -> dict:
    result: dict = {"model": model_path.name}
    if bench is not None:
        result["llama_bench"] = llama_bench(bench, model_path, prompt_tokens, gen, reps)
    model_class = load_model_class()
    from desktop_app.core.models.engine_check import EngineConfig

    # The configuration is given, so no probe child runs (it would need the whole app).
    model = model_class(model_path, context_size=prompt_tokens + gen + 512, engine=EngineConfig())
    started = time.perf_counter()
    model.warm_up()
    result["load_seconds"] = time.perf_counter() - started
    result["placement"] = model.placement
    n_vocab = int(model._llm.n_vocab())
    rng = random.Random(0)
    first_token_seconds(model, n_vocab, 64, 1, rng)  # warm the GPU kernels once
    decode_rate(model, n_vocab, 16, 0.2, 1, rng)  # and the sampled path's graph
    result["app"] = {
        "first_token_seconds": first_token_seconds(model, n_vocab, prompt_tokens, reps, rng),
        "decode_greedy_tokens_per_s": decode_rate(model, n_vocab, gen, 0.0, reps, rng),
        "decode_sampled_tokens_per_s": decode_rate(model, n_vocab, gen, 0.2, reps, rng),
    }
    result["sampling_places"] = sampling_places(model, n_vocab, gen, reps, draws, rng)
    result["create_completion_tokens_per_s"] = create_completion_rate(model, n_vocab, gen, reps,
                                                                      rng)
    model.close()
    if bench is not None:
        base, app = result["llama_bench"], result["app"]
        result["ratios"] = {
            "decode_greedy": app["decode_greedy_tokens_per_s"] / base["tg_tokens_per_s"],
            "decode_sampled": app["decode_sampled_tokens_per_s"] / base["tg_tokens_per_s"],
            "create_completion": result["create_completion_tokens_per_s"]
            / base["tg_tokens_per_s"],
            "first_token_vs_prompt_pass": app["first_token_seconds"] / base["prompt_seconds"],
        }
        for place, row in result["sampling_places"].items():
            if isinstance(row, dict):
                result["ratios"][f"decode_sampled_{place}"] = (
                    row["decode_sampled_tokens_per_s"] / base["tg_tokens_per_s"])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", type=Path)
    parser.add_argument("--llama-bench", type=Path, default=None)
    parser.add_argument("--prompt-tokens", type=int, default=3000)
    parser.add_argument("--gen", type=int, default=128)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--draws", type=int, default=1000)
    args = parser.parse_args(argv)
    for path in args.models:
        print(json.dumps(measure(path, args.llama_bench, args.prompt_tokens, args.gen, args.reps,
                                 args.draws), indent=2), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
