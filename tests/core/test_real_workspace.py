"""The whole path with the real parser, embedder, Chroma and GGUF model on real documents."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from desktop_app.core import DocumentStatus
from desktop_app.core.records import AddFinished
from desktop_app.core.search.vectors import ChromaVectorStore
from tests.conftest import DATA

pytestmark = pytest.mark.integration


def add(workspace, paths) -> AddFinished:
    *_, finished = workspace.add(paths)
    assert isinstance(finished, AddFinished)
    return finished


@pytest.fixture
def indexed(real_library, data_copy):
    workspace = real_library.create("Mixed")
    finished = add(workspace, [data_copy])
    return workspace, data_copy, finished


def test_a_mixed_folder_gets_a_status_per_file(indexed):
    workspace, folder, finished = indexed
    by_name = {Path(r.path).name: r for r in workspace.documents()}
    assert len(by_name) == len(list(folder.iterdir()))
    assert by_name["password.pdf"].status is DocumentStatus.FAILED
    assert "password-protected PDF" in by_name["password.pdf"].error
    scanned = by_name["scanned.pdf"]
    if shutil.which("tesseract"):
        assert scanned.status is DocumentStatus.INDEXED and scanned.chunks > 0
    else:
        assert "no text layer and OCR unavailable" in scanned.error
    indexed_names = {n for n, r in by_name.items() if r.status is DocumentStatus.INDEXED}
    assert {"word-processor-history.pdf", "sample-presentation.pptx", "word_sample.docx",
            "example-10k-1p.html", "stanley-cups.xlsx", "family-day.eml"} <= indexed_names
    assert all(r.chunks > 0 for n, r in by_name.items() if n in indexed_names)


def test_re_adding_is_a_no_op_and_an_edit_replaces_chunks(indexed):
    workspace, folder, _ = indexed
    before = sorted(workspace.store.chunk_ids())
    again = add(workspace, [folder])
    assert again.count(DocumentStatus.INDEXED) == 0
    assert sorted(workspace.store.chunk_ids()) == before

    note = folder / "war-and-peace-1p.txt"
    note.write_text("The lighthouse keeper's parrot is named Captain Biscuit.", encoding="utf-8")
    edited = add(workspace, [folder])
    assert [Path(r.path).name for r in edited.records if r.status is DocumentStatus.INDEXED] == [note.name]
    top = workspace.search("What is the name of the parrot?", 1)[0]
    assert Path(top.chunk.document).name == note.name and "Captain Biscuit" in top.chunk.text
    assert not any("Anna Pavlovna" in p.chunk.text for p in workspace.search("Anna Pavlovna", 10))


def test_vectors_and_rows_agree(indexed, real_library):
    workspace, _, _ = indexed
    rows = workspace.store.chunk_count()
    real_library.close()
    store = ChromaVectorStore(workspace.folder / "vectors")
    try:
        assert store.count() == rows > 0
    finally:
        store.close()


def test_a_question_is_cited_to_the_document_and_page_that_answer_it(indexed):
    workspace, _, _ = indexed
    answer = workspace.ask("Who patented the typewriter in 1868?")
    assert answer.answered_from_documents, answer.text
    assert answer.citations, f"no citation for: {answer.text}"
    first = answer.citations[0].passage.chunk
    assert Path(first.document).name == "word-processor-history.pdf" and first.page == 1
    assert f"[{answer.citations[0].n}]" in answer.text


def test_a_follow_up_reads_only_what_is_new_and_cites_what_it_was_given(indexed, real_backends):
    workspace, _, _ = indexed
    first = workspace.ask("Who patented the typewriter in 1868?")
    model = real_backends.language_model(workspace.settings, workspace._models_dir,
                                         workspace._keys)
    first_prompt, _ = model.last_prompt
    second = workspace.ask("What came after the typewriter?", first.thread_id)
    total, reused = model.last_prompt
    assert reused >= 0.9 * first_prompt, (total, reused, first_prompt)
    assert second.text.strip()
    assert all(1 <= c.n <= len(second.retrieved) for c in second.citations)


def test_search_finds_the_slide_with_its_number(indexed):
    workspace, _, _ = indexed
    top = workspace.search("first content slide", 3)
    slides = [p.chunk for p in top if p.chunk.document.endswith(".pptx")]
    assert slides and slides[0].page == 2


def test_an_unanswerable_question_is_answered_as_such(indexed):
    workspace, _, _ = indexed
    answer = workspace.ask("What is the boiling point of liquid nitrogen?")
    assert not answer.answered_from_documents
    assert answer.citations == []
    assert "could not find" in answer.text or "do not contain" in answer.text


def test_the_real_embedder_counts_its_own_word_pieces(real_backends):
    embedder = real_backends.embedder("all-MiniLM-L6-v2")
    assert embedder.max_tokens == 254 and embedder.dimensions == 384
    assert embedder.count_tokens(["tokenization"]) == [2]
    vectors = embedder.embed_documents(["a battery lasts 45 minutes", "battery life is 45 minutes"])
    assert float(vectors[0] @ vectors[1]) > 0.7


def test_reindex_with_new_chunk_settings_rebuilds_rows_and_vectors(real_library):
    workspace = real_library.create("Rebuild")
    add(workspace, [DATA / "word-processor-history.pdf"])
    before = workspace.store.chunk_count()
    workspace.update_settings(chunk_tokens=100)
    *_, finished = workspace.reindex()
    assert finished.count(DocumentStatus.INDEXED) == 1
    after = workspace.store.chunk_count()
    assert after > before
    real_library.close()
    store = ChromaVectorStore(workspace.folder / "vectors")
    try:
        assert store.count() == after
    finally:
        store.close()


def test_no_chunk_is_longer_than_the_embedder_reads(indexed, real_backends):
    workspace, _, _ = indexed
    embedder = real_backends.embedder("all-MiniLM-L6-v2")
    texts = [c.text for c in workspace.store.chunks(workspace.store.chunk_ids()).values()]
    lengths = embedder.count_tokens(texts)
    assert len(texts) > 50 and max(lengths) <= embedder.max_tokens
