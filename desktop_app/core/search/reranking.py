"""Rerankers: reorder retrieved passages with a model that reads question and passage together.

No cross-encoder ships on PyPI, so the candidate available offline is the loaded language
model as a judge. It is off by default: on SciFact it costs seconds per question and did not
improve the ranking with the built-in model (docs/evaluation.md). Settings `rerank = "llm"`
turns it on, for people running a larger model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from desktop_app.core.answer.llm import ChatMessage, LanguageModel
from desktop_app.core.records import Passage
from desktop_app.core.search.keywords import query_terms

__all__ = ["KeywordOverlapReranker", "LlmJudgeReranker", "Reranker"]

JUDGE_PROMPT = ("You judge search results. Reply with one word: yes if the passage helps answer "
                "the question, no if it does not.")


class Reranker(Protocol):
    """Returns the same passages, best first; never adds or drops one."""

    def rerank(self, question: str, passages: Sequence[Passage]) -> list[Passage]: ...


class LlmJudgeReranker:
    """Asks the language model, passage by passage, whether it helps; "yes" moves it up."""

    def __init__(self, model: LanguageModel, max_passage_tokens: int = 300) -> None:
        self._model = model
        self._limit = max_passage_tokens

    def rerank(self, question: str, passages: Sequence[Passage]) -> list[Passage]:
        verdicts = [self._helps(question, p) for p in passages]
        helpful = [p for p, yes in zip(passages, verdicts, strict=True) if yes]
        return helpful + [p for p, yes in zip(passages, verdicts, strict=True) if not yes]

    def _helps(self, question: str, passage: Passage) -> bool:
        text = " ".join(passage.chunk.text.split()[: self._limit])
        messages = [ChatMessage("system", JUDGE_PROMPT),
                    ChatMessage("user", f"Question: {question}\n\nPassage: {text}\n\nHelpful?")]
        reply = "".join(self._model.stream(messages, max_tokens=2, temperature=0.0))
        return reply.strip().lower().startswith("yes")


class KeywordOverlapReranker:
    """Orders by how many of the question's words a passage holds; the deterministic fake."""

    def rerank(self, question: str, passages: Sequence[Passage]) -> list[Passage]:
        words = set(query_terms(question))
        return sorted(passages, key=lambda p: -len(words & set(query_terms(p.chunk.text))))
