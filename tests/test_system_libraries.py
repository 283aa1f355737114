"""Before Qt loads, a machine without the libraries its X11 support needs is told which."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from desktop_app.system_libraries import missing_window_libraries, window_libraries_problem

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_missing_libraries_are_named_with_the_command_that_installs_them(monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    absent = {"libxcb-icccm.so.4", "libxcb-keysyms.so.1"}
    problem = window_libraries_problem(lambda name: name not in absent)
    assert problem is not None
    assert "sudo apt-get install libxcb-icccm4 libxcb-keysyms1" in problem
    assert window_libraries_problem(lambda name: True) is None


def test_no_check_without_x11(monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")  # a chosen platform: not X11
    assert missing_window_libraries(lambda name: False) == []
    monkeypatch.delenv("QT_QPA_PLATFORM")
    monkeypatch.delenv("DISPLAY")
    assert missing_window_libraries(lambda name: False) == []


def test_the_app_says_what_to_install_instead_of_qts_message(monkeypatch):
    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    env = dict(os.environ)
    lacking = missing_window_libraries()
    if not lacking:
        pytest.skip("this machine has every library the window needs")
    result = subprocess.run([sys.executable, "-m", "desktop_app"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert f"sudo apt-get install {' '.join(lacking)}" in result.stderr
