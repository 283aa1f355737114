"""The model manager: GGUF headers, memory estimates, placement, recommendations, imports."""

from __future__ import annotations

import re

import pytest

from desktop_app.core.answer.llama_model import _StopScanner, describe_placement
from desktop_app.core.errors import InvalidModelFile, UserError
from desktop_app.core.models.catalog import resolve_model_path
from desktop_app.core.models.fit import ModelShape, plan_placement, recommend_variant
from desktop_app.core.models.gguf_file import read_gguf
from desktop_app.core.models.hardware import Gpu, Hardware, detect_hardware
from desktop_app.core.models.model_manager import catalog_choices, describe_model, import_model
from tests.model_files import write_tiny_gguf

GIB = 2**30
LLAMA_8B = ModelShape(layers=32, kv_heads=8, head_dim=128)
Q4_8B = int(4.58e9)


def machine(ram_gib: float, vram_gib: float | None = None, offloads: bool = True) -> Hardware:
    gpus = [Gpu("Test GPU", int(vram_gib * GIB), int(vram_gib * GIB), "CUDA")] if vram_gib else []
    return Hardware(int(ram_gib * GIB), int(ram_gib * GIB), gpus, offloads)


def test_the_kv_cache_is_keys_and_values_for_every_layer_and_position():
    # Llama 3 8B at 8k tokens in f16: 2 × 32 × 8192 × 8 × 128 × 2 bytes = exactly 1 GiB.
    assert LLAMA_8B.kv_cache_bytes(8192) == GIB


def test_a_big_gpu_takes_every_layer_and_no_gpu_means_cpu():
    on_gpu = plan_placement(Q4_8B, LLAMA_8B, 8192, machine(32, 24))
    assert on_gpu.full_offload and on_gpu.fits and on_gpu.device == "Test GPU"
    assert "all 32 layers on the GPU" in on_gpu.describe()
    cpu = plan_placement(Q4_8B, LLAMA_8B, 8192, machine(32))
    assert cpu.gpu_layers == 0 and cpu.fits and "runs on the CPU" in cpu.describe()
    cpu_build = plan_placement(Q4_8B, LLAMA_8B, 8192, machine(32, 24, offloads=False))
    assert cpu_build.gpu_layers == 0
    turned_off = plan_placement(Q4_8B, LLAMA_8B, 8192, machine(32, 24), gpu_layers=0)
    assert turned_off.gpu_layers == 0


def test_a_small_gpu_takes_the_layers_that_fit_and_the_rest_stays_in_ram():
    placement = plan_placement(Q4_8B, LLAMA_8B, 8192, machine(32, 4))
    assert 0 < placement.gpu_layers < 32 and placement.fits
    assert placement.vram_needed_bytes <= 4 * GIB * 0.95
    assert f"{placement.gpu_layers}/32 layers on the GPU" in placement.describe()
    assert placement.ram_needed_bytes < placement.estimate.total_bytes
    more_vram = plan_placement(Q4_8B, LLAMA_8B, 8192, machine(32, 5))
    assert more_vram.gpu_layers > placement.gpu_layers


def test_a_model_larger_than_memory_does_not_fit_and_says_how_much_it_needs():
    placement = plan_placement(Q4_8B, LLAMA_8B, 8192, machine(4))
    assert not placement.fits
    assert placement.describe().startswith("does not fit: needs 5.")


def test_the_recommendation_is_the_best_quant_on_a_gpu_and_q4_k_m_on_a_cpu():
    variants = [{"quant": "Q4_K_M", "size_bytes": int(4.9e9)}, {"quant": "Q5_K_M", "size_bytes": int(5.7e9)},
                {"quant": "Q8_0", "size_bytes": int(8.5e9)}, {"quant": "Q4_0", "size_bytes": int(4.6e9)}]
    best, placement, why = recommend_variant(variants, None, LLAMA_8B, 8192, machine(64, 24))
    assert best is not None and best["quant"] == "Q8_0" and placement is not None and placement.full_offload
    assert "GPU" in why
    best, _, _ = recommend_variant(variants, None, LLAMA_8B, 8192, machine(64, 7.5))
    assert best is not None and best["quant"] == "Q5_K_M"
    best, _, _ = recommend_variant(variants, None, LLAMA_8B, 8192, machine(16))
    assert best is not None and best["quant"] == "Q4_K_M"
    best, _, _ = recommend_variant(variants[1:], None, LLAMA_8B, 8192, machine(7))
    assert best is not None and best["quant"] == "Q4_0"  # only the smallest fits
    best, _, why = recommend_variant(variants, None, LLAMA_8B, 8192, machine(2))
    assert best is None and "no variant fits" in why


def test_every_catalogue_model_has_a_fit_and_one_recommendation(tmp_path):
    choices = catalog_choices(tmp_path, machine(16), 4096)
    assert all(c.placement is not None for c in choices)
    by_model: dict[str, int] = {}
    for choice in choices:
        by_model[choice.id] = by_model.get(choice.id, 0) + choice.recommended
    assert len(by_model) >= 9 and set(by_model.values()) == {1}
    info = describe_model("qwen2.5-14b-instruct", tmp_path, machine(8), 4096)
    assert info["recommended"]["quant"] is None  # 14B needs more than 8 GiB
    assert all(not v["fits"] for v in info["variants"])


def test_the_header_says_architecture_size_quant_context_and_template(tmp_path):
    info = read_gguf(write_tiny_gguf(tmp_path / "tiny.gguf"))
    assert (info.architecture, info.layers, info.kv_heads, info.head_dim_k) == ("llama", 2, 2, 16)
    assert info.context_length == 2048 and info.quantization == "F32" and info.has_chat_template
    assert info.parameters == 2 * 32 * 64 + 64 + 2 * (2 * 64 + 2 * 64 * 64 + 2 * 32 * 64 + 3 * 128 * 64)
    assert not read_gguf(write_tiny_gguf(tmp_path / "base.gguf", chat_template=False)).has_chat_template


def test_the_header_reader_agrees_with_gguf_pys_reader_on_real_models(tmp_path):
    import gguf

    from desktop_app.core.models.gguf_file import _read_header

    for path in (write_tiny_gguf(tmp_path / "tiny.gguf"),
                 resolve_model_path("smollm2-135m-instruct", tmp_path)):
        fields, tensors, data_start = _read_header(path)
        reference = gguf.GGUFReader(str(path), "r")
        assert data_start == reference.data_offset
        assert [(t.offset + data_start, t.n_elements, t.n_bytes) for t in tensors] == [
            (int(t.data_offset), int(t.n_elements), int(t.n_bytes)) for t in reference.tensors]
        scalars = {name: field.contents() for name, field in reference.fields.items()
                   if field.types and field.types[0] != gguf.GGUFValueType.ARRAY
                   and not name.startswith("GGUF.")}
        assert {k: v for k, v in fields.items() if v is not None} == scalars


def test_a_header_cut_short_is_damaged_not_a_crash(tmp_path):
    whole = resolve_model_path("smollm2-135m-instruct", tmp_path).read_bytes()
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(whole[:200_000])  # inside the vocabulary
    with pytest.raises(InvalidModelFile, match="damaged or incomplete"):
        read_gguf(cut)


def test_files_that_are_not_whole_gguf_models_are_refused_with_a_reason(tmp_path):
    text = tmp_path / "notes.gguf"
    text.write_text("not a model")
    with pytest.raises(InvalidModelFile, match="not a GGUF model file"):
        read_gguf(text)
    whole = write_tiny_gguf(tmp_path / "whole.gguf").read_bytes()
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(InvalidModelFile, match="incomplete"):
        read_gguf(cut)
    with pytest.raises(InvalidModelFile, match="no such file"):
        read_gguf(tmp_path / "gone.gguf")


def test_import_copies_or_links_a_checked_model_that_then_resolves_by_name(tmp_path):
    source = write_tiny_gguf(tmp_path / "mine.gguf")
    models = tmp_path / "models"
    copied = import_model(source, models)
    assert copied.path == models / "mine.gguf" and not copied.path.is_symlink()
    assert resolve_model_path("mine.gguf", models) == models / "mine.gguf"
    assert any(c.id == "mine.gguf" and c.installed for c in catalog_choices(models, machine(16), 2048))
    assert import_model(source, models).path == copied.path  # the same file again: a no-op
    linked = import_model(write_tiny_gguf(tmp_path / "other.gguf"), models, link=True)
    assert linked.path.is_symlink()
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 10)
    with pytest.raises(InvalidModelFile):
        import_model(bad, models)
    assert not (models / "bad.gguf").exists() and not list(models.glob("*.part"))
    write_tiny_gguf(tmp_path / "elsewhere.gguf", layers=3).rename(tmp_path / "x.gguf")
    (tmp_path / "sub").mkdir()
    write_tiny_gguf(tmp_path / "sub" / "mine.gguf", layers=3)
    with pytest.raises(UserError, match="already imported"):
        import_model(tmp_path / "sub" / "mine.gguf", models)


def test_this_machine_reports_its_memory():
    hardware = detect_hardware()
    assert 0 < hardware.ram_available_bytes <= hardware.ram_total_bytes
    assert "RAM" in hardware.describe()


def test_the_offload_report_comes_from_llama_cpps_own_load_log():
    log = ("load_tensors: offloading output layer to GPU\n"
           "load_tensors: offloaded 33/33 layers to GPU\n"
           "load_tensors:        CUDA0 model buffer size =  4403.49 MiB\n"
           "load_tensors:   CPU_Mapped model buffer size =   281.81 MiB\n")
    assert describe_placement(log, True, -1) == "33/33 layers on CUDA0"
    partial = log.replace("33/33", "20/33")
    assert describe_placement(partial, True, 20, "not enough free VRAM") == \
        "not enough free VRAM, 20/33 layers on CUDA0"
    assert describe_placement("", False, -1) == "CPU only: this build of llama.cpp has no GPU support"
    assert describe_placement("", True, 0) == "CPU (GPU offload turned off)"
    assert describe_placement("", True, 0, "loading on the GPU failed, so it runs on the CPU") == \
        "CPU: loading on the GPU failed, so it runs on the CPU"


def test_text_waits_for_a_split_character_and_stops_before_a_stop_string():
    scanner = _StopScanner(["\nUser:"])
    euro = "€".encode()
    pieces = [scanner.feed(euro[:1]), scanner.feed(euro[1:] + b" ok"), scanner.feed(b"\nUs"),
              scanner.feed(b"er: more")]
    assert "".join(text for text, _ in pieces) == "€ ok"
    assert pieces[-1][1] is True
    plain = _StopScanner([])
    assert plain.feed(b"abc") == ("abc", False) and plain.flush() == ""


def test_a_chat_template_the_sandbox_refuses_is_said_in_words():
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    from desktop_app.core.answer.chat_template import render_chat
    from desktop_app.core.answer.llm import ChatMessage
    from desktop_app.core.errors import BackendError

    evil = Jinja2ChatFormatter("{{ ''.__class__.__mro__[1].__subclasses__() }}", "</s>", "<s>")
    with pytest.raises(BackendError, match=r"chat template inside evil.gguf cannot be used \(SecurityError"):
        render_chat(evil, [ChatMessage("user", "hi")], "evil.gguf")
    broken = Jinja2ChatFormatter("{{ messages[5]['content'].upper() }}", "</s>", "<s>")
    with pytest.raises(BackendError, match="cannot be used"):
        render_chat(broken, [ChatMessage("user", "hi")], "broken.gguf")


NESTED_LOOPS = ("{% set s = namespace(t='') %}{% for a in range(100000) %}{% for b in range(100000) %}"
                "{% set s.t = s.t ~ 'xx' %}{% endfor %}{% endfor %}{{ s.t }}")


@pytest.mark.parametrize("template, reason", [
    (NESTED_LOOPS, "did not finish within 2 s"),
    ("{{ 'x' * 10000000000 }}", "SecurityError: repeating 1 items 10000000000 times"),
    ("{{ 2 ** 100000000 }}", "SecurityError: the power 100000000 is too large"),
])
def test_a_chat_template_that_would_hang_or_exhaust_memory_stops_within_its_budget(template, reason):
    from desktop_app.core.answer.chat_template import budgeted_formatter, render_chat
    from desktop_app.core.errors import BackendError

    with pytest.raises(BackendError, match=re.escape(reason)):
        render_chat(budgeted_formatter(template, "</s>", "<s>"), [{"role": "user", "content": "hi"}],
                    "evil.gguf")


def test_the_budgeted_template_renders_as_llama_cpp_does():
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    from desktop_app.core.answer.chat_template import budgeted_formatter, render_chat
    from tests.model_files import CHATML

    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi " * 500}]
    ours = render_chat(budgeted_formatter(CHATML, "</s>", "<s>"), messages, "m.gguf").prompt
    assert ours == Jinja2ChatFormatter(CHATML, "</s>", "<s>")(messages=messages).prompt


def test_a_model_whose_chat_template_hangs_is_refused_at_import(tmp_path):
    source = write_tiny_gguf(tmp_path / "hangs.gguf", chat_template=NESTED_LOOPS)
    with pytest.raises(InvalidModelFile, match="did not finish within 2 s.*fail on every question"):
        import_model(source, tmp_path / "models")
    assert not (tmp_path / "models" / "hangs.gguf").exists()


def test_idle_cores_counts_what_this_process_may_use_at_least_one():
    from desktop_app.core.models.hardware import idle_cores, usable_cores

    assert 1 <= idle_cores(0.05) <= usable_cores()
