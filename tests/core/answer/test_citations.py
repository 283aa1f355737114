from desktop_app.core.answer.answering import finish_answer
from desktop_app.core.answer.citations import attribute_sentences, is_decline, resolve_markers
from desktop_app.core.records import Chunk, Passage, Source


def passage(text: str, document: str = "a.pdf", page: int | None = 1) -> Passage:
    return Passage(Chunk(f"id-{hash(text)}", document, 0, text, page, None, 0, len(text)), 0.5, 0.6)


PASSAGES = [
    passage("The Zephyr 3000 battery lasts 45 minutes.", "manual.pdf", 3),
    passage("The quarterly meeting is on March 14 in room 204.", "notes.txt", None),
]


def test_markers_resolve_to_their_passages():
    text, citations, dropped = resolve_markers("It lasts 45 minutes [1]. Meeting in room 204 [2].", PASSAGES)
    assert [c.n for c in citations] == [1, 2]
    assert citations[0].passage.chunk.document == "manual.pdf"
    assert dropped == [] and "[1]" in text and "[2]" in text


def test_markers_pointing_at_no_passage_are_removed_and_reported():
    text, citations, dropped = resolve_markers("It lasts 45 minutes [1][7]. Also [3, 2].", PASSAGES)
    assert "[7]" not in text and "[3" not in text
    assert "[1]" in text and "[2]" in text
    assert dropped == [7, 3]
    assert [c.n for c in citations] == [1, 2]


def test_declines_are_recognised():
    assert is_decline("The documents do not contain the answer.")
    assert is_decline("I cannot find that in the passages.")
    assert not is_decline("The battery lasts 45 minutes.")


def test_uncited_sentences_are_attributed_only_when_a_passage_supports_them():
    text, citations = attribute_sentences(
        "The Zephyr 3000 battery lasts 45 minutes. Penguins live in Antarctica.", PASSAGES)
    assert [c.n for c in citations] == [1] and citations[0].matched
    assert "minutes [1]." in text
    assert "Antarctica." in text and "Antarctica [" not in text


def test_semantic_similarity_can_support_a_paraphrase():
    def similarity(sentences, texts):
        return [[0.9 if "gathering" in s and "meeting" in t else 0.0 for t in texts] for s in sentences]

    _, citations = attribute_sentences("The team gathering happens mid March.", PASSAGES, similarity)
    assert [c.n for c in citations] == [2]


def test_an_answer_that_declines_has_no_citations():
    answer = finish_answer("The documents do not contain the answer.", PASSAGES)
    assert not answer.answered_from_documents and answer.citations == []


def test_answer_json_has_the_documented_shape():
    answer = finish_answer("It lasts 45 minutes [1].", PASSAGES)
    data = answer.to_json()
    assert set(data) >= {"answer", "citations", "retrieved"}
    citation = data["citations"][0]
    assert {k: citation[k] for k in ("n", "document", "page")} == {"n": 1, "document": "manual.pdf", "page": 3}
    assert isinstance(citation["text"], str) and isinstance(citation["score"], float)
    assert len(data["retrieved"]) == 2


def test_numbered_lists_keep_their_shape_and_fragments_are_not_cited():
    answer = "Steps:\n1. Mix the flour.\n2. The Zephyr 3000 battery lasts 45 minutes."
    text, citations = attribute_sentences(answer, PASSAGES)
    assert text.splitlines() == ["Steps:", "1. Mix the flour.", "2. The Zephyr 3000 battery lasts 45 minutes [1]."]
    assert [c.n for c in citations] == [1]


def test_the_supporting_sentence_of_a_cited_passage_is_highlighted():
    long = passage("Intro sentence about nothing. The Zephyr 3000 battery lasts 45 minutes. Outro here.")
    answer = finish_answer("Its battery lasts 45 minutes [1].", [long])
    start, end = answer.citations[0].highlight
    assert long.chunk.text[start:end] == "The Zephyr 3000 battery lasts 45 minutes."
    assert answer.to_json()["citations"][0]["highlight"] == [start, end]


def test_grounding_flags_sentences_their_cited_passage_does_not_support():
    answer = finish_answer(
        "The Zephyr 3000 battery lasts 45 minutes [1]. The meeting is on Mars next year [1].", PASSAGES)
    checks = {c.sentence: c for c in answer.grounding}
    assert checks["The Zephyr 3000 battery lasts 45 minutes."].supported
    assert not checks["The meeting is on Mars next year."].supported
    assert [c.sentence for c in answer.unsupported] == ["The meeting is on Mars next year."]
    data = answer.to_json()["grounding"]
    assert {d["supported"] for d in data} == {True, False} and data[0]["cited"] == [1]


def test_grounding_accepts_a_paraphrase_by_embedding_similarity():
    def similarity(sentences, texts):
        return [[0.8 for _ in texts] for _ in sentences]

    answer = finish_answer("Its charge holds for three quarters of an hour [1].", PASSAGES, similarity)
    assert answer.grounding and answer.grounding[0].supported and answer.grounding[0].semantic == 0.8


THREE = [*PASSAGES, passage("Sourdough bakes at 240 degrees for 40 minutes.", "bread.md", None)]


def test_sources_are_numbered_from_one_in_the_order_the_answer_cites_them():
    answer = finish_answer("Bake at 240 degrees [3]. The meeting is in room 204 [2].", THREE)
    assert answer.text == "Bake at 240 degrees [1]. The meeting is in room 204 [2]."
    assert [(c.n, c.passage.chunk.document) for c in answer.citations] == [(1, "bread.md"),
                                                                          (2, "notes.txt")]
    assert all(check.cited in ((1,), (2,)) for check in answer.grounding)


def test_every_passage_the_model_was_given_is_a_source_cited_ones_first():
    answer = finish_answer("Bake at 240 degrees [3].", THREE)
    sources = answer.sources()
    assert [(s.n, s.document, s.cited) for s in sources] == [
        (1, "bread.md", True), (2, "manual.pdf", False), (3, "notes.txt", False)]
    retrieved = answer.to_json()["retrieved"]
    assert [(r["n"], r["document"]) for r in retrieved] == [(1, "bread.md"), (2, "manual.pdf"),
                                                            (3, "notes.txt")]


def test_sources_are_kept_with_their_thread_and_read_back_alike_even_from_older_threads():
    answer = finish_answer("The meeting is in room 204 [2].", THREE)
    for source in answer.sources():
        assert Source.from_json(source.to_json()) == source
    cited = answer.sources()[0]
    assert cited.supporting_text in cited.text and "room 204" in cited.supporting_text
    saved_before_sources_had_fields = {"n": 2, "document": "memo.pdf", "page": 1,
                                       "text": "200 laptops", "score": 0.5}
    old = Source.from_json(saved_before_sources_had_fields)
    assert old == Source(2, "memo.pdf", 1, "200 laptops", 0.5)
    assert old.cited and not old.matched and old.supporting_text == "200 laptops"


def test_an_answer_that_cites_nothing_still_shows_what_it_was_given():
    answer = finish_answer("Penguins live in Antarctica.", THREE)
    assert answer.citations == []
    assert [s.cited for s in answer.sources()] == [False, False, False]


def test_a_figure_the_cited_passage_does_not_hold_is_flagged():
    memo = [passage("The IT budget covers 200 laptops and 1,200 licences for 2024.", "memo.pdf", 1)]
    wrong = finish_answer("The budget covers 3 laptops [1].", memo)
    assert [(c.supported, c.missing_figures) for c in wrong.grounding] == [(False, ("3",))]
    assert wrong.unsupported and wrong.to_json()["grounding"][0]["missing_figures"] == ["3"]
    right = finish_answer("The budget covers 200 laptops and 1200 licences [1].", memo)
    assert [c.supported for c in right.grounding] == [True]


def test_a_citation_to_a_passage_that_does_not_state_the_answer_moves_to_the_one_that_does():
    answer = finish_answer("The meeting is on March 14 [1].", THREE)
    assert answer.text == "The meeting is on March 14 [1]."
    assert [(c.passage.chunk.document, c.matched) for c in answer.citations] == [("notes.txt", True)]
    assert [c.supported for c in answer.grounding] == [True]
    short = finish_answer("240 degrees [2]", THREE)  # a bare span, stated word for word in 3
    assert [(c.passage.chunk.document, c.matched) for c in short.citations] == [("bread.md", True)]


def test_a_citation_stays_where_the_cited_passage_states_it_or_where_no_passage_does():
    kept = finish_answer("The battery lasts 45 minutes [1]. Bake at 240 degrees [3].", THREE)
    assert [(c.passage.chunk.document, c.matched) for c in kept.citations] == [
        ("manual.pdf", False), ("bread.md", False)]
    invented = finish_answer("The battery lasts 90 minutes [2].", THREE)
    assert [(c.passage.chunk.document, c.matched) for c in invented.citations] == [
        ("notes.txt", False)]
    assert invented.unsupported  # the grounding check still says so
    # A passage the model cites for a sentence it states stays the model's, even where the
    # app also moves another sentence's citation to it.
    both = finish_answer("Room 204 [2]. The quarterly meeting is on March 14 [1].", THREE)
    assert [(c.passage.chunk.document, c.matched) for c in both.citations] == [
        ("notes.txt", False)]
    assert both.text == "Room 204 [1]. The quarterly meeting is on March 14 [1]."


def test_a_passage_that_holds_a_short_answer_whole_wins_over_one_that_holds_part_of_it():
    streets = [passage("Fresno's main street is Huntington Boulevard.", "fresno.md", None),
               passage("The Huntington Park district lies east of downtown.", "parks.md", None)]
    moved = finish_answer("Huntington Boulevard [2].", streets)
    assert [(c.passage.chunk.document, c.matched) for c in moved.citations] == [("fresno.md", True)]
    both_whole = finish_answer("Huntington [2].", streets)  # each holds it whole: the model's stays
    assert [(c.passage.chunk.document, c.matched) for c in both_whole.citations] == [
        ("parks.md", False)]
