"""The typed, versioned settings object, its defaults and its migrations."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from .errors import UserError

__all__ = ["SCHEMA_VERSION", "Settings", "load_settings", "save_settings"]

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2
DEFAULT_EMBEDDER = "all-MiniLM-L6-v2"
# The best built-in model that fits this machine (model_manager.builtin_model).
DEFAULT_MODEL = "auto"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a user can tune; a workspace may override any field."""

    schema_version: int = SCHEMA_VERSION
    embedder: str = DEFAULT_EMBEDDER
    model: str = DEFAULT_MODEL  # "auto", a catalogue id or a path to any .gguf file
    context_size: int = 4096
    gpu_layers: int = -1  # -1 = all layers when the build can offload, 0 = CPU only
    temperature: float = 0.2
    max_answer_tokens: int = 384
    top_k: int = 5
    chunk_tokens: int = 200  # word pieces per chunk; the embedder truncates beyond 256
    chunk_overlap: float = 0.12
    dense_candidates: int = 40
    keyword_candidates: int = 40
    dense_weight: float = 1.0
    keyword_weight: float = 1.0
    fusion: str = "convex"  # how dense and keyword rankings combine: "convex" or "rrf"
    rrf_k: int = 60
    rerank: str = "none"  # "llm": the language model judges each passage (slow; see reranking.py)
    # Below this cosine similarity, with no keyword match either, a passage is not evidence.
    min_relevance: float = 0.25

    def with_overrides(self, overrides: dict[str, Any], strict: bool = False) -> Settings:
        """A copy with some fields changed; `strict` rejects unknown names and bad values."""
        if strict:
            unknown = sorted(set(overrides) - {f.name for f in fields(Settings)} - {"schema_version"})
            if unknown:
                raise UserError(f"unknown setting {unknown[0]!r}; known: "
                                + ", ".join(f.name for f in fields(Settings)[1:]))
        try:
            return replace(self, **_known(overrides))
        except (TypeError, ValueError) as exc:
            raise UserError(f"invalid setting value: {exc}") from exc

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _known(data: dict[str, Any]) -> dict[str, Any]:
    """Only fields Settings has, each coerced to its declared type."""
    types = {f.name: f.type for f in fields(Settings)}
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key not in types or key == "schema_version":
            if key != "schema_version":
                log.warning("ignoring unknown setting %r", key)
            continue
        kind = {"int": int, "float": float, "str": str}[str(types[key])]
        out[key] = kind(value)
    return out


def _migrate(data: dict[str, Any]) -> dict[str, Any]:
    """Bring a stored settings dict up to SCHEMA_VERSION, one version at a time."""
    version = int(data.get("schema_version", 1))
    if version > SCHEMA_VERSION:
        log.warning("settings were written by a newer version (%s); reading what is known", version)
    if version < 2:  # SmolLM2 was the only built-in model, and the default: now "auto" is
        if data.get("model") == "smollm2-135m-instruct":
            data = {**data, "model": DEFAULT_MODEL}
    return {**data, "schema_version": SCHEMA_VERSION}


def load_settings(path: Path) -> Settings:
    if not path.exists():
        return Settings()
    data = json.loads(path.read_text(encoding="utf-8"))
    return Settings().with_overrides(_migrate(data))


def save_settings(settings: Settings, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(settings.to_json(), indent=2), encoding="utf-8")
    tmp.replace(path)
