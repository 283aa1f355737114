"""Question answering on a SQuAD-format file: does retrieval find the answer, and does the
model give it (or decline when the documents cannot answer)?"""

from __future__ import annotations

import json
import re
import statistics
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop_app.core import Answer, AnswerToken, Library, Workspace
from desktop_app.core.records import AddFinished

from .metrics import exact_match, f1

__all__ = ["SPLITS", "Question", "evaluate_qa", "load_squad", "open_articles", "split_of"]

SPLITS = ("tune", "report", "all")

_SPACE = re.compile(r"\s+")
_MARKER = re.compile(r"\s*\[\d+\]")


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


def split_of(question: Question) -> str:
    """"tune" for about a quarter of the questions, "report" for the rest: fixed by a hash of
    the question's id, so prompt and decline rules are tuned on questions never reported."""
    return "tune" if zlib.crc32(question.id.encode("utf-8")) % 4 == 0 else "report"


def _spread(questions: list[Question], limit: int | None) -> list[Question]:
    """At most `limit` questions, taken evenly across the file (so across articles)."""
    if not limit or limit >= len(questions):
        return questions
    step = len(questions) / limit
    return [questions[int(i * step)] for i in range(limit)]


def _contains(passages: list[str], answers: list[str]) -> bool:
    haystack = _SPACE.sub(" ", " ".join(passages)).lower()
    return any(_SPACE.sub(" ", a).lower() in haystack for a in answers)


@dataclass(frozen=True, slots=True)
class _Timed:
    answer: Answer
    first_token_s: float | None  # None when no model was asked (nothing relevant was found)
    pieces_per_s: float | None


def _timed_answer(workspace: Workspace, question: str) -> _Timed:
    """Ask as the window does (a new thread, streamed), timing the first token and the rest."""
    start = time.perf_counter()
    first: float | None = None
    pieces = 0
    answer: Answer | None = None
    for event in workspace.answer_stream(question):
        if isinstance(event, AnswerToken):
            first = first if first is not None else time.perf_counter()
            pieces += 1
        elif isinstance(event, Answer):
            answer = event
    end = time.perf_counter()
    assert answer is not None
    if first is None or not answer.retrieved:
        return _Timed(answer, None, None)
    speed = (pieces - 1) / (end - first) if pieces > 1 and end > first else None
    return _Timed(answer, first - start, speed)


def _unmarked(text: str) -> str:
    """An answer as SQuAD scores it: without its [n] citation markers."""
    return _MARKER.sub("", text)


def _answer_record(question: Question, answer: Answer) -> dict[str, Any]:
    """One answer as `--answers` writes it: the passages given (numbered as in the prompt),
    which of them were cited, and which hold a gold answer."""
    numbers = {p.chunk.id: n for n, p in enumerate(answer.retrieved, start=1)}
    return {
        "id": question.id, "question": question.text, "gold": question.answers,
        "answer": answer.text, "declined": not answer.answered_from_documents,
        "unconfirmed": answer.unconfirmed,
        "cited": [numbers.get(c.passage.chunk.id) for c in answer.citations],
        "matched_by_the_app": [numbers.get(c.passage.chunk.id) for c in answer.citations
                               if c.matched],
        "holding_gold": [n for n, p in enumerate(answer.retrieved, start=1)
                         if question.answers and _contains([p.chunk.text], question.answers)],
        "f1": round(f1(_unmarked(answer.text), question.answers), 3) if question.answers else None,
    }


def _mean(values: list[float] | list[bool]) -> float | None:
    return round(statistics.fmean(values), 4) if values else None


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


def evaluate_qa(workspace: Workspace, questions: list[Question], k: int, limit: int | None,
                generate: bool, split: str = "all",
                answers_file: Path | None = None) -> dict[str, Any]:
    """hit@k of retrieval; with `generate`, the configured model's answers scored as SQuAD
    scores them (exact match, F1), declines, citation precision, the grounding check as a
    detector of wrong answers, and time to first token. `split` picks the questions: "tune"
    (a quarter, for trying prompts and rules), "report" (the rest) or "all". With
    `answers_file`, each generated answer is also written there as one JSON line (question,
    gold answers, answer, cited and retrieved passage numbers), to read what went wrong."""
    pool = questions if split == "all" else [q for q in questions if split_of(q) == split]
    chosen = _spread(pool, limit)
    answerable = [q for q in chosen if q.answers]
    hits = [_contains([p.chunk.text for p in workspace.search(q.text, k)], q.answers) for q in answerable]
    result: dict[str, Any] = {
        "split": split, "questions": len(chosen), "answerable": len(answerable), "k": k,
        f"hit@{k}": _mean(hits),
    }
    if not generate:
        return result
    em: list[float] = []
    f1s: list[float] = []
    declined_unanswerable: list[bool] = []
    declined_answerable: list[bool] = []
    cited_holds: list[bool] = []
    flagged_wrong: list[tuple[bool, bool]] = []  # (the check flagged a sentence, the answer is wrong)
    first_tokens: list[float] = []
    speeds: list[float] = []
    # Answers the second look (check_answer) turned into declines: of unanswerable questions,
    # of answerable ones, and of those the first reading had right (F1 > 0.5).
    second_look = {"unanswerable": 0, "answerable": 0, "answerable_right": 0}
    log = answers_file.open("w", encoding="utf-8") if answers_file is not None else None
    for question in chosen:
        timed = _timed_answer(workspace, question.text)
        answer = timed.answer
        if log is not None:
            log.write(json.dumps(_answer_record(question, answer)) + "\n")
            log.flush()
        if timed.first_token_s is not None:
            first_tokens.append(timed.first_token_s)
        if timed.pieces_per_s is not None:
            speeds.append(timed.pieces_per_s)
        declined = not answer.answered_from_documents
        if answer.unconfirmed:
            kind = "answerable" if question.answers else "unanswerable"
            second_look[kind] += 1
            if question.answers and f1(_unmarked(answer.unconfirmed), question.answers) > 0.5:
                second_look["answerable_right"] += 1
        if not question.answers:
            declined_unanswerable.append(declined)
            continue
        declined_answerable.append(declined)
        text = _unmarked(answer.text)
        em.append(exact_match(text, question.answers))
        f1s.append(f1(text, question.answers))
        if declined or not answer.citations:
            continue
        holds = _contains([c.passage.chunk.text for c in answer.citations], question.answers)
        cited_holds.append(holds)
        if answer.grounding:
            right = holds and f1(text, question.answers) > 0
            flagged_wrong.append((bool(answer.unsupported), not right))
    if log is not None:
        log.close()
    flagged = [wrong for flag, wrong in flagged_wrong if flag]
    wrong = [flag for flag, is_wrong in flagged_wrong if is_wrong]
    result.update({
        "exact_match": _mean(em),
        "f1": _mean(f1s),
        "citation_precision": _mean(cited_holds),
        "cited_answers": len(cited_holds),
        "unanswerable_declined": _mean(declined_unanswerable),
        "answerable_declined": _mean(declined_answerable),
        "grounding_checked_answers": len(flagged_wrong),
        "unsupported_flag_precision": _mean(flagged),
        "unsupported_flag_recall": _mean(wrong),
        "second_look_declined": second_look,
        "median_first_token_s": _median(first_tokens),
        "median_pieces_per_s": _median(speeds),
    })
    return result
