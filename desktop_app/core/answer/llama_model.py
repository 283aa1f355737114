"""A GGUF model run in this process by llama.cpp, through llama-cpp-python's C API."""

from __future__ import annotations

import codecs
import ctypes
import functools
import logging
import re
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from desktop_app.core.answer.chat_template import budgeted_formatter, render_chat
from desktop_app.core.answer.llm import ChatMessage
from desktop_app.core.errors import BackendError
from desktop_app.core.models.engine_check import EngineChecks, EngineConfig
from desktop_app.core.models.hardware import usable_cores
from desktop_app.core.models.llama_runtime import capture_llama_log, model_defaults

__all__ = ["LlamaCppModel", "describe_placement"]

log = logging.getLogger(__name__)


class LlamaCppModel:
    """A GGUF model run by llama.cpp, offloaded to the GPU as far as it fits.

    Generation runs its own token loop on llama.cpp's C API instead of llama-cpp-python's
    `create_completion`: greedy picks read the logits in place (no copy per token), the next
    token's forward pass is queued before the previous token is turned into text, so Python's
    per-token work overlaps the GPU's, and the prompt's common prefix with the last one stays in
    the KV cache (a follow-up question evaluates only its new tokens).

    With every layer on the GPU, a sampled answer (temperature > 0) cuts the logits to the
    top 40 candidates there, beside them (llama.cpp's backend sampling): only those come back to
    the CPU, where the rest of the chain runs, not the vocabulary's logits. `device_sampling`
    can say otherwise: "chain" (the whole chain beside the logits, wherever they are), "top_k"
    (only the cut there) or "off"; "auto" is "top_k" with every layer on the GPU and "off"
    otherwise (on an H100 the cut alone decoded 2-14% faster than the whole chain there).

    Before the first load of a model on this machine, `EngineChecks` proves in a child process
    that llama.cpp decodes it (and falls back to safer CPU code when it crashes); `engine`
    skips that and loads with the configuration given, as the probe child itself does.
    """

    def __init__(self, path: Path, context_size: int = 4096, gpu_layers: int = -1,
                 threads: int | None = None, engine: EngineConfig | None = None,
                 checks: EngineChecks | None = None) -> None:
        self.name = path.stem
        self._path = path
        self._requested_context = context_size
        self._gpu_layers = gpu_layers
        # Threads for the CPU's share of the work: as given, else, before each answer, the
        # cores that are idle then (a busy core makes llama.cpp's threads wait on it).
        self._fixed_threads = threads
        self._threads = threads or usable_cores()
        self.threads_used = self._threads  # for the last answer
        self._llm: Any = None
        self._placement = "not loaded"
        self._cached: list[int] = []  # the tokens whose keys and values are in the KV cache
        # The last prompt's length in tokens, and how many of them the KV cache already held.
        self.last_prompt: tuple[int, int] = (0, 0)
        self._prompt_speed: float | None = None  # tokens/s of the last long prompt
        self._formatter: Any = None
        self._engine = engine
        self._checks = checks
        self._all_on_gpu = False
        self.last_sampling = "greedy"  # where the last answer's tokens were picked

    device_sampling = "auto"

    @property
    def loaded(self) -> bool:
        return self._llm is not None

    def warm_up(self) -> None:
        if self._llm is not None:
            return
        if not self._path.is_file():
            raise BackendError(f"model file not found: {self._path}")
        from desktop_app.core.models.hardware import build_offloads
        from desktop_app.core.models.llama_runtime import load_llama, loaded_variant

        config, note = ((self._engine, "") if self._engine is not None else
                        (self._checks or EngineChecks()).ensure(self._path, self._gpu_layers))
        load_llama(config.variant)
        offload = build_offloads()
        layers, planned = self._planned_layers(offload)
        gpu = offload and layers != 0
        try:
            self._llm, log_text = self._load(layers, gpu, config.extra_buffers)
        except Exception as exc:  # llama.cpp load failures come as ValueError etc.
            if not gpu:
                raise BackendError(f"could not load the model {self._path.name}: {exc}") from exc
            log.warning("loading %s on the GPU failed (%s); loading on the CPU", self.name, exc)
            try:
                self._llm, log_text = self._load(0, False, config.extra_buffers)
            except Exception as cpu_exc:
                raise BackendError(f"could not load the model {self._path.name}: {cpu_exc}") \
                    from cpu_exc
            layers, planned = 0, "loading on the GPU failed, so it runs on the CPU"
        variant = loaded_variant()
        found = _OFFLOADED.search(log_text)
        self._all_on_gpu = gpu and found is not None and found.group(1) == found.group(2)
        self._placement = describe_placement(log_text, offload, layers, planned) + (
            f"; CPU code {variant.name}" if variant else "") + (f" ({note})" if note else "")
        self._formatter = self._chat_formatter()
        log.info("model %s loaded: %s", self.name, self._placement)

    def _planned_layers(self, offload: bool) -> tuple[int, str]:
        """Layers to offload: the setting, or (-1) as many as the free VRAM holds."""
        if not offload or self._gpu_layers != -1:
            return (self._gpu_layers if offload else 0), ""
        from desktop_app.core.models.gguf_file import read_gguf
        from desktop_app.core.models.hardware import detect_hardware
        from desktop_app.core.models.model_manager import file_placement

        hardware = detect_hardware()
        if hardware.usable_gpu is None:  # a GPU backend whose memory we cannot read: try all
            return -1, ""
        plan = file_placement(read_gguf(self._path), self._requested_context, hardware)
        if plan.full_offload:
            return -1, ""
        return plan.gpu_layers, "not enough free VRAM" if plan.gpu_layers else "no room on the GPU"

    def _load(self, layers: int, gpu: bool, extra_buffers: bool) -> tuple[Any, str]:
        import llama_cpp

        self.threads_used = self._threads  # what a new context starts with
        with capture_llama_log() as lines, model_defaults(use_extra_bufts=extra_buffers):
            llm = llama_cpp.Llama(
                model_path=str(self._path), n_ctx=self._requested_context, n_gpu_layers=layers,
                n_threads=self._threads, n_batch=2048 if gpu else 512, n_ubatch=512,
                flash_attn=gpu, verbose=False,
            )
        return llm, "".join(lines)

    def _chat_formatter(self) -> Any:
        template = self._llm.metadata.get("tokenizer.chat_template")
        if not template:
            return None
        def text(token: int) -> str:
            return str(self._llm._model.token_get_text(token)) if token != -1 else ""

        import jinja2

        try:
            return budgeted_formatter(template, text(self._llm.token_eos()), text(self._llm.token_bos()))
        except jinja2.TemplateError as exc:
            raise BackendError(f"the chat template inside {self._path.name} cannot be read "
                               f"({type(exc).__name__}: {exc}); choose another model or file") from exc

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
        return self._formatter is not None

    def count_tokens(self, text: str) -> int:
        return len(self.tokenize(text))

    def tokenize(self, text: str, add_bos: bool = False) -> list[int]:
        self.warm_up()
        return list(self._llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True))

    def stream(
        self, messages: Sequence[ChatMessage], max_tokens: int, temperature: float
    ) -> Iterator[str]:
        self.warm_up()
        if self._formatter is not None:
            formatted = render_chat(self._formatter, messages, self._path.name)
            tokens = self._llm.tokenize(formatted.prompt.encode("utf-8"), add_bos=False,
                                        special=True)
            stops: list[str] = []
        else:  # a base model without a chat template: a plain transcript it can continue
            prompt = "\n\n".join(f"{m.role.capitalize()}: {m.content}" for m in messages)
            tokens = self._llm.tokenize((prompt + "\n\nAssistant:").encode("utf-8"),
                                        add_bos=True, special=False)
            stops = ["\nUser:"]
        yield from self.generate(tokens, max_tokens, temperature, stops)

    def generate(self, tokens: Sequence[int], max_tokens: int, temperature: float,
                 stops: Sequence[str] = ()) -> Iterator[str]:
        """Text continuing `tokens`, piece by piece, until end of generation, a stop string,
        `max_tokens` or the end of the context window."""
        import llama_cpp

        self.warm_up()
        room = self.context_size - len(tokens)
        if room <= 0:
            raise BackendError(f"the prompt ({len(tokens)} tokens) fills the whole context window")
        self._choose_threads()
        vocab = llama_cpp.llama_model_get_vocab(self._llm.model)
        ctx = self._llm.ctx
        one = (llama_cpp.llama_token * 1)()
        batch = llama_cpp.llama_batch_get_one(one, 1)  # reads `one` afresh at every decode
        decode, is_eog, to_piece = (llama_cpp.llama_decode, llama_cpp.llama_vocab_is_eog,
                                    llama_cpp.llama_token_to_piece)
        piece = ctypes.create_string_buffer(256)
        text = _StopScanner(stops)
        # Attached before the prompt pass, so the first token is sampled where its logits are.
        where = self.device_sampling
        if where == "auto":
            where = "top_k" if self._all_on_gpu else "off"
        sampler = _Sampler(self._llm, temperature, where)
        self.last_sampling = sampler.where
        try:
            self._evaluate_prompt(list(tokens))
            for _ in range(min(max_tokens, room)):
                token = sampler.sample()
                if is_eog(vocab, token):
                    break
                one[0] = token
                # Queue the next forward pass first: it runs while this token becomes text.
                if decode(ctx, batch) != 0:
                    raise BackendError("llama.cpp could not evaluate the next token")
                self._cached.append(token)
                size = to_piece(vocab, token, piece, 256, 0, False)
                out, stopped = text.feed(piece.raw[:max(size, 0)])
                if out:
                    yield out
                if stopped:
                    return
            rest = text.flush()
            if rest:
                yield rest
        finally:
            sampler.close()

    def _choose_threads(self) -> None:
        """As many threads as cores are idle now (of those this process may use), unless a
        count was given."""
        import llama_cpp

        from desktop_app.core.models.hardware import idle_cores

        threads = self._fixed_threads or min(self._threads, idle_cores())
        if threads != self.threads_used:
            llama_cpp.llama_set_n_threads(self._llm.ctx, threads, threads)
            log.info("llama.cpp on %d thread(s): %d core(s) idle", threads, threads)
            self.threads_used = threads

    def _evaluate_prompt(self, tokens: list[int]) -> None:
        """Run the prompt through the model, reusing the KV cache of a common prefix."""
        import llama_cpp

        ctx = self._llm.ctx
        memory = llama_cpp.llama_get_memory(ctx)
        common = 0
        for cached, new in zip(self._cached, tokens, strict=False):
            if cached != new:
                break
            common += 1
        common = min(common, len(tokens) - 1)  # at least one token is evaluated, for its logits
        if not llama_cpp.llama_memory_seq_rm(memory, 0, common, -1):
            llama_cpp.llama_memory_clear(memory, True)
            common = 0
        self._cached = tokens[:common]
        self.last_prompt = (len(tokens), common)
        started = time.perf_counter()
        batch_size = int(self._llm.n_batch)
        for start in range(common, len(tokens), batch_size):
            chunk = tokens[start:start + batch_size]
            array = (llama_cpp.llama_token * len(chunk))(*chunk)
            if llama_cpp.llama_decode(ctx, llama_cpp.llama_batch_get_one(array, len(chunk))) != 0:
                llama_cpp.llama_memory_clear(memory, True)
                self._cached = []
                raise BackendError("llama.cpp could not evaluate the prompt")
            self._cached.extend(chunk)
        if len(tokens) - common >= 64:  # too short a read says little about the speed
            self._prompt_speed = (len(tokens) - common) / max(1e-6, time.perf_counter() - started)

    @property
    def prompt_speed(self) -> float | None:
        return self._prompt_speed

    def close(self) -> None:
        if self._llm is not None:
            self._llm.close()
            self._llm = None
            self._cached = []


class _Sampler:
    """Picks the next token from the last logits: argmax in place at temperature 0, otherwise
    llama.cpp's own sampler chain. Top-k comes first in that chain: the repeat penalty, top-p
    and min-p then look at 40 candidates instead of the whole vocabulary (150,000 entries for
    some models), which is most of the cost of sampling a token.

    `device` moves the chain ("chain"), or its top-k cut ("top_k"), to where the logits are
    computed (llama.cpp's backend sampling); the tokens it picks follow the same distribution.
    Where llama.cpp cannot move a stage, the chain stays on the CPU."""

    def __init__(self, llm: Any, temperature: float, device: str = "off") -> None:
        self._ctx = llm.ctx
        self._n_vocab = int(llm.n_vocab())
        self._logits_at = 0
        self._logits: Any = None
        self._chain: Any = None
        self._attached: Any = None
        # "greedy", or where the chain runs: "cpu", "top_k" (its cut beside the logits), "chain"
        self.where = "greedy"
        if temperature <= 0:
            return
        self.where = "cpu"
        stages = _chain_stages(self._n_vocab, temperature)
        if device == "top_k":
            cut = _new_chain([stages.pop(0)])
            if _attach(self._ctx, cut):
                self._attached, self.where = cut, "top_k"
            else:
                stages.insert(0, _top_k())  # the cut was not taken: it happens here instead
                _free(cut)
        self._chain = _new_chain(stages)
        if device == "chain" and _attach(self._ctx, self._chain):
            self._attached, self.where = self._chain, "chain"

    def sample(self) -> int:
        import llama_cpp

        if self._chain is not None:
            return int(llama_cpp.llama_sampler_sample(self._chain, self._ctx, -1))
        address = ctypes.cast(llama_cpp.llama_get_logits_ith(self._ctx, -1), ctypes.c_void_p).value
        if address != self._logits_at:  # the output buffer moved: view it anew (no copy)
            if not address:
                raise BackendError("llama.cpp returned no logits")
            import numpy as np

            self._logits = np.ctypeslib.as_array(
                (ctypes.c_float * self._n_vocab).from_address(address))
            self._logits_at = address
        return int(self._logits.argmax())

    def close(self) -> None:
        if self._attached is not None:
            _attach(self._ctx, None)  # before freeing: the context holds the chain
            if self._attached is not self._chain:
                _free(self._attached)
            self._attached = None
        if self._chain is not None:
            _free(self._chain)
            self._chain = None


def _top_k() -> Any:
    import llama_cpp

    return llama_cpp.llama_sampler_init_top_k(40)


def _chain_stages(n_vocab: int, temperature: float) -> list[Any]:
    import llama_cpp

    return [_top_k(),
            llama_cpp.llama_sampler_init_penalties(n_vocab, 64, 1.15, 0.0, 0.0),
            llama_cpp.llama_sampler_init_top_p(0.95, 1),
            llama_cpp.llama_sampler_init_min_p(0.05, 1),
            llama_cpp.llama_sampler_init_temp(temperature),
            llama_cpp.llama_sampler_init_dist(0xFFFFFFFF)]


def _new_chain(stages: list[Any]) -> Any:
    import llama_cpp

    params = llama_cpp.llama_sampler_chain_default_params()
    params.no_perf = True
    chain = llama_cpp.llama_sampler_chain_init(params)
    for stage in stages:
        llama_cpp.llama_sampler_chain_add(chain, stage)  # the chain owns its stages
    return chain


def _free(chain: Any) -> None:
    import llama_cpp

    llama_cpp.llama_sampler_free(chain)


def _attach(ctx: Any, chain: Any) -> bool:
    """Run `chain` (None: none) inside llama.cpp's graph for sequence 0; False where llama.cpp
    cannot."""
    set_sampler = _set_sampler()
    return set_sampler is not None and bool(set_sampler(ctx, 0, chain))


@functools.cache
def _set_sampler() -> Any:
    """llama.cpp's experimental `llama_set_sampler`, which llama-cpp-python does not bind; None
    in a llama.cpp without it."""
    import llama_cpp

    function = getattr(llama_cpp.llama_cpp._lib, "llama_set_sampler", None)
    if function is not None:
        function.argtypes = [llama_cpp.llama_context_p_ctypes, ctypes.c_int32,
                             llama_cpp.llama_sampler_p_ctypes]
        function.restype = ctypes.c_bool
    return function


class _StopScanner:
    """Turns token bytes into text (a character split over tokens waits for its last byte) and
    holds back what could be the start of a stop string."""

    def __init__(self, stops: Sequence[str]) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._stops = [s for s in stops if s]
        self._hold = max((len(s) for s in self._stops), default=1) - 1
        self._pending = ""

    def feed(self, data: bytes) -> tuple[str, bool]:
        self._pending += self._decoder.decode(data)
        for stop in self._stops:
            at = self._pending.find(stop)
            if at >= 0:
                out, self._pending = self._pending[:at], ""
                return out, True
        cut = len(self._pending) - self._hold
        if cut <= 0:
            return "", False
        out, self._pending = self._pending[:cut], self._pending[cut:]
        return out, False

    def flush(self) -> str:
        out, self._pending = self._pending + self._decoder.decode(b"", final=True), ""
        return out


_OFFLOADED = re.compile(r"offloaded (\d+)/(\d+) layers to GPU")
_BUFFER = re.compile(r"(\w+) model buffer size\s*=\s*([\d.]+) MiB")


def describe_placement(log_text: str, offload: bool, requested: int, reason: str = "") -> str:
    """Where the model runs, in words, from llama.cpp's own load report."""
    if not offload:
        return "CPU only: this build of llama.cpp has no GPU support"
    if requested == 0:
        return f"CPU: {reason}" if reason else "CPU (GPU offload turned off)"
    found = _OFFLOADED.search(log_text)
    if not found:
        return "GPU (llama.cpp did not report the layer count)"
    done, total = int(found.group(1)), int(found.group(2))
    devices = [name for name, _ in _BUFFER.findall(log_text)
               if not name.upper().startswith("CPU")]
    where = f"{done}/{total} layers on {devices[0] if devices else 'GPU'}"
    if done == 0:
        return "CPU: " + (reason or "no layer was offloaded")
    return f"{reason}, {where}" if reason else where
