"""The test run itself survives a crash in native code: the crashing test fails with its signal,
and the tests after it still run and report."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CRASHING_TESTS = '''
import ctypes


def test_before():
    assert True


def test_segfaults():
    ctypes.string_at(0)  # a real SIGSEGV, as a fault in llama.cpp would be


def test_after():
    assert True
'''


def test_a_segfault_fails_one_test_and_the_summary_still_comes(tmp_path):
    (tmp_path / "conftest.py").write_text(
        "from tests.native_crashes import pytest_configure, pytest_handlecrashitem, "
        "pytest_sessionstart  # noqa: F401\n", encoding="utf-8")
    (tmp_path / "test_crash.py").write_text(CRASHING_TESTS, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "1", "-p", "no:cacheprovider", "-rA",
         "--rootdir", str(tmp_path), "-c", "/dev/null", str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    out = done.stdout
    assert done.returncode == 1, out
    assert "1 failed, 2 passed" in out
    assert "FAILED test_crash.py::test_segfaults" in out
    assert "Fatal Python error: Segmentation fault" in out
    assert "PASSED test_crash.py::test_after" in out
