"""Whether the notes answer a question, decided by evidence: the best unit's similarity, the names the notes
never use, and the question's own words in the top passages (pure)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from rag.answer.question import GENERIC, content_words, literal_in, literal_tokens
from rag.models import Passage
from rag.retrieve.intents import INTENTS

# Calibrated on eval/calibration_questions.jsonl and eval/dev_questions.jsonl (see README, "Not in your notes").
ABSENT_BAR = 0.62  # a question naming something the notes never use needs at least this similarity
RESCUE_MARGIN = 0.12  # this far below the floor, a question is answered when the top passages use its words
RESCUE_SHARE = 0.9  # ... at least this share of them
RESCUE_PASSAGES = 2


@dataclass(frozen=True)
class Verdict:
    """Answer or not, and the named things the notes never mention (said in a refusal)."""

    answered: bool
    absent: tuple[str, ...] = ()


def judge(coverage: float, floor: float, absent: Sequence[str], question: str,
          passages: Sequence[Passage]) -> Verdict:
    """Answer when a unit of the top passages matches the question well enough.

    A name or term the notes never use ("Bonferroni", "HNSW") says the subject is not there, unless the
    match is strong; a paraphrase or a misspelling that falls just short is answered when the top passages
    use the question's own words.
    """
    if absent and coverage < ABSENT_BAR:
        return Verdict(False, tuple(absent))
    if coverage >= floor:
        return Verdict(True)
    top = passages[:RESCUE_PASSAGES]
    rescued = coverage >= floor - RESCUE_MARGIN and (share_present(question, top) >= RESCUE_SHARE
                                                     or writes_identifier(question, top))
    return Verdict(rescued)


def writes_identifier(question: str, passages: Sequence[Passage]) -> bool:
    """True if the question names something from code (not a number) that the passages write as it is: the notes
    have it ("default params in set_open_params?")."""
    names = [n.rstrip("()") for n in literal_tokens(question) if not n[0].isdigit()]
    return any(literal_in(n, f"{p.heading}\n{p.text}") for n in names if len(n) >= 4 for p in passages)


def share_present(question: str, passages: Sequence[Passage]) -> float:
    """The share of the question's words (by stem) that the passages' headings and text use."""
    asks = "|".join(pattern for pattern, _ in INTENTS.values())  # what is wanted, not what about
    words = [w for w in content_words(question) if w.isalpha() and len(w) > 2 and not re.fullmatch(asks, w)]
    words = [w for w in words if w not in GENERIC] or words  # "difference", "formula": asked of any subject
    if not words or not passages:
        return 0.0
    stem = stemmer()
    used = set(stem.stemWords(re.findall(r"[a-z]+", " ".join(f"{p.heading} {p.text}" for p in passages).lower())))
    return sum(stem.stemWord(w) in used for w in words) / len(words)


@lru_cache(maxsize=1)
def stemmer():  # type: ignore[no-untyped-def]
    import Stemmer

    return Stemmer.Stemmer("english")
