"""The models a person can choose: catalogue variants and imported files, each with its fit here."""

from __future__ import annotations

import os
import shutil
from collections.abc import Generator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from desktop_app.core.answer.chat_template import check_chat_template
from desktop_app.core.errors import BackendError, InvalidModelFile, UserError
from desktop_app.core.models.catalog import (
    ModelEntry,
    catalog_entry,
    load_catalog,
    load_embedders,
    resolve_model_path,
    variant_file,
)
from desktop_app.core.models.downloads import DownloadProgress, download
from desktop_app.core.models.fit import (
    ModelShape,
    Placement,
    plan_placement,
    recommend_variant,
    variant_bytes,
)
from desktop_app.core.models.gguf_file import GgufInfo, read_gguf
from desktop_app.core.models.hardware import Hardware, detect_hardware, detect_memory

__all__ = ["AUTO", "EmbedderChoice", "ModelChoice", "Models", "builtin_model", "catalog_choices",
           "describe_model", "embedder_choices",
           "download_variant", "file_placement", "import_model", "imported_models", "model_advice",
           "resolve_model"]

AUTO = "auto"  # the settings value for "the best built-in model for this machine"


class Models:
    """The models a person can choose, download and import, each with its fit on this
    machine: `library.models`. The functions below do the work; this binds them to one models
    folder, one catalogue (None: the built-in `models.json`) and this machine's hardware,
    read once, when first needed."""

    def __init__(self, folder: Path, catalog: Path | None = None,
                 hardware: Hardware | None = None) -> None:
        self.folder = folder
        self.catalog = catalog
        if hardware is not None:
            self.hardware = hardware

    @cached_property
    def hardware(self) -> Hardware:
        return detect_hardware()

    def with_catalog(self, catalog: Path | None) -> Models:
        """The same folder and machine seen through another catalogue (`--catalog FILE`)."""
        if catalog is None:
            return self
        return Models(self.folder, catalog, self.hardware)

    def choices(self, context: int) -> list[ModelChoice]:
        return catalog_choices(self.folder, self.hardware, context, self.catalog)

    def embedders(self) -> list[EmbedderChoice]:
        return embedder_choices(self.folder, self.catalog)

    def builtin(self, context: int) -> ModelEntry:
        """The built-in model that answers when the setting is `auto`."""
        return builtin_model(self.folder, context, self.hardware, self.catalog)[0]

    def advice(self, context: int) -> str:
        return model_advice(self.folder, context, self.hardware, self.catalog)

    def problem(self, model: str, context: int) -> str:
        """Why `model` cannot answer here at `context` tokens, or "": it is not installed
        (say how to get it), or it was trained for a shorter context."""
        try:
            name, trained = self.trained_context(model, context)
        except UserError as exc:
            return "" if model == AUTO else str(exc)  # no built-in model: said at first use
        check = ModelChoice(model, name, "", 0, True, True, None, context_length=trained)
        return check.context_problem(context)

    def trained_context(self, model: str, context: int) -> tuple[str, int | None]:
        """The model's name and the longest context it was trained for (None when its
        catalogue entry or file does not say); UserError when it is not installed."""
        if model == AUTO:
            entry: ModelEntry | None
            entry, path = builtin_model(self.folder, context, self.hardware, self.catalog)
        else:
            path = resolve_model_path(model, self.folder, self.catalog)
            entry = load_catalog(self.catalog).get(model.partition(":")[0])
        trained = entry.raw.get("context_length") if entry else read_gguf(path).context_length
        return (entry.name if entry else path.name), (int(trained) if trained else None)

    def describe(self, model: str, context: int) -> dict[str, Any]:
        return describe_model(model, self.folder, self.hardware, context, self.catalog)

    def download(self, model_id: str, quant: str) -> Generator[DownloadProgress, None, Path]:
        return download_variant(self.folder, model_id, quant, self.catalog)

    def import_file(self, path: Path, link: bool = False) -> GgufInfo:
        return import_model(path, self.folder, link)

    @staticmethod
    def inspect(path: Path) -> GgufInfo:
        """A GGUF file's header, checked: InvalidModelFile says what is wrong with it."""
        return read_gguf(path)


@dataclass(frozen=True, slots=True)
class ModelChoice:
    """One model file a person can pick: a catalogue variant or an imported GGUF."""

    id: str  # what `model` in the settings takes: a catalogue id or a file name in the models dir
    name: str
    quant: str
    size_bytes: int
    size_exact: bool
    installed: bool
    placement: Placement | None  # None when the model's shape is unknown
    recommended: bool = False
    downloadable: bool = False  # the catalogue gives a URL for it
    setting: str = ""  # what the `model` setting takes for exactly this file ("" = the id)
    context_length: int | None = None  # the longest context the model was trained for

    @property
    def size_text(self) -> str:
        return f"{self.size_bytes / 1e9:.2f} GB" if self.size_exact else f"~{self.size_bytes / 1e9:.1f} GB"

    @property
    def fit_text(self) -> str:
        return self.placement.describe() if self.placement else "fit unknown"

    def label(self) -> str:
        marks = (["installed" if self.installed else "not downloaded"]
                 + (["best quantization here"] if self.recommended else []))
        return f"{self.name} · {self.quant} · {self.size_text} · {self.fit_text} · {', '.join(marks)}"

    def context_problem(self, context: int) -> str:
        """Why `context` tokens cannot be asked of this model, or ""."""
        if self.context_length and context > self.context_length:
            return (f"{self.name} was trained for at most {self.context_length:,} tokens of "
                    f"context; {context:,} is more than it can read")
        return ""

    def to_json(self) -> dict[str, Any]:
        placement = self.placement
        return {"id": self.id, "name": self.name, "quant": self.quant,
                "size_bytes": self.size_bytes, "size_exact": self.size_exact,
                "installed": self.installed, "recommended": self.recommended,
                "downloadable": self.downloadable,
                "fits": placement.fits if placement else None,
                "gpu_layers": placement.gpu_layers if placement else None,
                "layers": placement.layers if placement else None,
                "memory_bytes": placement.estimate.total_bytes if placement else None,
                "fit": placement.describe() if placement else None}


@dataclass(frozen=True, slots=True)
class EmbedderChoice:
    """An embedder a person can pick: built in, or a catalogue model to download first."""

    id: str  # what `embedder` in the settings takes
    name: str
    builtin: bool
    installed: bool
    size_bytes: int | None  # of the smallest downloadable file, for one not built in
    published_scifact: float | None  # BEIR SciFact nDCG@10 as published (MTEB)

    def label(self) -> str:
        parts = [self.name, "built in" if self.builtin else
                 "downloaded" if self.installed else f"download {(self.size_bytes or 0) / 1e6:.0f} MB"]
        if self.published_scifact is not None:
            parts.append(f"SciFact nDCG@10 {self.published_scifact:.3f} (published)")
        return " · ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "builtin": self.builtin,
                "installed": self.installed, "size_bytes": self.size_bytes,
                "published_scifact_ndcg10": self.published_scifact}


def embedder_choices(models_dir: Path, catalog: Path | None = None) -> list[EmbedderChoice]:
    """The built-in embedder, then the catalogue's, each with its published SciFact score."""
    from desktop_app.core.ingest.embedding import BUILTIN_EMBEDDERS, BUILTIN_SCIFACT

    choices = [EmbedderChoice(name, name, True, True, None, BUILTIN_SCIFACT.get(name))
               for name in BUILTIN_EMBEDDERS]
    for entry in load_embedders(catalog).values():
        sizes = [int(v["size_bytes"]) for v in entry.variants if v.get("size_bytes")]
        installed = any(variant_file(v, models_dir) for v in entry.variants)
        score = entry.raw.get("scores", {}).get("beir_scifact_ndcg10")
        choices.append(EmbedderChoice(entry.id, entry.name, False, installed,
                                      min(sizes) if sizes else None, score))
    return choices


def catalog_choices(models_dir: Path, hardware: Hardware, context: int,
                    catalog: Path | None = None) -> list[ModelChoice]:
    """Every catalogue variant and imported file, with its fit at `context` tokens."""
    choices = []
    for entry in load_catalog(catalog).values():
        choices += _entry_choices(entry, models_dir, hardware, context)[0]
    for info in imported_models(models_dir, catalog):
        choices.append(ModelChoice(info.path.name, info.name, info.quantization, info.size_bytes,
                                   True, True, file_placement(info, context, hardware),
                                   setting=info.path.name,
                                   context_length=info.context_length or None))
    return choices


Recommendation = tuple[dict[str, Any] | None, Placement | None, str]


def _entry_choices(entry: ModelEntry, models_dir: Path, hardware: Hardware,
                   context: int) -> tuple[list[ModelChoice], Recommendation | None]:
    """A catalogue model's variants with their fit, and the recommended one (None when the
    catalogue does not give the model's shape)."""
    shape = ModelShape.from_catalog(entry.raw)
    parameters = entry.raw.get("parameters")
    recommendation = (recommend_variant(entry.variants, parameters, shape, context, hardware)
                      if shape is not None else None)
    best = recommendation[0] if recommendation else None
    choices = []
    for variant in entry.variants:
        size, exact = variant_bytes(variant, parameters)
        placement = plan_placement(size, shape, context, hardware) if shape else None
        installed = variant_file(variant, models_dir) is not None
        choices.append(ModelChoice(entry.id, entry.name, str(variant["quant"]), size, exact,
                                   installed, placement, variant is best, bool(variant.get("url")),
                                   f"{entry.id}:{variant['quant']}",
                                   entry.raw.get("context_length")))
    return choices, recommendation


def resolve_model(model: str, models_dir: Path, context: int, catalog: Path | None = None) -> Path:
    """The GGUF file a settings value names: `auto` picks the built-in model for this machine."""
    if model == AUTO:
        return builtin_model(models_dir, context, detect_memory(), catalog)[1]
    return resolve_model_path(model, models_dir, catalog)


def builtin_model(models_dir: Path, context: int, hardware: Hardware,
                  catalog: Path | None = None) -> tuple[ModelEntry, Path]:
    """The built-in model that answers by default: the largest installed one that fits in this
    machine's free memory at `context` tokens; the smallest installed one when none fits."""
    installed = []
    for entry in load_catalog(catalog).values():
        if not entry.raw.get("builtin"):
            continue
        for variant in entry.variants:
            path = variant_file(variant, models_dir)
            if path is not None:
                installed.append((variant_bytes(variant, entry.raw.get("parameters"))[0], entry, path,
                                  ModelShape.from_catalog(entry.raw)))
    if not installed:
        raise UserError("no built-in model is installed: run python3 packaging/bootstrap.py run, "
                        "or choose a model in the settings")
    installed.sort(key=lambda found: -found[0])
    for size, entry, path, shape in installed:
        if shape is None or plan_placement(size, shape, context, hardware, 0).fits:
            return entry, path
    return installed[-1][1], installed[-1][2]


def model_advice(models_dir: Path, context: int, hardware: Hardware,
                 catalog: Path | None = None) -> str:
    """Which built-in model answers, and the largest catalogue model worth running here, when
    there is one: what a person is told on first start. Worth running means: entirely on the
    GPU, or, on the CPU, at most half a billion parameters per core (decoding on a CPU slows
    with the model's size; beyond that answers come at a few words a second)."""
    try:
        current, _ = builtin_model(models_dir, context, hardware, catalog)
    except UserError as exc:
        return str(exc)
    said = f"Answers come from {current.name}, built in, on this computer."
    size = int(current.raw.get("parameters") or 0)
    larger = []
    for entry in load_catalog(catalog).values():
        choices, recommendation = _entry_choices(entry, models_dir, hardware, context)
        best = recommendation[0] if recommendation else None
        pick = next((c for c in choices if best is not None and c.quant == best["quant"]), None)
        parameters = int(entry.raw.get("parameters") or 0)
        if (pick and pick.downloadable and parameters > size
                and _worth_running(pick, parameters, hardware.cores)):
            larger.append((parameters, entry.name, pick))
    if not larger:
        return said
    _, name, pick = max(larger, key=lambda found: found[0])
    return (f"{said} A larger model fits here: {name} {pick.quant} ({pick.size_text}, "
            f"{pick.fit_text}); download it in Settings.")


def _worth_running(choice: ModelChoice, parameters: int, cores: int) -> bool:
    placement = choice.placement
    if placement is None or not placement.fits:
        return False
    if placement.full_offload:
        return True
    return placement.gpu_layers == 0 and parameters <= cores * 500_000_000


def imported_models(models_dir: Path, catalog: Path | None = None) -> list[GgufInfo]:
    """GGUF files in the models folder that no catalogue variant names; broken ones are skipped."""
    known = {str(v["file"]) for e in load_catalog(catalog).values() for v in e.variants}
    found = []
    for path in sorted(models_dir.glob("*.gguf")) if models_dir.is_dir() else []:
        if path.name in known:
            continue
        try:
            found.append(read_gguf(path))
        except InvalidModelFile:
            continue
    return found


def download_variant(models_dir: Path, model_id: str, quant: str, catalog: Path | None = None
                     ) -> Generator[DownloadProgress, None, Path]:
    """Fetch a catalogue variant into the models folder, resumable and verified (downloads.py);
    returns the file's path. Closing the generator cancels and keeps the partial file."""
    entry = catalog_entry(model_id, catalog)
    if entry is None:
        raise UserError(f"unknown model {model_id!r} (see: models list)")
    variant = next((v for v in entry.variants if v["quant"] == quant), None)
    if variant is None or not variant.get("url"):
        quants = ", ".join(str(v["quant"]) for v in entry.variants if v.get("url"))
        raise UserError(f"{model_id} has no downloadable {quant}; available: {quants or 'none'}")
    return (yield from download(str(variant["url"]), models_dir / str(variant["file"]),
                                variant.get("size_bytes"), variant.get("sha256"),
                                variant.get("md5")))


def import_model(source: Path, models_dir: Path, link: bool = False) -> GgufInfo:
    """Check a local GGUF file's header, then copy (or link) it into the models folder."""
    info = read_gguf(source.expanduser().resolve())
    if info.layers == 0:
        raise InvalidModelFile(f"{source.name} does not say how many layers it has; "
                               "it is not a language model llama.cpp can chat with")
    if info.chat_template:  # rendered once, within its budget, before it is accepted
        try:
            check_chat_template(info.chat_template, source.name)
        except BackendError as exc:
            raise InvalidModelFile(f"{exc}; the model would fail on every question") from exc
    models_dir.mkdir(parents=True, exist_ok=True)
    target = models_dir / info.path.name
    if target.exists():
        if target.resolve() == info.path or target.stat().st_size == info.size_bytes:
            return read_gguf(target)
        raise UserError(f"a different {target.name} is already imported; rename the file first")
    if link:
        os.symlink(info.path, target)
    else:
        if shutil.disk_usage(models_dir).free < info.size_bytes:
            raise UserError(f"not enough free disk space to copy {source.name} "
                            f"({info.size_bytes / 1e9:.1f} GB)")
        partial = target.with_name(target.name + ".part")
        try:
            shutil.copyfile(info.path, partial)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
    return read_gguf(target)


def describe_model(model: str, models_dir: Path, hardware: Hardware, context: int,
                   catalog: Path | None = None) -> dict[str, Any]:
    """What `models info` shows: the file's header when there is one, each variant's fit, the
    recommendation, and this machine."""
    entries = load_catalog(catalog)
    result: dict[str, Any] = {"hardware": hardware.describe(), "context": context}
    entry: ModelEntry | None = entries.get(model.partition(":")[0])  # ID or ID:QUANT
    if entry is None:
        path = Path(model).expanduser()
        if not path.is_file():
            path = models_dir / model  # an imported file, by name
        if not path.is_file():
            raise UserError(f"unknown model {model!r}: give a catalogue id, an imported file name "
                            "or a path to a .gguf file")
        info = read_gguf(path)
        here = file_placement(info, context, hardware)
        result.update(info.as_dict(), fit=here.describe(), gpu_layers=here.gpu_layers)
        return result
    result.update({key: entry.raw.get(key) for key in
                   ("id", "name", "description", "parameters", "context_length", "license",
                    "chat_template")})
    choices, recommendation = _entry_choices(entry, models_dir, hardware, context)
    result["variants"] = [c.to_json() for c in choices]
    if recommendation is not None:
        best, placement, why = recommendation
        result["recommended"] = ({"quant": best["quant"], "why": why,
                                  "fit": placement.describe() if placement else None}
                                 if best else {"quant": None, "why": why})
    return result


def file_placement(info: GgufInfo, context: int, hardware: Hardware) -> Placement:
    """Where a GGUF file would run here, from its header, at `context` tokens (or the model's
    own context length when that is shorter)."""
    shape = ModelShape(info.layers, info.kv_heads, (info.head_dim_k + info.head_dim_v) // 2)
    usable = min(context, info.context_length) if info.context_length else context
    return plan_placement(info.size_bytes, shape, usable, hardware)
