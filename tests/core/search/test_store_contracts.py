"""One contract, run against each real backend and its fake."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from desktop_app.core.ingest.embedding import HashingEmbedder
from desktop_app.core.records import Chunk
from desktop_app.core.search.keywords import FtsKeywordIndex, MemoryKeywordIndex
from desktop_app.core.search.shared_index import SharedIndex, SharedStore
from desktop_app.core.search.vectors import ChromaVectorStore, MemoryVectorStore
from desktop_app.core.storage.database import Database
from desktop_app.core.storage.store import ChunkStore

TEXTS = {
    "a": "The Zephyr vacuum cleaner battery lasts 45 minutes.",
    "b": "Sourdough bread needs flour, water and a starter.",
    "c": "The quarterly meeting is held in room 204.",
}


CONTEXTS = {"c": "Acme Corporation minutes · March 3, 2023"}


def chunks() -> list[Chunk]:
    return [Chunk(i, f"{i}.txt", 0, t, None, None, 0, len(t), context=CONTEXTS.get(i, ""))
            for i, t in TEXTS.items()]


def _passages(texts) -> list[Chunk]:
    """Passages of the given ids (of TEXTS), or of a dict of id: text."""
    items = texts.items() if isinstance(texts, dict) else ((i, TEXTS[i]) for i in texts)
    return [Chunk(i, f"{i}.txt", 0, t, None, None, 0, len(t)) for i, t in items]


@pytest.fixture(params=["fts", "memory"])
def keyword_index(request, tmp_path):
    if request.param == "memory":
        index = MemoryKeywordIndex()
        index.add(chunks())
        for chunk in chunks():
            index.describe(chunk.document)
        return index
    db = Database(tmp_path / "k.sqlite3")
    index = FtsKeywordIndex(db)
    store = ChunkStore(db, index)
    from desktop_app.core.records import DocumentRecord, DocumentStatus

    for chunk in chunks():
        store.replace_document(DocumentRecord(chunk.document, DocumentStatus.INDEXED), "sha", "sig", [chunk])
    return index


def test_keyword_search_ranks_the_matching_chunk_first(keyword_index):
    results = keyword_index.search("how long does the battery last?", 5)
    assert results[0][0] == "a"
    assert all(score > 0 for _, score in results)


def test_keyword_search_matches_any_word_and_ignores_stopwords(keyword_index):
    assert {i for i, _ in keyword_index.search("flour room", 5)} == {"b", "c"}
    assert keyword_index.search("the of and", 5) == []


def test_keyword_remove_forgets_chunks(keyword_index, tmp_path):
    keyword_index.remove(["a"])
    assert all(i != "a" for i, _ in keyword_index.search("battery", 5))


def test_a_chunk_is_keyword_searched_by_its_text_and_its_document_by_its_card(keyword_index):
    assert keyword_index.search("Acme Corporation", 5) == []  # the header is not the text
    assert keyword_index.search_documents("Acme Corporation", 5)[0][0] == "c.txt"


def test_documents_are_found_by_name_and_opening_and_forgotten(keyword_index):
    assert keyword_index.search_documents("sourdough", 5)[0][0] == "b.txt"
    assert keyword_index.search_documents("b.txt", 5)[0][0] == "b.txt"
    assert keyword_index.search_documents("banana", 5) == []
    keyword_index.forget("b.txt")
    assert keyword_index.search_documents("sourdough", 5) == []


def test_keyword_search_within_some_chunks_keeps_their_ranking(keyword_index):
    assert [i for i, _ in keyword_index.search("battery flour room", 5, within={"b", "c"})] in (
        ["b", "c"], ["c", "b"])
    assert keyword_index.search("battery", 5, within={"b"}) == []
    assert keyword_index.search("battery", 5, within=set()) == []


@pytest.fixture(params=["chroma", "memory", "chroma server"])
def vector_store(request, tmp_path):
    if request.param == "chroma server":
        url = request.getfixturevalue("chroma_url")
        store = SharedIndex(SharedStore(url, f"contract-{uuid.uuid4().hex[:8]}"), None)
    else:
        store = ChromaVectorStore(tmp_path / "v") if request.param == "chroma" else MemoryVectorStore()
    yield store
    store.close()


def test_vectors_query_by_cosine_and_upsert_is_idempotent(vector_store):
    embedder = HashingEmbedder(64)
    ids = list(TEXTS)
    vectors = embedder.embed_documents(list(TEXTS.values()))
    vector_store.upsert(_passages(ids), vectors)
    vector_store.upsert(_passages(ids), vectors)
    assert vector_store.count() == 3
    hits = vector_store.query(embedder.embed_query("battery of the vacuum cleaner"), 2)
    assert hits[0][0] == "a" and len(hits) == 2
    assert hits[0][1] == pytest.approx(float(vectors[0] @ embedder.embed_query("battery of the vacuum cleaner")), abs=1e-4)
    vector_store.delete(["a", "unknown"])
    assert vector_store.count() == 2
    assert vector_store.query(np.zeros(64, dtype=np.float32) + 0.1, 10)[0][0] in {"b", "c"}


def test_vectors_query_within_some_ids_and_verify_reads_them(vector_store):
    embedder = HashingEmbedder(64)
    vector_store.upsert(_passages(TEXTS), embedder.embed_documents(list(TEXTS.values())))
    hits = vector_store.query(embedder.embed_query("battery of the vacuum cleaner"), 5, within={"b", "c"})
    assert sorted(i for i, _ in hits) == ["b", "c"]
    assert vector_store.query(embedder.embed_query("battery"), 5, within=set()) == []
    vector_store.verify()  # a sound store reads back without complaint


def test_reset_empties_the_store_and_it_stays_usable(vector_store):
    embedder = HashingEmbedder(64)
    vector_store.upsert(_passages(TEXTS), embedder.embed_documents(list(TEXTS.values())))
    vector_store.reset()
    assert vector_store.count() == 0 and vector_store.query(embedder.embed_query("battery"), 3) == []
    vector_store.upsert(_passages({"x": "new text"}), embedder.embed_documents(["new text"]))
    assert vector_store.count() == 1


def test_convex_fusion_averages_normalised_scores_and_rrf_uses_ranks():
    from desktop_app.core.search.retrieval import fuse

    dense = [("a", 0.9), ("b", 0.5), ("c", 0.1)]
    keyword = [("c", 12.0), ("a", 6.0), ("d", 0.0)]
    convex = fuse([(1.0, dense), (1.0, keyword)], "convex")
    assert convex["a"] == pytest.approx(0.5 * 1.0 + 0.5 * 0.5)
    assert convex["c"] == pytest.approx(0.5 * 0.0 + 0.5 * 1.0)
    assert convex["d"] == 0.0 and max(convex, key=convex.get) == "a"
    rrf = fuse([(1.0, dense), (1.0, keyword)], "rrf", rrf_k=60)
    assert rrf["a"] == pytest.approx(1 / 61 + 1 / 62)
    assert fuse([(1.0, dense), (1.0, [])], "convex")["a"] == pytest.approx(1.0)
