from desktop_app.core.ingest.chunking import chunk_document, document_text
from desktop_app.core.records import Element


def words(texts):
    return [len(t.split()) for t in texts]


def paragraph(n: int, sentences: int = 6) -> str:
    return " ".join(f"Sentence {n}.{i} talks about topic {n} at some length." for i in range(sentences))


def test_no_chunk_exceeds_the_token_budget_and_spans_are_exact():
    elements = [Element(paragraph(i), "NarrativeText", 1) for i in range(8)]
    chunks = chunk_document("doc.pdf", elements, words, max_tokens=40)
    text = document_text(elements)
    assert len(chunks) > 4
    for chunk in chunks:
        assert words([chunk.text])[0] <= 40 + 4  # separators between units are not tokens
        assert text[chunk.start:chunk.end] == chunk.text


def test_a_single_huge_sentence_is_cut_into_pieces_within_the_budget():
    elements = [Element("word " * 500, "NarrativeText", None)]
    chunks = chunk_document("doc.txt", elements, words, max_tokens=50)
    assert all(words([c.text])[0] <= 50 for c in chunks)
    assert sum(words([c.text])[0] for c in chunks) >= 500


def test_chunks_do_not_span_pages_and_keep_their_page():
    elements = [Element(paragraph(1, 2), "NarrativeText", 1), Element(paragraph(2, 2), "NarrativeText", 2)]
    chunks = chunk_document("doc.pdf", elements, words, max_tokens=200)
    assert [c.page for c in chunks] == [1, 2]


def test_consecutive_chunks_overlap():
    elements = [Element(paragraph(1, 20), "NarrativeText", 1)]
    chunks = chunk_document("doc.pdf", elements, words, max_tokens=60, overlap=0.15)
    assert len(chunks) >= 3
    for before, after in zip(chunks, chunks[1:], strict=False):
        assert after.start < before.end, "the next chunk should repeat the tail of the previous one"


def test_a_table_that_fits_is_not_split_and_rows_are_never_split():
    table = "\n".join(f"row {i} | value {i} | note {i}" for i in range(6))
    elements = [Element(paragraph(1, 4), "NarrativeText", 1), Element(table, "Table", 1)]
    chunks = chunk_document("doc.pdf", elements, words, max_tokens=60)
    holding = [c for c in chunks if "row 0" in c.text]
    assert len(holding) == 1 and "row 5" in holding[0].text
    big = "\n".join(f"row {i} | value {i} | note {i}" for i in range(40))
    for chunk in chunk_document("doc.pdf", [Element(big, "Table", 1)], words, max_tokens=30):
        for line in chunk.text.splitlines():
            assert line.startswith("row ") and line.count("|") == 2


def test_a_short_list_stays_in_one_chunk():
    items = [Element(f"item number {i} of the list", "ListItem", 1) for i in range(5)]
    elements = [Element(paragraph(1, 5), "NarrativeText", 1), *items]
    chunks = chunk_document("doc.pdf", elements, words, max_tokens=70)
    holding = [c for c in chunks if "item number" in c.text]
    assert len(holding) == 1 and "item number 4" in holding[0].text


def test_chunk_ids_are_content_hashes():
    elements = [Element(paragraph(i), "NarrativeText", 1) for i in range(3)]
    first = chunk_document("doc.pdf", elements, words, max_tokens=40)
    again = chunk_document("doc.pdf", elements, words, max_tokens=40)
    assert [c.id for c in first] == [c.id for c in again]
    assert len({c.id for c in first}) == len(first)
    other = chunk_document("other.pdf", elements, words, max_tokens=40)
    assert not {c.id for c in first} & {c.id for c in other}
