"""Large plain-text files are read in parts that add up to the whole file's text."""

from __future__ import annotations

import random

import pytest

from desktop_app.core.errors import DocumentError
from desktop_app.core.ingest.chunking import chunk_document, document_text, next_offset
from desktop_app.core.ingest.parsing import PlainTextParser, streaming
from desktop_app.core.ingest.parsing.streaming import stream_text


def words(texts):
    return [len(t.split()) for t in texts]


@pytest.fixture
def small_parts(monkeypatch):
    """Parts of a few kilobytes, so that a test file of 100 kB comes in many of them."""
    monkeypatch.setattr(streaming, "STREAM_FROM_BYTES", 10_000)
    monkeypatch.setattr(streaming, "PART_CHARS", 4_000)
    monkeypatch.setattr(streaming, "_BLOCK_BYTES", 1_500)


def long_text(paragraphs: int = 400, seed: int = 3) -> str:
    rng = random.Random(seed)
    vocabulary = "alpha beta gamma delta storage battery vacuum ledger river quarter".split()
    return "\n\n".join(" ".join(rng.choice(vocabulary) for _ in range(rng.randint(5, 60))) + "."
                       for _ in range(paragraphs))


def test_the_parts_hold_the_same_paragraphs_as_the_whole_file(tmp_path, small_parts):
    path = tmp_path / "big.txt"
    path.write_text(long_text(), encoding="utf-8")
    parser = PlainTextParser()
    parts = list(parser.parts(path))
    assert len(parts) > 10
    assert [e for p in parts for e in p.elements] == parser.parse(path).elements
    assert [p.bytes_read for p in parts] == sorted(p.bytes_read for p in parts)
    assert parts[-1].bytes_read == path.stat().st_size


def test_chunks_of_parts_are_exact_slices_of_the_whole_text(tmp_path, small_parts):
    path = tmp_path / "big.txt"
    path.write_text(long_text(), encoding="utf-8")
    whole = document_text(PlainTextParser().parse(path).elements)
    offset, ordinal, chunks = 0, 0, []
    for part in PlainTextParser().parts(path):
        found = chunk_document(str(path), part.elements, words, 40, offset=offset, first_ordinal=ordinal)
        chunks += found
        offset, ordinal = next_offset(offset, part.elements), ordinal + len(found)
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    assert len({c.id for c in chunks}) == len(chunks)
    assert all(whole[c.start:c.end] == c.text for c in chunks)


def test_a_small_file_comes_whole_from_its_parser(tmp_path):
    path = tmp_path / "note.txt"
    path.write_text("One paragraph.\n\nAnother one.", encoding="utf-8")
    (part,) = PlainTextParser().parts(path)
    assert [e.text for e in part.elements] == ["One paragraph.", "Another one."]
    assert part.bytes_read == path.stat().st_size


def test_form_feeds_number_the_pages_across_parts(tmp_path, small_parts):
    pages = [long_text(30, seed=n) for n in range(6)]
    path = tmp_path / "paged.txt"
    path.write_text("\f".join(pages), encoding="utf-8")
    parts = list(PlainTextParser().parts(path))
    assert len(parts) > 6 and parts[-1].pages == 6
    seen = [e.page for p in parts for e in p.elements]
    assert seen == sorted(seen) and set(seen) == set(range(1, 7))


def test_a_file_without_page_breaks_has_no_page_numbers(tmp_path, small_parts):
    path = tmp_path / "log.txt"
    path.write_text(long_text(), encoding="utf-8")
    assert all(e.page is None for p in PlainTextParser().parts(path) for e in p.elements)


def test_lines_without_blank_lines_between_them_are_cut_into_bounded_paragraphs(tmp_path, small_parts):
    path = tmp_path / "server.log"
    path.write_text("\n".join(f"2026-12-04 10:{n % 60:02d} GET /item/{n} 200" for n in range(3000)),
                    encoding="utf-8")
    elements = [e for p in stream_text(path) for e in p.elements]
    assert len(elements) > 10 and max(len(e.text) for e in elements) <= 4000
    assert "/item/2999 " in elements[-1].text


def test_invalid_utf8_late_in_the_file_fails_with_words(tmp_path, small_parts):
    path = tmp_path / "broken.txt"
    path.write_bytes(long_text().encode() + b"\n\n\xff\xfe broken tail")
    with pytest.raises(DocumentError, match="not valid UTF-8"):
        list(PlainTextParser().parts(path))


def test_an_encoding_is_detected_when_the_format_does_not_fix_it(tmp_path, small_parts):
    path = tmp_path / "latin.txt"
    path.write_bytes((long_text() + "\n\nCafé crème brûlée à la façon de Zoë.").encode("cp1252"))
    elements = [e for p in stream_text(path) for e in p.elements]
    assert elements[-1].text == "Café crème brûlée à la façon de Zoë."


def test_markdown_headings_stay_headings_and_csv_rows_are_table_rows(tmp_path, small_parts):
    md = tmp_path / "notes.md"
    md.write_text("# Title\n\n" + long_text(), encoding="utf-8")
    assert next(stream_text(md)).elements[0].kind == "Title"
    csv = tmp_path / "rows.csv"
    csv.write_text("\n".join(f"{n},widget {n},{n * 3}" for n in range(2000)), encoding="utf-8")
    assert {e.kind for p in stream_text(csv) for e in p.elements} == {"Table"}

