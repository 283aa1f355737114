"""Proof that llama.cpp decodes on this machine, and the safer configurations when it does not.

The first time a model is loaded with a given build on a given CPU, a child process loads it
and decodes a few tokens. If that child dies on a signal (native code crashed: an instruction
the CPU lacks, a faulty repacked-weights path) only the child is lost, and the next step of the
ladder is tried:

    1. the best CPU variant for this CPU, with llama.cpp's extra buffer types (weight repacking,
       AMX on Intel Xeons that have it)
    2. the same variant, extra buffer types off
    3. the most basic CPU variant of the build (x86-64 baseline), extra buffer types off

The step that works is remembered per build and CPU in `engine-checks.json` in the app's cache
folder, with the reason, and named where the model's placement is reported. A crash of the
engine during real use moves the machine one step down (`record_crash`), so the next start uses
the safer configuration instead of crashing again; past the last step there is nothing left to
try and the person is told so.

The window's engine is a child process, so the window sees its signal. A process that runs
llama.cpp itself (the command line) cannot see its own death: it arms Python's fault handler to
write every thread's stack into `engine-crash-PID.txt` beside the record
(`arm_crash_record`), and the next start reads what a dead process left (`collect_crashes`):
a fatal signal while a llama.cpp frame was on a stack steps down once and is said once.
"""

from __future__ import annotations

import atexit
import faulthandler
import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from desktop_app.core.errors import BackendError
from desktop_app.core.models.llama_runtime import (
    build_id,
    cpu_id,
    cpu_name,
    cpu_variants,
    load_llama,
    loaded_variant,
)
from desktop_app.core.paths import resolve_cache_dir

__all__ = ["EngineChecks", "EngineConfig", "ProbeCommand", "describe_exit", "llama",
           "probe_command"]

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 300
CRASH_FILE_PREFIX = "engine-crash-"
# What Python's fault handler writes first for each fatal signal it catches.
_FATAL_SIGNALS = {"Segmentation fault": "SIGSEGV", "Illegal instruction": "SIGILL",
                  "Bus error": "SIGBUS", "Floating-point exception": "SIGFPE",
                  "Aborted": "SIGABRT"}
_LLAMA_FRAME = re.compile(r'File "[^"]*llama[^"]*"')
ProbeCommand = Callable[[Path, "EngineConfig", int], list[str]]


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """How llama.cpp is loaded: which CPU variant (None: the best here) and whether it may
    repack weights into its extra buffer types."""

    variant: str | None = None
    extra_buffers: bool = True

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EngineConfig:
        return cls(data.get("variant"), bool(data.get("extra_buffers", True)))


def ladder() -> list[EngineConfig]:
    """The configurations to try, safest last (a build without variants has two steps)."""
    variants = cpu_variants()
    steps = [EngineConfig(None, True), EngineConfig(None, False)]
    if len(variants) > 1:
        steps.append(EngineConfig(variants[-1].name, False))
    return steps


def describe_step(config: EngineConfig) -> str:
    """What a step gives up, in words: '' for the first."""
    if config.variant is not None:
        return f"basic CPU code ({config.variant}), weight repacking off"
    if not config.extra_buffers:
        best = cpu_variants()[0].name
        return f"{'AMX ' if 'sapphirerapids' in best else ''}weight repacking off"
    return ""


def describe_exit(code: int) -> str:
    """A child's exit status in words: 'SIGSEGV', 'exit 1'."""
    if code < 0:
        try:
            return signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
    if code >= 0xC0000000:  # a Windows exception code: 0xC0000005 is an access violation
        return f"exception 0x{code:08X}"
    return f"exit {code}"


def crashed(code: int) -> bool:
    """Whether a child died in native code (a signal, or a Windows exception), not by exiting."""
    return code < 0 or code >= 0xC0000000


def probe_command(model: Path, config: EngineConfig, gpu_layers: int) -> list[str]:
    """The app itself, run as `--engine-probe`: the frozen executable, or this Python."""
    app = [sys.executable] if getattr(sys, "frozen", False) else [sys.executable, "-m", "desktop_app"]
    return [*app, "--engine-probe", str(model), json.dumps(config.to_json()), str(gpu_layers)]


class EngineChecks:
    """What is known about running llama.cpp on this machine, kept in one small JSON file."""

    def __init__(self, path: Path | None = None, probe: ProbeCommand = probe_command) -> None:
        self.path = path or resolve_cache_dir() / "engine-checks.json"
        self._probe = probe
        self._lock = threading.Lock()

    def key(self) -> str:
        return f"{build_id()}/{cpu_id()}"

    def current(self) -> tuple[EngineConfig, str]:
        """The configuration to load with, and why it is not the first step ('' when it is)."""
        return _config_of(self._entry())

    def ensure(self, model: Path, gpu_layers: int) -> tuple[EngineConfig, str]:
        """The configuration proven to decode `model` here, probing first if it never was."""
        self.collect_crashes()  # a command line that died in llama.cpp steps this load down too
        with self._lock:
            entry = self._entry()
            config, reason = _config_of(entry)
            if _model_key(model) in entry.get("proven", []):
                return config, reason
            steps = ladder()
            start = steps.index(config) if config in steps else 0
            crash = "recorded earlier"
            for step in steps[start:]:
                code, output = self._run_probe(model, step, gpu_layers)
                if code == 0:
                    if step != config:
                        reason = f"{describe_step(step)}: it crashed on this machine ({crash})"
                    self._remember(step, reason, model)
                    return step, reason
                if not crashed(code):  # a load error, not a crash: the real load reports it
                    log.warning("engine probe for %s ended with %s: %s", model.name,
                                describe_exit(code), output[-500:])
                    return config, reason
                crash = describe_exit(code)
                log.warning("llama.cpp crashed (%s) decoding %s with %s; trying a safer "
                            "configuration", crash, model.name, step)
        raise BackendError(f"llama.cpp crashed on this CPU ({cpu_name()}) in every configuration "
                           f"the app can use, the most basic CPU code included; the model "
                           f"{model.name} cannot run here")

    def record_crash(self, code: int) -> str:
        """The engine died on a signal while using llama.cpp: step down once. Returns what the
        person is told."""
        with self._lock:
            config, _ = self.current()
            steps = ladder()
            at = steps.index(config) if config in steps else 0
            if at + 1 >= len(steps):
                return (f"llama.cpp crashed ({describe_exit(code)}) even with the most basic CPU "
                        f"code; there is no safer configuration left on this machine")
            safer = steps[at + 1]
            reason = f"{describe_step(safer)}: it crashed on this machine ({describe_exit(code)})"
            self._remember(safer, reason, None, reset=True)
            return (f"llama.cpp crashed ({describe_exit(code)}); from now on it runs with "
                    f"{describe_step(safer)}")

    def arm_crash_record(self) -> Path:
        """For a process that runs llama.cpp itself: should native code kill it, Python's fault
        handler writes every thread's stack into a file the next start reads. A clean exit
        removes the file."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        path = self.path.parent / f"{CRASH_FILE_PREFIX}{os.getpid()}.txt"
        record = path.open("w", encoding="utf-8")
        faulthandler.enable(record, all_threads=True)
        atexit.register(_disarm, record, path)
        return path

    def collect_crashes(self) -> str:
        """Read what processes that died since the last look left behind: one that died on a
        fatal signal with llama.cpp on a stack steps the machine down once. Returns what to tell
        the person ('' when nothing happened)."""
        import psutil

        told = []
        for path in sorted(self.path.parent.glob(f"{CRASH_FILE_PREFIX}*.txt")):
            pid = path.stem.removeprefix(CRASH_FILE_PREFIX)
            if not pid.isdigit() or int(pid) == os.getpid() or psutil.pid_exists(int(pid)):
                continue  # still running, or not a record
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
                path.unlink()
            except OSError:  # another process collected it first
                continue
            code = _fatal_code(text)
            if code is not None and _LLAMA_FRAME.search(text):
                log.error("an earlier run died in llama.cpp (%s)", describe_exit(code))
                told.append(self.record_crash(code))
        return "; ".join(told)

    def _run_probe(self, model: Path, config: EngineConfig, gpu_layers: int) -> tuple[int, str]:
        command = self._probe(model, config, gpu_layers)
        try:
            done = subprocess.run(command, capture_output=True, text=True, errors="replace",
                                  timeout=PROBE_TIMEOUT_S, env=os.environ.copy())
        except subprocess.TimeoutExpired:
            return 1, f"no answer within {PROBE_TIMEOUT_S} s"
        return done.returncode, done.stdout + done.stderr

    def _remember(self, config: EngineConfig, reason: str, model: Path | None,
                  reset: bool = False) -> None:
        data = self._read()
        entry = data.setdefault(self.key(), {})
        if reset or EngineConfig.from_json(entry.get("config", {})) != config:
            entry["proven"] = []
        entry.update(config=config.to_json(), reason=reason, cpu=cpu_name())
        if model is not None:
            entry.setdefault("proven", []).append(_model_key(model))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".partial")
        partial.write_text(json.dumps(data, indent=1), encoding="utf-8")
        os.replace(partial, self.path)

    def _entry(self) -> dict[str, Any]:
        """What is known for this build and CPU."""
        entry = self._read().get(self.key(), {})
        return entry if isinstance(entry, dict) else {}

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):  # never written, or damaged: nothing is known
            return {}
        return data if isinstance(data, dict) else {}


def llama() -> ModuleType:
    """`llama_cpp` loaded with the CPU variant this machine is known to run (the best, unless
    a crash said otherwise): what everything but a probe should use. Once a variant is loaded
    in this process there is nothing left to decide: that one it is."""
    if loaded_variant() is not None:
        return load_llama()
    return load_llama(EngineChecks().current()[0].variant)


def _fatal_code(record: str) -> int | None:
    """The exit status a parent would have seen for the death a fault record describes."""
    if "Windows fatal exception: access violation" in record:
        return 0xC0000005
    for words, name in _FATAL_SIGNALS.items():
        if f"Fatal Python error: {words}" in record and hasattr(signal, name):
            return -int(getattr(signal, name))
    return None


def _disarm(record: Any, path: Path) -> None:
    """A clean exit: nothing crashed, so no record is left."""
    faulthandler.disable()
    record.close()
    path.unlink(missing_ok=True)


def _config_of(entry: dict[str, Any]) -> tuple[EngineConfig, str]:
    return EngineConfig.from_json(entry.get("config", {})), str(entry.get("reason", ""))


def _model_key(model: Path) -> str:
    try:
        size = model.stat().st_size
    except OSError:
        size = 0
    return f"{model.name}:{size}"


def run_probe(argv: Sequence[str]) -> int:
    """The child's side (`--engine-probe MODEL CONFIG GPU_LAYERS`): load, decode, report."""
    from desktop_app.core.answer.llama_model import LlamaCppModel

    model, config, gpu_layers = Path(argv[0]), EngineConfig.from_json(json.loads(argv[1])), int(argv[2])
    llm = LlamaCppModel(model, context_size=512, gpu_layers=gpu_layers, engine=config)
    try:
        llm.warm_up()
        tokens = llm.tokenize("The capital of France is", add_bos=True)
        text = "".join(llm.generate(tokens, 4, 0.0))
    except BackendError as exc:
        print(f"probe failed: {exc}", file=sys.stderr)
        return 1
    finally:
        llm.close()
    print(json.dumps({"placement": llm.placement, "text": text}))
    return 0
