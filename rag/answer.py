"""Cited answers: follow-up resolution, extractive unit selection and composition, optional LLM."""

from __future__ import annotations

import logging
import re
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from rag.errors import InvalidInput, LLMError
from rag.models import Answer, Citation, Passage
from rag.questions import comparison_sides, mentions, resolve_followup, wants_code
from rag.units import Following, Unit, is_lead_in, split_passage, split_passages, whole_block

if TYPE_CHECKING:
    from rag.app import Rag

log = logging.getLogger(__name__)

PASSAGE_PRIOR = 0.25  # a unit of a better-ranked passage gets up to this much extra relevance
MMR_LAMBDA = 0.6  # relevance against novelty: 1 would pick near-duplicates of the best unit
RELEVANCE_GAP = 0.2  # units this far below the best one are not worth quoting
MAX_UNITS = 4
FOLLOW_UP_WEIGHT = 0.7  # weight of the follow-up question itself against the query resolved with its topic
MAX_CHARS = 1200  # the chosen prose (code excluded) stops growing past this
VIEW_CHARS = 400  # of a unit (twice that of code) are embedded: enough to place it, cheap to embed
MAX_CHILDREN = 8  # a "...:" line brings at most this many of the items it introduces


def answer_question(rag: Rag, question: str, k: int = 5, history: Sequence[tuple[str, str]] = (),
                    mode: str | None = None, sources: Sequence[str] = ()) -> Answer:
    """A short answer to `question` from the notes, every sentence cited; an LLM writes it if configured."""
    if mode not in (None, "extractive", "llm"):
        raise InvalidInput(f"mode must be 'extractive' or 'llm', got {mode!r}")
    search_query = resolve_followup(question, history, rag.settings.max_query_chars)
    passages = rag.search(search_query, k, sources)
    units = split_passages(passages)
    queries = [question] if search_query == question else [question, search_query]
    query_vectors, unit_vectors = embed_units(rag, queries, units)
    if coverage(query_vectors[-1], unit_vectors) < rag.settings.coverage_floor:
        text = not_covered_text(passages)
        return Answer(question, search_query, text, False, "extractive", [])
    use_llm = mode == "llm" or (mode is None and bool(rag.settings.llm_base_url))
    note = ""
    if use_llm and rag.settings.llm_base_url:
        from rag.generate import generate_answer

        try:
            text, citations = generate_answer(rag.settings, question, search_query, passages, history)
            return Answer(question, search_query, text, True, "llm", citations)
        except LLMError as exc:
            log.warning("LLM answer failed, answering extractively: %s", exc)
            note = f"the LLM endpoint failed ({exc}); this is the extractive answer"
    elif use_llm:
        note = "no LLM endpoint is configured (RAG_LLM_BASE_URL); this is the extractive answer"
    text, citations = extractive_answer(question, units, query_vectors, unit_vectors, passages,
                                        rag.retriever.following)
    return Answer(question, search_query, text, True, "extractive", citations, note)


def not_covered_text(passages: Sequence[Passage]) -> str:
    """What to say when the notes don't answer: that, and the nearest topics they do cover."""
    topics: dict[str, str] = {}
    for p in passages:
        topic = topic_of(p)
        if topic and topic not in topics:
            topics[topic] = f"{topic} ({p.source}, line {p.start_line})"
    text = "The notes don't cover this, so I won't guess."
    if topics:
        text += " The nearest topics they do cover: " + "; ".join(list(topics.values())[:3]) + "."
    return text


def topic_of(passage: Passage) -> str:
    """A short name for what a passage is about: its heading, else its first words."""
    if passage.heading:
        topic = passage.heading.split(" > ")[-1]
    else:
        headings = [u.text for u in split_passage(passage) if u.kind == "heading"]
        topic = headings[0] if headings else " ".join(passage.text.split()[:8])
    return re.sub(r"^[#\s]+|[*_`]+|[\s:]+$", "", topic)


def embed_units(rag: Rag, queries: Sequence[str], units: Sequence[Unit]) -> tuple[np.ndarray, np.ndarray]:
    """The queries' vectors, and a vector per unit (zeros for headings and labels, which are never quoted)."""
    # Embedding is the cost of an answer: only units that can be quoted on their own are embedded, and
    # each only once per process (the same passages come back for related questions and follow-ups).
    quotable = [i for i, u in enumerate(units) if is_quotable(u)]
    query_vectors, vectors = rag.unit_vectors.embed(queries, [unit_view(units[i], units) for i in quotable])
    unit_vectors = np.zeros((len(units), query_vectors.shape[1]), np.float32)
    unit_vectors[quotable] = vectors
    return query_vectors, unit_vectors


def coverage(query_vector: np.ndarray, unit_vectors: np.ndarray) -> float:
    """How well the notes answer: the best similarity of one quotable unit of the top passages to the query.

    A passage can share a question's topic while none of its lines answers it; a sentence, item,
    formula or code block that does is what an answer needs (RAG_COVERAGE_FLOOR is the bar).
    """
    return float((unit_vectors @ query_vector).max()) if len(unit_vectors) else 0.0


def covers(rag: Rag, query: str, passages: Sequence[Passage]) -> bool:
    """Whether the passages answer the query, decided as `rag ask` decides it."""
    query_vectors, unit_vectors = embed_units(rag, [query], split_passages(passages))
    return coverage(query_vectors[-1], unit_vectors) >= rag.settings.coverage_floor


def extractive_answer(question: str, units: Sequence[Unit], query_vectors: np.ndarray, unit_vectors: np.ndarray,
                      passages: Sequence[Passage], following: Following | None = None) -> tuple[str, list[Citation]]:
    """Quote the passages' most relevant, mutually different units, each cited."""
    rel, sim = score_units(question, units, query_vectors, unit_vectors)
    chosen = select_units(units, rel, sim, question)
    return compose(units, keep_order(units, chosen, rel), passages, following)


def score_units(question: str, units: Sequence[Unit], query_vectors: np.ndarray,
                unit_vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each unit's relevance to the question (-inf for units never quoted), and their similarity to one another."""
    code_asked = wants_code(question)
    scored = [i for i, u in enumerate(units) if is_quotable(u) and (u.kind != "code" or code_asked)]
    # A follow-up's own words say what is asked now; the resolved query only says about what.
    weights = np.array([1.0] if len(query_vectors) == 1 else [FOLLOW_UP_WEIGHT, 1 - FOLLOW_UP_WEIGHT])
    rel = np.full(len(units), -np.inf)
    rel[scored] = (unit_vectors[scored] @ query_vectors.T) @ weights
    # Retrieval already weighed the words and the meaning of whole passages: trust its order.
    prior = np.array([PASSAGE_PRIOR / (1 + unit.passage) for unit in units])
    return rel + prior, unit_vectors @ unit_vectors.T


def unit_view(unit: Unit, units: Sequence[Unit]) -> str:
    """What the embedder sees of a unit: the heading it sits under and the line that introduces it."""
    lead = units[unit.lead].text[:VIEW_CHARS] if unit.lead is not None else ""
    parts = [unit.context, lead, unit.text[: 2 * VIEW_CHARS if unit.kind == "code" else VIEW_CHARS]]
    return "\n".join(p for p in parts if p)


def select_units(units: Sequence[Unit], rel: np.ndarray, sim: np.ndarray, question: str) -> list[int]:
    """The units to quote: the code block a code question asks for, else MMR over prose, plus context."""
    # A block of one or two lines is printed output, not the code a question asks for.
    code = [i for i, u in enumerate(units) if u.kind == "code" and len(u.text.strip("`~\n").split("\n")) >= 3]
    if wants_code(question) and code:
        best = max(code, key=lambda i: rel[i])
        chosen = [best]
        if units[best].lead is None:
            prose = [i for i, u in enumerate(units) if u.passage == units[best].passage and u.kind == "sentence"
                     and is_quotable(u) and not dangles(units, i)]
            chosen += sorted(prose, key=lambda i: -rel[i])[:1]
        return with_context(units, chosen, rel)
    candidates = [i for i, u in enumerate(units) if is_quotable(u) and u.kind != "code" and not dangles(units, i)]
    chosen = mmr(candidates, rel, sim, units)
    chosen += cover_sides(comparison_sides(question), units, candidates, chosen, rel)
    return with_context(units, chosen, rel)


def is_quotable(unit: Unit) -> bool:
    """A unit that can answer on its own: not a heading, not a label, not a question the notes ask."""
    return unit.kind != "heading" and not is_label(unit) and not is_question(unit)


def is_question(unit: Unit) -> bool:
    """A sentence that asks ("Would you like a deeper dive…?"): it answers nothing. A listed question is content."""
    return unit.kind == "sentence" and unit.text.rstrip("*_ ").endswith("?")


def dangles(units: Sequence[Unit], i: int) -> bool:
    """A "...:" line whose list, formula or code is not among the units (its passage ends before them)."""
    return is_lead_in(units[i]) and not any(u.lead == i for u in units)


def is_label(unit: Unit) -> bool:
    """A few words announcing what follows ("- **Causes**:"): context for what it announces, no answer alone."""
    return is_lead_in(unit) and len(re.findall(r"\w+", unit.text)) <= 6


def mmr(candidates: Sequence[int], rel: np.ndarray, sim: np.ndarray, units: Sequence[Unit]) -> list[int]:
    """Maximal marginal relevance: relevant units that each add a point the others don't make."""
    if not candidates:
        return []
    floor = max(rel[i] for i in candidates) - RELEVANCE_GAP
    pool = [i for i in candidates if rel[i] >= floor]
    chosen: list[int] = []
    size = 0
    while pool and len(chosen) < MAX_UNITS and size < MAX_CHARS:
        def gain(i: int) -> float:
            novelty = max((sim[i, j] for j in chosen), default=0.0)
            return MMR_LAMBDA * rel[i] - (1 - MMR_LAMBDA) * novelty

        best = max(pool, key=gain)
        pool.remove(best)
        chosen.append(best)
        size += len(units[best].text)
    return chosen


def cover_sides(sides: Sequence[str], units: Sequence[Unit], candidates: Sequence[int],
                chosen: Sequence[int], rel: np.ndarray) -> list[int]:
    """For each side no chosen unit mentions, the most relevant unit that does."""
    extra: list[int] = []
    for side in sides:
        if any(mentions(units[i].text, side) for i in [*chosen, *extra]):
            continue
        naming = [i for i in candidates if mentions(units[i].text, side) and i not in chosen]
        if naming:
            extra.append(max(naming, key=lambda i: rel[i]))
    return extra


def with_context(units: Sequence[Unit], chosen: Sequence[int], rel: np.ndarray) -> list[int]:
    """Chosen units plus what they need to be read: lead-in lines, the items a lead-in announces, headers."""
    picked = list(dict.fromkeys(chosen))
    for i in list(picked):
        unit = units[i]
        if is_lead_in(unit):
            picked += [j for j, u in enumerate(units) if u.lead == i][:MAX_CHILDREN]
        if unit.kind == "row" and unit.header is None:  # a table's header row is read with its rows
            picked += [j for j, u in enumerate(units) if u.header == i][:MAX_CHILDREN]
        top = i
        while units[top].lead is not None:  # a nested item needs its parents up to the list's "...:" line
            top = units[top].lead  # type: ignore[assignment]
            picked.append(top)
        if unit.header is not None:
            picked.append(unit.header)
        if units[top].kind in ("item", "row") and units[top].lead is None:  # no "...:" line says what it lists
            picked += [h for h in [heading_above(units, top)] if h is not None]
    return list(dict.fromkeys(picked))


def heading_above(units: Sequence[Unit], i: int) -> int | None:
    """The nearest heading above unit i in its passage: what a list or table with no "...:" line is about."""
    j = i - 1
    while j >= 0 and units[j].passage == units[i].passage:
        if units[j].kind == "heading":
            return j
        j -= 1
    return None


def keep_order(units: Sequence[Unit], chosen: Sequence[int], rel: Mapping[int, float] | np.ndarray) -> list[int]:
    """Chosen units grouped by passage, the passage of the most relevant unit first, each in the notes' order."""
    best: dict[int, float] = {}
    for i in chosen:
        best[units[i].passage] = max(best.get(units[i].passage, -1.0), float(rel[i]))
    return sorted(dict.fromkeys(chosen), key=lambda i: (-best[units[i].passage], units[i].passage, i))


def compose(units: Sequence[Unit], ordered: Sequence[int], passages: Sequence[Passage],
            following: Following | None = None) -> tuple[str, list[Citation]]:
    """The answer text and its citations: passages numbered in order of use, every unit ending in its [n].

    A code block cut off by the end of its passage is quoted whole (`following` gives the chunk that goes on
    after a passage); the chunks it runs on into are cited as the next numbers.
    """
    blocks: list[str] = []
    citations: list[Citation] = []
    for p in dict.fromkeys(units[i].passage for i in ordered):
        mine = [units[i] for i in ordered if units[i].passage == p]
        n = len(citations) + 1
        cited = Citation(n, passages[p], min(u.start_line for u in mine), max(u.end_line for u in mine))
        cut = next((u for u in mine if u.kind == "code" and u.end_line >= passages[p].end_line), None)
        found = whole_block(cut, passages[p], following) if cut is not None and following is not None else None
        if cut is None or found is None:
            blocks += render(mine, n)
            citations.append(cited)
            continue
        whole, chain = found
        head = replace(cut, text=whole.text)  # its lines stay those of its own passage
        block = render_unit(head, n)
        more = " ".join(f"[{n + j}]" for j in range(1, len(chain) + 1))
        blocks += [f"{b} {more}" if b == block else b for b in render([head if u is cut else u for u in mine], n)]
        citations += [cited, *(Citation(n + j, c, c.start_line, min(c.end_line, whole.end_line))
                               for j, c in enumerate(chain, 1))]
    return "\n\n".join(blocks), citations


def render(units: Sequence[Unit], n: int) -> list[str]:
    """Markdown blocks for one passage's units: sentences as a paragraph, items as a list, blocks whole."""
    groups: list[list[Unit]] = []
    for unit in units:
        new_table = unit.kind == "row" and unit.header is None  # a header row starts another table
        if groups and groups[-1][0].kind == unit.kind and unit.kind in ("sentence", "item", "row") and not new_table:
            groups[-1].append(unit)
        else:
            groups.append([unit])
    blocks = []
    for group in groups:
        if group[0].kind == "row":
            blocks.append(render_table(group, n))
        else:
            blocks.append((" " if group[0].kind == "sentence" else "\n").join(render_unit(u, n) for u in group))
    return blocks


def render_unit(unit: Unit, n: int) -> str:
    """One unit in the notes' own words with its marker."""
    if unit.kind == "code":
        return f"{fenced(unit.text)}\n[{n}]"
    if unit.kind == "formula":
        return f"{textwrap.dedent(unit.text).strip()} [{n}]"
    if unit.kind == "row":
        return unit.text
    if unit.kind == "item":
        return f"{' ' * unit.depth}{unit.text} [{n}]"
    if unit.kind == "heading":  # bold, so that "8. Advantages" does not read as a list item
        return f"**{unit.text}** [{n}]"
    return f"{unit.text} [{n}]"


def fenced(code: str) -> str:
    """A code block with both fences, also when the passage cut it at either end."""
    code = textwrap.dedent(code).strip("\n")
    lines = code.split("\n")
    opens = re.match(r"`{3,}|~{3,}", lines[0].strip())
    if not opens:
        lines.insert(0, "```")
    fence = re.match(r"`{3,}|~{3,}", lines[0].strip()).group(0)  # type: ignore[union-attr]
    if len(lines) == 1 or not (lines[-1].strip().startswith(fence) and not lines[-1].strip().strip(fence[0])):
        lines.append(fence)
    return "\n".join(lines)


def render_table(rows: Sequence[Unit], n: int) -> str:
    """Table rows as a table: the first row, a separator, the rest, then the marker."""
    cells = max(1, rows[0].text.strip().strip("|").count("|") + 1)
    separator = "|" + "---|" * cells
    return "\n".join([rows[0].text, separator, *(r.text for r in rows[1:])]) + f"\n\n[{n}]"
