"""Which of the notes' blocks answer: the section around the best unit of each part of the question,
whole where it fits, else its best blocks (pure over scores)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.answer.note import NoteView, Section
from rag.answer.question import OPPOSITE, content_words, labels_intent, language
from rag.answer.units import is_lead_in

BUDGET = 900  # characters of prose an answer grows to (code blocks are quoted whole on top)
PART_FLOOR = 0.3  # a part of the question no unit matches this well is said to be missing (floor - rescue margin)
INTENT_BONUS = 0.12  # a unit under a label that announces what the question wants ("Solutions", "Limitations")
OPPOSITE_PENALTY = 0.2  # a unit under the opposite label ("Advantages" when disadvantages are asked)
LANGUAGE_PENALTY = 0.25  # a unit about another programming language than the one asked for
HEADING_WORDS_BONUS = 0.1  # times the share of the question's words that its section's headings name
DESCRIBES_PROBLEM = re.compile(r"\b(?:description|impact|example|causes?|problem|definition|symptoms?)\b", re.I)
OWN_LABEL = re.compile(r"^[\s>*+\-\d.)]*\*\*([^*]{1,60})\*\*\s*:")
LIST_INTENTS = {"fix", "pros", "cons", "assume"}
USE_HEADING = re.compile(r"\b(?:applications?|use cases?|usage|when to use)\b", re.I)  # "used" is too common
INTENT_GAP = 0.25  # a unit filed under what the question wants is preferred to a better match this much ahead
CODE_LOOKAHEAD = 12  # units after a passage searched for an example in the language asked for
FILLER = re.compile(r"^\W*(?:let me know\b|feel free\b|i hope (?:this|that)\b|hope (?:this|that) helps|happy to help"
                    r"|(?:yes|sure|great|absolutely|exactly|of course|good question)\b[^.!?]{0,40}[!.]\s*$"
                    r"|(?:yes|sure|great|absolutely),? (?:that'?s|this is|you'?re) (?:a )?(?:great|good|right|correct))"
                    r"|\b(?:the equation|the statement|the code) you (?:provided|wrote|shared)\b"
                    r"|\bfeel free to (?:ask|reach out)\b|\bif you have (?:any )?(?:further|more|other) questions\b"
                    r"|\bwould you like (?:me to|a|an|more|guidance)\b", re.I)
DEFINES = re.compile(r"\b(?:is|are) (?:a|an|the)\b|\brefers? to\b|\balso (?:known|called) as\b|\bis defined as\b"
                     r"|\bstands for\b")
LEGEND = re.compile(r"^\W*where\W*:?\s*$|^\W*where\b.*:\s*$", re.I)  # "Where:" introduces a formula's symbols
MAX_SECTIONS = 4
WIDENING, MAX_WIDENING = 0.25, 1.5  # the budget grows by this share per further section, up to this
MAX_INTENT_UNITS = 30  # units of a section found by its heading's intent label that are scored
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


def label_of(view: NoteView, i: int) -> str:
    """What a unit is filed under: its headings, the "...:" lines it continues, its own bold label."""
    own = OWN_LABEL.match(view.units[i].text)  # "- **Solutions**: ..." labels itself
    return " ".join([*view.paths[i], *lead_texts(view, i), own.group(1) if own else ""])


def on_intent(view: NoteView, i: int, asked: set[str]) -> bool:
    """True if a unit is filed under what a list-like question wants: remedies, pros, cons, assumptions."""
    label = label_of(view, i)
    return (any(labels_intent(label, intent) for intent in asked & LIST_INTENTS)
            or ("use" in asked and USE_HEADING.search(label) is not None))


def adjustment(view: NoteView, i: int, asked: set[str], asked_language: str | None, words: Sequence[str]) -> float:
    """What the unit's labels and headings add to its relevance: the intent, the language, the topic named."""
    unit = view.units[i]
    label = label_of(view, i)
    bonus = 0.0
    for intent in asked:
        if labels_intent(label, intent):
            bonus += INTENT_BONUS
        elif intent in OPPOSITE and labels_intent(label, OPPOSITE[intent]):
            bonus -= OPPOSITE_PENALTY
        elif intent == "fix" and DESCRIBES_PROBLEM.search(label):  # "how do I fix X" is not "what is X"
            bonus -= INTENT_BONUS / 2
        elif intent == "define" and defines(unit.text, words):  # "X is a ...", "X, also known as ..."
            bonus += INTENT_BONUS
    if asked_language:
        named = unit_language(view, i)
        if named and named != asked_language:
            bonus -= LANGUAGE_PENALTY
    if words:
        heading_words = set(content_words(" ".join(view.paths[i])))
        stems = {w[:5] for w in heading_words}
        bonus += HEADING_WORDS_BONUS * sum(w[:5] in stems for w in words) / len(words)
    return bonus if unit.kind != "heading" else 0.0


def defines(text: str, words: Sequence[str]) -> bool:
    """True if a sentence defines something the question names ("The ROC curve is a graphical plot ...")."""
    found = DEFINES.search(text)
    return found is not None and bool(word_keys(words) & word_keys(content_words(text[: found.start()])))


def lead_texts(view: NoteView, i: int) -> list[str]:
    """The "...:" lines a unit continues, nearest first (a nested item's parents, a list's lead-in)."""
    texts: list[str] = []
    lead = view.units[i].lead
    while lead is not None and len(texts) < 4:
        texts.append(view.units[lead].text)
        lead = view.units[lead].lead
    return texts


def unit_language(view: NoteView, i: int) -> str | None:
    """The language a unit is about: its code fence's, else the one its headings name."""
    unit = view.units[i]
    if unit.kind == "code":
        fence = re.match(r"[`~]{3,}\s*([\w+#-]+)", unit.text.strip())
        if fence:
            return language(fence.group(1))
    return language(" ".join(view.paths[i][-2:]))


Picked = list[tuple[NoteView, int]]  # units of notes, in the order an answer quotes them


def choose(candidates: Sequence[Candidate], n_parts: int, budget: int = BUDGET,
           part_floor: float = PART_FLOOR, table: bool = False) -> tuple[Picked, list[int]]:
    """The units to quote, and the parts of the question that nothing in the notes answers.

    Each part of a multi-part question gets the section around its best unit; a part no unit matches
    above `part_floor` is reported as missing rather than papered over with a neighbouring topic.
    """
    if not candidates:
        return [], []
    best = max(candidates, key=lambda c: c.rel)
    labelled = [c for c in candidates if c.on_intent] if n_parts <= 1 else []  # a part's intent is its own
    if labelled and max(c.rel for c in labelled) >= best.rel - INTENT_GAP:  # "downsides of X": X's limitations
        best = max(labelled, key=lambda c: c.rel)
    rows = [c for c in candidates if c.view.units[c.index].kind == "row"] if table else []
    if rows and max(c.rel for c in rows) >= best.rel - INTENT_GAP:  # "... side by side": the notes' own table
        best = max(rows, key=lambda c: c.rel)
    sections = [(best.view, answer_section(best.view, best.index, budget), [best.index])]
    missing = []
    for part in range(n_parts if n_parts > 1 else 0):
        top = max(candidates, key=lambda c: c.parts[part])
        labelled = [c for c in candidates if c.part_on_intent and c.part_on_intent[part]]
        if labelled and max(c.parts[part] for c in labelled) >= top.parts[part] - INTENT_GAP:
            top = max(labelled, key=lambda c: c.parts[part])
        if max(c.part_sims[part] if c.part_sims else c.parts[part] for c in candidates) < part_floor:
            missing.append(part)
            continue
        holding = [s for s in sections if s[0] is top.view and s[1].start <= top.index <= s[1].end]
        if holding:  # the part is answered inside a section already quoted: make sure its block is
            holding[0][2].append(top.index)
        elif len(sections) < MAX_SECTIONS:
            sections.append((top.view, answer_section(top.view, top.index, budget), [top.index]))
    scores = {(id(c.view), c.index): c.rel for c in candidates}
    budget = int(budget * min(MAX_WIDENING, 1 + WIDENING * (len(sections) - 1)))  # each part needs some room
    share = budget // len(sections)
    picked: list[tuple[NoteView, int]] = []
    for view, section, anchors in sections:
        picked += [(view, i) for i in trim(view, section, anchors, scores, share)]
    return without_dangling(in_note_order(picked)), missing


def intent_sections(view: NoteView, anchor: int, asked: set[str], words: Sequence[str]) -> list[int]:
    """Units of the sections in the anchor's topic whose headings announce what the question wants and whose
    heading path names its subject ("Solutions to Some LSTM Issues" for "my LSTM overfits, what can I do?").

    Retrieval finds the passage about the problem; the remedies often sit in a section of their own.
    """
    topic = view.section(anchor, depth=1)
    subject = word_keys([w for w in words if not any(labels_intent(w, intent) for intent in asked)])
    found: list[int] = []
    for j in range(topic.start, topic.end + 1):
        unit = view.units[j]
        own = OWN_LABEL.match(unit.text) if unit.kind == "item" and is_lead_in(unit) else None
        label = unit.text if unit.kind == "heading" else own.group(1) if own else ""
        announces = label and (any(labels_intent(label, intent) for intent in asked & LIST_INTENTS)
                               or ("use" in asked and USE_HEADING.search(label) is not None))
        if not announces or not subject & word_keys(content_words(" ".join(view.paths[j]))):
            continue
        if unit.kind == "heading":  # "### Limitations of IoU Loss": its section
            section = view.section(j)
            found += range(section.start, min(section.end, section.start + MAX_INTENT_UNITS) + 1)
        else:  # "5. **Strengths**:" with its sub-items
            found += [j, *(k for k in range(j + 1, min(j + MAX_INTENT_UNITS, topic.end + 1)) if leads_to(view, k, j))]
    return found[: 3 * MAX_INTENT_UNITS]


def leads_to(view: NoteView, k: int, j: int) -> bool:
    """True if unit k continues unit j (directly or through parents)."""
    lead = view.units[k].lead
    while lead is not None and lead >= j:
        if lead == j:
            return True
        lead = view.units[lead].lead
    return False


def word_keys(words: Sequence[str]) -> set[str]:
    """Words as compared with headings: their first five letters without a plural "s", and the initials of
    runs of words ("recurrent neural networks" also gives "rnn")."""
    keys = {w.rstrip("s")[:5] for w in words}
    for size in (2, 3, 4):
        keys |= {"".join(w[0] for w in words[n : n + size]) for n in range(len(words) - size + 1)}
    return keys


def code_after(view: NoteView, line: int, asked_language: str) -> list[int]:
    """The first code block in the asked language within a few units after a line, in the same topic."""
    after = view.units_in(line + 1, line + 1_000_000)[:CODE_LOOKAHEAD]
    if not after:
        return []
    topic = view.section(after[0], depth=1)
    for i in after:
        if i > topic.end:
            break
        if view.units[i].kind == "code" and unit_language(view, i) == asked_language:
            return [i]
    return []


def code_answer(view: NoteView, i: int) -> list[int]:
    """A code block with what introduces it: its "...:" line, else the sentence before it, and its heading."""
    picked = [i]
    lead = view.units[i].lead
    if lead is not None:
        picked.append(lead)
    elif i > 0 and view.units[i - 1].kind == "sentence":
        picked.append(i - 1)
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
         budget: int) -> list[int]:
    """A section's units, whole if it fits; else its best-scoring groups (a list, a table, a paragraph...).

    The groups holding an anchor (the best unit of the question or of one of its parts) always come in,
    cut to their best items if they alone are over the budget.
    """
    units = range(section.start, section.end + 1)
    if size(view, section.start, section.end) <= budget:
        return [i for i in units if quotable_here(view, i)]
    groups = group_units(view, section)
    key = id(view)

    def score(group: list[int]) -> float:
        anchored = any(a in group for a in anchors)
        return max((scores.get((key, i), -1.0) for i in group), default=-1.0) + (1.0 if anchored else 0.0)

    ranked = sorted((g for g in groups if score(g) > -1.0), key=score, reverse=True)
    chosen: list[int] = []
    used = 0
    for group in ranked:
        cost = sum(len(view.units[i].text) + 5 for i in group)
        anchored = any(a in group for a in anchors)
        if used + cost > budget and not anchored:
            continue
        if used + cost > budget:
            group = cut_group(view, group, scores, max(budget - used, budget // 3))
            cost = sum(len(view.units[i].text) + 5 for i in group)
        chosen += group
        used += cost
    heading = [section.heading] if section.heading is not None else []
    return sorted(set(chosen + heading + sub_headings(view, section, chosen)))


def quotable_here(view: NoteView, i: int) -> bool:
    """Every unit of a quoted section but the notes' own questions to the reader and chat filler."""
    unit = view.units[i]
    return not (unit.kind == "sentence" and (unit.text.rstrip("*_ ").endswith("?") or is_filler(unit.text)))


def is_filler(text: str) -> bool:
    """A line of chat left in the notes ("Let me know if…", "Yes, that's a great way to put it!")."""
    return FILLER.search(text) is not None


def group_units(view: NoteView, section: Section) -> list[list[int]]:
    """A section's units as the blocks they form: a list with its lead-in, a table, a paragraph, a formula."""
    groups: dict[int, list[int]] = {}
    for i in range(section.start, section.end + 1):
        unit = view.units[i]
        if unit.kind == "heading" or not quotable_here(view, i):
            continue
        groups.setdefault(group_root(view, i), []).append(i)
    return list(groups.values())


def group_root(view: NoteView, i: int) -> int:
    """The first unit of the block unit i belongs to."""
    unit = view.units[i]
    if unit.header is not None:
        i, unit = unit.header, view.units[unit.header]
    while unit.lead is not None:
        i, unit = unit.lead, view.units[unit.lead]
    if unit.kind == "sentence":  # the paragraph's first sentence
        while i > 0 and view.units[i - 1].kind == "sentence" and view.units[i - 1].block == unit.block:
            i -= 1
    if LEGEND.match(view.units[i].text) and i > 0 and view.units[i - 1].kind == "formula":
        return group_root(view, i - 1)  # "Where: ..." is read with its formula
    return i


def cut_group(view: NoteView, group: list[int], scores: dict[tuple[int, int], float], budget: int) -> list[int]:
    """A block too long for the answer: its lead-in and its best items (their parents kept), in order."""
    key = id(view)
    head = [i for i in group if is_lead_in(view.units[i]) and view.units[i].lead is None][:1]
    rest = sorted((i for i in group if i not in head), key=lambda i: -scores.get((key, i), -1.0))
    kept, used = list(head), sum(len(view.units[i].text) for i in head)
    for i in rest[:MAX_GROUP_ITEMS]:
        if kept and used + len(view.units[i].text) > budget:
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
        if is_lead_in(unit) and any(u.lead == i for u in view.units[i + 1 : i + 40]) \
                and not any((id(view), j) in chosen for j in range(i + 1, i + 40) if view.units[j].lead == i):
            continue
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
