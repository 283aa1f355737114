"""What a GGUF file holds, read from its header without loading the weights."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import UserError

__all__ = ["GgufInfo", "InvalidModelFile", "read_gguf"]

MAGIC = b"GGUF"


class InvalidModelFile(UserError):
    """The file is not a GGUF model llama.cpp can load."""


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
    has_chat_template: bool
    size_bytes: int

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
    import gguf

    try:
        reader = gguf.GGUFReader(str(path), "r")
    except Exception as exc:  # truncated or corrupt files raise many kinds
        raise InvalidModelFile(f"{path.name} is damaged or incomplete: its header cannot be read "
                               "(a download that stopped early looks like this)") from exc
    fields = {name: _value(field) for name, field in reader.fields.items()}
    arch = str(fields.get("general.architecture") or "")
    if not arch:
        raise InvalidModelFile(f"{path.name} does not name its architecture")
    if not reader.tensors:
        raise InvalidModelFile(f"{path.name} holds no weights")
    size = path.stat().st_size
    end = max(int(t.data_offset) + int(t.n_bytes) for t in reader.tensors)
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
        parameters=sum(int(t.n_elements) for t in reader.tensors),
        quantization=_quantization(fields.get("general.file_type"), reader),
        context_length=_int(fields.get(f"{arch}.context_length")),
        layers=_int(fields.get(f"{arch}.block_count")),
        kv_heads=kv_heads,
        head_dim_k=_int(fields.get(f"{arch}.attention.key_length")) or head_dim,
        head_dim_v=_int(fields.get(f"{arch}.attention.value_length")) or head_dim,
        has_chat_template="tokenizer.chat_template" in fields,
        size_bytes=size,
    )


def _value(field: Any) -> Any:
    """A scalar or string field's value; arrays (vocabularies) are not needed and skipped."""
    import gguf

    if not field.types or field.types[0] == gguf.GGUFValueType.ARRAY:
        return None
    try:
        return field.contents()
    except Exception:  # an odd field must not hide the rest
        return None


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) else 0


def _quantization(file_type: Any, reader: Any) -> str:
    import gguf

    if isinstance(file_type, int):
        try:
            return gguf.LlamaFileType(file_type).name.removeprefix("MOSTLY_").replace("ALL_", "")
        except ValueError:
            pass
    # No (known) file type: name it after the type most of the weights use.
    counts: Counter[str] = Counter()
    for tensor in reader.tensors:
        counts[tensor.tensor_type.name] += int(tensor.n_elements)
    return counts.most_common(1)[0][0] if counts else "unknown"
