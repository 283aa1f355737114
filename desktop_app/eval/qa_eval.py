"""Question answering on a SQuAD-format file: does retrieval find the answer, and does the
model give it (or decline when the documents cannot answer)?"""

from __future__ import annotations

import json
import re
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop_app.core import Library, Workspace
from desktop_app.core.records import AddFinished

from .metrics import exact_match, f1

__all__ = ["Question", "evaluate_qa", "load_squad", "open_articles"]

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    article: str
    text: str
    answers: list[str]  # empty when the question cannot be answered from the article


def load_squad(path: Path) -> tuple[dict[str, list[str]], list[Question]]:
    """Articles and questions of a SQuAD-format file. Only `context`, `question` and `answers`
    are required: an article without a title is named by its position, a question without an
    id by its article and position, and no `is_impossible` means: answerable when it has
    answers."""
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    articles: dict[str, list[str]] = {}
    questions: list[Question] = []
    for number, article in enumerate(data, start=1):
        title = str(article.get("title") or f"Article {number}")
        if title in articles:  # two articles of the same name stay two documents
            title = f"{title} ({number})"
        articles[title] = [p["context"] for p in article["paragraphs"]]
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                given = list(dict.fromkeys(a["text"] for a in qa.get("answers", [])))
                answers = [] if qa.get("is_impossible") else given
                qid = str(qa.get("id") or f"{title}/{len(questions) + 1}")
                questions.append(Question(qid, title, qa["question"], answers))
    return articles, questions


def open_articles(library: Library, articles: dict[str, list[str]], name: str) -> Workspace:
    """Each article becomes one Markdown document (a title, then its paragraphs), indexed once."""
    workspace = library.open_or_create(name)
    if workspace.documents():
        return workspace
    folder = library.data_dir / f"{name}-files"
    folder.mkdir(parents=True, exist_ok=True)
    for index, (title, paragraphs) in enumerate(articles.items()):
        safe = re.sub(r"[^\w.-]+", "_", title)[:80]
        body = "\n\n".join(paragraphs)
        (folder / f"{index:03d}-{safe}.md").write_text(f"# {title.replace('_', ' ')}\n\n{body}\n",
                                                       encoding="utf-8")
    *_, finished = workspace.add([folder])
    assert isinstance(finished, AddFinished)
    return workspace


def _spread(questions: list[Question], limit: int | None) -> list[Question]:
    """At most `limit` questions, taken evenly across the file (so across articles)."""
    if not limit or limit >= len(questions):
        return questions
    step = len(questions) / limit
    return [questions[int(i * step)] for i in range(limit)]


def _contains(passages: list[str], answers: list[str]) -> bool:
    haystack = _SPACE.sub(" ", " ".join(passages)).lower()
    return any(_SPACE.sub(" ", a).lower() in haystack for a in answers)


def evaluate_qa(workspace: Workspace, questions: list[Question], k: int, limit: int | None,
                generate: bool) -> dict[str, Any]:
    chosen = _spread(questions, limit)
    answerable = [q for q in chosen if q.answers]
    hits = [_contains([p.chunk.text for p in workspace.search(q.text, k)], q.answers) for q in answerable]
    result: dict[str, Any] = {
        "questions": len(chosen), "answerable": len(answerable), "k": k,
        f"hit@{k}": round(statistics.fmean(hits), 4) if hits else None,
    }
    if not generate:
        return result
    em: list[float] = []
    f1s: list[float] = []
    declined_unanswerable: list[bool] = []
    declined_answerable: list[bool] = []
    agreement: list[bool] = []
    for question in chosen:
        answer = workspace.ask(question.text)
        declined = not answer.answered_from_documents
        if question.answers:
            declined_answerable.append(declined)
            text = re.sub(r"\s*\[\d+\]", "", answer.text)
            em.append(exact_match(text, question.answers))
            f1s.append(f1(text, question.answers))
            if answer.grounding:
                # The check says "supported"; the truth: does a cited passage hold the answer?
                holds = _contains([c.passage.chunk.text for c in answer.citations], question.answers)
                agreement.append((not answer.unsupported) == holds)
        else:
            declined_unanswerable.append(declined)
    result.update({
        "exact_match": round(statistics.fmean(em), 4) if em else None,
        "f1": round(statistics.fmean(f1s), 4) if f1s else None,
        "unanswerable_declined": round(statistics.fmean(declined_unanswerable), 4)
        if declined_unanswerable else None,
        "answerable_declined": round(statistics.fmean(declined_answerable), 4)
        if declined_answerable else None,
        "grounding_checked_answers": len(agreement),
        "grounding_agreement": round(statistics.fmean(agreement), 4) if agreement else None,
    })
    return result
