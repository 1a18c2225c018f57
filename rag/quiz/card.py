"""A study card and its points: the question, and the lines of the note that answer it."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.answer.note import NoteView
from rag.answer.select import is_filler
from rag.answer.units import Unit
from rag.quiz.wording import grammatical, heading_title

RULES = 10  # raise when the card rules (cards.py and the modules it calls) change: every note is derived again
# A line that sends the reader elsewhere ("See the "Making an Attack" section …", "For more details, go through the
# [tutorial](…)", "# See: `man chmod`"): where the answer is, not the answer.
POINTER = re.compile(r"^[\W\d]*(?:see|refer to|for more(?: details| information| info)?|more at|check out|read more)\b",
                     re.I)
KINDS = ("question", "definition", "list", "formula", "code")


@dataclass(frozen=True)
class Point:
    """One thing an answer should say: a sentence, item, formula, row or code block, with its lines."""

    text: str
    start_line: int
    end_line: int
    kind: str


@dataclass(frozen=True)
class Card:
    """A question from the notes; its expected answer is `points`, lines start_line..end_line of `source`."""

    id: str
    source: str
    question: str
    kind: str  # question | definition | list | formula | code
    heading: str  # the heading path, "A > B"
    start_line: int
    end_line: int
    points: tuple[Point, ...]

    @property
    def answer(self) -> str:
        """The expected answer as the notes word it, one point a line."""
        return "\n".join(p.text for p in self.points)

    @property
    def topic(self) -> str:
        """The top heading the card sits under (the note's name when it has none)."""
        return self.heading.split(" > ")[0] if self.heading else self.source


def card_id(source: str, question: str) -> str:
    """Stable across re-derivation: the note and the question's words, nothing else."""
    key = " ".join(re.findall(r"\w+", question.lower()))
    return hashlib.sha1(f"{source}\0{key}".encode()).hexdigest()[:16]


def point(unit: Unit) -> Point:
    return Point(unit.text, unit.start_line, unit.end_line, unit.kind)


def make_card(view: NoteView, i: int, question: str, kind: str, points: Sequence[Point]) -> Card:
    question = grammatical(re.sub(r"\s+", " ", question).strip())
    path = view.paths[i] if i < len(view.paths) else ()
    heading = " > ".join(heading_title(p) for p in path)
    return Card(card_id(view.source, question), view.source, question, kind, heading,
                min(p.start_line for p in points), max(p.end_line for p in points), tuple(points))


def answers_here(unit: Unit) -> bool:
    """A unit that can be part of an answer: no chat, no question to the reader, no bare label."""
    if unit.kind == "heading" or is_filler(unit.text) or POINTER.match(unit.text):
        return False
    if unit.kind == "sentence" and unit.text.rstrip("*_ ").endswith("?"):
        return False
    return not (unit.kind == "row" and unit.header is None)  # a table's header row says nothing alone


def merge_nested(view: NoteView, points: list[Point], top: int | None = None) -> list[Point]:
    """Nested items folded into the item above them: one point per top-level item."""
    by_line = {u.start_line: u for u in view.units}
    if top is None:
        items = [by_line[p.start_line].depth for p in points if p.kind == "item" and p.start_line in by_line]
        top = min(items, default=0)
    merged: list[Point] = []
    for p in points:
        unit = by_line.get(p.start_line)
        nested = unit is not None and unit.kind == "item" and unit.depth > top
        if nested and merged and merged[-1].kind == "item":
            last = merged[-1]
            merged[-1] = Point(f"{last.text} {p.text}", last.start_line, p.end_line, "item")
        else:
            merged.append(p)
    return merged
