"""The typed, versioned settings object: every default, range and choice once; its migrations.

`Settings` is the one source of truth. The stages get their own small views of it
(`retrieval()`, `answering()`, `chunking()`), the settings dialog reads its ranges from
`SETTING_LIMITS`, and `REINDEX_FIELDS` says which changes make an index stale. A value is
checked when it is set, so the CLI refuses what the dialog's spin boxes refuse.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import Field, asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal, get_args

from desktop_app.core.addresses import server_url_problem
from desktop_app.core.answer.answering import AnswerSettings
from desktop_app.core.errors import UserError
from desktop_app.core.ingest.indexer import ChunkingSettings
from desktop_app.core.search.retrieval import RRF_K, RetrievalSettings

__all__ = ["FUSIONS", "REINDEX_FIELDS", "RERANKERS", "SCHEMA_VERSION", "SETTING_LIMITS", "Settings",
           "load_settings", "save_settings", "server_url_problem"]

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2
DEFAULT_EMBEDDER = "all-MiniLM-L6-v2"
# The best built-in model that fits this machine (model_manager.builtin_model).
DEFAULT_MODEL = "auto"

Fusion = Literal["convex", "rrf"]  # how dense and keyword rankings combine (retrieval.fuse)
Rerank = Literal["none", "llm"]  # "llm": the language model judges each passage (reranking.py)
FUSIONS: tuple[str, ...] = get_args(Fusion)
RERANKERS: tuple[str, ...] = get_args(Rerank)


def _setting(default: Any, low: float | None = None, high: float | None = None,
             choices: tuple[str, ...] = (), reindex: bool = False, optional: bool = False) -> Any:
    """A field with what a valid value is, and whether changing it makes the index stale;
    an `optional` text may be empty."""
    return field(default=default, metadata={"limits": (low, high), "choices": choices,
                                            "reindex": reindex, "optional": optional})


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a user can tune; a workspace may override any field."""

    schema_version: int = SCHEMA_VERSION
    embedder: str = _setting(DEFAULT_EMBEDDER, reindex=True)
    model: str = DEFAULT_MODEL  # "auto", a catalogue id or a path to any .gguf file
    context_size: int = _setting(4096, 512, 131072)
    gpu_layers: int = _setting(-1, -1, 999)  # -1 = all layers when the build can offload, 0 = CPU
    temperature: float = _setting(0.2, 0.0, 2.0)
    max_answer_tokens: int = _setting(384, 16, 8192)
    top_k: int = _setting(5, 1, 50)
    # Word pieces per chunk; the embedder truncates beyond 256 (two go to its special tokens).
    chunk_tokens: int = _setting(200, 32, 254, reindex=True)
    chunk_overlap: float = _setting(0.12, 0.0, 0.5, reindex=True)
    dense_candidates: int = _setting(40, 0, 1000)  # 0: keyword ranking only
    keyword_candidates: int = _setting(40, 0, 1000)  # 0: dense ranking only
    dense_weight: float = _setting(1.0, 0.0, 10.0)
    keyword_weight: float = _setting(1.0, 0.0, 10.0)
    fusion: Fusion = _setting("convex", choices=FUSIONS)
    rrf_k: int = _setting(RRF_K, 1, 1000)
    # How much a document whose name or opening matches the question (a company, a period, a
    # file name) lifts its passages, beside the fused score of at most 1.
    document_weight: float = _setting(1.0, 0.0, 10.0)
    rerank: Rerank = _setting("none", choices=RERANKERS)
    # Below this cosine similarity, with no keyword match either, a passage is not evidence.
    min_relevance: float = _setting(0.25, -1.0, 1.0)
    history_turns: int = _setting(2, 0, 20)  # earlier question-answer pairs a new prompt shows
    # After answering, the model is asked whether the passage it cited states that answer; a
    # "no" turns the answer into a decline that still shows the first reading.
    check_answer: bool = False
    # What the model is told besides the app's own rules, usually per workspace ("Answer in
    # French", "These are contracts of Acme Corp; name the clause"). Never replaces the rules
    # that keep answers to the documents.
    instructions: str = _setting("", optional=True)
    # An OpenAI-compatible server that answers instead of a model on this machine ("": none):
    # the API's base URL, e.g. https://llm.example.org/v1. Its key is kept apart (api_keys.py).
    server_url: str = _setting("", optional=True)
    server_model: str = _setting("", optional=True)  # "": the first model the server lists
    server_ca_bundle: str = _setting("", optional=True)  # PEM of authorities to trust besides the system's
    server_verify_tls: bool = True
    # The key and the documents' passages travel in clear over http: only to this machine,
    # unless the person says otherwise.
    server_allow_http: bool = False

    def __post_init__(self) -> None:
        for spec in fields(self):
            problem = _problem(spec, getattr(self, spec.name))
            if problem:
                raise UserError(f"invalid setting {spec.name}: {problem}")
        problem = server_url_problem(self.server_url, self.server_allow_http)
        if problem:
            raise UserError(f"invalid setting server_url: {problem}")

    def with_overrides(self, overrides: dict[str, Any], strict: bool = False) -> Settings:
        """A copy with some fields changed. `strict` refuses unknown names and bad values (a
        person typed them); otherwise they are skipped with a warning (an old or hand-edited
        file must not stop the app)."""
        if strict:
            unknown = sorted(set(overrides) - set(_FIELDS) - {"schema_version"})
            if unknown:
                raise UserError(f"unknown setting {unknown[0]!r}; known: " + ", ".join(_NAMES))
        checked = _checked(overrides, strict)
        try:
            return replace(self, **checked)
        except UserError:
            if strict or "server_url" not in checked:
                raise
            log.warning("ignoring setting server_url %r: it cannot be used", checked["server_url"])
            return replace(self, **{k: v for k, v in checked.items() if k != "server_url"})

    def retrieval(self) -> RetrievalSettings:
        return RetrievalSettings(self.top_k, self.dense_candidates, self.keyword_candidates,
                                 self.dense_weight, self.keyword_weight, self.fusion, self.rrf_k,
                                 self.document_weight)

    def answering(self) -> AnswerSettings:
        return AnswerSettings(self.retrieval(), self.max_answer_tokens, self.temperature,
                              self.min_relevance, self.history_turns, self.rerank,
                              self.instructions, self.check_answer)

    def chunking(self) -> ChunkingSettings:
        return ChunkingSettings(self.chunk_tokens, self.chunk_overlap)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


_FIELDS: dict[str, Field[Any]] = {f.name: f for f in fields(Settings) if f.name != "schema_version"}
_NAMES = list(_FIELDS)
# Changing any of these makes the existing index stale (the indexer's signature holds them).
REINDEX_FIELDS = frozenset(name for name, spec in _FIELDS.items() if spec.metadata.get("reindex"))
# name -> (lowest, highest) for the numeric settings: the dialog's spin boxes use the same.
SETTING_LIMITS: dict[str, tuple[float, float]] = {
    name: spec.metadata["limits"] for name, spec in _FIELDS.items()
    if spec.metadata.get("limits", (None, None))[0] is not None
}
_TYPES = {"int": int, "float": float, "str": str, "bool": bool, "Fusion": str, "Rerank": str}
_TRUE, _FALSE = {"true", "yes", "on", "1"}, {"false", "no", "off", "0"}


def _problem(spec: Field[Any], value: Any) -> str:
    """Why `value` is not valid for the field, or ""."""
    if spec.name == "schema_version":
        return ""
    low, high = spec.metadata.get("limits", (None, None))
    choices = spec.metadata.get("choices", ())
    if isinstance(value, bool) or spec.metadata.get("optional"):
        return ""
    if choices and value not in choices:
        return f"{value!r} is not one of " + ", ".join(repr(c) for c in choices)
    if low is not None and not isinstance(value, int | float):
        return f"{value!r} is not a number"
    if low is not None and not (isinstance(value, float) and math.isnan(value)) and low <= value <= high:
        return ""
    if low is not None:
        return f"{value!r} is outside {low:g} to {high:g}"
    return "" if value else "it cannot be empty"


def _coerce(spec: Field[Any], value: Any) -> Any:
    """The value as the field's type, refusing what would change it (7.5 for an int)."""
    kind = _TYPES[str(spec.type)]
    if kind is bool:
        text = str(value).strip().lower()
        if isinstance(value, bool) or text in _TRUE | _FALSE:
            return value if isinstance(value, bool) else text in _TRUE
        raise ValueError(f"{value!r} is not true or false")
    if kind is int and isinstance(value, float) and not value.is_integer():
        raise ValueError(f"{value!r} is not a whole number")
    if kind is not str and isinstance(value, str):
        value = value.strip()
        if kind is int:
            try:
                return int(value)
            except ValueError:
                raise ValueError(f"{value!r} is not a whole number") from None
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise ValueError(f"{value!r} is not a {kind.__name__}") from None


def _checked(data: dict[str, Any], strict: bool) -> dict[str, Any]:
    """The known fields of `data`, each as its declared type and within its limits."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        spec = _FIELDS.get(key)
        if spec is None:
            if key != "schema_version":
                log.warning("ignoring unknown setting %r", key)
            continue
        try:
            value = _coerce(spec, value)
            problem = _problem(spec, value)
        except ValueError as exc:
            problem = str(exc)
        if problem and strict:
            raise UserError(f"invalid setting {key}: {problem}")
        if problem:
            log.warning("ignoring setting %s: %s", key, problem)
            continue
        out[key] = value
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
    """The settings in `path`; defaults where it has none, or where a value is unusable."""
    if not path.exists():
        return Settings()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"the settings file {path} cannot be read ({exc}); fix or delete it") from exc
    if not isinstance(data, dict):
        raise UserError(f"the settings file {path} does not hold settings; fix or delete it")
    return Settings().with_overrides(_migrate(data))


def save_settings(settings: Settings, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(settings.to_json(), indent=2), encoding="utf-8")
    tmp.replace(path)
