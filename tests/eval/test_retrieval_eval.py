"""The evaluations score as deep a ranking as they say, whatever the settings' limits."""

from __future__ import annotations

import json
from pathlib import Path

from desktop_app.eval.documents_eval import evaluate_documents, load_questions, open_folder
from desktop_app.eval.retrieval_eval import evaluate_retrieval, load_beir, open_index


def beir_folder(folder: Path, documents: int) -> Path:
    (folder / "qrels").mkdir(parents=True)
    with (folder / "corpus.jsonl").open("w") as corpus:
        for i in range(documents):
            corpus.write(json.dumps({"_id": f"d{i}", "title": f"Note {i}",
                                     "text": f"The kettle note number {i}." + " filler" * i}) + "\n")
    (folder / "queries.jsonl").write_text(json.dumps({"_id": "q1", "text": "kettle note"}) + "\n")
    # the least similar document is the relevant one: found only by a deep ranking
    (folder / "qrels" / "test.tsv").write_text(f"query-id\tcorpus-id\tscore\nq1\td{documents - 1}\t1\n")
    return folder


def test_retrieval_scores_a_hundred_deep_ranking_not_the_answer_top_k(fake_library, tmp_path):
    data = load_beir(beir_folder(tmp_path / "beir", 30), "test")
    workspace = open_index(fake_library, data, "beir")
    result = evaluate_retrieval(workspace, data, "hybrid")
    assert result["recall@100"] == 1.0 and result["recall@10"] == 0.0


def test_documents_hit_at_k_counts_where_the_document_ranks(fake_library, tmp_path):
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "acme-2023.txt").write_text("Acme annual report 2023. Revenue grew.")
    (folder / "acme-2024.txt").write_text("Acme annual report 2024. Revenue fell.")
    questions = tmp_path / "q.jsonl"
    questions.write_text("\n".join(json.dumps(q) for q in [
        {"id": 1, "question": "Acme 2024 revenue", "document": "acme-2024.txt", "group": "Acme",
         "split": "test"},
        {"id": 2, "question": "Acme 2023 revenue", "document": "acme-2023.txt", "group": "Acme",
         "split": "tune"}]))
    workspace = open_folder(fake_library, folder, "files")
    result = evaluate_documents(workspace, load_questions(questions, "test"))
    assert result["questions"] == 1 and result["hit@1"] == 1.0 and result["hit@5"] == 1.0
