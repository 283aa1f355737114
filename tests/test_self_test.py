"""The checks an installed app runs on itself, through the same entry point the installers use."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import ROOT

pytestmark = pytest.mark.integration


def run_app(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DESKTOP_APP_HOME": str(tmp_path / "home")}
    env.pop("DISPLAY", None)
    return subprocess.run([sys.executable, "-m", "desktop_app", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def test_self_test_indexes_asks_and_checks_the_citation(tmp_path):
    result = run_app(tmp_path, "--self-test")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "cited word-processor-history.pdf, page 1" in result.stdout
    assert result.stdout.strip().splitlines()[-1].startswith("PASS")
    assert not (tmp_path / "home" / "workspaces").exists() or not any(
        (tmp_path / "home" / "workspaces").iterdir())  # it works in a throw-away folder


def test_the_app_names_its_build_and_runs_cli_commands(tmp_path):
    version = run_app(tmp_path, "--version")
    assert version.returncode == 0 and "CPU build" in version.stdout
    listed = run_app(tmp_path, "models", "list")
    assert listed.returncode == 0 and "smollm2-135m-instruct" in listed.stdout


def test_the_app_entry_point_routes_every_command_line_command():
    # `desktop-app COMMAND …` runs the command line only for the names the entry point knows
    # (it must decide before importing the command line, to keep the window's start fast).
    from desktop_app.__main__ import CLI_COMMANDS
    from desktop_app.cli.commands import _HANDLERS

    assert CLI_COMMANDS == set(_HANDLERS)
