"""What a GGUF file holds, read from its header without loading the weights."""

from __future__ import annotations

import math
import mmap
import struct
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop_app.core.errors import InvalidModelFile

__all__ = ["GgufInfo", "read_gguf"]

MAGIC = b"GGUF"


@dataclass(frozen=True, slots=True)
class GgufInfo:
    path: Path
    name: str
    architecture: str
    parameters: int
    quantization: str
    context_length: int
    layers: int
    kv_heads: int
    head_dim_k: int
    head_dim_v: int
    chat_template: str  # Jinja2 source, "" for a base model without one
    size_bytes: int

    @property
    def has_chat_template(self) -> bool:
        return bool(self.chat_template)

    def as_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "name": self.name, "architecture": self.architecture,
                "parameters": self.parameters, "quantization": self.quantization,
                "context_length": self.context_length, "layers": self.layers,
                "kv_heads": self.kv_heads, "head_dim": self.head_dim_k,
                "chat_template": self.has_chat_template, "size_bytes": self.size_bytes}


def read_gguf(path: Path) -> GgufInfo:
    """The model's facts from its header; InvalidModelFile with a plain reason otherwise."""
    if not path.is_file():
        raise InvalidModelFile(f"no such file: {path}")
    with path.open("rb") as handle:
        if handle.read(4) != MAGIC:
            raise InvalidModelFile(f"{path.name} is not a GGUF model file (wrong header)")
    try:
        fields, tensors, data_start = _read_header(path)
    except (ValueError, struct.error, OverflowError) as exc:  # truncated or corrupt
        raise InvalidModelFile(f"{path.name} is damaged or incomplete: its header cannot be read "
                               "(a download that stopped early looks like this)") from exc
    arch = str(fields.get("general.architecture") or "")
    if not arch:
        raise InvalidModelFile(f"{path.name} does not name its architecture")
    if not tensors:
        raise InvalidModelFile(f"{path.name} holds no weights")
    size = path.stat().st_size
    end = data_start + max(t.offset + t.n_bytes for t in tensors)
    if end > size:
        raise InvalidModelFile(f"{path.name} is incomplete: {size:,} of {end:,} bytes")
    heads = _int(fields.get(f"{arch}.attention.head_count"))
    kv_heads = _int(fields.get(f"{arch}.attention.head_count_kv")) or heads
    width = _int(fields.get(f"{arch}.embedding_length"))
    head_dim = (width // heads) if heads else 0
    return GgufInfo(
        path=path,
        name=str(fields.get("general.name") or path.stem),
        architecture=arch,
        parameters=sum(t.n_elements for t in tensors),
        quantization=_quantization(fields.get("general.file_type"), tensors),
        context_length=_int(fields.get(f"{arch}.context_length")),
        layers=_int(fields.get(f"{arch}.block_count")),
        kv_heads=kv_heads,
        head_dim_k=_int(fields.get(f"{arch}.attention.key_length")) or head_dim,
        head_dim_v=_int(fields.get(f"{arch}.attention.value_length")) or head_dim,
        chat_template=str(fields.get("tokenizer.chat_template") or ""),
        size_bytes=size,
    )


@dataclass(frozen=True, slots=True)
class _Tensor:
    type: int  # a GGMLQuantizationType value
    n_elements: int
    n_bytes: int
    offset: int  # from the start of the data section


# GGUF value types (the format's spec): fixed-size scalars, then strings (8) and arrays (9).
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q",
            11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9


def _read_header(path: Path) -> tuple[dict[str, Any], list[_Tensor], int]:
    """Scalar and string fields (arrays are skipped: a Llama-3 vocabulary is 128,000 strings
    that no fit estimate needs), the tensors' types, sizes and offsets, and where the data
    starts. gguf-py's GGUFReader reads the same but builds a numpy view per vocabulary entry
    and merge, seconds for a large vocabulary; this walks over them in tens of milliseconds."""
    import gguf

    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        header = _Header(data)
        header.pos = 4
        version = header.take("<I")
        if version < 2:
            raise ValueError(f"GGUF version {version} is too old for llama.cpp")
        n_tensors, n_fields = header.take("<Q"), header.take("<Q")
        fields = {}
        for _ in range(n_fields):
            key = header.string()
            fields[key] = header.value(header.take("<I"))
        tensors = [header.tensor(gguf.GGML_QUANT_SIZES) for _ in range(n_tensors)]
        alignment = _int(fields.get("general.alignment")) or 32
        data_start = -(-header.pos // alignment) * alignment
    return fields, tensors, data_start


class _Header:
    """A cursor over a GGUF header in memory; running past the end raises ValueError."""

    def __init__(self, data: mmap.mmap) -> None:
        self.data, self.pos = data, 0

    def take(self, fmt: str) -> Any:
        (value,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return value

    def string(self) -> str:
        length = self.take("<Q")
        end = self.pos + length
        if end > len(self.data):
            raise ValueError("a string runs past the end of the file")
        text = self.data[self.pos:end].decode("utf-8", "replace")
        self.pos = end
        return text

    def value(self, kind: int) -> Any:
        if kind == _STRING:
            return self.string()
        if kind == _ARRAY:
            self.skip_array()
            return None
        if kind not in _SCALARS:
            raise ValueError(f"unknown GGUF value type {kind}")
        return self.take(_SCALARS[kind])

    def skip_array(self) -> None:
        kind, count = self.take("<I"), self.take("<Q")
        if kind in _SCALARS:
            self.pos += count * struct.calcsize(_SCALARS[kind])
        elif kind == _STRING:
            data, pos, unpack = self.data, self.pos, struct.unpack_from
            for _ in range(count):
                pos += 8 + unpack("<Q", data, pos)[0]
            self.pos = pos
        elif kind == _ARRAY:
            for _ in range(count):
                self.skip_array()
        else:
            raise ValueError(f"unknown GGUF value type {kind}")
        if self.pos > len(self.data):
            raise ValueError("an array runs past the end of the file")

    def tensor(self, quant_sizes: dict[Any, tuple[int, int]]) -> _Tensor:
        self.string()  # the tensor's name
        dims = [self.take("<Q") for _ in range(self.take("<I"))]
        kind, offset = self.take("<I"), self.take("<Q")
        elements = math.prod(dims)
        block, size = quant_sizes[_quant_type(kind)]
        return _Tensor(kind, elements, elements // block * size, offset)


def _quant_type(kind: int) -> Any:
    import gguf

    try:
        return gguf.GGMLQuantizationType(kind)
    except ValueError as exc:
        raise ValueError(f"unknown tensor type {kind}") from exc


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) else 0


def _quantization(file_type: Any, tensors: list[_Tensor]) -> str:
    import gguf

    if isinstance(file_type, int):
        try:
            return gguf.LlamaFileType(file_type).name.removeprefix("MOSTLY_").replace("ALL_", "")
        except ValueError:
            pass
    # No (known) file type: name it after the type most of the weights use.
    counts: Counter[str] = Counter()
    for tensor in tensors:
        counts[_quant_type(tensor.type).name] += tensor.n_elements
    return counts.most_common(1)[0][0] if counts else "unknown"
