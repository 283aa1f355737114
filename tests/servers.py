"""Real servers for tests, started on 127.0.0.1: llama.cpp's OpenAI-compatible server.

    python -m tests.servers llama --model FILE --port N --api_key KEY ...

runs llama-cpp-python's own server (`llama_cpp.server`, its arguments unchanged) after loading
llama.cpp's CPU backends the way the app does: the portable build keeps them as separate
libraries that llama.cpp would only look for beside the Python executable.
"""

from __future__ import annotations

import runpy
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def llama_server(model: Path, log: Path, api_key: str, context: int = 2048,
                 alias: str = "smollm2", threads: int = 1) -> Iterator[str]:
    """A running llama.cpp server for `model`; yields its API's base URL (…/v1). Its output
    (every request, and "Disconnected from client" when one is closed) goes to `log`."""
    port = free_port()
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.servers", "llama", "--model", str(model),
             "--host", "127.0.0.1", "--port", str(port), "--api_key", api_key,
             "--n_ctx", str(context), "--model_alias", alias, "--n_threads", str(threads),
             "--verbose", "True"], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        _wait_until_up(url, api_key, process, log)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_until_up(url: str, api_key: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited: {log.read_text()[-2000:]}")
        request = urllib.request.Request(f"{url}/models",
                                         headers={"Authorization": f"Bearer {api_key}"})
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the server did not start: {log.read_text()[-2000:]}")


def main(argv: list[str]) -> None:
    if not argv or argv[0] != "llama":
        raise SystemExit(__doc__)
    from desktop_app.core.models.llama_runtime import load_llama

    load_llama()
    sys.argv = ["llama_cpp.server", *argv[1:]]
    runpy.run_module("llama_cpp.server", run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
