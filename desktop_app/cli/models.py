"""`models list|download|import|use|info`: the catalogue, fit on this machine, downloads, imports."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from desktop_app.core import Library
from desktop_app.core.errors import DownloadError
from desktop_app.core.models.model_manager import Models

__all__ = ["add_models_parser", "run_models"]


def add_models_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    # --catalog is taken before or after the action (`models --catalog F list`, `models list
    # --catalog F`), as the common options are.
    catalog = argparse.ArgumentParser(add_help=False)
    catalog.add_argument("--catalog", type=Path, default=argparse.SUPPRESS,
                         help="a models.json to use instead of the built-in one")
    common = argparse.ArgumentParser(add_help=False, parents=[common, catalog])
    models = sub.add_parser("models", parents=[common], help="list, download or choose models")
    actions = models.add_subparsers(dest="action", required=True)
    actions.add_parser("list", parents=[common]).add_argument("--json", action="store_true")
    actions.add_parser("embedders", parents=[common],
                       help="embedders to choose from (settings set embedder ID, then reindex)"
                       ).add_argument("--json", action="store_true")
    fetch = actions.add_parser("download", parents=[common])
    fetch.add_argument("model_id")
    fetch.add_argument("--quant", default="Q4_K_M")
    use = actions.add_parser("use", parents=[common])
    use.add_argument("model", help="a catalogue id (ID, or ID:QUANT for one quantization), an "
                     "imported file name or a path to a .gguf file")
    bring = actions.add_parser("import", parents=[common], help="check a local .gguf and add it")
    bring.add_argument("path", type=Path)
    bring.add_argument("--link", action="store_true", help="link to the file instead of copying it")
    bring.add_argument("--use", action="store_true", help="also make it the model in use")
    info = actions.add_parser("info", parents=[common], help="a model's facts and fit here")
    info.add_argument("model", help="a catalogue id, an imported file name or a path to a .gguf file")
    info.add_argument("--context", type=int, default=None, help="tokens (default: the setting)")
    info.add_argument("--json", action="store_true")


def run_models(library: Library, args: argparse.Namespace) -> int:
    context = getattr(args, "context", None) or library.settings.context_size
    models = library.models.with_catalog(getattr(args, "catalog", None))
    if args.action == "list":
        choices = models.choices(context)
        if args.json:
            print(json.dumps([c.to_json() for c in choices], indent=2))
            return 0
        print(f"This machine: {models.hardware.describe()}; fit for a {context}-token context.")
        for c in choices:
            marks = ("installed " if c.installed else "") + ("recommended" if c.recommended else "")
            print(f"{c.id:28} {c.quant:7} {c.size_text:>9}  {marks:22} {c.fit_text}")
        return 0
    if args.action == "embedders":
        embedders = models.embedders()
        if args.json:
            print(json.dumps([e.to_json() for e in embedders], indent=2))
            return 0
        for e in embedders:
            mark = "in use " if e.id == library.settings.embedder else ""
            print(f"{e.id:28} {mark:7}{e.label()}")
        return 0
    if args.action == "info":
        facts = models.describe(args.model, context)
        print(json.dumps(facts, indent=2) if args.json else _info_text(facts))
        return 0
    if args.action == "import":
        imported = models.import_file(args.path, link=args.link)
        print(f"imported {imported.path.name}: {imported.architecture}, "
              f"{imported.parameters / 1e9:.2f}B parameters, {imported.quantization}, "
              f"context {imported.context_length}, "
              f"{'with' if imported.has_chat_template else 'no'} chat template")
        if not imported.has_chat_template:
            print("note: without a chat template it is prompted as a plain transcript",
                  file=sys.stderr)
        if args.use:
            _use(library, imported.path.name)
        return 0
    if args.action == "use":
        _use(library, args.model)
        return 0
    return _download(models, args)


def _download(models: Models, args: argparse.Namespace) -> int:
    progress = models.download(args.model_id, args.quant)
    try:
        while True:
            try:
                step = next(progress)
            except StopIteration as stop:
                target = stop.value
                break
            print(f"\r{step.describe()}   ", end="", file=sys.stderr, flush=True)
    except DownloadError as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        progress.close()
        print("\ncancelled: the partial file is kept; download again to resume", file=sys.stderr)
        return 1
    print(f"\n{target} verified", file=sys.stderr)
    print(target)
    return 0


def _info_text(facts: dict) -> str:  # type: ignore[type-arg]
    lines = [f"{key}: {value}" for key, value in facts.items()
             if key not in ("variants", "recommended", "hardware") and value is not None]
    for variant in facts.get("variants", []):
        size = f"{variant['size_bytes'] / 1e9:.2f} GB" + ("" if variant["size_exact"] else " (estimated)")
        mark = " (installed)" if variant["installed"] else ""
        lines.append(f"  {variant['quant']:7} {size:>22}{mark}: {variant['fit']}")
    recommended = facts.get("recommended")
    if recommended:
        choice = recommended["quant"] or "none"
        lines.append(f"recommended here: {choice} ({recommended['why']})")
    lines.append(f"this machine: {facts['hardware']}")
    return "\n".join(lines)


def _use(library: Library, model: str) -> None:
    """Make `model` the one that answers; a context size longer than it was trained for is
    lowered to what it can read, and said."""
    context = library.settings.context_size
    name, trained = library.models.trained_context(model, context)
    changes: dict[str, object] = {"model": model}
    if trained and context > trained:
        changes["context_size"] = trained
        print(f"context_size lowered from {context:,} to {trained:,}: the longest context "
              f"{name} was trained for", file=sys.stderr)
    library.update_settings(**changes)
    print(f"model set to {model}")
