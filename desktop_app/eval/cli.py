"""Command line of the evaluation: index a benchmark through the app, report its metrics."""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from desktop_app.core import Library
from desktop_app.core.ingest.indexer import CHUNKER_VERSION
from desktop_app.core.search.reranking import LlmJudgeReranker
from desktop_app.core.storage.settings import REINDEX_FIELDS

from .documents_eval import evaluate_documents, load_questions, open_folder
from .qa_eval import SPLITS, evaluate_qa, load_squad, open_articles
from .retrieval_eval import MODES, evaluate_retrieval, load_beir, open_index
from .tune import measure_reranker, tune_fusion

__all__ = ["main"]


def _cache_name(kind: str, source: Path, library: Library) -> str:
    """One workspace per benchmark file and index-relevant settings, reused across runs."""
    s = library.settings
    key = "|".join([str(source.resolve()), CHUNKER_VERSION,
                    *(str(getattr(s, f)) for f in sorted(REINDEX_FIELDS))])
    return f"eval-{kind}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m desktop_app.eval", description=__doc__)
    parser.add_argument("--data-dir", default=None,
                        help="where the benchmark indexes are kept between runs "
                             "(default: the app's data folder)")
    sub = parser.add_subparsers(dest="command", required=True)
    retrieval = sub.add_parser("retrieval", help="nDCG@10, Recall@10/100, MRR@10 on a BEIR folder")
    retrieval.add_argument("folder", type=Path)
    retrieval.add_argument("--split", default="test", help="qrels file to score (test, train, dev)")
    retrieval.add_argument("--mode", choices=sorted(MODES), default="hybrid")
    retrieval.add_argument("--document-weight", type=float, action="append", default=None,
                           metavar="W", help="score with this document_weight (repeat to compare)")
    retrieval.add_argument("--json", action="store_true")
    tune = sub.add_parser("tune", help="nDCG@10 of fusion variants on a split (train, never test)")
    tune.add_argument("folder", type=Path)
    tune.add_argument("--split", default="train")
    tune.add_argument("--top", type=int, default=15)
    tune.add_argument("--json", action="store_true")
    tune.add_argument("--rerank", type=int, default=0, metavar="N",
                      help="also measure the language-model judge reranker on N queries")
    qa = sub.add_parser("qa", help="hit@k of the answer text; with --generate, EM/F1 and declines")
    qa.add_argument("file", type=Path)
    qa.add_argument("-k", type=int, default=5)
    qa.add_argument("--limit", type=int, default=None, help="evaluate at most N questions")
    qa.add_argument("--generate", action="store_true", help="also answer with the configured model")
    qa.add_argument("--split", choices=SPLITS, default="all",
                    help="tune: a fixed quarter of the questions, for trying changes; report: the rest")
    qa.add_argument("--json", action="store_true")
    qa.add_argument("--answers", type=Path, default=None, metavar="FILE",
                    help="with --generate, write each answer as a JSON line to FILE")
    documents = sub.add_parser("documents", help="source-document hit@1/hit@5 on a folder of files")
    documents.add_argument("folder", type=Path)
    documents.add_argument("questions", type=Path, help="JSON lines: question, document, group, split")
    documents.add_argument("--split", default="test", help="which questions to score (tune, test)")
    documents.add_argument("--document-weight", type=float, action="append", default=None,
                           metavar="W", help="score with this document_weight (repeat to compare)")
    documents.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    library = Library(args.data_dir)
    result: dict[str, Any]
    try:
        if args.command == "retrieval":
            data = load_beir(args.folder, args.split)
            workspace = open_index(library, data, _cache_name("beir", args.folder, library))
            weights = args.document_weight or [None]
            runs = [evaluate_retrieval(workspace, data, args.mode, w) for w in weights]
            result = runs[0] if len(runs) == 1 else {"runs": runs}
        elif args.command == "tune":
            if args.split == "test":
                parser.error("tune on a training or held-out split, not on test")
            data = load_beir(args.folder, args.split)
            workspace = open_index(library, data, _cache_name("beir", args.folder, library))
            result = {"split": args.split, "best": tune_fusion(workspace, data)[: args.top]}
            if args.rerank:
                model = library.backends.language_model(library.settings, library.models_dir,
                                                        library.keys)
                result["llm_judge_rerank"] = measure_reranker(
                    workspace, data, LlmJudgeReranker(model), args.rerank)
        elif args.command == "documents":
            workspace = open_folder(library, args.folder, _cache_name("folder", args.folder, library))
            asked = load_questions(args.questions, args.split)
            weights = args.document_weight or [workspace.settings.document_weight]
            runs = [evaluate_documents(workspace, asked, {"document_weight": w}) for w in weights]
            result = runs[0] if len(runs) == 1 else {"runs": runs}
        else:
            articles, questions = load_squad(args.file)
            workspace = open_articles(library, articles, _cache_name("squad", args.file, library))
            result = evaluate_qa(workspace, questions, args.k, args.limit, args.generate,
                                 args.split, args.answers)
    finally:
        library.close()
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>24}: {value}")
    return 0 if result else 1


if __name__ == "__main__":
    sys.exit(main())
