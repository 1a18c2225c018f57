"""A learner's answer vs a card's expected points, point by point: made (said in any words, or as an equal
formula), contradicted (said otherwise: a negation, an antonym, terms swapped, another number, a wrong formula) or
missed; a score and a suggested grade (pure but for the vectors it is given)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from rag.answer.question import content_words
from rag.quiz.card import Card, Point
from rag.quiz.claims import contradicts
from rag.quiz.keywords import answer_terms, plain, point_terms, question_terms, stem_words, uses, word_terms
from rag.quiz.maths import judge, parse_formula
from rag.quiz.pieces import answer_pieces, point_claims
from rag.quiz.typed_math import typed_formulas

GRADES = ("again", "hard", "good", "easy")
# Similarity of a claim to the closest piece of the answer: below LOW it says nothing of the claim, from HIGH on
# it says the claim in other words (the packaged MiniLM model; an unrelated sentence of the same notes sits near 0.3).
LOW, HIGH = 0.4, 0.75
MEANING_SHARE = 0.5  # the rest of a claim's credit is the share of its key words the answer uses
MATCHED = 0.5  # a point with this much credit was made
FLOOR = 0.25  # below this a point's credit is noise (a shared common word), not a partial answer
WRONG_CAP = 0.3  # an answer that states something false is graded "again", whatever else it got right
LABEL = re.compile(r"^\W*(?:\d{1,3}[.)]\s*)?\|?\s*\*\*([^*]{2,80})\*\*")
GENERIC_TERMS = frozenset({"descript", "impact", "exampl", "purpos", "techniqu", "strength", "limit", "definit",
                           "problem", "solut", "caus", "effect", "advantag", "disadvantag", "benefit", "drawback",
                           "featur", "context", "natur", "metric"})  # stems of labels that name no content
Embed = Callable[[Sequence[str], Sequence[str]], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Grade:
    """How an answer did: a score in 0..1, the suggested grade, the expected points made and missed, and those of
    the missed that the answer stated otherwise."""

    score: float
    suggested: str  # again | hard | good | easy
    matched: tuple[Point, ...]
    missed: tuple[Point, ...]
    contradicted: tuple[Point, ...] = ()


@dataclass(frozen=True)
class Reading:
    """What the grader reads of an answer once: its pieces' best similarity to each text, its words."""

    answer: str
    best: dict[str, float]
    said: set[str]
    given: set[str]


def grade_answer(card: Card, answer: str, embed: Embed) -> Grade:
    """Grade an answer point by point (`embed`: fresh texts, reused texts -> unit vectors)."""
    pieces = answer_pieces(answer)
    if not pieces:
        return Grade(0.0, "again", (), card.points)
    claims = {p: point_claims(p.text) for p in card.points if p.kind not in ("formula", "code")}
    subject = subject_words(card.question)
    unsaid = {c: without(c, subject) for cs in claims.values() for c in cs}
    labels = {p: point_label(p) for p in card.points}
    texts = list(dict.fromkeys([c for cs in claims.values() for c in cs] + [plain(p.text) for p in card.points]
                               + [label for label in labels.values() if label] + list(unsaid.values())))
    piece_vectors, vectors = embed(pieces, texts)
    best = dict(zip(texts, (vectors @ piece_vectors.T).max(axis=1).tolist()))
    for claim, rest in unsaid.items():  # an answer need not name what the question asks about
        best[claim] = max(best[claim], best[rest])
    reading = Reading(answer, best, answer_terms(answer), question_terms(card.question))
    credits: dict[Point, float] = {}
    wrong: list[Point] = []
    for p in card.points:
        credit, contradicted = point_credit(p, claims.get(p), labels[p], reading)
        credits[p] = 0.0 if contradicted else credit
        if contradicted:
            wrong.append(p)
    matched = tuple(p for p in card.points if credits[p] >= MATCHED)
    missed = tuple(p for p in card.points if credits[p] < MATCHED)
    weights = {p: point_weight(p) for p in card.points}
    score = sum(credits[p] * weights[p] for p in card.points) / sum(weights.values())
    if wrong:
        score = min(score, WRONG_CAP)
    return Grade(round(score, 3), suggest(score), matched, missed, tuple(wrong))


def point_credit(p: Point, claims: list[str] | None, label: str, r: Reading) -> tuple[float, bool]:
    """One point's credit 0..1, and whether the answer stated it otherwise."""
    if p.kind == "formula":
        return formula_credit(p, r)
    if claims is None:  # code: its symbols and its meaning
        return term_credit(r.best[plain(p.text)], point_terms(p), r), False
    credit = float(np.mean([term_credit(r.best[c], word_terms(c), r) for c in claims]))
    credit = max(credit, term_credit(r.best[plain(p.text)], point_terms(p), r))
    if label:  # naming an item's label ("**Kernel Trick**: ...") makes the point, as a list card asks
        credit = max(credit, label_credit(r.best[label], word_terms(label), r))
    own_words = r.best[plain(p.text)] >= 0.97
    if credit >= FLOOR and not own_words and contradicts(p.text, r.answer, stems_of(p.text)):
        return 0.0, True
    return credit, False


def formula_credit(p: Point, r: Reading) -> tuple[float, bool]:
    """A formula is made by an equal formula (in any notation); a different one typed is a wrong answer."""
    expected = parse_formula(p.text)
    typed = typed_formulas(r.answer, expected.names)
    verdict = judge(expected, [parse_formula(t.text, expected.names) for t in typed], [t.spoken for t in typed])
    if verdict is None:
        return 0.0, False
    return (1.0, False) if verdict else (0.0, True)


def term_credit(similarity: float, terms: frozenset[str], r: Reading) -> float:
    """How much of one claim the answer made, 0..1: its meaning, and its key words (`terms`)."""
    meaning = min(1.0, max(0.0, (similarity - LOW) / (HIGH - LOW)))
    keys = terms - r.given
    shared = sum(1 for key in keys if uses(r.said, key))
    if not keys:
        credit = meaning
    elif meaning == 0 and shared < 2:  # one shared word in an answer about something else is chance
        credit = 0.0
    else:
        credit = max(meaning, MEANING_SHARE * meaning + (1 - MEANING_SHARE) * shared / len(keys))
    credit = 1.0 if similarity >= 0.97 else credit  # the notes' own words
    return round(credit, 3) if credit >= FLOOR else 0.0


def label_credit(similarity: float, terms: frozenset[str], r: Reading) -> float:
    """A label is its words: two of them or more name it (a one-word label, "Positive", names nothing alone)."""
    keys = terms - r.given
    shared = sum(1 for key in keys if uses(r.said, key))
    named = shared / len(keys) if shared >= 2 else 0.0
    return max(named, term_credit(similarity, terms, r))


def subject_words(question: str) -> frozenset[str]:
    """What the question asks about ("dropout" in "What is dropout?"): its content words."""
    return frozenset(w for w in content_words(question) if w.isalpha() and w not in ("explain", "name", "write"))


def without(claim: str, subject: frozenset[str]) -> str:
    """The claim without the question's subject words: "dropout is a simple technique" -> "is a simple technique"."""
    kept = [w for w in plain(claim).split() if re.sub(r"\W", "", w.lower()) not in subject]
    return " ".join(kept) or claim


def stems_of(text: str) -> frozenset[str]:
    return frozenset(stem_words(tuple(w for w in content_words(text) if w.isalpha() and len(w) > 2)))


def point_label(point: Point) -> str:
    """An item's bold label ("1. **Kernel Trick**: Handles ...") if it says something of its own; "" if none."""
    found = LABEL.match(point.text) if point.kind in ("item", "row") else None
    if not found:
        return ""
    label = found.group(1).strip(" :")
    return label if word_terms(label) - GENERIC_TERMS else ""


def point_weight(point: Point) -> float:
    """A long point counts more than a short one, but not in proportion (a code block is not ten sentences)."""
    return float(np.sqrt(max(3, len(re.findall(r"\w+", point.text)))))


def suggest(score: float) -> str:
    """The grade an answer with this score suggests; the learner may choose another."""
    if score < 0.35:
        return "again"
    if score < 0.6:
        return "hard"
    if score < 0.85:
        return "good"
    return "easy"
