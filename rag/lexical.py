"""BM25 over the stored chunks (bm25s), rebuilt from the store so every process agrees."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any

import numpy as np

from rag.store import StoredChunk


class LexicalIndex:
    """An in-memory BM25 index of a snapshot of the store's rows."""

    def __init__(self, rows: Sequence[StoredChunk]) -> None:
        self.rows = list(rows)
        self.by_id = {row.id: row for row in self.rows}
        self._positions_by_source: dict[str, list[int]] = {}
        self._by_place = {(row.source, row.ordinal): row for row in self.rows}
        for n, row in enumerate(self.rows):
            self._positions_by_source.setdefault(row.source, []).append(n)
        self._bm25: Any = None
        if self.rows:
            import bm25s

            self._bm25 = bm25s.BM25()
            self._bm25.index(self._tokenize([lexical_text(r) for r in self.rows], ids=True), show_progress=False)

    @property
    def sources(self) -> set[str]:
        """The notes this snapshot holds."""
        return set(self._positions_by_source)

    def next_row(self, row_id: str) -> StoredChunk | None:
        """The chunk that follows this one in its note (None at the end, or for an unknown id)."""
        row = self.by_id.get(row_id)
        return self._by_place.get((row.source, row.ordinal + 1)) if row else None

    def note_rows(self, source: str) -> list[StoredChunk]:
        """The chunks of one note, in order."""
        return sorted((self.rows[n] for n in self._positions_by_source.get(source, [])), key=lambda r: r.ordinal)

    @cached_property
    def _stemmer(self) -> Any:
        import Stemmer

        return Stemmer.Stemmer("english")

    def _tokenize(self, texts: list[str], ids: bool) -> Any:
        import bm25s

        return bm25s.tokenize(texts, stopwords="en", stemmer=self._stemmer, show_progress=False, return_ids=ids)

    def search(self, query: str, k: int, sources: Sequence[str] = ()) -> list[tuple[StoredChunk, float]]:
        """The k best rows by BM25 (only rows of `sources` if given), score > 0 only."""
        if self._bm25 is None:
            return []
        tokens = self._tokenize([query], ids=False)[0]
        if not tokens:
            return []
        scores = self._bm25.get_scores(tokens)
        if sources:
            mask = np.zeros(len(self.rows), dtype=bool)
            for source in sources:
                mask[self._positions_by_source.get(source, [])] = True
            scores = np.where(mask, scores, 0.0)
        top = np.argsort(-scores, kind="stable")[:k]
        return [(self.rows[i], float(scores[i])) for i in top if scores[i] > 0]


def lexical_text(row: StoredChunk) -> str:
    """What BM25 sees: the heading path counts, as it does for the embedder."""
    return f"{row.heading}\n{row.text}"
