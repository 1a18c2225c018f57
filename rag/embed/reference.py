"""The reference back-end: any sentence-transformers model on torch (loaded lazily)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import cached_property

import numpy as np

from rag.embed.base import model_label


class SentenceTransformerEmbedder:
    """The reference path: any sentence-transformers model, on the CPU, offline."""

    def __init__(self, model: str) -> None:
        self._model_name = model
        self._lock = threading.Lock()

    @property
    def id(self) -> str:
        return f"{model_label(self._model_name)}:fp32"

    @cached_property
    def _model(self):  # type: ignore[no-untyped-def]
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(self._model_name, device="cpu", local_files_only=True)

    @property
    def max_tokens(self) -> int:
        return int(self._model.max_seq_length)

    def count_tokens(self, text: str) -> int:
        return len(self._model.tokenizer(text, add_special_tokens=True, truncation=False)["input_ids"])

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:  # the torch model is not safe to call from several threads
            vectors = self._model.encode(
                list(texts), batch_size=32, normalize_embeddings=True, convert_to_numpy=True
            )
        return np.asarray(vectors, dtype=np.float32)
