"""A comparison asked for as a table, built from the notes' parallel structure: a column per side, a row per
aspect, each cell the notes' own lines about that side and that aspect (pure over the note and the scores).

Notes lay a comparison out two ways, and both fill the same grid:
- by aspect: "### Model Size" over "- **LoRA**: ..." and "- **QLoRA**: ..." (the side is the item's label);
- by side: "### 1. Masked Attention" over "- **Pros**:" and "- **Cons**:" (the side is the heading).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from rag.answer.note import NoteView, Section
from rag.answer.question import content_words, mentions
from rag.retrieve.intents import intents, labels_intent

LABEL = re.compile(r"^[\s>*+\-\d.)]*\*\*([^*]{1,60}?)(?::\*\*|\*\*\s*:)")  # "- **LoRA**: ...", "5. **Strengths:**"
NUMBERING = re.compile(r"^[\s#>*+\-]*(?:\d{1,3}(?:\.\d{1,3})*[.)]?|[a-z][.)])?\s*")
MAX_REGION_UNITS = 240  # a comparison larger than this is not one comparison
MAX_ANCHORS = 30  # best units tried as the place of the comparison
MAX_REGIONS = 3  # comparisons of the sides tried (the one filling most cells is shown)
MAX_ROWS = 6  # rows of a table whose question names no aspects
CELL_CHARS = 330  # a cell keeps the notes' lines about its side and aspect up to about this many characters
MIN_FILLED = 0.5  # share of cells the notes must fill for a table to be worth showing
ASPECT_WORDS = 5  # letters of a word compared when an aspect is matched to a label ("stabil" ~ "stability")
DEFINES = re.compile(r"^(?:what (?:\w+ ){0,2}(?:is|are|means?)$|definitions?\b|meaning\b|overview\b)", re.I)
PHRASE_FILLER = {"each", "one", "ones", "both", "shows", "show", "up", "look", "looks", "like", "pls", "please"}

Similarity = Callable[[Sequence[str], Sequence[tuple[NoteView, int]]], np.ndarray]  # queries x units


@dataclass(frozen=True)
class Grid:
    """A comparison table: `cells[row][side]` are the units of the note quoted in that cell (maybe none)."""

    view: NoteView
    sides: list[str]
    rows: list[str]
    cells: list[list[list[int]]]

    @property
    def filled(self) -> int:
        return sum(bool(cell) for row in self.cells for cell in row)


def build_grid(sides: Sequence[Sequence[str]], asked: Sequence[str], anchors: Sequence[tuple[NoteView, int]],
               quotable: Callable[[NoteView, int], bool], similarity: Similarity) -> Grid | None:
    """The table comparing `sides` (each the words naming it) on the `asked` aspects, from the comparison the
    first workable anchor (the best units first) sits in; None when no anchor sits in such a comparison."""
    names = distinct_names(sides)
    if names is None:
        return None
    best: Grid | None = None
    tried: set[tuple[int, tuple[int, int]]] = set()
    for view, anchor in anchors[:MAX_ANCHORS]:
        region = comparison_region(view, anchor, names)
        if region is None or (id(view), region) in tried:
            continue
        if len(tried) == MAX_REGIONS:
            break
        tried.add((id(view), region))
        grid = fill_grid(names, asked, view, region, quotable, similarity)
        if grid is not None and (best is None or grid.filled > best.filled):  # a later comparison may fill more
            best = grid
    return best


def covers_aspects(row_titles: Sequence[str], asked: Sequence[str]) -> bool:
    """True if a table's rows (their first cells) speak to every asked aspect: the notes' own table answers."""
    return all(matching_label(a, row_titles) for a in asked)


def distinct_names(sides: Sequence[Sequence[str]]) -> list[list[str]] | None:
    """Each side's own words (what "masked attention" and "bidirectional attention" do not share)."""
    words = [set(s) for s in sides]
    names = [[w for w in s if not any(w in other for j, other in enumerate(words) if j != n)]
             for n, s in enumerate(sides)]
    return names if len(names) >= 2 and all(names) else None


def names_side(text: str, names: Sequence[Sequence[str]]) -> int | None:
    """The one side a text names, if exactly one."""
    named = [n for n, words in enumerate(names) if all(mentions(text, w) for w in words)]
    return named[0] if len(named) == 1 else None


def titles(view: NoteView, i: int) -> list[str]:
    """What a unit is filed under, nearest first: its own label, the labels of the lines it continues, its
    headings."""
    found = []
    unit, j = view.units[i], view.units[i].lead
    own = LABEL.match(unit.text)
    if own:
        found.append(own.group(1))
    while j is not None and len(found) < 6:
        lead = LABEL.match(view.units[j].text)
        found.append(lead.group(1) if lead else view.units[j].text)
        j = view.units[j].lead
    return found + list(reversed(view.paths[i]))


def side_of(view: NoteView, i: int, names: Sequence[Sequence[str]]) -> int | None:
    """The side a unit is about: the nearest of its titles that names exactly one side."""
    for title in titles(view, i):
        n = names_side(title, names)
        if n is not None:
            return n
    return None


def aspect_of(view: NoteView, i: int, names: Sequence[Sequence[str]]) -> str:
    """The aspect a unit speaks to: the nearest of its titles that names no side ("" for a side's overview)."""
    for title in titles(view, i):
        if not any(all(mentions(title, w) for w in words) for words in names):
            return clean_title(title)
        if names_side(title, names) is not None and title in view.paths[i]:
            return ""  # under the side's own heading with no label of its own: what the side is
    return ""


def clean_title(title: str) -> str:
    """A label or heading as a row title: no numbering, markup or trailing colon."""
    return NUMBERING.sub("", re.sub(r"[*_`]", "", title)).strip(" :.")


def comparison_region(view: NoteView, anchor: int, names: Sequence[Sequence[str]]) -> tuple[int, int] | None:
    """The run of sibling sections around the anchor that speak to the sides, widened a level at a time until
    every side is in it (units start..end)."""
    for depth in range(len(view.paths[anchor]), 0, -1):
        section = view.section(anchor, depth)
        start, end = section.start, section.end
        while (before := sibling(view, start - 1, section)) and speaks_to_sides(view, before, names):
            start = before.start
        while (after := sibling(view, end + 1, section)) and speaks_to_sides(view, after, names):
            end = after.end
        if end - start > MAX_REGION_UNITS:
            return None
        found = {side_of(view, i, names) for i in range(start, end + 1)}
        if all(n in found for n in range(len(names))):
            return start, end
    return None


def sibling(view: NoteView, i: int, section: Section) -> Section | None:
    """The section at unit i if it has the same parent as `section` and its depth."""
    depth = len(section.path)
    if not 0 <= i < len(view.units) or len(view.paths[i]) < depth or view.paths[i][: depth - 1] != section.path[:-1]:
        return None
    return view.section(i, depth)


def speaks_to_sides(view: NoteView, section: Section, names: Sequence[Sequence[str]]) -> bool:
    """True if a unit of the section is about one of the sides."""
    return any(side_of(view, i, names) is not None for i in range(section.start, section.end + 1))


def fill_grid(names: Sequence[Sequence[str]], asked: Sequence[str], view: NoteView, region: tuple[int, int],
              quotable: Callable[[NoteView, int], bool], similarity: Similarity) -> Grid | None:
    """The grid of a comparison region: each asked aspect matched to the notes' labels, else to the lines
    most like it; with nothing asked, the aspects the notes give every side."""
    filed: dict[tuple[str, int], list[int]] = {}
    labels: dict[str, str] = {}
    for i in range(region[0], region[1] + 1):
        side = side_of(view, i, names)
        if side is None or not quotable(view, i):
            continue
        aspect = aspect_of(view, i, names)
        filed.setdefault((aspect.lower(), side), []).append(i)
        labels.setdefault(aspect.lower(), aspect)
    shared = [a for a in labels if all((a, n) in filed for n in range(len(names)))]
    rows: list[str] = []
    cells: list[list[list[int]]] = []
    wanted = list(asked) or [labels[a] for a in shared if a][:MAX_ROWS]
    used: set[int] = set()
    for phrase in wanted:
        key = matching_label(phrase, shared or list(labels))
        if key is not None:
            row = [filed.get((key, n), []) for n in range(len(names))]
            rows.append(labels[key] or phrase[:1].upper() + phrase[1:])
        else:
            row = [nearest_units(view, phrase, names[n], filed, n, used, similarity) for n in range(len(names))]
            rows.append(phrase[:1].upper() + phrase[1:])
        row = [cell_units(view, units) for units in row]
        used |= {i for units in row for i in units}
        cells.append(row)
    filled = sum(bool(c) for row in cells for c in row)
    if not rows or filled < MIN_FILLED * len(rows) * len(names):
        return None
    return Grid(view, [side_title(view, filed, n, names) for n in range(len(names))], rows, cells)


def matching_label(phrase: str, labels: Sequence[str]) -> str | None:
    """The notes' label an asked aspect means: sharing its words ("Memory and Computational Efficiency" for
    "memory efficiency"), or announcing its intent ("Strengths" for "pros"); "" for "what each one is"."""
    words = {w[:ASPECT_WORDS] for w in content_words(phrase) if w not in PHRASE_FILLER}
    wants = intents(phrase) | ({phrase} if phrase in ("pros", "cons", "use", "assume") else set())
    if not words or DEFINES.match(phrase):
        return "" if "" in labels else None
    best, best_score = None, 0.0
    for label in labels:
        own = {w[:ASPECT_WORDS] for w in content_words(label)}
        score = len(words & own) + (len(words & own) / len(own) if own else 0.0)
        if any(labels_intent(label, intent) for intent in wants & {"pros", "cons", "use", "assume"}):
            score += 2
        if score > best_score:
            best, best_score = label, score
    return best


def nearest_units(view: NoteView, phrase: str, side: Sequence[str], filed: dict[tuple[str, int], list[int]],
                  n: int, used: set[int], similarity: Similarity) -> list[int]:
    """The side's unit most like "<side> <aspect>", for an aspect the notes give no label of its own."""
    pool = sorted({i for (_, s), units in filed.items() if s == n for i in units} - used)
    if not pool:
        return []
    scores = similarity([f"{' '.join(side)} {phrase}"], [(view, i) for i in pool])[0]
    return [pool[int(np.argmax(scores))]]


def cell_units(view: NoteView, units: Sequence[int]) -> list[int]:
    """The units a cell quotes: in the note's order, up to about CELL_CHARS (at least one)."""
    kept: list[int] = []
    used = 0
    for i in sorted(units):
        cost = len(view.units[i].text)
        if kept and used + cost > CELL_CHARS:
            break
        kept.append(i)
        used += cost
    return kept


def side_title(view: NoteView, filed: dict[tuple[str, int], list[int]], n: int,
               names: Sequence[Sequence[str]]) -> str:
    """A side's column title in the notes' spelling ("QLoRA", "Masked Attention"), else the question's words."""
    for (_, side), units in filed.items():
        if side != n:
            continue
        for title in titles(view, units[0]):
            if names_side(title, names) == n and len(title.split()) <= 4:
                return clean_title(title)
    return " ".join(names[n]).title()
