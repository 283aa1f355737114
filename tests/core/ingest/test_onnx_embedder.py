"""The embedder on ONNX Runtime, as the installed app runs it: same vectors, no torch."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from desktop_app.core.errors import BackendError
from desktop_app.core.ingest.embedding import (
    BUILTIN_EMBEDDERS,
    SentenceTransformerEmbedder,
    create_embedder,
)
from desktop_app.core.ingest.onnx_embedding import OnnxEmbedder
from tests.conftest import DATA
from tests.servers import ROOT

pytestmark = pytest.mark.integration



def passages() -> list[str]:
    text = (DATA / "war-and-peace-1p.txt").read_text(encoding="utf-8")
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
    return paragraphs + [text, "tokenization", "", "Ünïcödé — 45 min. 東京"]


def test_an_exported_folder_runs_on_onnx_and_gives_sentence_transformers_vectors(exported):
    onnx = create_embedder(str(exported))
    original = SentenceTransformerEmbedder("all-MiniLM-L6-v2",
                                           BUILTIN_EMBEDDERS["all-MiniLM-L6-v2"](),
                                           reduced_precision=False)
    assert isinstance(onnx, OnnxEmbedder)
    assert not (exported / "model.safetensors").exists()  # the weights live in the export only
    assert (onnx.dimensions, onnx.max_tokens) == (original.dimensions, original.max_tokens) == (384, 254)
    texts = passages()
    assert onnx.count_tokens(texts) == original.count_tokens(texts)
    ours, theirs = onnx.embed_documents(texts), original.embed_documents(texts)
    assert ours.shape == theirs.shape == (len(texts), 384)
    assert np.abs(ours - theirs).max() < 1e-5
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert np.abs(onnx.embed_query(texts[0]) - ours[0]).max() < 1e-5  # batching changes nothing


def test_a_broken_export_is_reported_as_the_embedder_failing(exported, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("tokenizer.json", "config.json", "special_tokens_map.json"):
        (broken / name).write_bytes((exported / name).read_bytes())
    (broken / "onnx").mkdir()
    (broken / "onnx" / "model.onnx").write_bytes(b"not a model")
    with pytest.raises(BackendError, match="could not load the embedder 'broken'"):
        create_embedder(str(broken)).embed_query("anything")


# The installed app's embedder configuration: torch, transformers and sentence-transformers
# cannot be imported, and the built-in embedder's folder holds the ONNX export.
WITHOUT_TORCH = """
import importlib.abc, sys
from pathlib import Path

class NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in {"torch", "transformers", "sentence_transformers"}:
            raise ImportError(f"{name} is not in the installed app")

sys.meta_path.insert(0, NotInstalled())
from desktop_app.core.offline import seal_environment
seal_environment()
from desktop_app.core.ingest import embedding
embedding.BUILTIN_EMBEDDERS["all-MiniLM-L6-v2"] = lambda: Path(sys.argv[1])
from desktop_app.self_test import run_self_test
sys.exit(run_self_test())
"""


@pytest.mark.slow
def test_the_self_test_passes_without_torch_on_the_onnx_embedder(exported):
    result = subprocess.run([sys.executable, "-c", WITHOUT_TORCH, str(exported)], cwd=ROOT,
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "cited word-processor-history.pdf, page 1" in result.stdout
