"""Which build this is: the app's version, whether it is a frozen bundle, which llama.cpp
backends (CPU only, CUDA, Metal, Vulkan) its library was compiled with, and which of its CPU
variants runs on this machine."""

from __future__ import annotations

import re
import sys

from desktop_app import __version__
from desktop_app.core.models.hardware import build_offloads

__all__ = ["describe_build", "gpu_backends"]

_KNOWN = ("CUDA", "Metal", "Vulkan", "ROCm", "HIP", "SYCL")


def gpu_backends() -> list[str]:
    """The GPU backends compiled into the llama.cpp library in use; empty for a CPU build."""
    from desktop_app.core.models.engine_check import llama

    try:
        llama_cpp = llama()
    except Exception:  # a broken install has no backend at all
        return []
    info = llama_cpp.llama_print_system_info().decode("utf-8", "replace")
    found = [name for name in _KNOWN if re.search(rf"\b{name}\b", info, re.IGNORECASE)]
    if not found and build_offloads():
        found = ["GPU"]
    return found


def cpu_code() -> str:
    """Which CPU variant of llama.cpp runs here, of how many the build carries, and why when it
    is not the best one: 'CPU code haswell (best of 14 variants for this CPU)'."""
    from desktop_app.core.models.engine_check import EngineChecks
    from desktop_app.core.models.llama_runtime import BUILT_IN, cpu_variants, loaded_variant

    try:
        variants = cpu_variants()
        gpu_backends()  # loads the library, with the variant this machine is known to run
    except Exception as exc:  # noqa: BLE001 - --version must answer even on a broken install
        return f"llama.cpp not loadable: {exc}"
    loaded = loaded_variant()
    if loaded is None or loaded.name == BUILT_IN:
        return "CPU code built in (one CPU variant)"
    _, reason = EngineChecks().current()
    rank = "best" if loaded == variants[0] else "chosen"
    return (f"CPU code {loaded.name} ({rank} of {len(variants)} variants for this CPU"
            f"{': ' + reason if reason else ''})")


def describe_build() -> str:
    backends = gpu_backends()
    kind = f"{' + '.join(backends)} build" if backends else "CPU build"
    package = "installed bundle" if getattr(sys, "frozen", False) else "Python environment"
    return (f"desktop-app {__version__} ({kind}, {cpu_code()}, {package}, "
            f"Python {sys.version.split()[0]})")
