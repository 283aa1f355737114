"""Turn a conversation into Markdown for the answer view, with [n] markers as links."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Turn", "conversation_markdown", "passage_html"]

_MARKER = re.compile(r"\[(\d+)\]")


@dataclass(slots=True)
class Turn:
    role: str  # "user" | "assistant"
    text: str
    citations: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""  # "stopped", "not found in your documents", ...


def conversation_markdown(turns: list[Turn]) -> str:
    parts = []
    for index, turn in enumerate(turns):
        if turn.role == "user":
            parts.append(f"**You:** {_escape(turn.text)}")
            continue
        cited = {c["n"] for c in turn.citations}
        body = _MARKER.sub(
            lambda m: f"[\\[{m.group(1)}\\]](cite:{index}:{m.group(1)})" if int(m.group(1)) in cited
            else m.group(0), turn.text)
        parts.append(body or "…")
        if turn.note:
            parts.append(f"*{turn.note}*")
    return "\n\n---\n\n".join(parts) if parts else ""


def passage_html(citation: dict[str, Any]) -> str:
    """The passage text with the supporting span highlighted."""
    text: str = citation["text"]
    span = citation.get("highlight")
    if span:
        start, end = span
        body = (_html(text[:start]) + "<span style='background-color:#ffe58a; color:#000'>"
                + _html(text[start:end]) + "</span>" + _html(text[end:]))
    else:
        body = _html(text)
    return f"<p style='white-space:pre-wrap'>{body}</p>"


def _escape(text: str) -> str:
    return re.sub(r"([\\`*_{}\[\]<>#|])", r"\\\1", text)


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
