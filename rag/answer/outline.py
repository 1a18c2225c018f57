"""A list question over a section that lists by its sub-headings: the sub-headings, each with its first line
("what are the defense tactics" -> "Defense Tactics" > "Add Defense in the Instruction", ...) (pure)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from rag.answer.note import NoteView, Section
from rag.answer.units import Unit

MIN_CHILDREN = 2
MAX_CHILDREN = 12
WHOLE_NOTE = 0.8  # a section over this share of a note's units is the note itself


def outline(view: NoteView, i: int, subject: Sequence[str], budget: int,
            allows: Callable[[Unit], bool]) -> list[int] | None:
    """The units of an outline answer around unit i: the nearest section above it whose heading names the
    question's subject and that has sub-sections, as its heading, its sub-headings and the first quotable
    unit under each while the budget lasts; None when no such section holds unit i."""
    keys = {stem(w) for w in subject}
    own = view.section(i)
    if any(view.units[j].kind == "item" for j in range(own.start, own.end + 1)):
        return None  # the section that answers has a list of its own: that list is the answer
    for depth in range(len(view.paths[i]), 0, -1):
        section = view.section(i, depth)
        if section.heading is None or section.end - section.start + 1 > WHOLE_NOTE * len(view.units):
            continue  # a note's title heads everything: its sub-headings are the note's topics, not a list
        if not keys & {stem(w) for w in words(view.units[section.heading].text)}:
            continue
        children = sub_headings(view, section, depth)
        if MIN_CHILDREN <= len(children) <= MAX_CHILDREN:
            return outline_units(view, section, children, budget, allows)
    return None


def sub_headings(view: NoteView, section: Section, depth: int) -> list[int]:
    """The headings one level below a section's own."""
    return [j for j in range(section.start, section.end + 1)
            if view.units[j].kind == "heading" and len(view.paths[j]) == depth + 1]


def outline_units(view: NoteView, section: Section, children: Sequence[int], budget: int,
                  allows: Callable[[Unit], bool]) -> list[int]:
    """The section's heading, then each sub-heading with its first quotable unit while they fit the budget."""
    picked = [section.heading] if section.heading is not None else []
    used = 0
    ends = [*children[1:], section.end + 1]
    for child, end in zip(children, ends):
        picked.append(child)
        first = next((j for j in range(child + 1, end) if view.units[j].kind != "heading" and allows(view.units[j])),
                     None)
        if first is not None and used + len(view.units[first].text) <= budget:
            picked.append(first)
            used += len(view.units[first].text)
    return picked


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def stem(word: str) -> str:
    """A crude stem, enough to match "tactics" with "tactic" and "broadcasting" with "broadcast"."""
    for suffix in ("ing", "ies", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word
