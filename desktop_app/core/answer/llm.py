"""Language models: the Protocol every model meets, and a scripted fake for tests."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = ["ChatMessage", "LanguageModel", "ScriptedModel"]


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: str  # "system" | "user" | "assistant"
    content: str


class LanguageModel(Protocol):
    """Generates text from chat messages.

    `context_size` is the window in tokens, prompt and answer together; `count_tokens` counts
    with the model's own tokenizer. `stream` yields pieces of text as they are generated;
    closing the iterator stops generation. `warm_up` loads the weights; it is idempotent, and
    `loaded` says whether it has anything left to do (a person is told the model is loading).
    `placement` says where the model runs ("CPU", "32/32 layers on GPU"). `prompt_speed` is
    how many prompt tokens a second it read last time (None before the first, or when it
    cannot be measured), for the time a person is told to expect.
    """

    name: str

    @property
    def context_size(self) -> int: ...

    @property
    def placement(self) -> str: ...

    @property
    def prompt_speed(self) -> float | None: ...

    @property
    def loaded(self) -> bool: ...

    def warm_up(self) -> None: ...

    def count_tokens(self, text: str) -> int: ...

    def stream(
        self, messages: Sequence[ChatMessage], max_tokens: int, temperature: float
    ) -> Iterator[str]: ...


class ScriptedModel:
    """A fake that answers from the prompt deterministically: it quotes passage [1], cited.

    When the prompt holds no passages it declines. For unit tests of the answering logic.
    """

    name = "scripted"

    def __init__(self, context_size: int = 2048, reply: str | None = None) -> None:
        self._context = context_size
        self._reply = reply
        self.prompts: list[list[ChatMessage]] = []

    @property
    def context_size(self) -> int:
        return self._context

    @property
    def placement(self) -> str:
        return "CPU"

    @property
    def prompt_speed(self) -> float | None:
        return None

    @property
    def loaded(self) -> bool:
        return True

    def warm_up(self) -> None:
        return None

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def stream(
        self, messages: Sequence[ChatMessage], max_tokens: int, temperature: float
    ) -> Iterator[str]:
        self.prompts.append(list(messages))
        reply = self._reply if self._reply is not None else self._quote_first(messages[-1].content)
        for word in reply.split(" ")[:max_tokens]:
            yield word + " "

    @staticmethod
    def _quote_first(prompt: str) -> str:
        for line in prompt.splitlines():
            if line.startswith("[1]"):
                sentence = line.split(":", 1)[-1].strip().split(". ")[0].rstrip(".")
                return f"{sentence} [1]."
        return "The documents do not contain the answer."
