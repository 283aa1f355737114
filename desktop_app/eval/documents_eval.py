"""Which document does search name first? Source-document hit@k on a folder of real files and
questions that each belong to one of them (look-alike collections: filings, reports, invoices).

Questions file: one JSON object a line, `{"id", "question", "document", "group", "split"}`;
`document` is a file name inside the folder, `group` what the documents of one author or series
share (a company), so that a miss can be told apart: right group, wrong document (the period), or
wrong group altogether.
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from desktop_app.core import Library, Workspace
from desktop_app.core.records import AddFinished

__all__ = ["DocumentQuestion", "evaluate_documents", "load_questions", "open_folder"]

DEPTH = 40  # passages retrieved per question, folded into documents by their best passage


@dataclass(frozen=True, slots=True)
class DocumentQuestion:
    id: str
    text: str
    document: str
    group: str


def load_questions(path: Path, split: str) -> list[DocumentQuestion]:
    questions = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            if row.get("split", "test") == split:
                questions.append(DocumentQuestion(str(row["id"]), row["question"], row["document"],
                                                  str(row.get("group", ""))))
    return questions


def open_folder(library: Library, folder: Path, name: str) -> Workspace:
    """The folder's files as one workspace, indexed once and reused while its settings hold."""
    workspace = library.open_or_create(name)
    if workspace.documents():
        return workspace
    *_, finished = workspace.add([folder])
    assert isinstance(finished, AddFinished)
    return workspace


def evaluate_documents(workspace: Workspace, questions: list[DocumentQuestion],
                       overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """hit@1, hit@5 and MRR of the question's document among the documents of the passages
    found, by the workspace's settings with `overrides` (not saved)."""
    groups = {q.document: q.group for q in questions}
    settings = workspace.settings.with_overrides(overrides or {}, strict=True)
    retrieval = replace(settings.retrieval(), top_k=DEPTH)
    hits1, hits5, reciprocal, latencies = [], [], [], []
    wrong_period = wrong_group = 0
    for question in questions:
        started = time.perf_counter()
        passages = workspace.search(question.text, retrieval=retrieval)
        latencies.append((time.perf_counter() - started) * 1000)
        ranked = list(dict.fromkeys(Path(p.chunk.document).name for p in passages))
        position = ranked.index(question.document) + 1 if question.document in ranked else 0
        hits1.append(position == 1)
        hits5.append(0 < position <= 5)
        reciprocal.append(1 / position if position else 0.0)
        if position != 1 and ranked:
            if groups.get(ranked[0]) == question.group:
                wrong_period += 1
            else:
                wrong_group += 1
    latencies.sort()
    return {
        **(overrides or {}),
        "questions": len(questions),
        "documents": len(workspace.documents()),
        "hit@1": round(statistics.fmean(hits1), 4),
        "hit@5": round(statistics.fmean(hits5), 4),
        "mrr": round(statistics.fmean(reciprocal), 4),
        "first_is_same_group_other_document": wrong_period,
        "first_is_other_group": wrong_group,
        "latency_ms_p50": round(latencies[len(latencies) // 2], 1),
    }
