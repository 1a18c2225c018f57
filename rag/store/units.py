"""UnitVectorStore: the answer stage's unit vectors in a Chroma collection beside the chunks."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rag.store.collection import ChromaCollection, wrap_store_errors


class UnitVectorStore(ChromaCollection):
    """The vectors of the answer stage's units (sentences, list items, formulas...) in a collection beside the
    chunks: embedded when a note is indexed, so a question's first answer embeds nothing but the question.

    Rows are keyed by the caller (a digest of the embedder, the note and the unit's text) and carry their note,
    so a note's stale rows can be dropped; a missing row only costs an embedding at answer time.
    """

    @wrap_store_errors
    def vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors of those ids that exist."""
        if not ids:
            return {}
        page = self._run(lambda c: c.get(ids=list(ids), include=["embeddings"]))
        found = page.get("embeddings")
        return {} if found is None else {i: np.asarray(v, np.float32) for i, v in zip(page["ids"], found)}

    @wrap_store_errors
    def ids_of(self, source: str) -> set[str]:
        """The ids stored for one note."""
        return set(self._run(lambda c: c.get(where={"source": source}, include=[]))["ids"])

    @wrap_store_errors
    def put(self, ids: Sequence[str], vectors: np.ndarray, source: str) -> None:
        if ids:
            self._run(lambda c: c.upsert(ids=list(ids), embeddings=vectors.astype(np.float32),
                                         metadatas=[{"source": source}] * len(ids)))

    @wrap_store_errors
    def forget(self, source: str) -> None:
        """Delete one note's rows."""
        self._run(lambda c: c.delete(where={"source": source}))
