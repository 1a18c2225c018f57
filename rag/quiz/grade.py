"""A learner's answer vs a card's expected points: which were made, which missed, a score and a grade (pure but
for the vectors it is given)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from rag.answer.question import content_words
from rag.quiz.cards import Card, Point

GRADES = ("again", "hard", "good", "easy")
# Similarity of a point to the closest part of the answer: below LOW it says nothing of the point, from HIGH on
# it says the point in other words (the packaged MiniLM model; an unrelated sentence of the same notes sits near 0.3).
LOW, HIGH = 0.4, 0.75
MEANING_SHARE = 0.5  # the rest of a point's credit is the share of its key words the answer uses
MATCHED = 0.5  # a point with this much credit was made
FLOOR = 0.25  # below this a point's credit is noise (a shared common word), not a partial answer
MAX_PIECES = 24
# LaTeX that formats rather than says something.
LATEX_NOISE = frozenset({"left", "right", "text", "mathrm", "mathbf", "mathit", "operatorname", "big", "bigg", "quad",
                         "qquad", "displaystyle", "limits", "begin", "end", "aligned", "cases", "array"})
# Words every answer about anything uses: they mark no point as made.
PLAIN = frozenset({"used", "use", "using", "also", "make", "makes", "allow", "allows", "example", "help", "helps",
                   "way", "thing", "things", "like", "such", "well", "may", "often", "etc", "specific", "different",
                   "based", "called", "known", "within", "without", "one", "two", "many", "much", "more", "less",
                   "each", "other", "type", "types"})

LABEL = re.compile(r"^\W*(?:\d{1,3}[.)]\s*)?\|?\s*\*\*([^*]{2,80})\*\*")
GENERIC_TERMS = frozenset({"descript", "impact", "exampl", "purpos", "techniqu", "strength", "limit", "definit",
                           "problem", "solut", "caus", "effect", "advantag", "disadvantag", "benefit", "drawback",
                           "featur", "context", "natur", "metric"})  # stems of labels that name no content
Embed = Callable[[Sequence[str], Sequence[str]], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Grade:
    """How an answer did: a score in 0..1, the suggested grade, and the expected points made and missed."""

    score: float
    suggested: str  # again | hard | good | easy
    matched: tuple[Point, ...]
    missed: tuple[Point, ...]


def grade_answer(card: Card, answer: str, embed: Embed) -> Grade:
    """Compare an answer with the card's points by meaning (`embed`: fresh texts, reused texts -> unit vectors)
    and by the words that matter (the point's key terms the question itself does not give away)."""
    pieces = answer_pieces(answer)
    if not pieces:
        return Grade(0.0, "again", (), card.points)
    labels = [point_label(p) for p in card.points]
    texts = [plain(p.text) for p in card.points] + [label for label in labels if label]
    piece_vectors, vectors = embed(pieces, texts)
    meaning = (vectors @ piece_vectors.T).max(axis=1)
    given = question_terms(card.question)
    said = answer_terms(answer)
    label_meaning = iter(meaning[len(card.points):])
    credits = []
    for m, p, label in zip(meaning, card.points, labels):
        credit = point_credit(float(m), point_terms(p), said, given)
        if label:  # naming an item's label ("**Kernel Trick**: ...") makes the point, as a list card asks
            credit = max(credit, label_credit(float(next(label_meaning)), word_terms(label), said, given))
        credits.append(credit)
    matched = tuple(p for p, c in zip(card.points, credits) if c >= MATCHED)
    missed = tuple(p for p, c in zip(card.points, credits) if c < MATCHED)
    weights = [point_weight(p) for p in card.points]
    score = round(sum(c * w for c, w in zip(credits, weights)) / sum(weights), 3)
    return Grade(score, suggest(score), matched, missed)


def point_credit(similarity: float, terms: frozenset[str], said: set[str], given: set[str]) -> float:
    """How much of one point the answer made, 0..1: its meaning, and its key words (`terms`)."""
    meaning = min(1.0, max(0.0, (similarity - LOW) / (HIGH - LOW)))
    keys = terms - given
    shared = sum(1 for key in keys if uses(said, key))
    if not keys:
        credit = meaning
    elif meaning == 0 and shared < 2:  # one shared word in an answer about something else is chance
        credit = 0.0
    else:
        credit = MEANING_SHARE * meaning + (1 - MEANING_SHARE) * shared / len(keys)
    credit = 1.0 if similarity >= 0.97 else credit  # the notes' own words
    return round(credit, 3) if credit >= FLOOR else 0.0


def label_credit(similarity: float, terms: frozenset[str], said: set[str], given: set[str]) -> float:
    """A label is its words: two of them or more name it (a one-word label, "Positive", names nothing alone)."""
    keys = terms - given
    shared = sum(1 for key in keys if uses(said, key))
    named = shared / len(keys) if shared >= 2 else 0.0
    return max(named, point_credit(similarity, terms, said, given))


def uses(said: set[str], key: str) -> bool:
    """The answer uses the key word, or a word of the same stem the stemmer cut differently ("dimens", "dimension")."""
    return key in said or (len(key) >= 5 and any(len(w) >= 5 and (w.startswith(key) or key.startswith(w))
                                                 for w in said))


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


def answer_pieces(answer: str) -> list[str]:
    """The answer whole and in its sentences, lines and clauses: each is compared with each point."""
    text = answer.strip()
    if not re.search(r"\w", text):
        return []
    parts = [p.strip(" -*•\t") for p in re.split(r"(?<=[.!?])\s+|\n+|;\s*", text)]
    parts = [p for p in parts if re.search(r"\w{2}", p)]
    return list(dict.fromkeys([plain(text), *map(plain, parts)]))[:MAX_PIECES]


def plain(text: str) -> str:
    """Text without markdown emphasis or list markers: what is said, not how it is set."""
    text = re.sub(r"[*_`]{1,3}", "", text)
    return re.sub(r"^\s*(?:[-+]|\d{1,3}[.)])\s+", "", text).strip()


@lru_cache(maxsize=4096)
def point_terms(point: Point) -> frozenset[str]:
    """The words (or, for a formula or code, the symbols) that say a point."""
    if point.kind in ("formula", "code"):
        return symbol_terms(point.text)
    return word_terms(point.text)


def answer_terms(answer: str) -> set[str]:
    return set(word_terms(answer)) | set(symbol_terms(answer))


def question_terms(question: str) -> set[str]:
    return set(word_terms(question))


@lru_cache(maxsize=8192)
def word_terms(text: str) -> frozenset[str]:
    words = [w for w in content_words(plain(text)) if len(w) > 2 and w.isalpha() and w not in PLAIN]
    return frozenset(stem_words(tuple(words)))


@lru_cache(maxsize=4096)
def symbol_terms(text: str) -> frozenset[str]:
    """Identifiers, numbers and LaTeX commands of a formula or code, without formatting commands."""
    tokens = re.findall(r"\\?[A-Za-z]+|\d+", text)
    terms = {t.lstrip("\\").lower() for t in tokens}
    return frozenset(t for t in terms if t not in LATEX_NOISE and not t.isdigit() and t not in ("i", "j", "k"))


def stem_words(words: tuple[str, ...]) -> list[str]:
    from rag.answer.evidence import stemmer

    return list(stemmer().stemWords(list(words)))
