"""The app's own token loop on llama.cpp, checked against llama-cpp-python's, with the real model."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop_app.core.answer.llama_model import LlamaCppModel
from desktop_app.core.answer.llm import ChatMessage
from desktop_app.core.models.catalog import resolve_model_path

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def model() -> LlamaCppModel:
    path = resolve_model_path("smollm2-135m-instruct", Path("/nonexistent"))
    loaded = LlamaCppModel(path, context_size=1024)
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


def test_a_prompt_that_fills_the_window_is_refused(model):
    with pytest.raises(Exception, match="fills the whole context window"):
        list(model.generate([100] * 1024, 5, 0.0))


def test_the_placement_says_where_it_runs(model):
    assert model.placement.startswith(("CPU", "GPU")) or "layers on" in model.placement
