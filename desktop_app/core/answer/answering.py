"""Answer a question from retrieved passages: stream the model's text, then resolve citations."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from desktop_app.core.answer.citations import (
    Similarity,
    attribute_sentences,
    check_grounding,
    highlight_support,
    is_decline,
    number_for_reading,
    repoint_citations,
    resolve_markers,
)
from desktop_app.core.answer.llm import ChatMessage, LanguageModel
from desktop_app.core.answer.prompting import NOT_FOUND, FittedPrompt, build_follow_up, build_prompt
from desktop_app.core.records import Answer, AnswerStage, AnswerToken, Passage
from desktop_app.core.search.reranking import LlmJudgeReranker
from desktop_app.core.search.retrieval import RetrievalSettings, Retriever

__all__ = ["AnswerSettings", "Conversation", "answer_stream", "passages_for", "retrieval_queries"]

log = logging.getLogger(__name__)

NOTHING_RELEVANT = (
    "I could not find anything about this in your documents, so I cannot answer it from them."
)
# Asked after the answer, in the same conversation, so the model's cache still holds the
# passages: only these words and a one-word reply are new work. {n} is the passage the answer's
# citation points at, numbered as in the prompt (the app may have moved the model's citation
# to the passage that states the answer).
CHECK_QUESTION = ("Look at passage [{n}]. Does it state that answer to my question, "
                  'and not to a different question? Reply with only "yes" or "no".')


@dataclass(frozen=True, slots=True)
class AnswerSettings:
    """What answering needs of the settings (built by `Settings.answering()`, where the
    defaults are)."""

    retrieval: RetrievalSettings
    max_answer_tokens: int
    temperature: float
    min_relevance: float
    history_turns: int
    rerank: str
    instructions: str = ""  # the workspace's own, after the app's rules
    check_answer: bool = False  # a second look: does the cited passage state the answer?


def passages_for(context_size: int, top_k: int) -> int:
    """More evidence for bigger context windows: top_k up to 4k tokens, then one more passage
    per extra 2k tokens, at most 4x top_k. Prompt fitting still drops what does not fit."""
    return min(4 * top_k, top_k + max(0, context_size - 4096) // 2048)


def retrieval_queries(question: str, earlier_questions: Sequence[str]) -> list[str]:
    """The question alone, plus (in a conversation) joined to the previous question.

    A follow-up such as "and in 2021?" means little alone; joined to what came before it
    finds the right passages, while the plain question still wins when the topic changed.
    """
    if not earlier_questions:
        return [question]
    return [question, f"{earlier_questions[-1]} {question}"]


@dataclass(slots=True)
class Conversation:
    """A chat thread's last prompt and the model's reply to it, as they were sent and written:
    the next question is laid out after them (`build_follow_up`), so the model's KV cache
    still holds everything but the new part. Empty after a stop or a change of layout."""

    prompt: FittedPrompt | None = None
    reply: str = ""


def answer_stream(
    question: str,
    history: Sequence[ChatMessage],
    retriever: Retriever,
    model: LanguageModel,
    settings: AnswerSettings,
    similarity: Similarity | None = None,
    conversation: Conversation | None = None,
    only: Sequence[str] | None = None,
    pinned: Sequence[Passage] = (),
) -> Iterator[AnswerStage | AnswerToken | Answer]:
    """Yields where it is (AnswerStage: searching, then reading the prompt), AnswerToken
    pieces as they generate, then one final Answer.

    Closing the iterator stops generation; nothing else needs cleaning up. With the thread's
    `conversation`, a follow-up continues the previous prompt instead of rebuilding it; with
    `only` (document paths), passages come from those documents alone; `pinned` passages
    (of documents the person pinned) come first, whatever the search found.
    """
    conversation = conversation if conversation is not None else Conversation()
    earlier_turn, conversation.prompt = conversation.prompt, None  # kept again once complete
    earlier = [m.content for m in history if m.role == "user"]
    if not model.loaded:  # the first answer: seconds to a minute for a large model
        yield AnswerStage("loading")
        model.warm_up()
    yield AnswerStage("searching")
    retrieval = replace(settings.retrieval, top_k=passages_for(model.context_size, settings.retrieval.top_k))
    passages = retriever.search(retrieval_queries(question, earlier), retrieval, only)
    if settings.rerank == "llm":
        passages = LlmJudgeReranker(model).rerank(question, passages)
    if pinned:
        ids = {p.chunk.id for p in pinned}
        passages = [*pinned, *(p for p in passages if p.chunk.id not in ids)]
    elif not _relevant(passages, settings.min_relevance):
        yield AnswerToken(NOTHING_RELEVANT)
        yield Answer(NOTHING_RELEVANT, [], [], answered_from_documents=False)
        return
    prompt = None
    if earlier_turn is not None:
        prompt = build_follow_up(earlier_turn, conversation.reply, question, passages,
                                 model.count_tokens, model.context_size, settings.max_answer_tokens)
    if prompt is None:
        recent = list(history)[-2 * settings.history_turns:]
        prompt = build_prompt(question, passages, recent, model.count_tokens, model.context_size,
                              settings.max_answer_tokens, settings.instructions)
    if prompt.dropped:
        log.info("context window full: %d lower-ranked passages left out", prompt.dropped)
    yield _reading(prompt, model.prompt_speed)
    parts: list[str] = []
    stream = model.stream(prompt.messages, settings.max_answer_tokens, settings.temperature)
    try:
        for piece in stream:
            parts.append(piece)
            yield AnswerToken(piece)
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()
    conversation.prompt, conversation.reply = prompt, "".join(parts)
    answer = finish_answer("".join(parts), prompt.passages, similarity)
    if settings.check_answer and answer.answered_from_documents and answer.citations:
        yield AnswerStage("checking")
        if not confirmed(model, prompt, conversation.reply, answer.citations[0].passage):
            answer = unconfirmed(answer)
    yield answer


def confirmed(model: LanguageModel, prompt: FittedPrompt, reply: str, cited: Passage) -> bool:
    """The model's second look at its own answer: False when it says the `cited` passage does
    not state it."""
    n = next(i for i, p in enumerate(prompt.passages, start=1) if p.chunk.id == cited.chunk.id)
    messages = [*prompt.messages, ChatMessage("assistant", reply),
                ChatMessage("user", CHECK_QUESTION.format(n=n))]
    verdict = "".join(model.stream(messages, 3, 0.0)).strip().lower()
    return not verdict.startswith("no")


def unconfirmed(answer: Answer) -> Answer:
    """A decline that still shows what the first reading said, and the passages."""
    text = (f"{NOT_FOUND} (A first reading answered \u201c{answer.text}\u201d, but on a second "
            "look the passage it cited does not state that.)")
    return Answer(text, [], answer.retrieved, answered_from_documents=False,
                  removed_markers=answer.removed_markers, unconfirmed=answer.text)


def finish_answer(raw: str, passages: list[Passage], similarity: Similarity | None = None) -> Answer:
    """Resolve markers (moved to the passage that states a sentence where the cited one does
    not); attribute an uncited answer; recognise a decline."""
    text, citations, dropped = resolve_markers(raw, passages)
    if not text.strip():
        return Answer(NOT_FOUND, [], passages, answered_from_documents=False, removed_markers=dropped)
    if is_decline(text) and not citations:
        return Answer(text, [], passages, answered_from_documents=False, removed_markers=dropped)
    if citations:
        text, citations = repoint_citations(text, citations, passages)
    else:
        text, citations = attribute_sentences(text, passages, similarity)
    grounding = check_grounding(text, citations, similarity)
    text, citations, grounding = number_for_reading(text, highlight_support(text, citations),
                                                    grounding)
    return Answer(text, citations, passages, removed_markers=dropped, grounding=grounding)


def _reading(prompt: FittedPrompt, speed: float | None) -> AnswerStage:
    """Counted while the prompt was fitted: nothing is tokenized again here."""
    estimate = prompt.tokens / speed if speed else None
    return AnswerStage("reading", len(prompt.passages), prompt.tokens, estimate)


def _relevant(passages: Sequence[Passage], threshold: float) -> bool:
    return any((p.dense_score or 0.0) >= threshold for p in passages)
