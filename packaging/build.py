#!/usr/bin/env python3
"""Build the self-contained app and its installer: `python3 packaging/build.py`.

1. Sets up `.venv` as `packaging/bootstrap.py` does (the pinned stack) and adds PyInstaller.
2. Freezes the app with `packaging/desktop_app.spec` into `build/dist/desktop-app/`: its own
   Python, Qt, llama.cpp, the embedder and the starter model; no Python needed on the machine.
3. Drops what the app never uses (see PRUNE) and writes `build/size-report.txt`: the bundle's
   size and its ten largest parts.
4. Packages it for this platform: on Linux `build/desktop-app_VERSION_amd64.deb` (desktop entry,
   icon, `desktop-app` on the PATH). Windows and macOS recipes: packaging/windows/, packaging/macos/.

`--skip-freeze` repackages an existing bundle; `--no-venv` uses the running Python as it is.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build"
BUNDLE = BUILD / "dist" / "desktop-app"
PYINSTALLER = "pyinstaller==6.22.3"

# Parts of the frozen dependencies that the app never loads (checked by --self-test after the
# prune): C/C++ headers and static libraries for building extensions, test suites, type stubs.
PRUNE = [
    "_internal/torch/include", "_internal/torch/share", "_internal/torch/test",
    "_internal/torch/testing/_internal/data", "_internal/torch/utils/benchmark",
    "_internal/torch/lib/*.a", "_internal/numpy/_core/include", "_internal/numpy/_core/tests",
    "_internal/pyarrow/include", "_internal/pyarrow/tests", "_internal/pandas/tests",
    "_internal/scipy/**/tests", "_internal/sklearn/**/tests", "_internal/PySide6/include",
    "_internal/PySide6/Qt/translations/qtwebengine*", "_internal/PySide6/Qt/qml",
    "_internal/spacy/tests", "_internal/thinc/tests",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-freeze", action="store_true")
    parser.add_argument("--no-venv", action="store_true")
    args = parser.parse_args(argv)
    python = Path(sys.executable) if args.no_venv else setup_venv()
    if not args.skip_freeze:
        freeze(python)
    prune()
    report = size_report()
    print(report)
    if sys.platform.startswith("linux"):
        deb = build_deb(version(python))
        print(f"{deb}: {deb.stat().st_size / 1e6:,.0f} MB")
        with (BUILD / "size-report.txt").open("a", encoding="utf-8") as out:
            out.write(f"\ninstaller {deb.name}: {deb.stat().st_size / 1e6:,.0f} MB\n")
    else:
        print("Package the bundle with the recipe for this platform in packaging/windows or "
              "packaging/macos.")
    return 0


def setup_venv() -> Path:
    sys.path.insert(0, str(ROOT / "packaging"))
    import bootstrap  # the same pinned environment the tests run in

    bootstrap.set_up(with_tests=True)
    python = bootstrap._python()
    subprocess.run([str(python), "-m", "pip", "install", "-q", PYINSTALLER], check=True)
    return python


def freeze(python: Path) -> None:
    started = time.monotonic()
    subprocess.run([str(python), "-m", "PyInstaller", "--noconfirm", "--distpath",
                    str(BUILD / "dist"), "--workpath", str(BUILD / "work"),
                    str(ROOT / "packaging" / "desktop_app.spec")], check=True, cwd=ROOT)
    print(f"froze the app in {time.monotonic() - started:.0f} s")


def prune() -> None:
    for pattern in PRUNE:
        for path in BUNDLE.glob(pattern):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()


def size_report() -> str:
    internal = BUNDLE / "_internal"
    parts: dict[str, int] = {}
    for path in internal.rglob("*"):
        if path.is_file() and not path.is_symlink():
            relative = path.relative_to(internal).parts
            key = relative[0] if len(relative) > 1 else path.name
            parts[key] = parts.get(key, 0) + path.stat().st_size
    total = sum(parts.values())
    lines = [f"bundle {BUNDLE.relative_to(ROOT)}: {total / 1e6:,.0f} MB", "ten largest parts:"]
    for name, size in sorted(parts.items(), key=lambda kv: -kv[1])[:10]:
        lines.append(f"  {size / 1e6:8,.0f} MB  {name}")
    report = "\n".join(lines)
    (BUILD / "size-report.txt").write_text(report + "\n", encoding="utf-8")
    return report


def version(python: Path) -> str:
    return subprocess.run([str(python), "-c", "import desktop_app; print(desktop_app.__version__)"],
                          check=True, capture_output=True, text=True, cwd=ROOT).stdout.strip()


def build_deb(app_version: str) -> Path:
    """A .deb that installs the bundle under /opt, a launcher on the PATH, a menu entry, an icon."""
    stage = BUILD / "deb"
    shutil.rmtree(stage, ignore_errors=True)
    (stage / "DEBIAN").mkdir(parents=True)
    shutil.copytree(BUNDLE, stage / "opt" / "desktop-app", symlinks=True)
    (stage / "usr" / "bin").mkdir(parents=True)
    os.symlink("/opt/desktop-app/desktop-app", stage / "usr" / "bin" / "desktop-app")
    linux = ROOT / "packaging" / "linux"
    applications = stage / "usr" / "share" / "applications"
    applications.mkdir(parents=True)
    shutil.copy(linux / "desktop-app.desktop", applications)
    icons = stage / "usr" / "share" / "icons" / "hicolor" / "512x512" / "apps"
    icons.mkdir(parents=True)
    shutil.copy(ROOT / "assets" / "icon.png", icons / "desktop-app.png")
    size_kib = sum(p.stat().st_size for p in stage.rglob("*") if p.is_file()) // 1024
    control = (linux / "control").read_text(encoding="utf-8")
    control = control.replace("@VERSION@", app_version).replace("@SIZE@", str(size_kib))
    (stage / "DEBIAN" / "control").write_text(control, encoding="utf-8")
    for script in ("postinst", "postrm"):
        target = stage / "DEBIAN" / script
        shutil.copy(linux / script, target)
        target.chmod(0o755)
    deb = BUILD / f"desktop-app_{app_version}_amd64.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zxz", "--build", str(stage), str(deb)],
                   check=True)
    return deb


if __name__ == "__main__":
    sys.exit(main())
