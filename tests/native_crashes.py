"""A crash in native code fails one test with its reason; the rest of the run still reports.

The suite runs in a pytest-xdist worker process (`-n 1`, set in pyproject.toml), so a segfault
in llama.cpp, Chroma or Qt kills the worker, not the run: xdist fails the test that was running
and starts a new worker for the rest. These hooks add what xdist cannot know: the worker writes
Python's fault report (the signal and every thread's stack) to a file, and the controller puts
that file into the failed test's report.
"""

from __future__ import annotations

import faulthandler
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

FAULTS_ENV = "DESKTOP_APP_TEST_FAULTS"
_fault_file: Any = None


def pytest_configure(config: pytest.Config) -> None:
    if not os.environ.get("PYTEST_XDIST_WORKER"):  # the controller, before it starts workers
        os.environ.setdefault(FAULTS_ENV, tempfile.mkdtemp(prefix="test-faults-"))


def pytest_sessionstart(session: pytest.Session) -> None:
    """In a worker: fault reports go to its own file (after pytest's handler is set up)."""
    global _fault_file
    worker, folder = os.environ.get("PYTEST_XDIST_WORKER"), os.environ.get(FAULTS_ENV)
    if worker and folder:
        _fault_file = open(Path(folder) / f"{worker}.log", "w", encoding="utf-8")  # noqa: SIM115
        faulthandler.enable(file=_fault_file, all_threads=True)


@pytest.hookimpl(optionalhook=True)
def pytest_handlecrashitem(crashitem: str, report: pytest.TestReport, sched: Any) -> None:
    """In the controller: name the signal and show where each thread was."""
    folder = os.environ.get(FAULTS_ENV)
    worker = getattr(getattr(report, "node", None), "gateway", None)
    if not folder or worker is None:
        return
    log = Path(folder) / f"{worker.id}.log"
    text = log.read_text(encoding="utf-8", errors="replace").strip() if log.exists() else ""
    first = text.splitlines()[0] if text else "the worker process died without a fault report"
    report.longrepr = f"{report.longrepr}: {first}\n\n{text}"
