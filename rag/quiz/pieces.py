"""An answer cut into the pieces each point is compared with: the whole, its sentences and clauses, and windows
of words that run across sentence breaks, so where the learner put a full stop does not change the grade (pure)."""

from __future__ import annotations

import re

from rag.quiz.keywords import plain

WINDOWS = (6, 10, 16)  # words per window; each slides by half its width
MAX_PIECES = 64
CLAUSE = re.compile(r"(?<=[.!?])\s+|\n+|;\s*|:\s+|,\s+|\s+(?:and|but|while|whereas|which|so)\s+")


def answer_pieces(answer: str) -> list[str]:
    """The answer whole, its sentences and lines, its clauses, then windows of 6, 10 and 16 words."""
    text = plain(answer.strip())
    if not re.search(r"\w", text):
        return []
    sentences = [p.strip(" -*•\t") for p in re.split(r"(?<=[.!?])\s+|\n+|;\s*", text)]
    parts = [p.strip(" -*•\t") for p in CLAUSE.split(text)]
    words = text.split()
    windows = [" ".join(words[i:i + w]) for w in WINDOWS if len(words) > w
               for i in range(0, len(words) - w // 2, max(1, w // 2))]
    pieces = [text] + [p for p in [*sentences, *parts, *windows] if re.search(r"\w{2}", p)]  # "p = k n / m" too
    return list(dict.fromkeys(map(plain, pieces)))[:MAX_PIECES]


def point_claims(text: str) -> list[str]:
    """A point's sentences: each is a claim the answer may make or not ("Introduced in 2014, ... . It randomly
    sets ..."). A label and what follows it stay one claim."""
    text = plain(text)
    parts = [p.strip() for p in re.split(r"(?<=[.!?])\s+(?=[A-Z])", text) if len(p.split()) >= 3]
    return parts if len(parts) > 1 else [text]
