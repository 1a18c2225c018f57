"""Cited answers: the question read, the passages found, the notes' blocks chosen and quoted, or an LLM's answer."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from rag.answer.evidence import Verdict, judge
from rag.answer.labels import code_after, intent_sections
from rag.answer.note import NoteView
from rag.answer.question import (
    Asked,
    content_words,
    read_question,
    resolve_followup,
    said_before,
    without_negated,
)
from rag.answer.reading import Reading, is_quotable
from rag.answer.render import compose, compose_table
from rag.answer.table import MAX_ANCHORS, Grid, build_grid, covers_aspects
from rag.answer.units import BANNER_RULE
from rag.errors import InvalidInput, LLMError, StoreUnavailable
from rag.models import Answer, Passage

if TYPE_CHECKING:
    from rag.embed.base import Embedder
    from rag.embed.cache import VectorCache
    from rag.retrieve.hybrid import Retriever
    from rag.settings import Settings
    from rag.store.units import UnitVectorStore

log = logging.getLogger(__name__)

TOPICS = 3  # the topics of this many top passages are searched for a section announcing what is asked
PART_PASSAGES = 2
MAX_PART_SEARCHES = 4  # passages searched for each further part of a multi-part question
VIEW_CHARS = 400  # of a unit (twice that of code) are embedded: enough to place it, cheap to embed
NO_LLM = "no LLM endpoint is configured (RAG_LLM_BASE_URL); this is the extractive answer"
NOTE_VIEWS = 64  # notes kept parsed (keyed by their chunks, so an edit is read afresh); 16 made warm asks reparse


class Answerer:
    """The answer stage: what it needs from below (the retriever, the embedder, the settings), nothing above."""

    def __init__(self, settings: Settings, retriever: Retriever, embedder: Embedder,
                 unit_store: UnitVectorStore | None = None) -> None:
        from cachetools import LRUCache

        from rag.embed.cache import VectorCache

        self.settings = settings
        self.retriever = retriever
        self.vectors: VectorCache = VectorCache(embedder, backing=unit_store)
        self._views: LRUCache[tuple[str, tuple[tuple[str, int, int], ...]], NoteView] = LRUCache(NOTE_VIEWS)
        self._snapshots: LRUCache[str, tuple[object, NoteView]] = LRUCache(NOTE_VIEWS)  # BM25 snapshot: its view

    def view(self, source: str) -> NoteView:
        """The note as the index holds it now, parsed once per version of it."""
        snapshot = self.retriever.refresh()
        known = self._snapshots.get(source)
        if known is not None and known[0] is snapshot:  # nothing was written since: the same view
            return known[1]
        chunks = self.retriever.note_chunks(source)
        key = (source, tuple((c.id, c.start_line, c.end_line) for c in chunks))
        found = self._views.get(key)
        if found is None:
            found = self._views[key] = NoteView(chunks)
            self.vectors.preload(source, unit_texts(found))
        self._snapshots[source] = (snapshot, found)
        return found

    def prepare(self, sources: Sequence[str], progress: Callable[[int, int], None] | None = None) -> int:
        """Embed and store the units of these notes ahead of the questions; the count embedded.

        Run after indexing: a note's first answer then reads its units' vectors instead of embedding them.
        """
        texts = {source: unit_texts(self.view(source)) for source in sources}
        total = sum(len(self.vectors.unstored(source, t)) for source, t in texts.items())
        done = 0

        def step(n: int) -> None:
            nonlocal done
            done += n
            if progress:
                progress(done, total)

        for source, t in texts.items():
            try:
                self.vectors.persist(source, t, step)
            except StoreUnavailable:
                raise
            except Exception:  # the chunks are indexed; answers embed these units when asked, the next run stores them
                log.exception("storing the answer units of %s failed", source)
        return total

    def forget(self, sources: Sequence[str]) -> None:
        """Drop the stored unit vectors of removed notes."""
        for source in sources:
            self.vectors.forget(source)

    def ask(self, question: str, k: int = 5, history: Sequence[tuple[str, str]] = (),
            mode: str | None = None, sources: Sequence[str] = ()) -> Answer:
        """A short answer to `question` from the notes, every block cited; an LLM writes it if configured."""
        if mode not in (None, "extractive", "llm"):
            raise InvalidInput(f"mode must be 'extractive' or 'llm', got {mode!r}")
        search_query = resolve_followup(question, history, self.settings.max_query_chars)
        passages, reading, verdict = self.consider(question, search_query, history, k, sources)
        if not verdict.answered and search_query == question and history:
            # A follow-up can name a subject of its own and still mean the conversation's ("why is saying 'just'
            # bad?" after "what should instructors avoid?"): asked with the conversation's topic, it may be answered.
            joined = resolve_followup(question, history, self.settings.max_query_chars, always=True)
            second = self.consider(question, joined, history, k, sources)
            # ... if its own words match the passages the topic brings as well as those they found alone (the
            # topic's words alone would answer anything asked after it: "what is label smoothing?" finds better)
            if second[2].answered and second[1].own_coverage >= reading.own_coverage:
                search_query, (passages, reading, verdict) = joined, second
        asked = reading.asked
        if not verdict.answered:
            return Answer(question, search_query, not_covered_text(passages, verdict.absent), False, "extractive", [])
        reading = self.widen(reading, passages, sources)
        picked, missing = reading.choose()
        grid = None
        rows = [view.units[i].text.strip(" |").split("|")[0] for view, i in picked if view.units[i].kind == "row"]
        if asked.table and not (rows and covers_aspects(rows, list(asked.aspects))):
            grid = self.table(reading)  # the notes have no table of it: build one from their parallel lines
        if grid is not None:
            text, citations = compose_table(grid, passages)
        else:
            text, citations = compose(picked, passages)
            if missing:
                text += "\n\n" + missing_text(reading.parts, missing)
        if not citations:  # nothing quotable was chosen: an empty "answer" would pass for one
            return Answer(question, search_query, not_covered_text(passages), False, "extractive", [])
        return self.write(Answer(question, search_query, text, True, "extractive", citations), history, mode)

    def consider(self, question: str, search_query: str, history: Sequence[tuple[str, str]], k: int,
                 sources: Sequence[str]) -> tuple[list[Passage], Reading, Verdict]:
        """The passages found for a search query, the question read against them, and whether they answer it."""
        passages = self.retriever.search(search_query, k, sources)
        corrected = self.retriever.correct(search_query)
        asked = read_question(self.retriever.correct(question), corrected, said_before(history, search_query, question))
        reading = self.read(asked, passages)
        return passages, reading, self.judge(reading, corrected, passages)

    def widen(self, reading: Reading, passages: list[Passage], sources: Sequence[str]) -> Reading:
        """The reading with the passages a closer look needs: each part of a multi-part question searched
        with its subject, and code in the language asked for when the passages show another one."""
        known = {p.id for p in passages}
        before = len(passages)
        asked = reading.asked
        asked_language = asked.language
        searches = reading.parts[:MAX_PART_SEARCHES] if len(reading.parts) > 1 else []
        if asked.code and asked_language and not reading.has_code(asked_language):
            # "C++ code for X" while the passages show Python: the C++ block may rank just below them
            searches.append(f"{asked_language} code {' '.join(content_words(without_negated(reading.query)))}")
        for query in searches:
            passages += [p for p in self.retriever.search(query, PART_PASSAGES, sources) if p.id not in known]
            known |= {p.id for p in passages}
        if len(passages) == before and not asked_language:
            return reading
        return self.read(asked, passages, asked_language)

    def table(self, reading: Reading) -> Grid | None:
        """A comparison table of the question's sides from the note its best units sit in, if the notes lay one
        out side by side or aspect by aspect."""
        compared = reading.asked.compared
        if compared is None:
            return None
        side_a, side_b, _ = compared
        best = np.argsort(-reading.sims[:, : reading.n_main].max(axis=1), kind="stable")
        anchors = [reading.places[n][:2] for n in best[:MAX_ANCHORS]]
        return build_grid([side_a, side_b], list(reading.asked.aspects), anchors,
                          lambda view, i: is_quotable(view.units[i]) and view.units[i].kind != "code",
                          self.similarity)

    def similarity(self, queries: Sequence[str], units: Sequence[tuple[NoteView, int]]) -> np.ndarray:
        """Cosine similarity of each query to each unit (as the answer reads units)."""
        query_vectors, vectors = self.vectors.embed(queries, [unit_view(view, i) for view, i in units])
        return query_vectors @ vectors.T

    def write(self, answer: Answer, history: Sequence[tuple[str, str]], mode: str | None) -> Answer:
        """The extractive answer, or the LLM's written from the same blocks when one is configured or asked for."""
        use_llm = mode == "llm" or (mode is None and bool(self.settings.llm_base_url))
        if not use_llm:
            return answer
        if not self.settings.llm_base_url:
            return replace(answer, note=NO_LLM)
        from rag.answer.screen import ReplyRejected
        from rag.answer.written import written_answer

        try:
            return written_answer(self.settings, answer, history, self.sentence_similarity)
        except ReplyRejected as exc:
            return replace(answer, note=f"the LLM's reply was not used: {exc}; this is the extractive answer")
        except LLMError as exc:
            log.warning("LLM answer failed, answering extractively: %s", exc)
            return replace(answer, note=f"the LLM endpoint failed ({exc}); this is the extractive answer")

    def sentence_similarity(self, written: Sequence[str], notes: Sequence[str]) -> np.ndarray:
        """Cosine similarity of each written sentence to each text of the notes (those cached as they recur)."""
        fresh, reused = self.vectors.embed(written, notes)
        return fresh @ reused.T

    def covers(self, query: str, passages: Sequence[Passage]) -> bool:
        """Whether the passages answer the query, decided as `ask` decides it."""
        query = self.retriever.correct(query)
        return self.judge(self.read(read_question(query), passages), query, passages).answered

    def judge(self, reading: Reading, query: str, passages: Sequence[Passage]) -> Verdict:
        """Answer or refuse, on the evidence (see rag.answer.evidence)."""
        absent = self.retriever.absent_words(query)
        return judge(reading.coverage, self.settings.coverage_floor, absent, query, passages)

    def places(self, asked: Asked, passages: Sequence[Passage],
               code_language: str | None) -> list[tuple[NoteView, int, int]]:
        """The units to read, each with the rank of the passage that brought it: the passages' own, code in the
        language asked for that follows them, and the sections of their topics that announce what is asked."""
        views = {p.source: self.view(p.source) for p in passages}
        places: dict[tuple[str, int], tuple[NoteView, int, int]] = {}
        for rank, p in enumerate(passages):
            view = views[p.source]
            for i in view.units_over(p.start_line, p.end_line):
                places.setdefault((p.source, i), (view, i, rank))
            for i in code_after(view, p.end_line, code_language) if code_language else ():
                places.setdefault((p.source, i), (view, i, rank))
        wanted = set(asked.intents)
        tops = {(v.source, v.section(i, depth=1).start): (v, i, rank)
                for v, i, rank in places.values() if rank < TOPICS and wanted}
        for view, anchor, rank in tops.values():  # found through a top passage: ranked with it
            for i in intent_sections(view, anchor, wanted, content_words(asked.query)):
                places.setdefault((view.source, i), (view, i, rank))
        return list(places.values())

    def read(self, asked: Asked, passages: Sequence[Passage], code_language: str | None = None) -> Reading:
        """The passages' units scored against the question, its resolved query and its parts.

        With `code_language`, the code blocks in that language that follow a passage in its topic are read
        too (an example often sits in the section after the one that explains it).
        """
        places = self.places(asked, passages, code_language)
        parts = asked.parts
        queries = [asked.text] if asked.query == asked.text else [asked.text, asked.query]
        queries += list(parts) if len(parts) > 1 else []
        quotable = [n for n, (v, i, _) in enumerate(places) if is_quotable(v.units[i])]
        texts = [unit_view(places[n][0], places[n][1]) for n in quotable]
        # The queries go through the cache too: a multi-part question is read twice (before and after its
        # parts are searched), and a repeated question embeds nothing.
        _, both = self.vectors.embed([], [*queries, *texts])
        query_vectors, vectors = both[: len(queries)], both[len(queries) :]
        sims = np.full((len(places), len(queries)), -1.0, np.float32)
        if quotable:
            sims[quotable] = vectors @ query_vectors.T
        n_main = len(queries) - len(parts) if len(parts) > 1 else len(queries)
        return Reading(asked, places, sims, n_main)


def unit_texts(view: NoteView) -> list[str]:
    """What the embedder sees of each quotable unit of a note."""
    return [unit_view(view, i) for i, unit in enumerate(view.units) if is_quotable(unit)]


def unit_view(view: NoteView, i: int) -> str:
    """What the embedder sees of a unit: the heading it sits under (a note without headings: its title) and the
    line that introduces it."""
    unit = view.units[i]
    lead = view.units[unit.lead].text[:VIEW_CHARS] if unit.lead is not None else ""
    context = unit.context or view.title
    text = unit.text
    if unit.kind == "code":  # a banner's rule lines say nothing and would fill the embedder's window
        text = "\n".join(line for line in text.split("\n") if not BANNER_RULE.match(line))
    parts = [context, lead, text[: 2 * VIEW_CHARS if unit.kind == "code" else VIEW_CHARS]]
    return "\n".join(p for p in parts if p)


def not_covered_text(passages: Sequence[Passage], absent: Sequence[str] = ()) -> str:
    """What to say when the notes don't answer: that (naming what they never mention), and the nearest topics."""
    topics: dict[str, str] = {}
    for p in passages:
        topic = topic_of(p)
        if topic and topic not in topics:
            topics[topic] = f"{topic} ({p.source}, line {p.start_line})"
    text = "The notes don't cover this, so I won't guess."
    if absent:
        named = ", ".join(f'"{w}"' for w in absent)
        text = f"The notes don't cover this: they never mention {named}, so I won't guess."
    if topics:
        text += " The nearest topics they do cover: " + "; ".join(list(topics.values())[:3]) + "."
    return text


def missing_text(parts: Sequence[str], missing: Sequence[int]) -> str:
    """The sentence that says which parts of the question the notes leave open."""
    asked = "; ".join(f'"{parts[n]}"' for n in missing)
    return f"The notes don't cover this part of the question: {asked}."


def topic_of(passage: Passage) -> str:
    """A short name for what a passage is about: its heading, else its first words."""
    from rag.answer.units import split_passage

    if passage.heading:
        topic = passage.heading.split(" > ")[-1]
    else:
        headings = [u.text for u in split_passage(passage) if u.kind == "heading"]
        topic = headings[0] if headings else " ".join(passage.text.split()[:8])
    return re.sub(r"^[#\s]+|[*_`]+|[\s:]+$", "", topic)
