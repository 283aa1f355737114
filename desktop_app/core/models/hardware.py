"""What this machine offers a model: memory, GPUs and whether our llama.cpp build can use them.

NVIDIA GPUs are read through NVML (the library the driver installs) with ctypes, so nothing
extra is needed; llama.cpp's own `llama_supports_gpu_offload` says whether the build can use a
GPU at all. Apple Silicon shares memory between CPU and GPU, so its GPU budget is the RAM.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import platform
import sys
from dataclasses import dataclass, field

__all__ = ["Gpu", "Hardware", "build_offloads", "detect_hardware", "detect_memory", "idle_cores",
           "usable_cores"]

log = logging.getLogger(__name__)


def usable_cores() -> int:
    """The cores this process may run on: a container or `taskset` can allow fewer than the
    machine has, and llama.cpp with more threads than cores slows to a crawl."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 2)


def idle_cores(sample_s: float = 0.1) -> int:
    """How many of the cores this process may use are not busy right now (under half used
    over `sample_s`), at least one. llama.cpp's threads wait for each other at every step, so
    one thread on a core another program holds slows them all: measured on 2 cores with one
    busy program, 2 threads decoded 10.5 pieces/s where 1 thread decoded 19.4
    (docs/benchmarks.md)."""
    import psutil

    allowed = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    usage = psutil.cpu_percent(interval=sample_s, percpu=True)
    mine = [usage[i] for i in allowed if i < len(usage)] if allowed else usage
    return max(1, sum(1 for percent in mine if percent < 50.0))


@dataclass(frozen=True, slots=True)
class Gpu:
    name: str
    total_bytes: int
    free_bytes: int
    backend: str  # "CUDA" | "Metal"


@dataclass(frozen=True, slots=True)
class Hardware:
    ram_total_bytes: int
    ram_available_bytes: int
    gpus: list[Gpu] = field(default_factory=list)
    build_offloads: bool = False  # llama.cpp was built with a GPU backend
    cores: int = field(default_factory=usable_cores)  # the cores this process may use

    @property
    def usable_gpu(self) -> Gpu | None:
        """The GPU models go to: the first one, when the build can offload to it."""
        return self.gpus[0] if self.gpus and self.build_offloads else None

    def describe(self) -> str:
        ram = f"RAM {self.ram_available_bytes / 2**30:.1f} of {self.ram_total_bytes / 2**30:.1f} GiB free"
        if not self.gpus:
            gpu = "no GPU found"
        else:
            gpu = "; ".join(f"{g.name} ({g.backend}) {g.free_bytes / 2**30:.1f} of "
                            f"{g.total_bytes / 2**30:.1f} GiB free" for g in self.gpus)
        build = "" if self.build_offloads else " (this build of llama.cpp is CPU only)"
        return f"{ram}; {gpu}{build}"


def detect_hardware() -> Hardware:
    total, available = _ram()
    offloads = build_offloads()
    gpus = _nvidia_gpus()
    if not gpus and sys.platform == "darwin" and platform.machine() == "arm64":
        gpus = [Gpu("Apple GPU", total, available, "Metal")]
    return Hardware(total, available, gpus, offloads)


def detect_memory() -> Hardware:
    """RAM only: enough to tell whether a model fits on the CPU, without loading llama.cpp."""
    return Hardware(*_ram())


def _ram() -> tuple[int, int]:
    try:
        import psutil
    except ImportError:  # a bare Python (a GPU server running the benchmarks): POSIX only
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        return pages * size, os.sysconf("SC_AVPHYS_PAGES") * size
    memory = psutil.virtual_memory()
    return int(memory.total), int(memory.available)


def build_offloads() -> bool:
    """Whether the llama.cpp library in use was built with a GPU backend."""
    from desktop_app.core.models.engine_check import llama

    try:
        llama_cpp = llama()
    except Exception:  # a broken llama.cpp install means: no GPU use
        return False
    return bool(llama_cpp.llama_supports_gpu_offload())


class _NvmlMemory(ctypes.Structure):
    _fields_ = [("total", ctypes.c_ulonglong), ("free", ctypes.c_ulonglong),
                ("used", ctypes.c_ulonglong)]


def _nvidia_gpus() -> list[Gpu]:
    nvml = _load_nvml()
    if nvml is None:
        return []
    if nvml.nvmlInit_v2() != 0:
        return []
    gpus = []
    try:
        count = ctypes.c_uint(0)
        if nvml.nvmlDeviceGetCount_v2(ctypes.byref(count)) != 0:
            return []
        for index in range(count.value):
            handle = ctypes.c_void_p()
            if nvml.nvmlDeviceGetHandleByIndex_v2(index, ctypes.byref(handle)) != 0:
                continue
            name = ctypes.create_string_buffer(96)
            nvml.nvmlDeviceGetName(handle, name, 96)
            memory = _NvmlMemory()
            if nvml.nvmlDeviceGetMemoryInfo(handle, ctypes.byref(memory)) != 0:
                continue
            gpus.append(Gpu(name.value.decode(errors="replace"), memory.total, memory.free, "CUDA"))
    finally:
        nvml.nvmlShutdown()
    return gpus


def _load_nvml() -> ctypes.CDLL | None:
    names = ["nvml.dll"] if sys.platform == "win32" else ["libnvidia-ml.so.1", "libnvidia-ml.so"]
    found = ctypes.util.find_library("nvidia-ml")
    for name in names + ([found] if found else []):
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    return None
