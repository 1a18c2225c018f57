"""How the grader agrees with labelled answers (eval/quiz_answers*.jsonl): right ones should pass (good or easy),
wrong ones fail (again), and no wrong formula be marked made. Used by `bench/bench_quiz_grading.py` and the tests."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rag.answer.note import NoteView
from rag.models import Passage
from rag.quiz.card import Card
from rag.quiz.cards import derive_cards
from rag.quiz.grade import GRADES, Embed, Grade, grade_answer

LABELS = ("right", "partly", "wrong")
PASSING = ("good", "easy")


@dataclass(frozen=True)
class Labelled:
    """A learner's answer to a card (found again by its note and question), labelled right, partly or wrong."""

    source: str
    question: str
    card_id: str
    label: str
    kind: str  # paraphrase | partial | contradiction | swap | wrong-formula | wrong-number | off
    answer: str


@dataclass(frozen=True)
class Outcome:
    item: Labelled
    grade: Grade


def read_labelled(path: Path) -> list[Labelled]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [Labelled(**row) for row in rows]


def note_cards(path: Path, source: str) -> list[Card]:
    """The cards of a markdown note, named `source` as the index names it."""
    text = path.read_text(encoding="utf-8")
    return derive_cards(NoteView([Passage("p", source, 1, len(text.split("\n")), "", text)]))


def find_cards(items: Iterable[Labelled], locate: Callable[[str], Path]) -> dict[str, Card]:
    """The labelled answers' cards by id; a card the notes no longer make is missing (and reported)."""
    found: dict[str, Card] = {}
    for source in sorted({i.source for i in items}):
        found.update({c.id: c for c in note_cards(locate(source), source)})
    return found


def grade_all(items: Sequence[Labelled], cards: dict[str, Card], embed: Embed) -> list[Outcome]:
    return [Outcome(i, grade_answer(cards[i.card_id], i.answer, embed)) for i in items if i.card_id in cards]


def confusion(outcomes: Sequence[Outcome]) -> dict[str, Counter[str]]:
    """Label -> counts of the suggested grades."""
    table: dict[str, Counter[str]] = {label: Counter() for label in LABELS}
    for o in outcomes:
        table[o.item.label][o.grade.suggested] += 1
    return table


def rates(outcomes: Sequence[Outcome]) -> dict[str, float]:
    """Right answers passed, wrong answers failed, and wrong formulas with the formula marked made."""
    right = [o for o in outcomes if o.item.label == "right"]
    wrong = [o for o in outcomes if o.item.label == "wrong"]
    formulas = [o for o in wrong if o.item.kind == "wrong-formula"]
    return {
        "right_pass": sum(o.grade.suggested in PASSING for o in right) / max(1, len(right)),
        "wrong_fail": sum(o.grade.suggested == "again" for o in wrong) / max(1, len(wrong)),
        "wrong_formula_made": float(sum(any(p.kind == "formula" for p in o.grade.matched) for o in formulas)),
    }


def table_text(outcomes: Sequence[Outcome]) -> str:
    """The confusion table as markdown, then the rates."""
    table = confusion(outcomes)
    lines = ["| label | n | " + " | ".join(GRADES) + " |", "|---|---|" + "---|" * len(GRADES)]
    for label in LABELS:
        row = table[label]
        lines.append(f"| {label} | {sum(row.values())} | " + " | ".join(str(row[g]) for g in GRADES) + " |")
    r = rates(outcomes)
    lines.append(f"\nright -> good/easy: {r['right_pass']:.0%}; wrong -> again: {r['wrong_fail']:.0%}; "
                 f"wrong formulas marked made: {r['wrong_formula_made']:.0f}")
    return "\n".join(lines)
