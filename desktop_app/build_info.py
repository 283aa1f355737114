"""Which build this is: the app's version, whether it is a frozen bundle, and which llama.cpp
backends (CPU only, CUDA, Metal, Vulkan) its library was compiled with."""

from __future__ import annotations

import re
import sys

from desktop_app import __version__
from desktop_app.core.hardware import build_offloads

__all__ = ["describe_build", "gpu_backends"]

_KNOWN = ("CUDA", "Metal", "Vulkan", "ROCm", "HIP", "SYCL")


def gpu_backends() -> list[str]:
    """The GPU backends compiled into the llama.cpp library in use; empty for a CPU build."""
    try:
        import llama_cpp
    except Exception:  # a broken install has no backend at all
        return []
    info = llama_cpp.llama_print_system_info().decode("utf-8", "replace")
    found = [name for name in _KNOWN if re.search(rf"\b{name}\b", info, re.IGNORECASE)]
    if not found and build_offloads():
        found = ["GPU"]
    return found


def describe_build() -> str:
    backends = gpu_backends()
    kind = f"{' + '.join(backends)} build" if backends else "CPU build"
    package = "installed bundle" if getattr(sys, "frozen", False) else "Python environment"
    return f"desktop-app {__version__} ({kind}, {package}, Python {sys.version.split()[0]})"
