import math

import pytest

from desktop_app.eval.metrics import exact_match, f1, mrr_at, ndcg_at, recall_at
from desktop_app.eval.qa_eval import Question, _contains, _spread


def test_ndcg_matches_the_textbook_values():
    relevant = {"a": 1, "b": 1}
    assert ndcg_at(["a", "b", "x"], relevant, 10) == pytest.approx(1.0)
    expected = (1 / math.log2(3)) / (1 + 1 / math.log2(3))
    assert ndcg_at(["x", "a"], relevant, 10) == pytest.approx(expected)
    assert ndcg_at(["x", "y"], relevant, 10) == 0.0
    assert ndcg_at(["x"] * 10 + ["a"], relevant, 10) == 0.0


def test_recall_and_mrr():
    relevant = {"a": 1, "b": 1, "c": 0}
    assert recall_at(["a", "x", "b"], relevant, 2) == 0.5
    assert recall_at(["a", "x", "b"], relevant, 3) == 1.0
    assert mrr_at(["x", "c", "b"], relevant, 10) == pytest.approx(1 / 3)


def test_squad_answer_scores():
    assert exact_match("The Normans.", ["Normans"]) == 1.0
    assert f1("in the 10th century", ["10th century"]) == pytest.approx(0.8)
    assert f1("nothing", ["10th century"]) == 0.0


def test_answer_containment_ignores_case_and_spacing():
    assert _contains(["It was in the\n10th Century, they say."], ["10th century"])
    assert not _contains(["nothing here"], ["10th century"])


def test_questions_are_spread_across_the_file():
    questions = [Question(str(i), f"article{i // 10}", "q", ["a"]) for i in range(100)]
    chosen = _spread(questions, 10)
    assert len({q.article for q in chosen}) == 10


def test_a_squad_file_without_titles_or_ids_is_read(tmp_path):
    import json

    from desktop_app.eval.qa_eval import load_squad

    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"data": [
        {"paragraphs": [{"context": "Rain falls.", "qas": [
            {"question": "What falls?", "answers": [{"text": "Rain", "answer_start": 0}]},
            {"question": "What rises?", "answers": [], "is_impossible": True}]}]},
        {"title": "Snow", "paragraphs": [{"context": "Snow is cold.", "qas": [
            {"id": "s1", "question": "What is cold?", "answers": [{"text": "Snow"}]}]}]},
    ]}), encoding="utf-8")
    articles, questions = load_squad(path)
    assert list(articles) == ["Article 1", "Snow"]
    assert [(q.article, q.answers) for q in questions] == [
        ("Article 1", ["Rain"]), ("Article 1", []), ("Snow", ["Snow"])]
    assert len({q.id for q in questions}) == 3
