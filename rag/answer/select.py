"""Which of the notes' blocks answer: the section around the best unit of each part of the question,
whole where it fits, else its best blocks (pure over scores)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rag.answer.markup import without_markup
from rag.answer.note import NoteView, Section
from rag.answer.outline import outline
from rag.answer.units import (
    Unit,
    is_asked_question,
    is_lead_in,
    is_output,
    is_reference,
    is_signpost,
    starts_banner,
)

BUDGET = 1200  # characters of prose an answer grows to (code blocks are quoted whole on top)
PART_FLOOR = 0.3  # a part of the question no unit matches this well is said to be missing (floor - rescue margin)
FILL_GAP = 0.3  # a block of a trimmed section this far below the answering one is left out
SAME_NOTE_GAP = 0.1  # a part answered in the note of the question's best line is preferred to one this much ahead
INTENT_GAP = 0.25  # a unit filed under what the question wants is preferred to a better match this much ahead
FILLER = re.compile(r"^\W*(?:let me know\b|feel free\b|i hope (?:this|that)\b|hope (?:this|that) helps|happy to help"
                    r"|(?:yes|sure|great|absolutely|exactly|of course|good question)\b[^.!?]{0,40}[!.]\s*$"
                    r"|(?:yes|sure|great|absolutely),? (?:that'?s|this is|you'?re) (?:a )?(?:great|good|right|correct))"
                    r"|\b(?:the equation|the statement|the code) you (?:provided|wrote|shared)\b"
                    r"|\bfeel free to (?:ask|reach out)\b|\bif you have (?:any )?(?:further|more|other) questions\b"
                    r"|\bwould you like (?:me to|a|an|more|guidance)\b", re.I)
LEGEND = re.compile(r"^\W*where\W*:?\s*$|^\W*where\b.*:\s*$", re.I)  # "Where:" introduces a formula's symbols
# A page's list of sources: "1. ^ Phillips, Jock (2011). ..." under "Citations" is no statement of the notes.
REFERENCE_HEADING = re.compile(r"^\W*(?:references?|citations?|bibliography|sources?|works cited|notes and references|"
                               r"footnotes|further reading|external links|see also)\W*$", re.I)
TRANSLATIONS = re.compile(r"^[\W_]*read this in (?:other |another )?languages?\b", re.I)
ASKS_READER = re.compile(r"^\W*(?:exercises?|problems?|questions?|quiz\w*|practice|homework|self[- ]check)\W*$", re.I)
MANY_BLOCKS = 6  # a section of this many blocks (a cheat sheet's commands) is quoted by the blocks that answer
MAX_SECTIONS = 4
WIDENING, MAX_WIDENING = 0.25, 1.5  # the budget grows by this share per further section, up to this
WHOLE_CODE = 100  # lines: a code block up to this long is quoted whole when code is asked for
SHORT_OUTPUT = 12  # lines of a cell's output quoted with its code
MAX_GROUP_ITEMS = 12  # a list this long is cut to its best items when it alone is over the budget


@dataclass(frozen=True)
class Candidate:
    """A unit of a retrieved passage, scored."""

    view: NoteView
    index: int
    rel: float  # relevance to the whole question, with the passage prior and the label adjustments
    parts: tuple[float, ...]  # relevance to each part of the question (with the whole question's)
    part_sims: tuple[float, ...] = ()  # similarity to each part alone
    on_intent: bool = False  # under a label that announces what the question wants
    part_on_intent: tuple[bool, ...] = ()  # ... what each part wants


Picked = list[tuple[NoteView, int]]  # units of notes, in the order an answer quotes them


@dataclass(frozen=True)
class Quoting:
    """What an answer may quote besides the notes' statements: their reading lists and their own questions
    (an "Exercises" list, a Q&A's neighbouring question) are quoted only when the question asks for them."""

    references: bool = False
    questions: bool = False
    repeats: Callable[[str], bool] = lambda text: False  # a follow-up's previous answer quoted this text

    def allows(self, unit: Unit) -> bool:
        text = without_markup(unit.text)
        if unit.kind == "sentence" and (text.rstrip("*_ ").endswith("?") or is_filler(text) or not text):
            return False
        if TRANSLATIONS.match(text):
            return False  # a page's links to itself in other languages
        if not self.questions and (unit.kind == "item" and is_asked_question(unit) or ASKS_READER.match(unit.context)):
            return False  # an exercise asks; it does not answer
        return self.references or not (is_reference(unit) or REFERENCE_HEADING.match(unit.context))


def choose(candidates: Sequence[Candidate], n_parts: int, budget: int = BUDGET,
           part_floor: float = PART_FLOOR, table: bool = False,
           quoting: Quoting = Quoting(), listing: Sequence[str] = (), formula: bool = False
           ) -> tuple[Picked, list[int]]:
    """The units to quote, and the parts of the question that nothing in the notes answers.

    A question for a list (`listing` names its subject) over a section that lists by sub-headings gets
    those sub-headings, each with its first line.
    Each part of a multi-part question gets the section around its best unit; a part no unit matches
    above `part_floor` is reported as missing rather than papered over with a neighbouring topic.
    """
    candidates = [c for c in candidates if quoting.allows(c.view.units[c.index])]
    if not candidates:
        return [], []
    best = best_candidate(candidates, n_parts, table, formula)
    if listing and n_parts <= 1 and best.view.units[best.index].kind != "item":  # "what are the X": X's parts
        parts = outline(best.view, best.index, listing, budget, quoting.allows)
        if parts:
            return without_dangling([(best.view, i) for i in parts]), []
    sections = [(best.view, answer_section(best.view, best.index, budget), [best.index])]
    missing = add_part_sections(sections, candidates, best, n_parts, part_floor, budget)
    scores = {(id(c.view), c.index): c.rel for c in candidates}
    anchor = best.view.units[best.index]
    whole_list = bool(listing) and (anchor.kind == "item" or is_lead_in(anchor))  # a list asked for, found as one
    widening = MAX_WIDENING if whole_list else min(MAX_WIDENING, 1 + WIDENING * (len(sections) - 1))  # each part
    budget = int(budget * widening)  # needs some room
    share = budget // len(sections)
    picked: list[tuple[NoteView, int]] = []
    for view, section, anchors in sections:
        picked += [(view, i) for i in trim(view, section, anchors, scores, share, quoting)]
    return without_dangling(in_note_order(picked)), missing


def best_candidate(candidates: Sequence[Candidate], n_parts: int, table: bool, formula: bool) -> Candidate:
    """The unit an answer is built around: the most relevant one, or one of what the question asks for (its
    intent's label, a formula, a table row) nearly as relevant."""
    best = max(candidates, key=lambda c: c.rel)
    labelled = [c for c in candidates if c.on_intent] if n_parts <= 1 else []  # a part's intent is its own
    if labelled and max(c.rel for c in labelled) >= best.rel - INTENT_GAP:  # "downsides of X": X's limitations
        best = max(labelled, key=lambda c: c.rel)
    formulas = [c for c in candidates if c.view.units[c.index].kind == "formula"] if formula else []
    if formulas and max(c.rel for c in formulas) >= best.rel - INTENT_GAP:  # "the formula for X": X's formula
        best = max(formulas, key=lambda c: c.rel)
    rows = [c for c in candidates if c.view.units[c.index].kind == "row"] if table else []
    if rows and max(c.rel for c in rows) >= best.rel - INTENT_GAP:  # "... side by side": the notes' own table
        best = max(rows, key=lambda c: c.rel)
    return best


def add_part_sections(sections: list[tuple[NoteView, Section, list[int]]], candidates: Sequence[Candidate],
                      best: Candidate, n_parts: int, part_floor: float, budget: int) -> list[int]:
    """Each part of a multi-part question: the section around its best unit added to `sections` (or that unit to
    a section already there); the parts nothing in the notes answers."""
    missing = []
    for part in range(n_parts if n_parts > 1 else 0):
        top = max(candidates, key=lambda c: c.parts[part])
        labelled = [c for c in candidates if c.part_on_intent and c.part_on_intent[part]]
        if labelled and max(c.parts[part] for c in labelled) >= top.parts[part] - INTENT_GAP:
            top = max(labelled, key=lambda c: c.parts[part])
        same_note = [c for c in candidates if c.view is best.view]  # the parts of one question, from one note
        if top.view is not best.view and same_note and \
                max(c.parts[part] for c in same_note) >= top.parts[part] - SAME_NOTE_GAP:
            top = max(same_note, key=lambda c: c.parts[part])
        if max(c.part_sims[part] if c.part_sims else c.parts[part] for c in candidates) < part_floor:
            missing.append(part)
            continue
        holding = [s for s in sections if s[0] is top.view and s[1].start <= top.index <= s[1].end]
        if holding:  # the part is answered inside a section already quoted: make sure its block is
            holding[0][2].append(top.index)
        elif len(sections) < MAX_SECTIONS:
            sections.append((top.view, answer_section(top.view, top.index, budget), [top.index]))
    return missing


def code_answer(view: NoteView, i: int) -> list[int]:
    """A code block with what introduces it: its "...:" line, else the sentence before it, and its heading."""
    picked = [i]
    stanzas = [j for j, u in enumerate(view.units) if u.kind == "code" and u.block == view.units[i].block]
    if len(stanzas) > 1 and view.units[stanzas[-1]].end_line - view.units[stanzas[0]].start_line < WHOLE_CODE:
        picked += stanzas  # a long block quoted stanza by stanza is still one program when asked for code
        i = stanzas[0]
    lead = view.units[i].lead
    if lead is not None:
        picked.append(lead)
    elif i > 0 and view.units[i - 1].kind == "sentence":
        picked.append(i - 1)
    after = max(picked) + 1
    if after < len(view.units) and is_output(view.units[after]) and view.units[after].end_line - view.units[
            after].start_line <= SHORT_OUTPUT:
        picked.append(after)  # what the cell printed: a notebook's example is read with its result
    heading = view.section(i).heading
    return sorted(set(picked + ([heading] if heading is not None else [])))


def answer_section(view: NoteView, i: int, budget: int) -> Section:
    """The largest section around unit i that fits the budget (at least the one it sits in)."""
    depth = len(view.paths[i])
    section = view.section(i)
    while depth > 1:
        depth -= 1
        wider = view.section(i, depth)
        if size(view, wider.start, wider.end) > budget or wider.heading is None:
            break
        section = wider
    return section


def size(view: NoteView, start: int, end: int) -> int:
    """Characters a run of units takes in an answer."""
    return sum(len(u.text) + 5 for u in view.units[start : end + 1])


def trim(view: NoteView, section: Section, anchors: Sequence[int], scores: dict[tuple[int, int], float],
         budget: int, quoting: Quoting = Quoting()) -> list[int]:
    """A section's units, whole if it fits; else its best-scoring groups (a list, a table, a paragraph...).

    The groups holding an anchor (the best unit of the question or of one of its parts) always come in,
    cut to their best items if they alone are over the budget.
    """
    units = range(section.start, section.end + 1)
    groups = group_units(view, section, quoting)
    if size(view, section.start, section.end) <= budget and len(groups) < MANY_BLOCKS:
        return [i for i in units if quoting.allows(view.units[i])
                and (i in anchors or not quoting.repeats(view.units[i].text))]
    key = id(view)

    def score(group: list[int]) -> float:
        anchored = any(a in group for a in anchors)
        return max((scores.get((key, i), -1.0) for i in group), default=-1.0) + (1.0 if anchored else 0.0)

    ranked = sorted((g for g in groups if score(g) > -1.0), key=score, reverse=True)
    anchor_score = min((score(g) - 1.0 for g in ranked if any(a in g for a in anchors)), default=-1.0)
    chosen: list[int] = []
    used = 0
    for group in ranked:
        cost = sum(len(view.units[i].text) + 5 for i in group)
        anchored = any(a in group for a in anchors)
        repeated = all(quoting.repeats(view.units[i].text) for i in group)  # a follow-up's answer said it
        if not anchored and (used + cost > budget or score(group) < anchor_score - FILL_GAP or repeated):
            continue  # room left is no reason to quote a block that answers less well
        if used + cost > budget:
            group = cut_group(view, group, scores, max(budget - used, budget // 3), anchors)
            cost = sum(len(view.units[i].text) + 5 for i in group)
        chosen += group
        used += cost
    chosen += examples_after(view, groups, chosen, scores, budget - used)
    heading = [section.heading] if section.heading is not None else []
    return sorted(set(chosen + heading + sub_headings(view, section, chosen)))


def examples_after(view: NoteView, groups: Sequence[list[int]], chosen: Sequence[int],
                   scores: dict[tuple[int, int], float], room: int) -> list[int]:
    """The short examples right after the chosen blocks ("Such a filter could be:" and its code): nothing in
    them is scored (code, a label), but they show what the lines before them say."""
    key, taken, added = id(view), set(chosen), []
    for group in groups:
        units = [view.units[i] for i in group]
        cost = sum(len(u.text) + 5 for u in units)
        if group[0] - 1 in taken and not any((key, i) in scores or is_signpost(view.units[i]) for i in group) \
                and cost <= room and any(u.kind == "code" and u.end_line - u.start_line <= SHORT_OUTPUT for u in units):
            added += group
            room -= cost
    return added


def is_filler(text: str) -> bool:
    """A line of chat left in the notes ("Let me know if…", "Yes, that's a great way to put it!")."""
    return FILLER.search(text) is not None


def group_units(view: NoteView, section: Section, quoting: Quoting = Quoting()) -> list[list[int]]:
    """A section's units as the blocks they form: a list with its lead-in, a table, a paragraph, a formula."""
    groups: dict[int, list[int]] = {}
    for i in range(section.start, section.end + 1):
        unit = view.units[i]
        if unit.kind == "heading" or not quoting.allows(unit):
            continue
        groups.setdefault(group_root(view, i), []).append(i)
    return list(groups.values())


def group_root(view: NoteView, i: int) -> int:
    """The first unit of the block unit i belongs to."""
    unit = view.units[i]
    if unit.kind in ("code", "item") and unit.block != unit.start_line:
        # a stanza: its banner's group of stanzas; a plain cheat sheet's command: its run of commands
        while i > 0 and view.units[i - 1].kind == unit.kind and view.units[i - 1].block == unit.block \
                and not starts_banner(view.units[i]):
            i -= 1
        return i
    if unit.header is not None:
        i, unit = unit.header, view.units[unit.header]
    while True:
        while unit.lead is not None:
            i, unit = unit.lead, view.units[unit.lead]
        if unit.kind != "sentence":
            break
        while i > 0 and view.units[i - 1].kind == "sentence" and view.units[i - 1].block == unit.block:
            i -= 1  # the paragraph's first sentence, which may continue a "...:" line
        unit = view.units[i]
        if unit.lead is None:
            break
    if LEGEND.match(view.units[i].text) and i > 0 and view.units[i - 1].kind == "formula":
        return group_root(view, i - 1)  # "Where: ..." is read with its formula
    return i


def cut_group(view: NoteView, group: list[int], scores: dict[tuple[int, int], float], budget: int,
              anchors: Sequence[int] = ()) -> list[int]:
    """A block too long for the answer: its lead-in and its best items (their parents kept), in order; the
    answering unit always among them."""
    key = id(view)
    head = [i for i in group if is_lead_in(view.units[i]) and view.units[i].lead is None][:1]
    rest = sorted((i for i in group if i not in head), key=lambda i: (i not in anchors, -scores.get((key, i), -1.0)))
    kept, used = list(head), sum(len(view.units[i].text) for i in head)
    for i in rest[:MAX_GROUP_ITEMS]:
        if kept and used + len(view.units[i].text) > budget and i not in anchors:
            break
        kept.append(i)
        used += len(view.units[i].text)
        lead = view.units[i].lead
        while lead is not None and lead not in kept:
            kept.append(lead)
            lead = view.units[lead].lead
    return sorted(set(kept))


def sub_headings(view: NoteView, section: Section, chosen: Sequence[int]) -> list[int]:
    """The headings inside the section that the chosen units sit under: they say what a list is about."""
    found = []
    for i in chosen:
        j = i - 1
        while j > section.start and view.units[j].kind != "heading":
            j -= 1
        if j > section.start and view.units[j].kind == "heading":
            found.append(j)
    return found


def without_dangling(picked: Picked) -> Picked:
    """The picks without lead-ins whose items were left out and headings with nothing quoted under them."""
    chosen = {(id(v), i) for v, i in picked}
    kept: Picked = []
    for n, (view, i) in enumerate(picked):
        unit = view.units[i]
        end = min(i + 40, len(view.units))
        if is_lead_in(unit) and not any((id(view), j) in chosen for j in range(i + 1, end) if view.units[j].lead == i):
            continue  # "Here's how they work:" with nothing it introduces
        if unit.kind == "heading" and not any(v is view and view.paths[j][: len(view.paths[i])] == view.paths[i]
                                               and view.units[j].kind != "heading" for v, j in picked[n + 1 :]):
            continue
        kept.append((view, i))
    return kept


def in_note_order(picked: Sequence[tuple[NoteView, int]]) -> list[tuple[NoteView, int]]:
    """The picks without duplicates, note by note in the order the notes were first picked, lines in order."""
    first: dict[int, int] = {}
    for n, (view, _) in enumerate(picked):
        first.setdefault(id(view), n)
    unique = {(id(v), i): (v, i) for v, i in picked}
    return sorted(unique.values(), key=lambda vi: (first[id(vi[0])], vi[1]))
