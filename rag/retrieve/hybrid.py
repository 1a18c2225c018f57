"""Dense + lexical search, fused (convex combination of scaled scores, or reciprocal rank), overlaps collapsed."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from rag.embed.base import Embedder
from rag.models import Passage
from rag.retrieve.intents import OPPOSITE, intents, labels_intent
from rag.retrieve.lexical import LexicalIndex
from rag.store.chunks import ChromaStore, StoredChunk

Mode = Literal["dense", "lexical", "hybrid", "rrf"]
RRF_K = 60  # the constant of Cormack et al. (2009); damps the weight of the very first ranks
# Weight of the dense side in the convex fusion (Bruch et al. 2023, "An Analysis of Fusion
# Functions for Hybrid Retrieval"). Dev set: MRR@10 is flat within 0.02 for 0.6..0.8.
DENSE_WEIGHT = 0.7
INTENT_LIFT = 0.1  # share of its fused score a passage labelled with what the query asks gains
RANKED_INTENTS = {"fix", "pros", "cons", "use", "assume"}  # "what is X" is asked of every passage alike
LABEL_LINE = re.compile(r"^\s{0,3}#{1,6}\s+(.+)$|^[\s>*+\-\d.)]*\*\*([^*\n]{1,60}?)(?::\*\*|\*\*\s*:)", re.M)
CANDIDATES = 40  # per-retriever depth before fusion
GENERATION_TTL = 1.0  # seconds between checks for index changes made by other processes


@dataclass(frozen=True)
class Ranked:
    """A candidate with the scores each stage gave it."""

    row: StoredChunk
    scores: dict[str, float]


def rrf_fuse(rankings: Sequence[Sequence[StoredChunk]], k: int = RRF_K) -> list[tuple[StoredChunk, float]]:
    """Reciprocal-rank fusion: sum of 1/(k + rank) over the rankings a row appears in."""
    fused: dict[str, float] = {}
    rows: dict[str, StoredChunk] = {}
    for ranking in rankings:
        for rank, row in enumerate(ranking, start=1):
            fused[row.id] = fused.get(row.id, 0.0) + 1.0 / (k + rank)
            rows[row.id] = row
    order = sorted(fused, key=lambda i: -fused[i])
    return [(rows[i], fused[i]) for i in order]


def convex_fuse(dense: Sequence[tuple[StoredChunk, float]], lexical: Sequence[tuple[StoredChunk, float]],
                weight: float = DENSE_WEIGHT) -> list[tuple[StoredChunk, float]]:
    """weight * dense + (1 - weight) * lexical, each scaled by its best score.

    A row one retriever did not return gets that retriever's lowest returned score: it ranks below them all.
    """
    dense_n, lexical_n = scale_by_best(dense), scale_by_best(lexical)
    dense_floor = min(dense_n.values(), default=0.0)
    lexical_floor = min(lexical_n.values(), default=0.0)
    rows = {row.id: row for row, _ in [*dense, *lexical]}
    fused = {i: weight * dense_n.get(i, dense_floor) + (1 - weight) * lexical_n.get(i, lexical_floor) for i in rows}
    return [(rows[i], fused[i]) for i in sorted(fused, key=lambda i: -fused[i])]


def scale_by_best(ranked: Sequence[tuple[StoredChunk, float]]) -> dict[str, float]:
    """Scores divided by the best one, so both retrievers' scores live in [0, 1]."""
    best = max((s for _, s in ranked), default=0.0)
    return {row.id: (s / best if best > 0 else 0.0) for row, s in ranked}


def overlaps(a: StoredChunk | Passage, b: StoredChunk | Passage, share: float = 0.5) -> bool:
    """True if two passages of one note share more than `share` of the shorter one's lines."""
    if a.source != b.source:
        return False
    common = min(a.end_line, b.end_line) - max(a.start_line, b.start_line) + 1
    shorter = min(a.end_line - a.start_line, b.end_line - b.start_line) + 1
    return common > 0 and common / shorter > share


def collapse_overlaps(ranked: Iterable[Ranked], limit: int | None = None) -> list[Ranked]:
    """Keep the best of passages that are mostly the same lines (chunk overlap, duplicates), up to `limit`."""
    kept: list[Ranked] = []
    for cand in ranked:
        if limit is not None and len(kept) >= limit:
            break
        if not any(overlaps(cand.row, k.row) or cand.row.text == k.row.text for k in kept):
            kept.append(cand)
    return kept


class Retriever:
    """Search over the store; keeps its BM25 snapshot in step with the store's generation."""

    def __init__(self, store: ChromaStore, embedder: Embedder) -> None:
        self._store = store
        self._embedder = embedder
        self._lexical: LexicalIndex | None = None
        self._generation = -1
        self._checked_at = 0.0
        self._lock = threading.Lock()

    def refresh(self, force: bool = False) -> LexicalIndex:
        """The BM25 index, rebuilt from the store when another write has happened.

        The store is asked at most once a second, so a search costs no extra round trip.
        """
        now = time.monotonic()
        current = self._lexical
        if not force and current is not None and now - self._checked_at <= GENERATION_TTL:
            return current
        # One thread rebuilds; the others keep searching the previous snapshot meanwhile.
        if current is not None and not force and not self._lock.acquire(blocking=False):
            return current
        if force or current is None:
            self._lock.acquire()
        try:
            self._store.check_embedder(self._embedder.id)
            generation = self._store.generation()
            self._checked_at = time.monotonic()
            if force or self._lexical is None or generation != self._generation:
                self._lexical = LexicalIndex([r for r in self._store.rows() if r.complete])
                self._generation = generation
            return self._lexical
        finally:
            self._lock.release()

    def is_fresh(self) -> bool:
        """True if a search would use the current BM25 snapshot as is (no check of the store, no rebuild)."""
        return self._lexical is not None and time.monotonic() - self._checked_at <= GENERATION_TTL

    def correct(self, text: str) -> str:
        """The text with its misspelt words replaced by the notes' own words (see LexicalIndex.correct)."""
        return self.refresh().correct(text)

    def absent_words(self, text: str) -> list[str]:
        """The names and jargon of a text that the notes never use (see LexicalIndex.absent_words)."""
        return self.refresh().absent_words(text)

    def note_chunks(self, source: str) -> list[Passage]:
        """Every chunk of a note, in order, from the current snapshot (an answer reads whole blocks from them)."""
        return [row.to_passage() for row in self.refresh().note_rows(source)]

    def hydrate(self, hits: list[tuple[str, float]], lexical_index: LexicalIndex) -> list[tuple[StoredChunk, float]]:
        return hydrate_rows(hits, lexical_index.by_id, self._store.get)

    def search(self, query: str, k: int = 5, sources: Sequence[str] = (), mode: Mode = "hybrid") -> list[Passage]:
        """The k best passages for a query, with per-stage scores."""
        lexical_index = self.refresh()  # also refuses an index built by another embedder
        query = lexical_index.correct(query)
        depth = max(CANDIDATES, 3 * k)
        dense: list[tuple[StoredChunk, float]] = []
        lexical: list[tuple[StoredChunk, float]] = []
        # Lexical first: ORT's intra-op threads spin for a moment after a run, and Python work
        # straight after the embedding would compete with them for the cores.
        if mode != "dense":
            lexical = lexical_index.search(query, depth, sources)
        if mode != "lexical":
            vector = self._embedder.embed([query])[0]
            dense = self.hydrate(self._store.nearest(vector, depth, sources), lexical_index)
        ranked = rank(dense, lexical, mode, intents(query) & RANKED_INTENTS)
        return [to_passage(r) for r in collapse_overlaps(ranked, k)]


def hydrate_rows(hits: list[tuple[str, float]], known: dict[str, StoredChunk],
                 fetch: Callable[[Sequence[str]], list[StoredChunk]]) -> list[tuple[StoredChunk, float]]:
    """Rows for (id, score) hits: from the in-memory snapshot, fetching only ids written since it was taken (none
    of a note still being written)."""
    missing = [i for i, _ in hits if i not in known]
    rows = {**known, **{r.id: r for r in fetch(missing) if r.complete}} if missing else known
    return [(rows[i], score) for i, score in hits if i in rows]


def rank(dense: list[tuple[StoredChunk, float]], lexical: list[tuple[StoredChunk, float]],
         mode: Mode, asked: set[str] | None = None) -> Iterator[Ranked]:
    """Candidates in the order of the mode's score, each with every stage's score.

    Lazy: a search stops after k passages, so only those (and the overlaps skipped on the way) get built.
    """
    dense_score = {row.id: s for row, s in dense}
    lexical_score = {row.id: s for row, s in lexical}

    def stage_scores(row: StoredChunk, fused: float | None = None) -> dict[str, float]:
        scores = {}
        if row.id in dense_score:
            scores["dense"] = round(dense_score[row.id], 4)
        if row.id in lexical_score:
            scores["lexical"] = round(lexical_score[row.id], 4)
        if fused is not None:
            scores["fused"] = round(fused, 5)
        return scores

    if mode in ("dense", "lexical"):
        return (Ranked(row, stage_scores(row)) for row, _ in (dense if mode == "dense" else lexical))
    if mode == "rrf":
        fused = rrf_fuse([[r for r, _ in dense], [r for r, _ in lexical]])
    else:
        fused = by_intent(convex_fuse(dense, lexical), asked or set())
    return (Ranked(row, stage_scores(row, score)) for row, score in fused)


def by_intent(fused: list[tuple[StoredChunk, float]], asked: set[str]) -> list[tuple[StoredChunk, float]]:
    """Fused scores with a small lift for passages whose headings or labels announce what the query asks
    ("Solutions" for "how do I fix X", "Limitations" for its downsides), and a drop for the opposite."""
    if not asked:
        return fused
    adjusted = []
    for row, score in fused:
        labels = chunk_labels(row)
        lift = 1.0
        for intent in asked:
            if any(labels_intent(label, intent) for label in labels):
                lift += INTENT_LIFT
            elif intent in OPPOSITE and any(labels_intent(label, OPPOSITE[intent]) for label in labels):
                lift -= INTENT_LIFT
        adjusted.append((row, score * lift))  # a share of the score: an off-topic passage gains little
    return sorted(adjusted, key=lambda rs: -rs[1])


def chunk_labels(row: StoredChunk) -> list[str]:
    """A passage's heading path and the headings and "**Label**:" lines inside it."""
    return [row.heading, *(m.group(1) or m.group(2) for m in LABEL_LINE.finditer(row.text))]


def to_passage(ranked: Ranked) -> Passage:
    """A Passage whose `score` is the last stage's score."""
    scores = ranked.scores
    score = scores.get("fused", scores.get("dense", scores.get("lexical", 0.0)))
    return replace(ranked.row.to_passage(score, scores))
