"""The portable llama.cpp build: its CPU variants, the decode probe, and the fallback when the
probe's child process really crashes."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from desktop_app.core.answer.llama_model import LlamaCppModel
from desktop_app.core.errors import BackendError
from desktop_app.core.models.catalog import resolve_model_path
from desktop_app.core.models.engine_check import EngineChecks, EngineConfig, ladder, probe_command
from desktop_app.core.models.llama_runtime import cpu_variants, load_llama, loaded_variant

pytestmark = pytest.mark.integration

MODEL = resolve_model_path("smollm2-135m-instruct", Path("/nonexistent"))
# A child that really dies on SIGSEGV (a read of address 0), as llama.cpp's AMX path did.
SEGFAULT = [sys.executable, "-c", "import ctypes; ctypes.string_at(0)"]


def crashing_when(condition):
    """A probe that crashes for the configurations `condition` picks, and runs the app's real
    probe (load the model, decode) for the others."""
    tried: list[EngineConfig] = []

    def command(model: Path, config: EngineConfig, gpu_layers: int) -> list[str]:
        tried.append(config)
        return SEGFAULT if condition(config) else probe_command(model, config, gpu_layers)

    command.tried = tried  # type: ignore[attr-defined]
    return command


@pytest.mark.skipif(platform.machine() not in {"x86_64", "AMD64"}, reason="x86-64 variant set")
def test_the_build_carries_every_x86_variant_and_loads_the_best_for_this_cpu():
    variants = cpu_variants()
    names = {v.name for v in variants}
    assert {"x64", "sse42", "haswell"} <= names, names  # every x86-64 CPU runs the first two
    assert [v.score for v in variants] == sorted((v.score for v in variants), reverse=True)
    load_llama()
    assert loaded_variant() == variants[0]


def test_a_model_is_proven_once_then_loads_without_a_probe(tmp_path):
    checks = EngineChecks(tmp_path / "checks.json")
    assert checks.ensure(MODEL, 0) == (EngineConfig(), "")
    remembered = json.loads(checks.path.read_text())[checks.key()]
    assert remembered["proven"] == [f"{MODEL.name}:{MODEL.stat().st_size}"]
    never = crashing_when(lambda config: True)
    assert EngineChecks(checks.path, probe=never).ensure(MODEL, 0) == (EngineConfig(), "")
    assert never.tried == []


def test_a_probe_that_crashes_with_repacking_falls_back_and_the_model_still_answers(tmp_path):
    probe = crashing_when(lambda config: config.extra_buffers)
    checks = EngineChecks(tmp_path / "checks.json", probe=probe)
    config, reason = checks.ensure(MODEL, 0)
    assert config == EngineConfig(None, extra_buffers=False)
    assert probe.tried == [EngineConfig(None, True), EngineConfig(None, False)]
    assert "weight repacking off: it crashed on this machine (SIGSEGV)" in reason
    assert EngineChecks(checks.path).current() == (config, reason)  # remembered on disk

    model = LlamaCppModel(MODEL, context_size=512, checks=EngineChecks(checks.path))
    try:
        model.warm_up()
        assert "weight repacking off: it crashed on this machine" in model.placement
        assert "".join(model.generate(model.tokenize("Paris is", add_bos=True), 4, 0.0)).strip()
    finally:
        model.close()


def test_when_the_best_variant_crashes_the_basic_one_is_used(tmp_path):
    basic = ladder()[-1]
    probe = crashing_when(lambda config: config.variant is None)
    config, reason = EngineChecks(tmp_path / "checks.json", probe=probe).ensure(MODEL, 0)
    assert config == basic
    assert reason.startswith(f"basic CPU code ({basic.variant})")


def test_a_model_that_crashes_in_every_configuration_is_refused_with_the_reason(tmp_path):
    checks = EngineChecks(tmp_path / "checks.json", probe=crashing_when(lambda config: True))
    with pytest.raises(BackendError, match="crashed on this CPU .* in every configuration"):
        checks.ensure(MODEL, 0)


def test_a_model_that_fails_to_load_is_not_mistaken_for_a_crash(tmp_path):
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 64)
    checks = EngineChecks(tmp_path / "checks.json")
    assert checks.ensure(broken, 0) == (EngineConfig(), "")
    assert not checks.path.exists()  # nothing proven, nothing stepped down
    with pytest.raises(BackendError, match="could not load the model broken.gguf"):
        LlamaCppModel(broken, checks=checks).warm_up()


def test_a_crash_in_real_use_makes_the_next_load_safer(tmp_path):
    checks = EngineChecks(tmp_path / "checks.json")
    assert "from now on it runs with weight repacking off" in checks.record_crash(-11)
    model = LlamaCppModel(MODEL, context_size=512, checks=checks)
    try:
        model.warm_up()
        assert "weight repacking off: it crashed on this machine (SIGSEGV)" in model.placement
    finally:
        model.close()


def test_crashes_step_down_once_each_and_stop_at_the_last_step(tmp_path):
    checks = EngineChecks(tmp_path / "checks.json")
    steps = ladder()
    messages = [checks.record_crash(-11) for _ in steps]
    assert checks.current()[0] == steps[-1]
    assert "no safer configuration left" in messages[-1]


# A command line that loads the model itself and then dies inside llama.cpp: its context pointer
# is replaced by an address nothing is mapped at, so the next call into llama.cpp faults.
DIES_IN_LLAMA = f"""
import ctypes
from pathlib import Path
from desktop_app.core.answer.llama_model import LlamaCppModel
from desktop_app.core.models.engine_check import EngineChecks, EngineConfig
EngineChecks().arm_crash_record()
model = LlamaCppModel(Path({str(MODEL)!r}), context_size=512, engine=EngineConfig())
model.warm_up()
model._llm._ctx.ctx = ctypes.c_void_p(16)
list(model.generate([1, 2, 3], 4, 0.0))
"""


def run_app(code_or_args: str | list[str], home: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", code_or_args] if isinstance(code_or_args, str) else \
        [sys.executable, "-m", "desktop_app", *code_or_args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "DESKTOP_APP_HOME": str(home)})


def test_a_command_line_that_dies_in_llama_cpp_is_told_once_and_runs_safer_next_time(tmp_path):
    died = run_app(DIES_IN_LLAMA, tmp_path)
    assert died.returncode == -11, died.stderr[-2000:]
    records = list((tmp_path / "cache").glob("engine-crash-*.txt"))
    assert len(records) == 1 and "llama_model.py" in records[0].read_text()

    told = run_app(["workspace", "list"], tmp_path)
    assert told.returncode == 0, told.stderr
    assert "note: llama.cpp crashed (SIGSEGV); from now on it runs with weight repacking off" \
        in told.stderr
    checks = EngineChecks(tmp_path / "cache" / "engine-checks.json")
    assert checks.current() == (EngineConfig(None, extra_buffers=False),
                                "weight repacking off: it crashed on this machine (SIGSEGV)")

    again = run_app(["workspace", "list"], tmp_path)
    assert "note:" not in again.stderr  # said once
    assert list((tmp_path / "cache").glob("engine-crash-*.txt")) == []  # clean exits leave none


def test_a_crash_outside_llama_cpp_changes_nothing(tmp_path):
    code = ("import ctypes\nfrom desktop_app.core.models.engine_check import EngineChecks\n"
            "EngineChecks().arm_crash_record()\nctypes.string_at(0)\n")
    assert run_app(code, tmp_path).returncode == -11
    checks = EngineChecks(tmp_path / "cache" / "engine-checks.json")
    assert checks.collect_crashes() == ""
    assert checks.current() == (EngineConfig(), "")
    assert list((tmp_path / "cache").glob("engine-crash-*.txt")) == []


def test_version_names_the_cpu_code_in_use(tmp_path):
    done = subprocess.run([sys.executable, "-m", "desktop_app", "--version"], capture_output=True,
                          text=True, check=True, env={**os.environ, "DESKTOP_APP_HOME": str(tmp_path)})
    assert f"CPU code {cpu_variants()[0].name}" in done.stdout or "CPU code built in" in done.stdout
