"""Will a model fit, and where should it run: weights + KV cache + overhead against RAM and VRAM.

The estimate is what llama.cpp allocates: the GGUF weights as they are on disk, a KV cache of
`2 × layers × context × kv_heads × head_dim` elements (f16 by default), and a working overhead
(compute buffers; on a GPU also the CUDA context). When a model fits the GPU only in part, the
repeating layers are offloaded until the VRAM budget is spent; the rest run on the CPU.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from desktop_app.core.models.hardware import Hardware

__all__ = ["Estimate", "ModelShape", "Placement", "estimate_memory", "plan_placement",
           "recommend_variant", "variant_bytes"]

GIB = 2**30
CPU_OVERHEAD = 384 * 2**20
GPU_OVERHEAD = 768 * 2**20  # CUDA context + compute buffers
VRAM_SHARE = 0.95  # leave the rest of the free VRAM to the desktop
APPLE_GPU_SHARE = 0.75  # what macOS lets the GPU wire of unified memory
# Average bits per weight of llama.cpp's quantizations, for files whose size no source states.
BITS_PER_WEIGHT = {"Q2_K": 3.0, "Q3_K_M": 3.9, "Q4_0": 4.55, "Q4_1": 5.0, "Q4_K_M": 4.85,
                   "Q5_K_M": 5.7, "Q6_K": 6.6, "Q8_0": 8.5, "F16": 16.0, "BF16": 16.0}
# Best answer quality first; on a CPU, speed falls as bits rise, so Q4_K_M is preferred there.
QUALITY_ORDER = ["Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "Q4_1", "Q4_0"]
CPU_PREFERRED = "Q4_K_M"


@dataclass(frozen=True, slots=True)
class ModelShape:
    layers: int
    kv_heads: int
    head_dim: int

    @classmethod
    def from_catalog(cls, model: dict[str, Any]) -> ModelShape | None:
        arch = model.get("architecture") or {}
        try:
            return cls(int(arch["layers"]), int(arch["kv_heads"]), int(arch["head_dim"]))
        except (KeyError, TypeError, ValueError):
            return None

    def kv_cache_bytes(self, context: int, bytes_per_element: int = 2) -> int:
        return 2 * self.layers * context * self.kv_heads * self.head_dim * bytes_per_element


@dataclass(frozen=True, slots=True)
class Estimate:
    weights_bytes: int
    kv_cache_bytes: int
    overhead_bytes: int

    @property
    def total_bytes(self) -> int:
        return self.weights_bytes + self.kv_cache_bytes + self.overhead_bytes


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a model would run: `gpu_layers` of `layers` offloaded, and whether it fits at all."""

    estimate: Estimate
    layers: int
    gpu_layers: int
    device: str  # "CPU", or the GPU's name
    fits: bool
    ram_needed_bytes: int
    vram_needed_bytes: int

    @property
    def full_offload(self) -> bool:
        return self.layers > 0 and self.gpu_layers >= self.layers

    def describe(self) -> str:
        need = f"needs {self.estimate.total_bytes / GIB:.1f} GiB"
        if not self.fits:
            return f"does not fit: {need}, {self.ram_needed_bytes / GIB:.1f} GiB of it in RAM"
        if self.gpu_layers == 0:
            return f"fits in RAM, runs on the CPU ({need})"
        if self.full_offload:
            return f"fits on {self.device}: all {self.layers} layers on the GPU ({need})"
        return (f"fits partly on {self.device}: {self.gpu_layers}/{self.layers} layers on the "
                f"GPU, the rest on the CPU ({need})")


def variant_bytes(variant: dict[str, Any], parameters: int | None) -> tuple[int, bool]:
    """A variant's file size, and whether it is exact (stated to the byte) or approximate (a
    rounded size a source states, else parameters × the quant's bits per weight)."""
    if variant.get("size_bytes"):
        return int(variant["size_bytes"]), True
    if variant.get("size_approx_bytes"):
        return int(variant["size_approx_bytes"]), False
    bits = BITS_PER_WEIGHT.get(str(variant.get("quant")), 8.5)
    return int((parameters or 0) * bits / 8), False


def estimate_memory(weights_bytes: int, shape: ModelShape, context: int, on_gpu: bool) -> Estimate:
    overhead = GPU_OVERHEAD if on_gpu else CPU_OVERHEAD
    return Estimate(weights_bytes, shape.kv_cache_bytes(context), overhead)


def plan_placement(weights_bytes: int, shape: ModelShape, context: int, hardware: Hardware,
                   gpu_layers: int = -1) -> Placement:
    """Layers to offload (-1 in `gpu_layers` = as many as fit, 0 = CPU only) and the fit."""
    gpu = hardware.usable_gpu if gpu_layers != 0 else None
    estimate = estimate_memory(weights_bytes, shape, context, on_gpu=gpu is not None)
    layers = max(shape.layers, 1)
    if gpu is None:
        ram = estimate.total_bytes
        return Placement(estimate, shape.layers, 0, "CPU", ram <= hardware.ram_available_bytes,
                         ram, 0)
    # The output layer and embeddings weigh about one layer; the KV cache goes with its layer.
    per_layer = weights_bytes / (layers + 1) + estimate.kv_cache_bytes / layers
    if gpu.backend == "Metal":
        budget = min(gpu.total_bytes * APPLE_GPU_SHARE, gpu.free_bytes) - estimate.overhead_bytes
    else:
        budget = gpu.free_bytes * VRAM_SHARE - estimate.overhead_bytes
    fitting = max(0, min(layers, int((budget - weights_bytes / (layers + 1)) // per_layer)))
    if gpu_layers > 0:
        fitting = min(fitting, gpu_layers)
    on_gpu = fitting * per_layer + (weights_bytes / (layers + 1) if fitting == layers else 0)
    vram = int(on_gpu + estimate.overhead_bytes) if fitting else 0
    ram = max(0, estimate.total_bytes - int(on_gpu)) if fitting else estimate.total_bytes
    if gpu.backend == "Metal":  # unified memory: what the GPU holds comes out of RAM too
        ram = estimate.total_bytes
    return Placement(estimate, shape.layers, fitting, gpu.name if fitting else "CPU",
                     ram <= hardware.ram_available_bytes, ram, vram)


def recommend_variant(variants: Iterable[dict[str, Any]], parameters: int | None,
                      shape: ModelShape, context: int,
                      hardware: Hardware) -> tuple[dict[str, Any] | None, Placement | None, str]:
    """The quant this machine should use, its placement, and why."""
    options = []
    for variant in variants:
        size, _ = variant_bytes(variant, parameters)
        options.append((variant, plan_placement(size, shape, context, hardware)))
    fitting = [(v, p) for v, p in options if p.fits]
    if not fitting:
        return None, None, "no variant fits in this machine's free memory"
    rank = {quant: i for i, quant in enumerate(QUALITY_ORDER)}
    by_quality = sorted(fitting, key=lambda vp: rank.get(str(vp[0]["quant"]), len(rank)))
    if hardware.usable_gpu is not None:
        for variant, placement in by_quality:
            if placement.full_offload:
                return variant, placement, "the best quality that fits entirely on the GPU"
    for variant, placement in fitting:
        if variant["quant"] == CPU_PREFERRED:
            return variant, placement, "the usual balance of quality and speed"
    smallest = min(fitting, key=lambda vp: vp[1].estimate.weights_bytes)
    return smallest[0], smallest[1], "the smallest variant, the one that fits best"
