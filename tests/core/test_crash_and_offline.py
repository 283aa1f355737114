"""Killing the indexer mid-batch, and a whole add-and-ask with the network refused."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from desktop_app.core import Library
from desktop_app.core.backends import RealBackends
from desktop_app.core.search.vectors import ChromaVectorStore
from tests.conftest import DATA
from tests.servers import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def cli(*args: str, home: Path, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "DESKTOP_APP_HOME": str(home)}
    return subprocess.Popen([sys.executable, "-m", "desktop_app.cli", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, **kwargs)


@pytest.mark.parametrize("kill_after", [1, 4])
def test_killing_the_indexer_mid_batch_then_rerunning_completes_without_duplicates(
    tmp_path, data_copy, kill_after
):
    home = tmp_path / "home"
    process = cli("add", "Crash", str(data_copy), "--create", home=home)
    finished_lines = 0
    assert process.stdout is not None
    for line in process.stdout:
        finished_lines += line.startswith(("indexed", "failed", "skipped"))
        if finished_lines >= kill_after:
            process.send_signal(signal.SIGKILL)
            break
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, "the indexer finished before it could be killed"

    rerun = cli("add", "Crash", str(data_copy), home=home)
    output, _ = rerun.communicate(timeout=600)
    assert rerun.returncode in (0, 1), output  # 1: some test files fail on purpose

    library = Library(home, backends=RealBackends())
    workspace = library.open("Crash")
    records = workspace.documents()
    assert len(records) == len(list(data_copy.iterdir()))
    assert all(r.status.value in ("indexed", "skipped", "failed") for r in records)
    rows = workspace.store.chunk_count()
    assert rows == sum(r.chunks for r in records) > 0
    library.close()
    vectors = ChromaVectorStore(workspace.folder / "vectors")
    try:
        assert vectors.count() == rows, "vectors and chunk rows disagree after the crash"
    finally:
        vectors.close()


GUARDED_RUN = textwrap.dedent("""
    import ipaddress, json, socket, sys, time

    attempts = []

    def _is_local(host):
        if host in ("localhost", "", None):
            return True
        try:
            return ipaddress.ip_address(host.split("%")[0]).is_loopback
        except ValueError:
            return False

    def _guard(original):
        def guarded(sock, address, *rest):
            if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address[0]):
                attempts.append(f"connect {address!r}")
                raise OSError("network refused by the offline test")
            return original(sock, address, *rest)
        return guarded

    socket.socket.connect = _guard(socket.socket.connect)
    socket.socket.connect_ex = _guard(socket.socket.connect_ex)
    _getaddrinfo = socket.getaddrinfo
    def getaddrinfo(host, *args, **kwargs):
        if not _is_local(host if isinstance(host, str) else None):
            attempts.append(f"resolve {host!r}")
            raise socket.gaierror("name resolution refused by the offline test")
        return _getaddrinfo(host, *args, **kwargs)
    socket.getaddrinfo = getaddrinfo

    from desktop_app.core.offline import seal_environment
    seal_environment()
    from desktop_app.core import Library

    home, *files = sys.argv[1:]
    library = Library(home)
    library.update_settings(temperature=0.0)
    workspace = library.create("Offline")
    *_, finished = workspace.add(files)
    answer = workspace.ask("Who patented the typewriter in 1868?")
    library.close()
    time.sleep(2)  # give background telemetry threads, if any, the chance to try
    print(json.dumps({"attempts": attempts, "answer": answer.to_json(),
                      "statuses": [r.status.value for r in finished.records]}))
""")


def test_add_and_ask_never_touch_the_network(tmp_path):
    files = [DATA / n for n in ("word-processor-history.pdf", "word_sample.docx",
                                "sample-presentation.pptx", "example-10k-1p.html")]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    result = subprocess.run([sys.executable, "-c", GUARDED_RUN, str(tmp_path / "home"), *map(str, files)],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["attempts"] == []
    assert report["statuses"] == ["indexed"] * 4
    assert report["answer"]["answer"] and report["answer"]["retrieved"]


def test_a_script_that_only_uses_the_core_is_sealed_offline(tmp_path):
    """No entry module ran: the real backends seal the process before their libraries load."""
    script = ("import os\nfrom desktop_app.core import Library\n"
              f"Library({str(tmp_path)!r}).open_or_create('W')\n"
              "import huggingface_hub.constants as c, chromadb\n"
              "print(os.environ['HF_HUB_OFFLINE'], c.HF_HUB_OFFLINE, os.environ['ANONYMIZED_TELEMETRY'])\n")
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "ANONYMIZED_TELEMETRY")}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                          timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "True", "False"]
