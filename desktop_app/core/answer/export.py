"""A chat thread as Markdown: each question, its answer, and under the answer every passage it
cites (document, page, and the quoted words that support it)."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

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
        for citation in (c for c in message.citations if c.get("cited", True)):
            lines += [f"[{citation.get('n')}] {_where(citation)}", "", *_quote(citation), ""]
    return "\n".join(lines).rstrip() + "\n"


def _where(citation: dict[str, Any]) -> str:
    name = PurePath(str(citation.get("document", "")).replace("\\", "/")).name
    return name + (f", page {citation['page']}" if citation.get("page") is not None else "")


def _quote(citation: dict[str, Any]) -> list[str]:
    text = str(citation.get("text", ""))
    span = citation.get("highlight")
    if span:
        text = text[int(span[0]):int(span[1])]
    elif len(text) > _QUOTE_CHARS:
        text = text[:_QUOTE_CHARS].rsplit(" ", 1)[0] + " …"
    return [f"> {line}" if line else ">" for line in text.strip().splitlines()]
