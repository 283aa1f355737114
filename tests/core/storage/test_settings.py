"""Settings: one source of defaults and limits, values checked when they are set."""

from __future__ import annotations

import json

import pytest

from desktop_app.core.errors import UserError
from desktop_app.core.storage.settings import (
    REINDEX_FIELDS,
    SETTING_LIMITS,
    Settings,
    load_settings,
)


@pytest.mark.parametrize(("changes", "reason"), [
    ({"top_k": "7.5"}, "top_k: '7.5' is not a whole number"),
    ({"top_k": 7.5}, "top_k: 7.5 is not a whole number"),
    ({"top_k": 0}, "top_k: 0 is outside 1 to 50"),
    ({"context_size": 999999}, "context_size: 999999 is outside 512 to 131072"),
    ({"temperature": "nan"}, "temperature: nan is outside 0 to 2"),
    ({"fusion": "rff"}, "fusion: 'rff' is not one of 'convex', 'rrf'"),
    ({"rerank": "cross"}, "rerank: 'cross' is not one of 'none', 'llm'"),
    ({"model": ""}, "model: it cannot be empty"),
])
def test_a_value_a_person_types_is_refused_with_the_reason(changes, reason):
    with pytest.raises(UserError) as caught:
        Settings().with_overrides(changes, strict=True)
    assert str(caught.value) == f"invalid setting {reason}"


def test_typed_values_are_taken_as_typed():
    settings = Settings().with_overrides({"top_k": " 7 ", "temperature": "0.75", "fusion": "rrf"},
                                         strict=True)
    assert (settings.top_k, settings.temperature, settings.fusion) == (7, 0.75, "rrf")


def test_a_settings_file_with_bad_values_keeps_the_good_ones(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"schema_version": 2, "top_k": 0, "fusion": "nope",
                                "temperature": 0.7, "mystery": 1}))
    settings = load_settings(path)
    assert (settings.top_k, settings.fusion, settings.temperature) == (5, "convex", 0.7)


def test_an_unreadable_settings_file_is_named_in_the_error(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text("{not json")
    with pytest.raises(UserError, match="settings file .*settings.json cannot be read"):
        load_settings(path)


def test_the_stages_views_take_their_values_from_settings():
    settings = Settings().with_overrides({"min_relevance": 0.4, "top_k": 9, "chunk_tokens": 120,
                                          "history_turns": 3, "rerank": "llm"}, strict=True)
    answering = settings.answering()
    assert (answering.min_relevance, answering.history_turns, answering.rerank) == (0.4, 3, "llm")
    assert answering.retrieval == settings.retrieval() and settings.retrieval().top_k == 9
    assert settings.chunking().chunk_tokens == 120
    assert Settings().answering().min_relevance == Settings().min_relevance


def test_which_settings_make_an_index_stale_is_said_once():
    assert REINDEX_FIELDS == {"embedder", "chunk_tokens", "chunk_overlap"}
    assert SETTING_LIMITS["chunk_tokens"] == (32, 254)
    assert set(SETTING_LIMITS) >= {"context_size", "gpu_layers", "temperature", "top_k", "chunk_overlap"}
