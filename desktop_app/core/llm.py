"""Language models: the Protocol, llama.cpp through llama-cpp-python, and a scripted fake."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from .errors import BackendError

__all__ = ["ChatMessage", "LanguageModel", "LlamaCppModel", "ScriptedModel"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: str  # "system" | "user" | "assistant"
    content: str


class LanguageModel(Protocol):
    """Generates text from chat messages.

    `context_size` is the window in tokens, prompt and answer together; `count_tokens` counts
    with the model's own tokenizer. `stream` yields pieces of text as they are generated;
    closing the iterator stops generation. `warm_up` loads the weights; it is idempotent.
    `placement` says where the model runs ("CPU", "32/32 layers on GPU").
    """

    name: str

    @property
    def context_size(self) -> int: ...

    @property
    def placement(self) -> str: ...

    def warm_up(self) -> None: ...

    def count_tokens(self, text: str) -> int: ...

    def stream(
        self, messages: Sequence[ChatMessage], max_tokens: int, temperature: float
    ) -> Iterator[str]: ...


class LlamaCppModel:
    """A GGUF model run by llama.cpp; all layers on the GPU when the build supports it."""

    def __init__(self, path: Path, context_size: int = 4096, gpu_layers: int = -1,
                 threads: int | None = None) -> None:
        self.name = path.stem
        self._path = path
        self._requested_context = context_size
        self._gpu_layers = gpu_layers
        self._threads = threads or max(1, (os.cpu_count() or 2))
        self._llm: Any = None
        self._placement = "not loaded"

    def warm_up(self) -> None:
        if self._llm is not None:
            return
        if not self._path.is_file():
            raise BackendError(f"model file not found: {self._path}")
        try:
            import llama_cpp

            offload = llama_cpp.llama_supports_gpu_offload()
            layers = self._gpu_layers if offload else 0
            self._llm = llama_cpp.Llama(
                model_path=str(self._path), n_ctx=self._requested_context, n_gpu_layers=layers,
                n_threads=self._threads, verbose=False,
            )
        except Exception as exc:  # noqa: BLE001 - llama.cpp load failures come as ValueError etc.
            raise BackendError(f"could not load the model {self._path.name}: {exc}") from exc
        total = int(self._llm.metadata.get(f"{self._architecture()}.block_count", 0) or 0)
        if not offload:
            self._placement = "CPU only: this build of llama.cpp has no GPU support"
        elif layers == 0:
            self._placement = "CPU (GPU offload turned off)"
        else:
            on_gpu = total if layers < 0 else min(layers, total)
            self._placement = f"{on_gpu}/{total} layers on GPU"
        log.info("model %s loaded: %s", self.name, self._placement)

    def _architecture(self) -> str:
        return str(self._llm.metadata.get("general.architecture", "llama"))

    @property
    def context_size(self) -> int:
        self.warm_up()
        return int(self._llm.n_ctx())

    @property
    def placement(self) -> str:
        return self._placement

    @property
    def has_chat_template(self) -> bool:
        self.warm_up()
        return "tokenizer.chat_template" in self._llm.metadata

    def count_tokens(self, text: str) -> int:
        self.warm_up()
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def stream(
        self, messages: Sequence[ChatMessage], max_tokens: int, temperature: float
    ) -> Iterator[str]:
        self.warm_up()
        if self.has_chat_template:
            chunks = self._llm.create_chat_completion(
                messages=[{"role": m.role, "content": m.content} for m in messages],
                max_tokens=max_tokens, temperature=temperature, stream=True, repeat_penalty=1.15,
            )
            for chunk in chunks:
                piece = chunk["choices"][0]["delta"].get("content")
                if piece:
                    yield piece
            return
        # A base model without a chat template: a plain transcript it can continue.
        prompt = "\n\n".join(f"{m.role.capitalize()}: {m.content}" for m in messages) + "\n\nAssistant:"
        for chunk in self._llm.create_completion(
            prompt, max_tokens=max_tokens, temperature=temperature, stream=True, stop=["\nUser:"]
        ):
            piece = chunk["choices"][0]["text"]
            if piece:
                yield piece

    def close(self) -> None:
        if self._llm is not None:
            self._llm.close()
            self._llm = None


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
