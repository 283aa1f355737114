"""The llama.cpp library in use: its CPU variants, the backends loaded before any model, and
the identities (build, CPU) under which a working configuration is remembered.

A portable build (`GGML_BACKEND_DL` with `GGML_CPU_ALL_VARIANTS`) ships one CPU backend per
instruction-set level (`libggml-cpu-x64.so` ... `libggml-cpu-sapphirerapids.so`). Each carries
a `ggml_backend_score()` that runs on any CPU and says how well the variant fits this one (0: it
cannot run here). llama.cpp would pick the best variant itself, but only from the folder of the
executable (Python's, here) or the working directory, so the app loads them from the package's
own library folder, and it can choose a lesser variant when the best one crashed on this machine.

A build without variants (native, or macOS) has its CPU code linked in; it is reported as the
variant "built-in". Backends can be loaded once per process: the first `load_llama()` decides.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import importlib.util
import logging
import os
import platform
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from desktop_app.core.errors import BackendError

__all__ = ["BUILT_IN", "CpuVariant", "build_id", "capture_llama_log", "cpu_flags", "cpu_id", "cpu_name",
           "cpu_variants", "library_dir", "load_llama", "loaded_variant", "model_defaults"]

log = logging.getLogger(__name__)

BUILT_IN = "built-in"  # the CPU code is part of libggml itself: there is nothing to choose
_PREFIX, _SUFFIX = {"win32": ("ggml-", ".dll"), "darwin": ("libggml-", ".so")}.get(
    sys.platform, ("libggml-", ".so"))
_lock = threading.Lock()
_loaded: CpuVariant | None = None


@dataclass(frozen=True, slots=True)
class CpuVariant:
    """One CPU backend of the build: its name ("haswell"), file and fit for this CPU."""

    name: str
    path: Path | None
    score: int


def library_dir() -> Path:
    """The folder of the llama.cpp library in use, found without loading it: llama-cpp-python's
    own, or the one LLAMA_CPP_LIB_PATH names (the binding loads from there too)."""
    override = os.environ.get("LLAMA_CPP_LIB_PATH")
    if override:
        return Path(override)
    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or not spec.submodule_search_locations:
        raise BackendError("llama.cpp (llama-cpp-python) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "lib"


def cpu_variants(folder: Path | None = None) -> list[CpuVariant]:
    """The CPU variants in the build, best for this CPU first; those that cannot run here are
    left out. A build without variants gives one entry, "built-in"."""
    return list(_variants_in(folder or library_dir()))


@functools.cache
def _variants_in(folder: Path) -> tuple[CpuVariant, ...]:
    """Asked once per process: neither the build nor the CPU changes while it runs."""
    files = sorted(folder.glob(f"{_PREFIX}cpu-*{_SUFFIX}"))
    if not files:
        return (CpuVariant(BUILT_IN, None, 1),)
    found = []
    for path in files:
        score = _score(path)
        if score > 0:
            found.append(CpuVariant(path.name[len(_PREFIX) + 4:-len(_SUFFIX)], path, score))
    if not found:
        raise BackendError(f"none of llama.cpp's {len(files)} CPU variants in {folder} can run "
                           f"on this CPU ({cpu_name()})")
    return tuple(sorted(found, key=lambda v: -v.score))


def _score(path: Path) -> int:
    """The variant's own verdict on this CPU. Its score function is compiled for the baseline
    instruction set, so asking is safe on any x86-64 (llama.cpp itself asks the same way)."""
    try:
        library = ctypes.CDLL(str(path))
        score = library.ggml_backend_score
    except (OSError, AttributeError) as exc:
        log.warning("skipping llama.cpp CPU variant %s: %s", path.name, exc)
        return 0
    score.restype = ctypes.c_int
    return int(score())


def load_llama(variant: str | None = None) -> ModuleType:
    """`llama_cpp`, with its backends loaded: the CPU variant named, else the best for this CPU,
    plus any GPU backend in the build. Later calls return the module as loaded the first time;
    `loaded_variant()` says which variant that was."""
    global _loaded
    with _lock:
        if _loaded is None:
            _loaded = _load_backends(variant)
        elif variant is not None and variant != _loaded.name:
            raise BackendError(f"llama.cpp's CPU variant {_loaded.name} is already in use; "
                               f"restart the app to switch to {variant}")
    import llama_cpp

    return llama_cpp


def loaded_variant() -> CpuVariant | None:
    return _loaded


def _load_backends(variant: str | None) -> CpuVariant:
    try:
        import llama_cpp  # noqa: F401 - loads libllama, and with it libggml's registry
    except Exception as exc:  # a missing or broken library: the message says which
        raise BackendError(f"could not load llama.cpp: {exc}") from exc
    variants = cpu_variants(library_dir())
    chosen = variants[0] if variant is None else next(
        (v for v in variants if v.name == variant), None)
    if chosen is None:
        raise BackendError(f"llama.cpp's CPU variant {variant!r} is not in this build or cannot "
                           f"run on this CPU ({', '.join(v.name for v in variants)} can)")
    if chosen.path is None:
        return chosen
    ggml = _ggml_api()
    with capture_llama_log() as lines:
        for other in sorted(library_dir().glob(f"{_PREFIX}*{_SUFFIX}")):
            if not other.name.startswith((f"{_PREFIX}cpu", f"{_PREFIX}base")):
                ggml.ggml_backend_load(str(other).encode())  # CUDA, Vulkan ...: a miss is logged
        loaded = ggml.ggml_backend_load(str(chosen.path).encode())
    log.debug("llama.cpp backends: %s", "".join(lines).strip())
    if not loaded:
        raise BackendError(f"llama.cpp could not load its CPU variant {chosen.path.name}: "
                           f"{''.join(lines).strip()}")
    log.info("llama.cpp CPU variant %s (of %s)", chosen.name, ", ".join(v.name for v in variants))
    return chosen


_defaults_lock = threading.Lock()


@contextmanager
def model_defaults(**fields: Any) -> Iterator[None]:
    """Load with these llama_model_params fields changed from llama.cpp's defaults.

    llama-cpp-python's `Llama` takes no keyword for some fields (`use_extra_bufts` among them)
    and fills its parameters from `llama_model_default_params()` while it loads, so the
    defaults are what can be changed, for the duration of one load."""
    import llama_cpp.llama_cpp as api

    original = api.llama_model_default_params

    def defaults() -> Any:
        params = original()
        for name, value in fields.items():
            setattr(params, name, value)
        return params

    with _defaults_lock:
        api.llama_model_default_params = defaults
        try:
            yield
        finally:
            api.llama_model_default_params = original


@contextmanager
def capture_llama_log() -> Iterator[list[str]]:
    """Collect what llama.cpp logs (the offload report among it) instead of printing it."""
    import llama_cpp

    lines: list[str] = []

    @llama_cpp.llama_log_callback  # type: ignore[untyped-decorator]
    def collect(level: int, text: bytes, user_data: Any) -> None:
        lines.append(text.decode("utf-8", "replace"))

    llama_cpp.llama_log_set(collect, ctypes.c_void_p(0))
    try:
        yield lines
    finally:
        from llama_cpp import _logger

        llama_cpp.llama_log_set(_logger.llama_log_callback, ctypes.c_void_p(0))


def _ggml_api() -> ctypes.CDLL:
    """The backend registry of the libggml that libllama uses: looked up through libllama's
    handle, which searches its own dependencies. Opening libggml by file name could load a
    second copy (wheels hold `libggml.so` and `libggml.so.0` as separate files), whose
    registry libllama would never see."""
    import llama_cpp.llama_cpp as binding

    ggml: ctypes.CDLL = binding._lib
    ggml.ggml_backend_load.argtypes = [ctypes.c_char_p]
    ggml.ggml_backend_load.restype = ctypes.c_void_p
    return ggml


def build_id(folder: Path | None = None) -> str:
    """Names this build of llama.cpp: its libraries' names and sizes, and the binding's version."""
    return _build_id(folder or library_dir())


@functools.cache
def _build_id(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.iterdir()):
        if path.is_file():
            digest.update(f"{path.name}:{path.stat().st_size};".encode())
    try:
        from importlib.metadata import version

        digest.update(version("llama-cpp-python").encode())
    except Exception:  # noqa: BLE001 - a frozen app may lack the metadata; the files suffice
        pass
    return digest.hexdigest()[:16]


@functools.cache
def cpu_name() -> str:
    """The CPU's model name, as a person would recognise it."""
    for line in _cpuinfo().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


@functools.cache
def cpu_id() -> str:
    """Names this CPU by what decides which code runs on it: model and instruction-set flags."""
    flags = next((line for line in _cpuinfo().splitlines() if line.startswith(("flags", "Features"))), "")
    return hashlib.sha256(f"{cpu_name()}|{flags}|{platform.machine()}".encode()).hexdigest()[:16]


@functools.cache
def cpu_flags() -> frozenset[str]:
    """The instruction-set extensions the CPU reports (empty where the system does not say)."""
    line = next((line for line in _cpuinfo().splitlines() if line.startswith(("flags", "Features"))), "")
    return frozenset(line.partition(":")[2].split())


def _cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
