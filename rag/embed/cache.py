"""The vector cache: texts embedded before, kept in memory (LRU) and in the unit store behind it."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from rag.embed.base import Embedder

CACHED_TEXTS = 20_000  # vectors kept by VectorCache: some 30 MB at 384 dimensions
PERSIST_BATCH = 64  # units embedded and stored per call when a note is indexed


class VectorRows(Protocol):
    """Where a note's vectors are kept between processes (the store's unit collection)."""

    def vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]: ...

    def ids_of(self, source: str) -> set[str]: ...

    def put(self, ids: Sequence[str], vectors: np.ndarray, source: str) -> None: ...

    def delete(self, ids: Sequence[str]) -> None: ...

    def forget(self, source: str) -> None: ...


class VectorCache:
    """Vectors of texts embedded before, so that answers do not embed the same passages' units again.

    Keyed by the exact text embedded, so a hit is the vector the embedder would give; bounded (LRU). With a
    `backing` store, a note's vectors are kept there too (`persist`, at index time) and read back in one call
    (`preload`) when a process first reads the note.
    """

    def __init__(self, embedder: Embedder, size: int = CACHED_TEXTS, backing: VectorRows | None = None) -> None:
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
