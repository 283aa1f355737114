"""Real servers for tests, started on 127.0.0.1: llama.cpp's OpenAI-compatible server, a
Chroma server, and Caddy in front of it as the TLS and token-checking proxy a team runs.

    python -m tests.servers llama --model FILE --port N --api_key KEY ...

runs llama-cpp-python's own server (`llama_cpp.server`, its arguments unchanged) after loading
llama.cpp's CPU backends the way the app does: the portable build keeps them as separate
libraries that llama.cpp would only look for beside the Python executable.
"""

from __future__ import annotations

import os
import runpy
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited: {log.read_text()[-2000:]}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"the server did not start: {log.read_text()[-2000:]}")


@contextmanager
def _running(command: list[str], port: int, log: Path, env: dict[str, str] | None = None
             ) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                   env={**os.environ, **(env or {})})
    try:
        _wait_for_port(port, process, log)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def chroma_server(folder: Path) -> Iterator[str]:
    """Chroma's own server (`chroma run`, from the chromadb package) keeping its data in
    `folder`; yields its http:// address."""
    port = free_port()
    chroma = Path(sys.executable).with_name("chroma")
    folder.mkdir(parents=True, exist_ok=True)
    with _running([str(chroma), "run", "--path", str(folder / "data"), "--host", "127.0.0.1",
                   "--port", str(port)], port, folder / "chroma.log",
                  {"ANONYMIZED_TELEMETRY": "False"}):
        yield f"http://127.0.0.1:{port}"


def caddy_binary() -> Path | None:
    """Caddy from the PATH, or the copy the test set-up unpacked from Debian's package."""
    found = shutil.which("caddy")
    local = Path(sys.prefix) / "tools" / "caddy"  # the virtual environment running the tests
    return Path(found) if found else local if local.is_file() else None


@dataclass
class Proxy:
    """Caddy as a team runs it in front of a shared Chroma server; `stop` and `start` take it
    down and bring it back on the same address."""

    url: str  # https://127.0.0.1:PORT
    ca_bundle: Path  # the authority that signed its certificate
    token: str
    command: list[str]
    env: dict[str, str]
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("a") as out:
            self.process = subprocess.Popen(self.command, stdout=out, stderr=subprocess.STDOUT,
                                            env={**os.environ, **self.env})
        _wait_for_port(self.port, self.process, self.log)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None


@contextmanager
def caddy_proxy(upstream: str, folder: Path, token: str) -> Iterator[Proxy]:
    """Caddy on 127.0.0.1 with a certificate from a test authority (trustme), passing to
    `upstream` only requests that carry `Authorization: Bearer <token>`: the setup
    docs/scale-out.md describes for a shared Chroma server."""
    import trustme

    caddy = caddy_binary()
    if caddy is None:
        raise RuntimeError("Caddy is not installed (Debian/Ubuntu: sudo apt install caddy)")
    folder.mkdir(parents=True, exist_ok=True)
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1", "localhost")
    certificate.private_key_pem.write_to_path(str(folder / "key.pem"))
    certificate.cert_chain_pems[0].write_to_path(str(folder / "cert.pem"))
    authority.cert_pem.write_to_path(str(folder / "ca.pem"))
    port = free_port()
    config = folder / "Caddyfile"
    config.write_text(f"""{{
    admin off
    auto_https off
    storage file_system {folder / "caddy-data"}
}}
https://127.0.0.1:{port} {{
    tls {folder / "cert.pem"} {folder / "key.pem"}
    @authorised header Authorization "Bearer {token}"
    handle @authorised {{
        reverse_proxy {upstream.removeprefix("http://")}
    }}
    respond 401
}}
""")
    proxy = Proxy(f"https://127.0.0.1:{port}", folder / "ca.pem", token,
                  [str(caddy), "run", "--config", str(config), "--adapter", "caddyfile"],
                  {"HOME": str(folder), "XDG_DATA_HOME": str(folder),
                   "XDG_CONFIG_HOME": str(folder)}, port, folder / "caddy.log")
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()


def main(argv: list[str]) -> None:
    if not argv or argv[0] != "llama":
        raise SystemExit(__doc__)
    from desktop_app.core.models.llama_runtime import load_llama

    load_llama()
    sys.argv = ["llama_cpp.server", *argv[1:]]
    runpy.run_module("llama_cpp.server", run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
