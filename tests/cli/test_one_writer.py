"""Two processes, one workspace: adds take turns, the one that waits says whom it waits for, and
two adds started together on a brand-new workspace both finish with one workspace."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pytest

from desktop_app.core import Library
from desktop_app.core.storage.writer_lock import WriterLock
from tests.cli.test_cli import ROOT, cli
from tests.conftest import DATA

pytestmark = pytest.mark.integration


def start(home, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "DESKTOP_APP_HOME": str(home)}
    return subprocess.Popen([sys.executable, "-m", "desktop_app.cli", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_an_add_waits_for_the_writer_and_says_whom_it_waits_for(tmp_path):
    library = Library(tmp_path)
    folder = library.create("Shared").folder
    library.close()
    held = WriterLock(folder)
    for _ in held.acquire("add"):
        pytest.fail("the lock was free: nothing should wait")
    add = start(tmp_path, "add", "Shared", str(DATA / "war-and-peace-1p.txt"))
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(add.stderr), daemon=True)
    reader.start()
    deadline = time.monotonic() + 120
    while not any("waiting for another" in line for line in lines) and time.monotonic() < deadline:
        time.sleep(0.2)
    waiting = next(line for line in lines if "waiting for another" in line)
    assert f"add in progress (pid {os.getpid()}" in waiting
    assert add.poll() is None  # still waiting, nothing written
    held.release()
    assert add.wait(timeout=300) == 0
    docs = json.loads(cli(tmp_path, "docs", "Shared", "--json").stdout)
    assert [d["status"] for d in docs] == ["indexed"]


def test_two_adds_started_together_on_a_new_workspace_both_finish(tmp_path):
    files = [str(DATA / "war-and-peace-1p.txt"), str(DATA / "family-day.eml")]
    for round_ in range(3):
        name = f"New {round_}"
        runs = [start(tmp_path, "add", name, path, "--create") for path in files]
        outcomes = [(run.wait(timeout=600), run.stderr.read()) for run in runs]
        assert [code for code, _ in outcomes] == [0, 0], outcomes
        names = cli(tmp_path, "workspace", "list").stdout.splitlines()
        assert names.count(name) == 1
        docs = json.loads(cli(tmp_path, "docs", name, "--json").stdout)
        assert sorted(d["status"] for d in docs) == ["indexed", "indexed"]
