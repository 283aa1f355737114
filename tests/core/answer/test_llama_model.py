"""The app's own token loop on llama.cpp, checked against llama-cpp-python's, with the real model."""

from __future__ import annotations

import math
import random
from collections import Counter
from pathlib import Path

import pytest

from desktop_app.core.answer.llama_model import LlamaCppModel
from desktop_app.core.answer.llm import ChatMessage
from desktop_app.core.models.catalog import resolve_model_path

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def model() -> LlamaCppModel:
    path = resolve_model_path("smollm2-135m-instruct", Path("/nonexistent"))
    # Threads fixed: choosing them from the idle cores before each answer takes 0.1 s.
    loaded = LlamaCppModel(path, context_size=1024, threads=2)
    loaded.warm_up()
    yield loaded
    loaded.close()


def test_greedy_text_is_the_same_as_the_librarys_own_loop(model):
    prompt = "The three primary colours are"
    tokens = model._llm.tokenize(prompt.encode(), add_bos=True)
    ours = "".join(model.generate(tokens, 40, 0.0))
    model._llm.reset()
    theirs = model._llm.create_completion(prompt, max_tokens=40, temperature=0.0)["choices"][0]["text"]
    model._cached = []  # the library's loop rewrote the KV cache
    assert ours and ours == theirs


def test_a_follow_up_reuses_the_cache_and_answers_as_a_fresh_start_would(model):
    first = [ChatMessage("system", "Answer in one sentence."), ChatMessage("user", "What is rain?")]
    "".join(model.stream(first, 30, 0.0))
    cached = len(model._cached)
    follow_up = first + [ChatMessage("assistant", "Water falling from clouds."),
                         ChatMessage("user", "And snow?")]
    warm = "".join(model.stream(follow_up, 30, 0.0))
    assert cached > 10
    model._cached = []  # forget the cache: the whole prompt is evaluated again
    cold = "".join(model.stream(follow_up, 30, 0.0))
    assert warm == cold and warm.strip()


def test_sampling_gives_text_and_stops_at_the_token_limit(model):
    tokens = model._llm.tokenize(b"Once upon a time", add_bos=True)
    before = len(tokens)
    text = "".join(model.generate(tokens, 12, 0.7))
    assert text.strip()
    assert len(model._cached) - before <= 12


def first_tokens(model, tokens, temperature, draws):
    drawn = Counter()
    for _ in range(draws):
        "".join(model.generate(tokens, 1, temperature))
        drawn[model._cached[-1]] += 1  # the token drawn, in the cache after the prompt
    return drawn


def same_distribution(a: Counter, b: Counter) -> tuple[float, float]:
    """Pearson's chi-square test that two samples of tokens come from one distribution: the
    statistic and its critical value at the 0.1% level (Wilson-Hilferty). Tokens drawn fewer
    than 10 times in both samples together are pooled into one column."""
    frequent = [t for t, n in (a + b).items() if n >= 10]
    columns = [(a[t], b[t]) for t in frequent]
    rest = (a.total() - sum(x for x, _ in columns), b.total() - sum(y for _, y in columns))
    if sum(rest):
        columns.append(rest)
    n_a, n_b = a.total(), b.total()
    statistic = 0.0
    for x, y in columns:
        column = x + y
        for observed, row in ((x, n_a), (y, n_b)):
            expected = column * row / (n_a + n_b)
            statistic += (observed - expected) ** 2 / expected
    df = len(columns) - 1
    critical = df * (1 - 2 / (9 * df) + 3.09 * math.sqrt(2 / (9 * df))) ** 3
    return statistic, critical


@pytest.mark.parametrize("place", ["chain", "top_k"])
def test_the_sampler_chain_beside_the_logits_draws_from_the_same_distribution(model, place):
    """On a GPU the chain runs where the logits are; the CPU backend runs the same code, so the
    distribution of the tokens it picks can be checked here against the chain on the CPU."""
    tokens = model._llm.tokenize(b"My favourite animal is the", add_bos=True)
    try:
        model.device_sampling = "off"
        on_cpu = first_tokens(model, tokens, 1.0, 600)
        assert model.last_sampling == "cpu"
        model.device_sampling = place
        beside = first_tokens(model, tokens, 1.0, 600)
        assert model.last_sampling == place
        almost_greedy = first_tokens(model, tokens, 0.01, 20)
    finally:
        model.device_sampling = "auto"
    assert len(on_cpu) >= 5  # a real spread of candidates, not one token
    statistic, critical = same_distribution(on_cpu, beside)
    assert statistic < critical, (on_cpu.most_common(8), beside.most_common(8))
    greedy = first_tokens(model, tokens, 0.0, 1)
    assert almost_greedy == Counter({next(iter(greedy)): 20})
    assert "".join(model.generate(tokens, 12, 0.7)).strip()  # and detached again: it still answers


def test_a_test_of_one_distribution_tells_a_different_one_apart():
    rng = random.Random(0)
    weights = [30, 20, 15, 10, 8, 6, 5, 3, 2, 1]
    one = Counter(rng.choices(range(10), weights, k=600))
    same = Counter(rng.choices(range(10), weights, k=600))
    flatter = Counter(rng.choices(range(10), [w ** 0.5 for w in weights], k=600))  # twice as hot
    assert same_distribution(one, same)[0] < same_distribution(one, same)[1]
    assert same_distribution(one, flatter)[0] > same_distribution(one, flatter)[1]


def test_a_prompt_that_fills_the_window_is_refused(model):
    with pytest.raises(Exception, match="fills the whole context window"):
        list(model.generate([100] * 1024, 5, 0.0))


def test_the_placement_says_where_it_runs(model):
    assert model.placement.startswith(("CPU", "GPU")) or "layers on" in model.placement
