"""The embedder on ONNX Runtime, without torch, and the export that prepares a model for it.

A sentence-transformers folder that also holds `onnx/model.onnx` (the layout Hugging Face
repositories use) runs here: the tokenizer from `tokenizer.json`, the transformer on ONNX
Runtime, then the folder's own pooling and unit length, as sentence-transformers does. Its
vectors match sentence-transformers' to float precision, so both name the same vector space.
The installed app ships the built-in embedder this way and leaves torch out (about 400 MB).
"""

from __future__ import annotations

import json
import logging
import shutil
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from desktop_app.core.errors import BackendError

__all__ = ["OnnxEmbedder", "export_onnx", "has_onnx_model"]

log = logging.getLogger(__name__)

ONNX_FILE = Path("onnx") / "model.onnx"
# Inputs a BERT-family transformer takes; an exported model declares the ones it uses.
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# Outputs holding one vector per word piece, by the names exporters give them.
_TOKEN_OUTPUTS = ("last_hidden_state", "token_embeddings")
# On two to eight CPU cores, batches of four texts of similar length waste the least time on
# padding (docs/benchmarks.md, embedding): larger batches were up to 20% slower.
BATCH_SIZE = 4


def has_onnx_model(model_dir: Path) -> bool:
    """Whether a model folder can run on ONNX Runtime: its export and its tokenizer are there."""
    return (model_dir / ONNX_FILE).is_file() and (model_dir / "tokenizer.json").is_file()


class OnnxEmbedder:
    """A sentence-transformers model folder with `onnx/model.onnx`, on ONNX Runtime."""

    batch = 64

    def tokenizer_file(self) -> Path | None:
        return None  # chunks are cut in the indexing process

    def __init__(self, name: str, model_dir: Path, batch_size: int = BATCH_SIZE) -> None:
        self.name = name
        self._model_dir = model_dir
        self._batch_size = batch_size
        self._session: Any = None
        self._tokenizer: Any = None
        self._counter: Any = None
        self._config = _read_config(model_dir)

    def warm_up(self) -> None:
        if self._session is not None:
            return
        try:
            import onnxruntime
            from tokenizers import Tokenizer

            options = onnxruntime.SessionOptions()
            options.log_severity_level = 3  # errors only: it warns about unused initializers
            # Idle threads sleep instead of spinning, which would take the cores from the
            # language model answering right after a question is embedded.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider")
                         if p in onnxruntime.get_available_providers()]
            session = onnxruntime.InferenceSession(
                str(self._model_dir / ONNX_FILE), options, providers=providers)
            tokenizer = Tokenizer.from_file(str(self._model_dir / "tokenizer.json"))
        except Exception as exc:  # noqa: BLE001 - any load failure is a backend failure
            raise BackendError(f"could not load the embedder {self.name!r}: {exc}") from exc
        counter = Tokenizer.from_str(tokenizer.to_str())
        counter.no_truncation()
        counter.no_padding()
        tokenizer.enable_truncation(self._config.max_length)
        pad = self._config.pad_token
        tokenizer.enable_padding(pad_id=tokenizer.token_to_id(pad) or 0, pad_token=pad)
        self._inputs = {i.name for i in session.get_inputs()}
        self._output = _token_output(session, self.name)
        self._session, self._tokenizer, self._counter = session, tokenizer, counter
        log.info("embedder %s loaded on ONNX Runtime (%s)", self.name, providers[0])

    @property
    def dimensions(self) -> int:
        return self._config.dimensions

    @property
    def max_tokens(self) -> int:
        return self._config.max_length - 2  # [CLS] and [SEP] take two of the positions

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        self.warm_up()
        encoded = self._counter.encode_batch(list(texts), add_special_tokens=False)
        return [len(e.ids) for e in encoded]

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        if not texts:
            return out
        self.warm_up()
        # Longest first, as sentence-transformers does, so each batch pads little.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for start in range(0, len(order), self._batch_size):
            rows = order[start:start + self._batch_size]
            out[rows] = self._embed_batch([texts[i] for i in rows])
        return out

    def embed_query(self, text: str) -> np.ndarray:
        vector: np.ndarray = self.embed_documents([text])[0]
        return vector

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        encoded = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        try:
            tokens = self._session.run([self._output], {k: feed[k] for k in self._inputs})[0]
        except Exception as exc:  # noqa: BLE001 - ONNX Runtime raises its own error types
            raise BackendError(f"the embedder {self.name!r} failed: {exc}") from exc
        if self._config.pooling == "cls":
            pooled = tokens[:, 0]
        else:
            weights = mask[..., None].astype(np.float32)
            pooled = (tokens * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: np.ndarray = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return unit


@dataclass(frozen=True)
class _Config:
    """What a sentence-transformers folder says about length, pooling and padding."""

    max_length: int
    dimensions: int
    pooling: str  # "mean" or "cls"
    pad_token: str


def _read_config(model_dir: Path) -> _Config:
    def load(name: str) -> dict[str, Any]:
        path = model_dir / name
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}

    model, sbert = load("config.json"), load("sentence_bert_config.json")
    pooling = load("1_Pooling/config.json")
    if pooling.get("pooling_mode_cls_token"):
        mode = "cls"
    elif pooling.get("pooling_mode_mean_tokens", True):
        mode = "mean"
    else:
        raise BackendError(f"{model_dir}: only mean and [CLS] pooling are supported")
    max_length = int(sbert.get("max_seq_length") or model.get("max_position_embeddings", 512))
    dimensions = int(pooling.get("word_embedding_dimension") or model.get("hidden_size", 0))
    if not dimensions:
        raise BackendError(f"{model_dir}: neither 1_Pooling/config.json nor config.json "
                           "gives the vector size")
    pad = load("special_tokens_map.json").get("pad_token", "[PAD]")
    pad_token = str(pad["content"] if isinstance(pad, dict) else pad)
    return _Config(max_length, dimensions, mode, pad_token)


def _token_output(session: Any, name: str) -> str:
    outputs = [o.name for o in session.get_outputs()]
    for wanted in _TOKEN_OUTPUTS:
        if wanted in outputs:
            return wanted
    raise BackendError(f"the embedder {name!r}: its ONNX model has no per-token output "
                       f"({', '.join(_TOKEN_OUTPUTS)}); it has {', '.join(outputs)}")


def export_onnx(model_dir: Path, target: Path) -> Path:
    """Write a copy of a sentence-transformers folder that runs on ONNX Runtime into `target`.

    Everything but the weights is copied; the transformer is exported to `onnx/model.onnx`
    and checked against torch on a sample before this returns. Needs torch, transformers and
    onnx: a step for building the installed app, not something the app does.
    """
    import torch
    from transformers import AutoModel

    target.mkdir(parents=True, exist_ok=True)
    weights = {"model.safetensors", "pytorch_model.bin"}
    for path in model_dir.rglob("*"):
        if path.is_file() and path.name not in weights and "onnx" not in path.parts:
            (target / path.relative_to(model_dir)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target / path.relative_to(model_dir))
    # Eager attention exports as plain operations ONNX Runtime fuses; the default does not.
    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()
    wrapped = _last_hidden_state(model)
    sample = torch.ones(2, 8, dtype=torch.int64)
    axes = {name: {0: "batch", 1: "tokens"} for name in (*_INPUTS, "last_hidden_state")}
    (target / ONNX_FILE).parent.mkdir(exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's notes on operators it rewrites
        torch.onnx.export(wrapped, (sample, sample, torch.zeros_like(sample)),
                          str(target / ONNX_FILE), input_names=list(_INPUTS),
                          output_names=["last_hidden_state"], dynamic_axes=axes,
                          opset_version=17, dynamo=False)
    _check_export(model_dir, target)
    return target


def _last_hidden_state(model: Any) -> Any:
    """The model as a module that takes its inputs in export order and returns the per-token
    vectors only (transformers' own forward takes them by name, among many others)."""
    import torch

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    return LastHiddenState()


def _check_export(model_dir: Path, target: Path) -> None:
    from sentence_transformers import SentenceTransformer

    probe = ["An exported model must give the vectors the original gives.", "Short one."]
    expected = SentenceTransformer(str(model_dir), device="cpu").encode(
        probe, normalize_embeddings=True, convert_to_numpy=True)
    actual = OnnxEmbedder(target.name, target).embed_documents(probe)
    worst = float(np.abs(expected - actual).max())
    if worst > 1e-4:
        raise BackendError(f"the ONNX export of {model_dir} differs from it by {worst:.2g}")
