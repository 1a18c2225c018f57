"""ONNX Runtime embedder: the packaged model exported once, then run without torch."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rag.embed.base import load_tokenizer, model_label, model_max_tokens
from rag.errors import InvalidInput, NotFound, RagError

if TYPE_CHECKING:
    import onnxruntime
    from tokenizers import Encoding, Tokenizer

logger = logging.getLogger(__name__)

PRECISIONS = ("fp32", "int8")
# Bump when the export recipe changes, so old cached files are not reused.
RECIPE = 1
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
# Texts tokenised and length-sorted together; bounds memory on huge inputs.
WINDOW = 1024
# Padded tokens per ORT run: on 2 cores small batches ran fastest (64 passages: 0.98 s at 512, 1.44 s at
# 4096), and memory stays bounded.
BATCH_TOKENS = 512


@dataclass(frozen=True)
class _Runtime:
    """What a loaded embedder holds: the ORT session and the batching tokenizer."""

    session: onnxruntime.InferenceSession
    tokenizer: Tokenizer
    dim: int


class OnnxEmbedder:
    """The `Embedder` for a BERT-style sentence-transformers model, on ONNX Runtime."""

    def __init__(
        self, model_dir: Path, cache_dir: Path, precision: str = "fp32", batch_size: int = 32
    ) -> None:
        if precision not in PRECISIONS:
            raise InvalidInput(f"ONNX precision must be one of {PRECISIONS}, not {precision!r}")
        self._model_dir = Path(model_dir)
        self._cache_dir = Path(cache_dir)
        self._precision = precision
        self._batch_size = batch_size
        self._lock = threading.Lock()
        self._loaded: _Runtime | None = None
        self._counter: Tokenizer | None = None
        self._twins: dict[str, OnnxEmbedder] = {}

    def at_precision(self, precision: str) -> OnnxEmbedder:
        """The same model at another precision, sharing the export cache (one twin per precision)."""
        if precision == self._precision:
            return self
        with self._lock:
            if precision not in self._twins:
                self._twins[precision] = OnnxEmbedder(self._model_dir, self._cache_dir, precision, self._batch_size)
            return self._twins[precision]

    @cached_property
    def id(self) -> str:
        # Same id as the torch reference at fp32: the vectors agree to cosine 0.9999. Cached: every stored unit
        # vector's key names it, and resolving the model's path each time was a tenth of a first answer.
        return f"{model_label(str(self._model_dir))}:{self._precision}"

    @cached_property
    def max_tokens(self) -> int:
        return model_max_tokens(self._model_dir)

    def count_tokens(self, text: str) -> int:
        counter = self._counter
        if counter is None:
            with self._lock:
                if self._counter is None:
                    self._counter = load_tokenizer(self._model_dir)
                counter = self._counter
        return len(counter.encode(text).ids)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        runtime = self._runtime()
        vectors = np.empty((len(texts), runtime.dim), dtype=np.float32)
        for start in range(0, len(texts), WINDOW):
            window = list(texts[start : start + WINDOW])
            vectors[start : start + len(window)] = self._embed_window(runtime, window)
        return vectors

    def model_path(self) -> Path:
        """The cached ONNX file this embedder runs, built on first use if missing."""
        return self._cache_dir / cached_model_name(self._model_dir, self._cache_dir, self._precision)

    def _runtime(self) -> _Runtime:
        runtime = self._loaded
        if runtime is None:
            with self._lock:
                if self._loaded is None:
                    self._loaded = self._load()
                runtime = self._loaded
        return runtime

    def _load(self) -> _Runtime:
        path = self.model_path()
        if not path.exists():
            _build(self._model_dir, path, self._precision)
        try:
            session = open_session(path)
        except _ort_load_errors() as exc:
            # A file from an incompatible ORT, or damaged on disk: rebuild it once.
            logger.warning("Rebuilding unreadable ONNX model %s: %s", path, exc)
            _build(self._model_dir, path, self._precision)
            session = open_session(path)
        dim = int(session.get_outputs()[0].shape[-1])
        return _Runtime(session, batch_tokenizer(self._model_dir, self.max_tokens), dim)

    def _embed_window(self, runtime: _Runtime, texts: list[str]) -> np.ndarray:
        encodings = runtime.tokenizer.encode_batch(texts)
        ids, mask, types = _as_arrays(encodings)
        lengths = mask.sum(axis=1)
        # Similar lengths share a batch, so little compute goes to padding.
        order = np.argsort(lengths, kind="stable")
        pooled = np.empty((len(texts), runtime.dim), dtype=np.float32)
        for rows in length_batches(order, lengths, self._batch_size):
            width = int(lengths[rows].max())
            feed = {
                "input_ids": ids[rows, :width],
                "attention_mask": mask[rows, :width],
                "token_type_ids": types[rows, :width],
            }
            (hidden,) = runtime.session.run(["last_hidden_state"], feed)
            pooled[rows] = mean_pool(hidden, feed["attention_mask"])
        return l2_normalise(pooled)


def length_batches(order: np.ndarray, lengths: np.ndarray, size: int) -> list[np.ndarray]:
    """Consecutive rows of `order` (shortest first) in batches of at most `size` rows and BATCH_TOKENS
    padded tokens: one long text no longer pads a batch of short ones to its length."""
    batches: list[np.ndarray] = []
    start = 0
    for end in range(1, len(order) + 1):
        rows = end - start
        if end == len(order) or rows >= size or (rows + 1) * int(lengths[order[end]]) > BATCH_TOKENS:
            batches.append(order[start:end])
            start = end
    return batches


def mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Average of the token vectors the attention mask keeps (the model's Pooling module)."""
    weights = mask[:, :, None].astype(np.float32)
    summed = (hidden * weights).sum(axis=1)
    return summed / np.clip(weights.sum(axis=1), 1e-9, None)


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    """Unit-length rows, with torch's F.normalize epsilon (the model's Normalize module)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


def batch_tokenizer(model_dir: Path, max_tokens: int) -> Tokenizer:
    """The model's tokenizer, truncating at `max_tokens` and padding to the batch's longest."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    # The bundled file truncates and pads to a fixed 128; sentence-transformers uses 256.
    tokenizer.enable_truncation(max_length=max_tokens)
    pad = tokenizer.padding or {}
    tokenizer.enable_padding(
        pad_id=pad.get("pad_id", 0),
        pad_type_id=pad.get("pad_type_id", 0),
        pad_token=pad.get("pad_token", "[PAD]"),
    )
    return tokenizer


def open_session(path: Path) -> onnxruntime.InferenceSession:
    """An ORT CPU session using every core this process may run on."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = os.cpu_count() or 1
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # The arena keeps the peak of every batch shape ever seen; a server's RSS would only grow.
    options.enable_cpu_mem_arena = False
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


def cached_model_name(model_dir: Path, cache_dir: Path, precision: str) -> str:
    """File name of the cached ONNX model: weights hash, precision and export recipe."""
    return f"{weights_key(model_dir, cache_dir)}-{precision}-r{RECIPE}.onnx"


def weights_key(model_dir: Path, cache_dir: Path) -> str:
    """First 16 hex of the weights file's sha256, memoised by path, size and mtime."""
    weights = _weights_file(model_dir)
    stat = weights.stat()
    memo_path = cache_dir / "weights-sha256.json"
    memo = _read_json(memo_path)
    stamp = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    entry = memo.get(str(weights.resolve()))
    if isinstance(entry, dict) and {k: entry.get(k) for k in stamp} == stamp:
        return str(entry["sha256"])[:16]
    # Hashing 90 MB costs ~0.1 s, a fifth of a cold start: do it once per weights file.
    digest = _sha256(weights)
    memo[str(weights.resolve())] = {**stamp, "sha256": digest}
    _write_atomic(memo_path, json.dumps(memo, indent=1).encode())
    return digest[:16]


def _build(model_dir: Path, dest: Path, precision: str) -> None:
    """Export the model to `dest`, wrapping any failure in a RagError that says what to do."""
    logger.info("Exporting %s to ONNX (%s), once; this takes a few seconds", model_dir, precision)
    try:
        from rag.embed.export import build_onnx_model

        build_onnx_model(model_dir, dest, precision)
    except Exception as exc:  # torch, transformers, onnx and ORT each raise their own types
        raise RagError(
            f"Could not export {model_dir} to ONNX ({exc}); "
            "set RAG_EMBED_BACKEND=torch to embed with sentence-transformers instead."
        ) from exc


def _as_arrays(encodings: list[Encoding]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """int64 ids, attention mask and type ids of equally padded encodings."""
    ids = np.array([e.ids for e in encodings], dtype=np.int64)
    mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
    types = np.array([e.type_ids for e in encodings], dtype=np.int64)
    return ids, mask, types


def _weights_file(model_dir: Path) -> Path:
    for name in WEIGHT_FILES:
        if (model_dir / name).is_file():
            return model_dir / name
    raise NotFound(f"No model weights ({' or '.join(WEIGHT_FILES)}) in {model_dir}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_json(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` so readers see the old file or the new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _ort_load_errors() -> tuple[type[Exception], ...]:
    """The exceptions ORT raises for a model file it cannot read."""
    from onnxruntime.capi import onnxruntime_pybind11_state as state

    return (state.Fail, state.InvalidGraph, state.InvalidProtobuf, state.NoSuchFile)
