"""Cited answers: the question read, the passages found, the notes' blocks chosen and quoted, or an LLM's answer."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from rag.answer.evidence import Verdict, judge
from rag.answer.labels import adjustment, code_after, intent_sections, on_intent, unit_language, word_keys
from rag.answer.note import NoteView
from rag.answer.question import (
    compared_sides,
    content_words,
    language,
    listed_subject,
    names_subject,
    question_parts,
    resolve_followup,
    table_aspects,
    wants_code,
    wants_formula,
    wants_questions,
    wants_references,
    wants_table,
    without_negated,
)
from rag.answer.render import compose, compose_table
from rag.answer.select import Candidate, Quoting, choose, code_answer, is_filler
from rag.answer.table import MAX_ANCHORS, Grid, build_grid, covers_aspects
from rag.answer.units import Unit, explains_itself, is_lead_in, is_output
from rag.chunk import note_title
from rag.errors import InvalidInput, LLMError, StoreUnavailable
from rag.intents import intents
from rag.models import Answer, Passage

if TYPE_CHECKING:
    from rag.embed import Embedder, VectorCache
    from rag.retrieve import Retriever
    from rag.settings import Settings
    from rag.store import UnitVectorStore

log = logging.getLogger(__name__)

PASSAGE_PRIOR = 0.25  # a unit of a better-ranked passage gets up to this much extra relevance
PART_WEIGHT = 0.8  # a part's best unit is found by the part (with its subject), a little by the whole question
PART_PRIOR_SHARE = 0.5  # a part is found more by its own words than by the rank of its passage
TOPICS = 3  # the topics of this many top passages are searched for a section announcing what is asked
PART_PASSAGES = 2
MAX_PART_SEARCHES = 4  # passages searched for each further part of a multi-part question
TOPIC_BONUS = 0.1  # a follow-up's unit that names the conversation's topic (in its headings or text)
FOLLOW_UP_WEIGHT = 0.7  # weight of the follow-up question itself against the query resolved with its topic
VIEW_CHARS = 400  # of a unit (twice that of code) are embedded: enough to place it, cheap to embed
NO_LLM = "no LLM endpoint is configured (RAG_LLM_BASE_URL); this is the extractive answer"
NOTE_VIEWS = 16  # notes kept parsed (keyed by their chunks, so an edit is read afresh)


class Answerer:
    """The answer stage: what it needs from below (the retriever, the embedder, the settings), nothing above."""

    def __init__(self, settings: Settings, retriever: Retriever, embedder: Embedder,
                 unit_store: UnitVectorStore | None = None) -> None:
        from cachetools import LRUCache

        from rag.embed import VectorCache

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
        passages = self.retriever.search(search_query, k, sources)
        corrected = self.retriever.correct(search_query)
        reading = self.read(self.retriever.correct(question), corrected, passages)
        verdict = self.judge(reading, corrected, passages)
        if not verdict.answered:
            return Answer(question, search_query, not_covered_text(passages, verdict.absent), False, "extractive", [])
        reading = self.widen(reading, passages, sources)
        picked, missing = reading.choose()
        grid = None
        rows = [view.units[i].text.strip(" |").split("|")[0] for view, i in picked if view.units[i].kind == "row"]
        if wants_table(question) and not (rows and covers_aspects(rows, table_aspects(question))):
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

    def widen(self, reading: Reading, passages: list[Passage], sources: Sequence[str]) -> Reading:
        """The reading with the passages a closer look needs: each part of a multi-part question searched
        with its subject, and code in the language asked for when the passages show another one."""
        known = {p.id for p in passages}
        before = len(passages)
        asked_language = language(reading.question)
        searches = reading.parts[:MAX_PART_SEARCHES] if len(reading.parts) > 1 else []
        if wants_code(reading.question) and asked_language and not reading.has_code(asked_language):
            # "C++ code for X" while the passages show Python: the C++ block may rank just below them
            searches.append(f"{asked_language} code {' '.join(content_words(without_negated(reading.query)))}")
        for query in searches:
            passages += [p for p in self.retriever.search(query, PART_PASSAGES, sources) if p.id not in known]
            known |= {p.id for p in passages}
        if len(passages) == before and not asked_language:
            return reading
        return self.read(reading.question, reading.query, passages, asked_language)

    def table(self, reading: Reading) -> Grid | None:
        """A comparison table of the question's sides from the note its best units sit in, if the notes lay one
        out side by side or aspect by aspect."""
        compared = compared_sides(reading.question) or compared_sides(reading.query)
        if compared is None:
            return None
        side_a, side_b, _ = compared
        best = np.argsort(-reading.sims[:, : reading.n_main].max(axis=1), kind="stable")
        anchors = [reading.places[n][:2] for n in best[:MAX_ANCHORS]]
        return build_grid([side_a, side_b], table_aspects(reading.question), anchors,
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
        from rag.answer.generate import generate_answer

        try:
            text, citations = generate_answer(self.settings, answer.question, answer.search_query, answer.citations,
                                              history)
        except LLMError as exc:
            log.warning("LLM answer failed, answering extractively: %s", exc)
            return replace(answer, note=f"the LLM endpoint failed ({exc}); this is the extractive answer")
        return replace(answer, text=text, mode="llm", citations=citations)

    def covers(self, query: str, passages: Sequence[Passage]) -> bool:
        """Whether the passages answer the query, decided as `ask` decides it."""
        query = self.retriever.correct(query)
        return self.judge(self.read(query, query, passages), query, passages).answered

    def judge(self, reading: Reading, query: str, passages: Sequence[Passage]) -> Verdict:
        """Answer or refuse, on the evidence (see rag.answer.evidence)."""
        absent = self.retriever.absent_words(query)
        return judge(reading.coverage, self.settings.coverage_floor, absent, query, passages)

    def places(self, question: str, search_query: str, passages: Sequence[Passage],
               code_language: str | None) -> list[tuple[NoteView, int, int]]:
        """The units to read, each with the rank of the passage that brought it: the passages' own, code in the
        language asked for that follows them, and the sections of their topics that announce what is asked."""
        views = {p.source: self.view(p.source) for p in passages}
        places: dict[tuple[str, int], tuple[NoteView, int, int]] = {}
        for rank, p in enumerate(passages):
            view = views[p.source]
            for i in view.units_in(p.start_line, p.end_line):
                places.setdefault((p.source, i), (view, i, rank))
            for i in code_after(view, p.end_line, code_language) if code_language else ():
                places.setdefault((p.source, i), (view, i, rank))
        asked = intents(question)
        tops = {(v.source, v.section(i, depth=1).start): (v, i, rank)
                for v, i, rank in places.values() if rank < TOPICS and asked}
        for view, anchor, rank in tops.values():  # found through a top passage: ranked with it
            for i in intent_sections(view, anchor, asked, content_words(search_query)):
                places.setdefault((view.source, i), (view, i, rank))
        return list(places.values())

    def read(self, question: str, search_query: str, passages: Sequence[Passage],
             code_language: str | None = None) -> Reading:
        """The passages' units scored against the question, its resolved query and its parts.

        With `code_language`, the code blocks in that language that follow a passage in its topic are read
        too (an example often sits in the section after the one that explains it).
        """
        places = self.places(question, search_query, passages, code_language)
        parts = question_parts(question)
        queries = [question] if search_query == question else [question, search_query]
        queries += parts if len(parts) > 1 else []
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
        return Reading(question, search_query, places, sims, n_main, parts)


class Reading:
    """The units of the retrieved passages with their similarity to each query: what an answer is chosen from."""

    def __init__(self, question: str, query: str, places: list[tuple[NoteView, int, int]], sims: np.ndarray,
                 n_main: int, parts: list[str]) -> None:
        self.question, self.query, self.places, self.sims, self.parts = question, query, places, sims, parts
        self.n_main = n_main  # the question (and its resolved form): the first columns of `sims`

    @property
    def coverage(self) -> float:
        """How well the notes answer: the best similarity of one quotable unit to the (resolved) query.

        A passage can share a question's topic while none of its lines answers it; a sentence, item,
        formula or code block that does is what an answer needs (RAG_COVERAGE_FLOOR is the bar).
        """
        return float(self.sims[:, self.n_main - 1].max()) if len(self.places) else 0.0

    def has_code(self, asked_language: str) -> bool:
        """True if a code block of the passages is in the language asked for."""
        return any(v.units[i].kind == "code" and unit_language(v, i) == asked_language for v, i, _ in self.places)

    def choose(self) -> tuple[list[tuple[NoteView, int]], list[int]]:
        """The units to quote, and the question's parts the notes leave unanswered."""
        code_asked = wants_code(self.question)
        own = FOLLOW_UP_WEIGHT if names_subject(self.question) else 1 - FOLLOW_UP_WEIGHT  # "show me the code"
        weights = np.array([1.0] if self.n_main == 1 else [own, 1 - own])
        main = self.sims[:, : self.n_main] @ weights
        asked_language = language(self.question)
        # Each part is weighed by what it asks ("what is X" a definition, "when to use it" the uses) and by
        # the words it names; the question as a whole by the words of its resolved query (a follow-up's topic).
        texts = [self.query, *(self.parts if len(self.parts) > 1 else [])]
        asked = [intents(self.question), *(intents(text) for text in texts[1:])]
        words = [content_words(text) for text in texts]
        # A follow-up ("how do I stop it from overfitting?") stays with the conversation's topic ("U-Net")
        own = set(content_words(self.question))
        topic = {w.rstrip("s")[:5] for w in words[0] if w not in own}
        candidates = []
        quoting = Quoting(wants_references(self.question), wants_questions(self.question))
        for n, (view, i, rank) in enumerate(self.places):
            unit = view.units[i]
            if not is_quotable(unit) or not quoting.allows(unit) or dangles(view, i) or (
                    unit.kind == "code" and not code_asked and not explains_itself(unit)):
                continue
            prior = PASSAGE_PRIOR / (1 + rank)
            on_topic = not topic or bool(topic & word_keys(content_words(f"{' '.join(view.paths[i])} {unit.text}")))
            prior += TOPIC_BONUS if topic and on_topic else 0.0
            extra = [prior * (1 if k == 0 else PART_PRIOR_SHARE) + adjustment(view, i, wants, asked_language, words[k])
                     for k, wants in enumerate(asked)]
            sims = tuple(float(s) for s in self.sims[n, self.n_main :])
            parts = tuple(PART_WEIGHT * s + (1 - PART_WEIGHT) * float(main[n]) + extra[1 + p]
                          for p, s in enumerate(sims))
            # a part's "when is it useful" is about its own subject, not any section of uses nearby
            labelled = tuple(on_intent(view, i, wants if k == 0 else wants - {"use"}) for k, wants in enumerate(asked))
            candidates.append(Candidate(view, i, float(main[n]) + extra[0], parts, sims, labelled[0] and on_topic,
                                        labelled[1:]))
        code = [c for c in candidates if c.view.units[c.index].kind == "code" and not is_output(c.view.units[c.index])
                and code_lines(c.view.units[c.index]) >= 1]
        in_language = [c for c in code if unit_language(c.view, c.index) == asked_language]
        if code_asked and code:  # a named language is a constraint: no Python block for a C++ question
            best = max(in_language or code, key=lambda c: c.rel)
            return [(best.view, i) for i in code_answer(best.view, best.index)], []
        prose = [c for c in candidates
                 if c.view.units[c.index].kind != "code" or explains_itself(c.view.units[c.index])]
        return choose(prose, len(self.parts), table=wants_table(self.question), quoting=quoting,
                      listing=listed_subject(self.question), formula=wants_formula(self.question))


def code_lines(unit: Unit) -> int:
    """Lines of code in a block, its fences not counted."""
    return sum(1 for line in unit.text.split("\n") if line.strip() and not re.match(r"\s*(?:`{3,}|~{3,})", line))


def unit_texts(view: NoteView) -> list[str]:
    """What the embedder sees of each quotable unit of a note."""
    return [unit_view(view, i) for i, unit in enumerate(view.units) if is_quotable(unit)]


def unit_view(view: NoteView, i: int) -> str:
    """What the embedder sees of a unit: the heading it sits under (the note's title under none) and the line
    that introduces it."""
    unit = view.units[i]
    lead = view.units[unit.lead].text[:VIEW_CHARS] if unit.lead is not None else ""
    context = unit.context or note_title(view.source)
    parts = [context, lead, unit.text[: 2 * VIEW_CHARS if unit.kind == "code" else VIEW_CHARS]]
    return "\n".join(p for p in parts if p)


def is_quotable(unit: Unit) -> bool:
    """A unit that can answer on its own: not a heading, not a label, not a question the notes ask, not chat."""
    return unit.kind != "heading" and not is_label(unit) and not is_question(unit) and not is_filler(unit.text)


def is_question(unit: Unit) -> bool:
    """A sentence that asks ("Would you like a deeper dive…?"): it answers nothing. A listed question is content."""
    return unit.kind == "sentence" and unit.text.rstrip("*_ ").endswith("?")


def is_label(unit: Unit) -> bool:
    """A few words announcing what follows ("- **Causes**:"): context for what it announces, no answer alone."""
    return is_lead_in(unit) and len(re.findall(r"\w+", unit.text)) <= 6


def dangles(view: NoteView, i: int) -> bool:
    """A "...:" line with nothing after it to introduce."""
    return is_lead_in(view.units[i]) and not any(u.lead == i for u in view.units[i + 1 : i + 40])


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
