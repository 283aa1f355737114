"""One contract for every language model: the scripted fake, llama.cpp in this process (the
small built-in model) and an OpenAI-compatible server (llama.cpp's, started on 127.0.0.1)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop_app.core.answer.llm import ChatMessage, LanguageModel, ScriptedModel
from desktop_app.core.models.catalog import resolve_model_path
from tests.servers import llama_server

KEY = "sk-contract-51c2"
QUESTION = [ChatMessage("system", "Answer briefly."),
            ChatMessage("user", "[1] notes.txt: The meeting is in room 204.\n\nWhere is the "
                                "meeting?")]
STORY = [ChatMessage("user", "Tell a very long story about a dragon and a lighthouse.")]


def _smollm2() -> Path:
    return resolve_model_path("smollm2-135m-instruct", Path("/nonexistent"))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("server") / "server.log"
    with llama_server(_smollm2(), log, KEY) as url:
        yield url


@pytest.fixture(params=["scripted", pytest.param("llama.cpp", marks=pytest.mark.integration),
                        pytest.param("server", marks=pytest.mark.integration)])
def model(request: pytest.FixtureRequest) -> Iterator[LanguageModel]:
    if request.param == "scripted":
        yield ScriptedModel(reply="The meeting is in room 204 [1]. " + "It starts at noon. " * 40)
        return
    if request.param == "llama.cpp":
        from desktop_app.core.answer.llama_model import LlamaCppModel

        loaded = LlamaCppModel(_smollm2(), context_size=1024)
    else:
        from desktop_app.core.answer.remote_llm import RemoteModel, ServerConfig

        loaded = RemoteModel(ServerConfig(request.getfixturevalue("served"), api_key=KEY))
    yield loaded
    loaded.close()


def test_it_loads_once_says_where_it_runs_and_how_much_it_reads(model):
    model.warm_up()
    model.warm_up()  # idempotent
    assert isinstance(model.placement, str) and model.placement
    assert model.context_size >= 512
    assert model.prompt_speed is None or model.prompt_speed > 0


def test_tokens_are_counted_positive_and_more_for_more_text(model):
    short = model.count_tokens("Where is the meeting?")
    longer = model.count_tokens("Where is the meeting? It is in room 204, on the second floor.")
    assert 0 < short < longer


def test_an_answer_streams_as_text_within_its_length(model):
    pieces = list(model.stream(QUESTION, 24, 0.0))
    assert pieces and all(isinstance(piece, str) for piece in pieces)
    text = "".join(pieces)
    assert text.strip() and model.count_tokens(text) <= 24 + 4  # a piece may end mid-word


def test_stopping_ends_the_answer_and_the_next_one_starts_clean(model):
    story = model.stream(STORY, 400, 1.0)
    first = next(story)
    story.close()
    assert isinstance(first, str)
    with pytest.raises(StopIteration):
        next(story)
    assert "".join(model.stream(QUESTION, 12, 0.0)).strip()
