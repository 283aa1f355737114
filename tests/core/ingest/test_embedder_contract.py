"""One contract for every embedder: the fake (hashing), sentence-transformers, ONNX Runtime and
llama.cpp (a GGUF file; the built-in chat model's stands in for an embedding model's)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from desktop_app.core.ingest.embedding import HashingEmbedder, create_embedder
from desktop_app.core.models.catalog import load_catalog, variant_file

BATTERY = "The Zephyr vacuum cleaner battery lasts 45 minutes on one charge."
BREAD = "Mix 500 g flour with 350 g water and 100 g starter, then bake for 40 minutes."


@pytest.fixture(params=["hashing", pytest.param("sentence-transformers", marks=pytest.mark.integration),
                        pytest.param("onnx", marks=pytest.mark.integration),
                        pytest.param("gguf", marks=pytest.mark.integration)])
def embedder(request, tmp_path):
    if request.param == "hashing":
        return HashingEmbedder()
    if request.param == "gguf":
        return create_embedder(str(smollm2_file()))
    if request.param == "onnx":
        return create_embedder(str(request.getfixturevalue("exported")))
    return create_embedder("all-MiniLM-L6-v2")


def smollm2_file():
    (variant,) = load_catalog()["smollm2-135m-instruct"].variants
    return variant_file(variant, Path("/nonexistent"))


def test_vectors_are_unit_length_in_the_declared_space(embedder):
    vectors = embedder.embed_documents([BATTERY, BREAD, "x"])
    assert vectors.shape == (3, embedder.dimensions) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    query = embedder.embed_query("How long does the battery last?")
    assert query.shape == (embedder.dimensions,) and abs(float(np.linalg.norm(query)) - 1.0) < 1e-4
    assert embedder.embed_documents([]).shape == (0, embedder.dimensions)


def test_the_same_text_gives_the_same_vector_and_related_texts_are_closer(embedder):
    first, again = embedder.embed_documents([BATTERY]), embedder.embed_documents([BATTERY])
    assert np.allclose(first, again, atol=1e-5)
    query = embedder.embed_query("battery of the vacuum cleaner")
    battery, bread = embedder.embed_documents([BATTERY, BREAD])
    assert float(query @ battery) > float(query @ bread)


def test_tokens_are_counted_and_long_texts_are_embedded_truncated(embedder):
    counts = embedder.count_tokens([BATTERY, BATTERY + " " + BREAD, ""])
    assert len(counts) == 3 and 0 < counts[0] < counts[1] and counts[2] >= 0
    long_text = " ".join([BREAD] * (embedder.max_tokens // 4))
    assert embedder.count_tokens([long_text])[0] > embedder.max_tokens
    (vector,) = embedder.embed_documents([long_text])
    assert np.isfinite(vector).all() and abs(float(np.linalg.norm(vector)) - 1.0) < 1e-4


def test_a_catalogue_embedder_is_found_once_downloaded_and_gets_its_task_prefixes(tmp_path):
    from desktop_app.core.errors import UserError
    from desktop_app.core.models.model_manager import embedder_choices

    name = "nomic-embed-text-v1.5"
    with pytest.raises(UserError, match=f"not downloaded yet .models download {name}"):
        create_embedder(name, tmp_path)
    assert [c.installed for c in embedder_choices(tmp_path) if c.id == name] == [False]
    # a file of the catalogue's name in the models folder is that model (here the chat
    # model's file stands in for it): it is named by its id and given its prefixes
    (tmp_path / "nomic-embed-text-v1.5.f16.gguf").symlink_to(smollm2_file())
    embedder = create_embedder(name, tmp_path)
    assert embedder.name == name
    assert [c.installed for c in embedder_choices(tmp_path) if c.id == name] == [True]
    plain = create_embedder(str(smollm2_file()))
    assert not np.allclose(embedder.embed_query(BATTERY), plain.embed_query(BATTERY), atol=1e-3)
    assert np.allclose(embedder.embed_query(BATTERY),
                       plain.embed_query("search_query: " + BATTERY), atol=1e-4)


def test_an_embedder_says_how_many_texts_keep_it_busy(embedder):
    assert embedder.batch >= 1


@pytest.mark.integration
def test_word_pieces_are_counted_as_the_model_reads_them():
    from transformers import AutoTokenizer

    from desktop_app.core.ingest.embedding import BUILTIN_EMBEDDERS

    texts = [BATTERY, " ".join([BREAD] * 40), "naïve café — 42 % of “quoted” text", ""]
    reference = AutoTokenizer.from_pretrained(str(BUILTIN_EMBEDDERS["all-MiniLM-L6-v2"]()))
    expected = [len(ids) for ids in reference(texts, add_special_tokens=False)["input_ids"]]
    assert create_embedder("all-MiniLM-L6-v2").count_tokens(texts) == expected


@pytest.mark.integration
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_16_bit_precision_is_used_only_where_the_vectors_stay_the_same(monkeypatch, dtype):
    import torch
    from sentence_transformers import SentenceTransformer

    from desktop_app.core.ingest import embedding

    folder = str(embedding.BUILTIN_EMBEDDERS["all-MiniLM-L6-v2"]())
    model = SentenceTransformer(folder, device="cpu")
    half, precision = embedding.half_if_same(model, 16, getattr(torch, dtype))
    assert precision.startswith(f"{dtype}, cosine with float32 >= ")
    assert float(precision.rsplit(" ", 1)[1]) >= 0.999
    assert next(half.parameters()).dtype == getattr(torch, dtype)
    assert next(model.parameters()).dtype == torch.float32  # the model given stays as it was
    monkeypatch.setattr(embedding, "HALF_AGREEMENT", 1.01)
    assert embedding.half_if_same(model, 16, getattr(torch, dtype)) == (model, "float32")


@pytest.mark.integration
def test_the_built_in_embedder_says_its_precision_and_gives_unit_vectors_in_any():
    from desktop_app.core.models.llama_runtime import cpu_flags

    embedder = create_embedder("all-MiniLM-L6-v2")
    vectors = embedder.embed_documents([BATTERY, BREAD])
    native_bf16 = bool(cpu_flags() & {"avx512_bf16", "amx_bf16"})
    assert embedder.precision.startswith("bfloat16" if native_bf16 else "float32")  # type: ignore[attr-defined]
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
