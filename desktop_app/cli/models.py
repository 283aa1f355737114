"""`models list|download|use`: the catalogue, verified downloads and the model in use."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from desktop_app.core import Library
from desktop_app.core.catalog import load_catalog
from desktop_app.core.downloads import DownloadError, download
from desktop_app.core.errors import UserError

__all__ = ["add_models_parser", "run_models"]


def add_models_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    models = sub.add_parser("models", parents=[common], help="list, download or choose models")
    models.add_argument("--catalog", type=Path, default=None, help="a models.json to use instead")
    actions = models.add_subparsers(dest="action", required=True)
    actions.add_parser("list", parents=[common]).add_argument("--json", action="store_true")
    fetch = actions.add_parser("download", parents=[common])
    fetch.add_argument("model_id")
    fetch.add_argument("--quant", default="Q4_K_M")
    use = actions.add_parser("use", parents=[common])
    use.add_argument("model", help="a catalogue id or a path to a .gguf file")


def run_models(library: Library, args: argparse.Namespace) -> int:
    catalog = load_catalog(args.catalog)
    if args.action == "list":
        rows = []
        for entry in catalog.values():
            for variant in entry.variants:
                local = library.models_dir / variant["file"]
                rows.append({"id": entry.id, "name": entry.name, "quant": variant["quant"],
                             "size_bytes": variant.get("size_bytes"), "installed": local.is_file()
                             or bool(variant.get("python_package"))})
        if args.json:
            print(json.dumps(rows, indent=2))
        for row in [] if args.json else rows:
            size = f"{row['size_bytes'] / 1e9:.2f} GB" if row["size_bytes"] else "size unknown"
            mark = "installed" if row["installed"] else ""
            print(f"{row['id']:28} {row['quant']:7} {size:>12}  {mark}")
        return 0
    if args.action == "use":
        library.update_settings(model=args.model)
        print(f"model set to {args.model}")
        return 0
    return _download(library, catalog, args)


def _download(library: Library, catalog: dict, args: argparse.Namespace) -> int:  # type: ignore[type-arg]
    entry = catalog.get(args.model_id)
    if entry is None:
        raise UserError(f"unknown model {args.model_id!r} (see: models list)")
    variant = next((v for v in entry.variants if v["quant"] == args.quant), None)
    if variant is None or not variant.get("url"):
        quants = ", ".join(v["quant"] for v in entry.variants)
        raise UserError(f"{args.model_id} has no downloadable {args.quant}; available: {quants}")
    target = library.models_dir / variant["file"]
    progress = download(variant["url"], target, variant.get("size_bytes"), variant.get("sha256"),
                        variant.get("md5"))
    try:
        while True:
            try:
                step = next(progress)
            except StopIteration:
                break
            total = f"/{step.bytes_total / 1e6:,.0f}" if step.bytes_total else ""
            left = f", {step.seconds_left:.0f} s left" if step.seconds_left is not None else ""
            print(f"\r{step.bytes_done / 1e6:,.0f}{total} MB at {step.bytes_per_second / 1e6:.1f} MB/s"
                  f"{left}   ", end="", file=sys.stderr, flush=True)
    except DownloadError as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        progress.close()
        print("\ncancelled: the partial file is kept; download again to resume", file=sys.stderr)
        return 1
    print(f"\n{target} verified" + (" (sha256)" if variant.get("sha256") else ""), file=sys.stderr)
    print(target)
    return 0
