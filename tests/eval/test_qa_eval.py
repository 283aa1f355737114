"""The answer evaluation: a fixed tuning split, and every measure it reports, end to end over a
fake-backed workspace (the scripted model quotes passage [1], cited)."""

from __future__ import annotations

import json
from pathlib import Path

from desktop_app.eval.qa_eval import evaluate_qa, load_squad, open_articles, split_of

ARTICLES = {
    "Kettles": ("The Acme kettle boils a litre of water in 95 seconds. Its base is brushed steel.",
                [("How long does the Acme kettle take to boil a litre of water?", "95 seconds"),
                 ("Who designed the base of the Acme kettle?", None)]),
    "Gardens": ("Tomatoes in the garden need six hours of sun a day. Basil is planted after frost.",
                [("How many hours of sun do tomatoes in the garden need?", "six hours"),
                 ("Which fertiliser do tomatoes in the garden need?", None)]),
}


def squad_file(folder: Path) -> Path:
    data = [{"title": title, "paragraphs": [{"context": text, "qas": [
        {"id": f"{title}-{i}", "question": question,
         "answers": [{"text": answer}] if answer else [], "is_impossible": not answer}
        for i, (question, answer) in enumerate(asked)]}]}
        for title, (text, asked) in ARTICLES.items()]
    path = folder / "squad.json"
    path.write_text(json.dumps({"data": data}), encoding="utf-8")
    return path


def test_the_tuning_split_is_a_fixed_quarter_apart_from_the_reported_questions(tmp_path):
    _, questions = load_squad(squad_file(tmp_path))
    many = [type(questions[0])(f"q{i}", "a", "?", ["x"]) for i in range(400)]
    tune = [q for q in many if split_of(q) == "tune"]
    assert 70 <= len(tune) <= 130 and [split_of(q) for q in many] == [split_of(q) for q in many]


def test_answers_are_scored_with_citations_declines_grounding_and_timing(fake_library, tmp_path):
    articles, questions = load_squad(squad_file(tmp_path))
    workspace = open_articles(fake_library, articles, "squad")
    result = evaluate_qa(workspace, questions, 3, None, generate=True)
    assert (result["questions"], result["answerable"]) == (4, 2)
    for share in ("exact_match", "f1", "citation_precision", "unanswerable_declined",
                  "answerable_declined", "hit@3"):
        assert 0.0 <= result[share] <= 1.0, share
    assert result["cited_answers"] == 2 and result["citation_precision"] == 1.0
    assert result["median_first_token_s"] > 0
    parts = [evaluate_qa(workspace, questions, 3, None, False, split)["questions"]
             for split in ("tune", "report")]
    assert sum(parts) == 4
