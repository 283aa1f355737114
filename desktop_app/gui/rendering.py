"""Turn a conversation into Markdown for the answer view, with [n] markers as links."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from desktop_app.core import Source

__all__ = ["Turn", "conversation_markdown", "passage_html"]

_MARKER = re.compile(r"\[(\d+)\]")


@dataclass(slots=True)
class Turn:
    role: str  # "user" | "assistant"
    text: str
    citations: list[Source] = field(default_factory=list)
    note: str = ""  # "stopped", "not found in your documents", ...


def conversation_markdown(turns: list[Turn], actions: bool = False) -> str:
    """The conversation; with `actions`, each answer offers Copy, and the last one also
    Regenerate and Edit question (links copy:N, regenerate:N, edit:N)."""
    parts = []
    for index, turn in enumerate(turns):
        if turn.role == "user":
            parts.append(f"**You:** {_escape(turn.text)}")
            continue
        cited = {c.n for c in turn.citations if c.cited}
        parts.append(_link_markers(turn.text, index, cited) or "…")
        if turn.note:
            parts.append(f"*{turn.note}*")
        if actions and turn.text:
            links = [f"[Copy](copy:{index})"]
            if index == len(turns) - 1:
                links += [f"[Regenerate](regenerate:{index})", f"[Edit question](edit:{index})"]
            parts.append(" · ".join(links))
    return "\n\n---\n\n".join(parts) if parts else ""


def _link_markers(text: str, turn: int, cited: set[int]) -> str:
    """[n] becomes a link cite:TURN:N when the answer really cites passage n."""

    def link(match: re.Match[str]) -> str:
        n = match.group(1)
        return f"[\\[{n}\\]](cite:{turn}:{n})" if int(n) in cited else match.group(0)

    return _MARKER.sub(link, text)


def passage_html(source: Source) -> str:
    """The passage text with the supporting span highlighted."""
    text = source.text
    if source.highlight:
        start, end = source.highlight
        body = (_html(text[:start]) + "<span style='background-color:#ffe58a; color:#000'>"
                + _html(text[start:end]) + "</span>" + _html(text[end:]))
    else:
        body = _html(text)
    return f"<p style='white-space:pre-wrap'>{body}</p>"


def _escape(text: str) -> str:
    return re.sub(r"([\\`*_{}\[\]<>#|])", r"\\\1", text)


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
