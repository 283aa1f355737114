"""A chat thread as Markdown: each question, its answer, and under the answer every passage it
cites (document, page, and the quoted words that support it)."""

from __future__ import annotations

from pathlib import PurePath

from desktop_app.core.records import Source
from desktop_app.core.storage.history import Message, Thread

__all__ = ["thread_markdown"]

_QUOTE_CHARS = 600  # a whole passage when nothing in it is marked as the support


def thread_markdown(thread: Thread, messages: list[Message]) -> str:
    lines = [f"# {thread.title}", ""]
    for message in messages:
        if message.role == "user":
            lines += [f"**Question:** {message.content}", ""]
            continue
        lines += [message.content, ""]
        for source in (s for s in message.citations if s.cited):
            lines += [f"[{source.n}] {_where(source)}", "", *_quote(source), ""]
    return "\n".join(lines).rstrip() + "\n"


def _where(source: Source) -> str:
    name = PurePath(source.document.replace("\\", "/")).name
    return name + (f", page {source.page}" if source.page is not None else "")


def _quote(source: Source) -> list[str]:
    text = source.supporting_text
    if not source.highlight and len(text) > _QUOTE_CHARS:
        text = text[:_QUOTE_CHARS].rsplit(" ", 1)[0] + " …"
    return [f"> {line}" if line else ">" for line in text.strip().splitlines()]
