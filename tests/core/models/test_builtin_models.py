"""The built-in models: Qwen2.5-Coder 1.5B put together from its PyPI parts and checked against
Qwen's digest, and the choice between it and SmolLM2 by this machine's memory."""

from __future__ import annotations

import json

import pytest

from desktop_app.core.errors import BackendError
from desktop_app.core.models.builtin_models import assemble, verified_file
from desktop_app.core.models.catalog import load_catalog
from desktop_app.core.models.hardware import Hardware
from desktop_app.core.models.model_manager import AUTO, builtin_model
from desktop_app.core.storage.settings import load_settings

pytestmark = pytest.mark.integration

QWEN = load_catalog()["qwen2.5-coder-1.5b-instruct"].variants[0]
GIB = 2**30


def test_the_parts_assemble_into_qwens_own_file_and_a_changed_file_is_not_used(tmp_path):
    path = assemble(QWEN, tmp_path)
    assert path.stat().st_size == 1_117_320_768
    assert verified_file(QWEN, tmp_path) == path
    with path.open("r+b") as handle:  # one byte changed after the check
        handle.seek(1_000_000)
        handle.write(b"\x00")
    assert verified_file(QWEN, tmp_path) is None


def test_parts_that_do_not_give_the_published_digest_are_refused(tmp_path):
    wrong = {**QWEN, "parts": QWEN["parts"][:1], "size_bytes": 52_428_800, "sha256": "0" * 64}
    with pytest.raises(BackendError, match="do not add up to the published file"):
        assemble(wrong, tmp_path)
    assert list(tmp_path.iterdir()) == []  # neither the file nor a partial one is left


def test_the_default_model_is_the_largest_built_in_that_fits(tmp_path):
    roomy = Hardware(16 * GIB, 12 * GIB)
    entry, path = builtin_model(tmp_path, 4096, roomy)
    assert entry.id == "qwen2.5-coder-1.5b-instruct" and path.name == QWEN["file"]
    cramped = Hardware(2 * GIB, GIB)  # the 1.5B needs about 1.5 GiB at 4k tokens, SmolLM2 0.55
    assert builtin_model(tmp_path, 4096, cramped)[0].id == "smollm2-135m-instruct"


def test_settings_that_kept_the_old_default_move_to_auto(tmp_path):
    old = tmp_path / "settings.json"
    old.write_text(json.dumps({"schema_version": 1, "model": "smollm2-135m-instruct"}))
    assert load_settings(old).model == AUTO
    chosen = tmp_path / "chosen.json"
    chosen.write_text(json.dumps({"schema_version": 1, "model": "qwen2.5-7b-instruct"}))
    assert load_settings(chosen).model == "qwen2.5-7b-instruct"


def test_the_licence_of_the_built_in_model_ships_with_the_app():
    from desktop_app import ASSETS

    entry = load_catalog()["qwen2.5-coder-1.5b-instruct"]
    text = (ASSETS / entry.raw["license_file"]).read_text(encoding="utf-8")
    assert "Alibaba Cloud" in text and "Apache License" in text


def test_first_start_names_the_model_and_suggests_a_larger_one_only_when_worth_it(tmp_path):
    from desktop_app.core.models.hardware import Gpu
    from desktop_app.core.models.model_manager import model_advice

    laptop = Hardware(16 * GIB, 12 * GIB, cores=2)
    assert model_advice(tmp_path, 4096, laptop) == (
        "Answers come from Qwen2.5-Coder 1.5B Instruct, built in, on this computer.")
    desktop_cpu = Hardware(16 * GIB, 12 * GIB, cores=16)  # runs up to 8B on the CPU
    desktop = model_advice(tmp_path, 4096, desktop_cpu)
    assert "A larger model fits here:" in desktop and "runs on the CPU" in desktop
    gpu = Hardware(32 * GIB, 24 * GIB, [Gpu("RTX 4090", 24 * GIB, 22 * GIB, "CUDA")], True)
    assert "all 48 layers on the GPU" in model_advice(tmp_path, 4096, gpu)
