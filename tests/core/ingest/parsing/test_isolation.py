"""A file that hangs, eats memory or crashes its reader fails alone; the batch goes on."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from desktop_app.core import DocumentStatus, Library
from desktop_app.core.backends import FakeBackends
from desktop_app.core.errors import DocumentError
from desktop_app.core.ingest.parsing.isolation import PAGES_PER_JOB, IsolatedParser
from tests.core.ingest.parsing.parsing_workers import misbehaving
from tests.core.test_workspace import run

BUDGET_S, BUDGET_BYTES = 2.0, 600 * 2**20


@pytest.fixture
def parser():
    parser = IsolatedParser(misbehaving, lambda size: BUDGET_S, lambda size: BUDGET_BYTES)
    yield parser
    parser.close()


def note(folder, name: str, text: str = "A perfectly ordinary note about the Zephyr vacuum."):
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("name, reason", [
    ("hang.txt", "reading it took longer than 2 s, so it was stopped"),
    ("hog.txt", "reading it needed more than 0.6 GB of memory, so it was stopped"),
    ("crash.txt", "the document reader crashed on this file (signal 11)"),
])
def test_a_file_over_budget_fails_with_the_reason_and_the_next_one_is_read(parser, tmp_path,
                                                                             name, reason):
    with pytest.raises(DocumentError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        parser.parse(note(tmp_path, name))
    parsed = parser.parse(note(tmp_path, "fine.txt"))  # a new worker, at once
    assert parsed.elements[0].text.startswith("A perfectly ordinary note")


def test_a_parse_error_comes_back_as_the_files_own_error(parser, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(DocumentError, match="file is empty"):
        parser.parse(empty)


@pytest.mark.parametrize("workers", [1, 3])
def test_a_hanging_file_fails_alone_in_a_folder_add(tmp_path, workers):
    folder = tmp_path / "notes"
    folder.mkdir()
    note(folder, "a.txt")
    note(folder, "hang.txt")
    note(folder, "crash.txt")
    note(folder, "z.txt", "The walrus plays the saxophone.")
    backends = FakeBackends(parser_impl=IsolatedParser(misbehaving, lambda size: BUDGET_S,
                                                       lambda size: BUDGET_BYTES, workers))
    library = Library(tmp_path / "home", backends=backends)
    try:
        finished = run(library.create("Notes").add([folder]))
        assert finished.count(DocumentStatus.INDEXED) == 2
        failed = {Path(r.path).name: r.error for r in finished.records
                  if r.status is DocumentStatus.FAILED}
        assert "took longer than 2 s" in failed.pop("hang.txt")
        assert "crashed on this file (signal 11)" in failed.pop("crash.txt")
        assert not failed
        assert library.open("Notes").search("walrus saxophone", 1)
    finally:
        backends.parser_impl.close()  # type: ignore[attr-defined]
        library.close()


def test_files_named_ahead_are_read_before_they_are_asked_for(tmp_path):
    parser = IsolatedParser(misbehaving, lambda size: BUDGET_S, lambda size: BUDGET_BYTES, 2)
    try:
        first, second = note(tmp_path, "mark-1.txt"), note(tmp_path, "mark-2.txt", "Walrus.")
        parser.read_ahead([first, second])
        deadline = time.monotonic() + 60
        while not all(p.with_suffix(".read").exists() for p in (first, second)):
            assert time.monotonic() < deadline, "nothing was read ahead"
            time.sleep(0.05)
        readers = {p.with_suffix(".read").read_text() for p in (first, second)}
        assert len(readers) == 2  # side by side, in two processes
        assert parser.parse(second).elements[0].text == "Walrus."
        assert parser.parse(first).elements[0].text.startswith("A perfectly ordinary note")
        parser.read_ahead([])  # lets go; what is asked for later is read then
        assert parser.parse(first).elements[0].text.startswith("A perfectly ordinary note")
    finally:
        parser.close()


def _long_pdf(path: Path, pages: int) -> Path:
    """A PDF of `pages` pages, made of a real document's pages over and over."""
    import pypdfium2 as pdfium

    source = pdfium.PdfDocument(str(Path(__file__).parents[3] / "data" /
                                     "word-processor-history.pdf"))
    made = pdfium.PdfDocument.new()
    while len(made) < pages:
        made.import_pages(source, list(range(min(len(source), pages - len(made)))))
    made.save(str(path))
    return path


def test_a_long_pdf_is_read_in_stretches_by_several_workers_with_the_same_text(tmp_path):
    from desktop_app.core.ingest.parsing import create_isolated_parser, create_parser

    pdf = _long_pdf(tmp_path / "long.pdf", 2 * PAGES_PER_JOB + 5)
    isolated = create_isolated_parser(workers=3)
    try:
        parts = list(isolated.parts(pdf))
    finally:
        isolated.close()  # type: ignore[attr-defined]
    whole = create_parser().parse(pdf)
    assert [p.pages for p in parts] == [PAGES_PER_JOB, 2 * PAGES_PER_JOB, 2 * PAGES_PER_JOB + 5]
    assert parts[-1].bytes_read == pdf.stat().st_size
    assert [e for p in parts for e in p.elements] == whole.elements
    assert {e.page for e in parts[1].elements} <= set(range(PAGES_PER_JOB + 1, 2 * PAGES_PER_JOB + 1))


def test_chunks_cut_by_the_workers_are_the_ones_this_process_would_cut(tmp_path):
    from desktop_app.core.ingest.chunking import ChunkRecipe, chunk_document, next_offset, rebase
    from desktop_app.core.ingest.embedding import create_embedder
    from desktop_app.core.ingest.parsing import create_isolated_parser

    embedder = create_embedder("all-MiniLM-L6-v2")
    embedder.warm_up()
    recipe = ChunkRecipe(str(embedder.tokenizer_file()), 120, 0.15)
    pdf = _long_pdf(tmp_path / "long.pdf", PAGES_PER_JOB + 5)
    docx = Path(__file__).parents[3] / "data" / "word_sample.docx"
    isolated = create_isolated_parser(workers=2)
    try:
        isolated.read_ahead([pdf, docx], recipe)
        for path in (pdf, docx):
            offset = staged = 0
            parts = list(isolated.parts(path))
            assert all(part.chunks is not None for part in parts)
            for part in parts:
                def header(heading):
                    return f"Context: {heading}"
                ours = rebase(part.chunks, str(path), offset, staged, header)
                expected = chunk_document(str(path), part.elements, embedder.count_tokens, 120,
                                          0.15, offset=offset, first_ordinal=staged,
                                          header=header)
                assert ours == expected and ours
                offset, staged = next_offset(offset, part.elements), staged + len(ours)
    finally:
        isolated.close()  # type: ignore[attr-defined]
