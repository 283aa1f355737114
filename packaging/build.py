#!/usr/bin/env python3
"""Build the self-contained app and its installer: `python3 packaging/build.py`.

1. Sets up `.venv` as `packaging/bootstrap.py` does (the pinned stack) and adds PyInstaller.
2. Exports the built-in embedder to ONNX (checked against torch) and freezes the app with
   `packaging/desktop_app.spec` into `build/dist/desktop-app/`: its own Python, Qt, llama.cpp,
   the embedder and the starter model; no Python and no torch needed on the machine.
3. Drops what the app never uses (see PRUNE) and writes `build/size-report.txt`: the bundle's
   size and its ten largest parts.
4. Packages it for this platform: on Linux `build/desktop-app_VERSION_amd64.deb` (desktop entry,
   icon, `desktop-app` on the PATH). Windows and macOS recipes: packaging/windows/, packaging/macos/.

`--skip-freeze` repackages an existing bundle; `--no-venv` uses the running Python as it is.
`--cuda` builds the GPU variant: llama.cpp compiled with CUDA (needs the CUDA toolkit's nvcc)
in its own `.venv-cuda`, bundled as `desktop-app-cuda` with the CUDA runtime libraries it links
(the NVIDIA driver itself stays the system's). The app names its build in `--version`, in
Help → About and in the settings dialog ("CUDA build" / "CPU build").
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
NAME = "desktop-app"
BUNDLE = BUILD / "dist" / NAME
PYINSTALLER = "pyinstaller==6.22.3"

# Parts of the frozen dependencies that the app never loads (checked by --self-test after the
# prune): C/C++ headers and static libraries for building extensions, test suites, type stubs.
PRUNE = [
    "_internal/numpy/_core/include", "_internal/numpy/_core/tests",
    "_internal/pyarrow/include", "_internal/pyarrow/tests", "_internal/pandas/tests",
    "_internal/scipy/**/tests", "_internal/sklearn/**/tests", "_internal/PySide6/include",
    "_internal/PySide6/Qt/translations/qtwebengine*", "_internal/PySide6/Qt/qml",
    "_internal/spacy/tests", "_internal/thinc/tests",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-freeze", action="store_true")
    parser.add_argument("--no-venv", action="store_true")
    parser.add_argument("--cuda", action="store_true", help="llama.cpp with CUDA (needs nvcc)")
    args = parser.parse_args(argv)
    if args.cuda:
        use_variant("desktop-app-cuda")
    python = Path(sys.executable) if args.no_venv else setup_venv(args.cuda)
    if not args.skip_freeze:
        export_embedder(python)
        freeze(python)
    prune()
    report = size_report()
    print(report)
    if sys.platform.startswith("linux"):
        deb = build_deb(version(python), "Conflicts: desktop-app\n" if args.cuda else "")
        print(f"{deb}: {deb.stat().st_size / 1e6:,.0f} MB")
        with (BUILD / "size-report.txt").open("a", encoding="utf-8") as out:
            out.write(f"\ninstaller {deb.name}: {deb.stat().st_size / 1e6:,.0f} MB\n")
    else:
        print("Package the bundle with the recipe for this platform in packaging/windows or "
              "packaging/macos.")
    return 0


def use_variant(name: str) -> None:
    global NAME, BUNDLE
    NAME, BUNDLE = name, BUILD / "dist" / name
    os.environ["DESKTOP_APP_BUNDLE_NAME"] = name  # read by the spec
    os.environ["DESKTOP_APP_VENV"] = str(ROOT / ".venv-cuda")  # read by bootstrap


def setup_venv(cuda: bool = False) -> Path:
    sys.path.insert(0, str(ROOT / "packaging"))
    import bootstrap  # the same pinned environment the tests run in

    bootstrap.set_up(with_tests=True)
    python = bootstrap._python()
    subprocess.run([str(python), "-m", "pip", "install", "-q", PYINSTALLER], check=True)
    marker = python.parent.parent / ".llama-cuda"
    if cuda and not marker.exists():  # the same portable CPU code, plus the CUDA backend
        os.environ["CMAKE_ARGS"] = f"{os.environ.get('CMAKE_ARGS', '')} -DGGML_CUDA=on".strip()
        wheel = bootstrap.build_llama_wheel(python, bootstrap.portable_cmake_args(),
                                            python.parent.parent / "wheels")
        subprocess.run([str(python), "-m", "pip", "install", "--force-reinstall", "--no-deps",
                        str(wheel)], check=True)
        marker.touch()
    return python


def export_embedder(python: Path) -> None:
    """The built-in embedder as an ONNX model, checked against torch: the bundle runs it on ONNX
    Runtime and leaves torch out."""
    target = BUILD / "embedder"
    shutil.rmtree(target, ignore_errors=True)
    code = ("import sys; from pathlib import Path; "
            "from desktop_app.core.offline import seal_environment; seal_environment(); "
            "from desktop_app.core.ingest.embedding import BUILTIN_EMBEDDERS; "
            "from desktop_app.core.ingest.onnx_embedding import export_onnx; "
            "export_onnx(BUILTIN_EMBEDDERS['all-MiniLM-L6-v2'](), Path(sys.argv[1]))")
    subprocess.run([str(python), "-c", code, str(target)], check=True, cwd=ROOT)


def freeze(python: Path) -> None:
    started = time.monotonic()
    subprocess.run([str(python), "-m", "PyInstaller", "--noconfirm", "--distpath",
                    str(BUILD / "dist"), "--workpath", str(BUILD / "work"),
                    str(ROOT / "packaging" / "desktop_app.spec")], check=True, cwd=ROOT)
    print(f"froze the app in {time.monotonic() - started:.0f} s")
    check_cpu_variants(python)


def check_cpu_variants(python: Path) -> None:
    """The bundle carries every CPU variant of llama.cpp that the environment has: without them
    the installed app would run only on CPUs like the one that built it, or not at all."""
    found = subprocess.run([str(python), "-c", "from desktop_app.core.models.llama_runtime import "
                            "library_dir; print(library_dir())"], check=True, capture_output=True,
                           text=True, cwd=ROOT).stdout.strip()
    built = sorted(p.name for p in Path(found).glob("*ggml-cpu*"))
    bundled = sorted(p.name for p in BUNDLE.rglob("*ggml-cpu*"))
    if built != bundled:
        sys.exit(f"the bundle's llama.cpp CPU variants {bundled} differ from the build's {built}")
    print(f"llama.cpp CPU variants in the bundle: {len(bundled)}")


def prune() -> None:
    for pattern in PRUNE:
        for path in BUNDLE.glob(pattern):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
    if sys.platform.startswith("linux") and shutil.which("strip"):
        strip_symbols()


def strip_symbols() -> None:
    """Drop the symbol tables wheels leave in their libraries (spaCy and thinc most of them);
    `--strip-unneeded` keeps every symbol the
    dynamic linker needs. Not the libraries auditwheel vendored into `*.libs` folders: rewritten
    by patchelf, they no longer load once stripped ("ELF load command address/offset not
    page-aligned"; numpy's OpenBLAS among them)."""
    for path in (BUNDLE / "_internal").rglob("*.so*"):
        if any(part.endswith(".libs") for part in path.parts):
            continue
        if path.is_file() and not path.is_symlink() and _is_elf(path):
            subprocess.run(["strip", "--strip-unneeded", str(path)], check=False,
                           stderr=subprocess.DEVNULL)


def _is_elf(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(4) == b"\x7fELF"


def size_report() -> str:
    """The whole bundle's size (the executables hold the app's compiled Python) and its parts:
    each folder under `_internal`, each file elsewhere."""
    parts: dict[str, int] = {}
    for path in BUNDLE.rglob("*"):
        if path.is_file() and not path.is_symlink():
            relative = path.relative_to(BUNDLE).parts
            if relative[0] == "_internal":
                relative = relative[1:]
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


def build_deb(app_version: str, extra_control: str = "") -> Path:
    """A .deb that installs the bundle under /opt, a launcher on the PATH, a menu entry, an icon."""
    stage = BUILD / "deb"
    shutil.rmtree(stage, ignore_errors=True)
    (stage / "DEBIAN").mkdir(parents=True)
    shutil.copytree(BUNDLE, stage / "opt" / "desktop-app", symlinks=True)
    if NAME != "desktop-app":  # a variant's executable keeps the app's command name
        (stage / "opt" / "desktop-app" / NAME).rename(stage / "opt" / "desktop-app" / "desktop-app")
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
    control = control.replace("Package: desktop-app\n", f"Package: {NAME}\n{extra_control}")
    (stage / "DEBIAN" / "control").write_text(control, encoding="utf-8")
    for script in ("postinst", "postrm"):
        target = stage / "DEBIAN" / script
        shutil.copy(linux / script, target)
        target.chmod(0o755)
    deb = BUILD / f"{NAME}_{app_version}_amd64.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zxz", "--build", str(stage), str(deb)],
                   check=True)
    return deb


if __name__ == "__main__":
    sys.exit(main())
