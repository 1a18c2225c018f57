"""Does an answer say the opposite of a point? A clause of each is aligned by their shared key words, then read for
a negation, an antonym, two terms swapped around "than", or another number (pure).

The embedding model cannot tell these apart ("needs more memory" and "needs less memory" sit at 0.9), so these
rules decide, and only on clauses that are about the same thing."""

from __future__ import annotations

import re
from functools import lru_cache

NEGATORS = frozenset("""not no never cannot can't don't doesn't isn't aren't won't wasn't weren't shouldn't couldn't
without neither nor none nothing hardly unable""".split())
# Words on either side of a scale: one side in the point and the other in the answer flips what is said.
POLES: tuple[tuple[frozenset[str], frozenset[str]], ...] = tuple(
    (frozenset(up.split()), frozenset(down.split())) for up, down in (
        ("more larger large higher high bigger big greater increase increases increased increasing raise raises "
         "heavier heavy intensive expensive costly longer grows grow maximize maximizes maximise",
         "less fewer smaller small lower low decrease decreases decreased decreasing reduce reduces reduced "
         "lighter light cheap cheaper shorter shrinks shrink minimize minimizes minimise minimal"),
        ("faster fast quick quicker speeds", "slower slow slows"),
        ("better improve improves improved", "worse hurt hurts degrade degrades degraded"),
        ("easier easy simpler simple", "harder hard complex complicated difficult"),
        ("before first earlier", "after last later"),
        ("above over", "below under"),
        ("positive positives", "negative negatives"),
        ("true", "false"),
        ("overfitting overfit", "underfitting underfit"),
        ("enabled enable on active", "disabled disable off inactive"),
        ("training train", "inference testing test prediction"),
        ("parallel parallelization simultaneously concurrently", "sequential sequentially serial one-by-one"),
        ("supervised", "unsupervised"),
        ("linear", "nonlinear non-linear"),
        ("stable", "unstable"),
        ("always", "never"),
        ("all every", "none"),
        ("dense", "sparse"),
        ("global", "local"),
        ("mutable", "immutable"),
        ("synchronous", "asynchronous"),
        ("add adds added", "remove removes removed"),
        ("include includes", "exclude excludes"),
        ("strong stronger", "weak weaker"),
        ("deep deeper", "shallow shallower"),
        ("efficient", "inefficient"),
        ("possible", "impossible"),
        ("necessary needed", "unnecessary"),
        ("effective", "ineffective"),
        ("upper", "lower"),
        ("row rows", "column columns"),
        ("vanishing", "exploding"),
        ("convex", "non-convex nonconvex"),
    ))
CLAUSE = re.compile(r"(?<=[.!?;:])\s+|\n+|,\s+(?:but|while|whereas|and|which|so)\b|\s+(?:but|whereas|while)\s+")
WORD = re.compile(r"[a-z][a-z'\-]*|\d+(?:\.\d+)?%?")
NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?%?(?![\w.])")
MIN_SHARED = 2  # key words two clauses must share to be about the same thing


def clauses(text: str) -> list[str]:
    text = re.sub(r"[*_`]+", "", text)
    return [c.strip() for c in CLAUSE.split(text) if c and re.search(r"[A-Za-z]{2}", c)]


@lru_cache(maxsize=8192)
def words(text: str) -> tuple[str, ...]:
    return tuple(WORD.findall(text.lower().replace("n't", " not")))


def contradicts(point: str, answer: str, keys: frozenset[str]) -> bool:
    """The answer says the opposite of the point in a clause about the same thing (sharing `keys`, stems)."""
    for said in clauses(point):
        for given in clauses(answer):
            if shared(said, given, keys) >= MIN_SHARED and opposite(said, given):
                return True
    return False


def shared(a: str, b: str, keys: frozenset[str]) -> int:
    wa, wb = stems(a), stems(b)
    return len(wa & wb & keys) if keys else len(wa & wb)


def stems(text: str) -> set[str]:
    from rag.quiz.keywords import stem_words

    return set(stem_words(tuple(w for w in words(text) if w.isalpha() and len(w) > 2)))


def opposite(point: str, answer: str) -> bool:
    """One flips the other: negations and antonyms that do not cancel, terms swapped around "than", or numbers."""
    wp, wa = words(point), words(answer)
    flips = (negations(wp) - negations(wa)) % 2 + antonym_flips(set(wp), set(wa)) + swapped(wp, wa)
    return flips % 2 == 1 or other_number(point, answer)


def negations(ws: tuple[str, ...]) -> int:
    return sum(1 for w in ws if w in NEGATORS)


def antonym_flips(p: set[str], a: set[str]) -> int:
    """Scales where the point takes one side and the answer the other (and neither takes both)."""
    flips = 0
    for up, down in POLES:
        p_up, p_down, a_up, a_down = bool(p & up), bool(p & down), bool(a & up), bool(a & down)
        if (p_up != p_down) and (a_up != a_down) and p_up != a_up:
            flips += 1
    return flips


def swapped(wp: tuple[str, ...], wa: tuple[str, ...]) -> bool:
    """"LSTMs are slower than Transformers" vs "Transformers are slower than LSTMs": the sides of "than" swapped."""
    if "than" not in wp or "than" not in wa:
        return False
    p_left, p_right = set(wp[: wp.index("than")]), set(wp[wp.index("than") + 1:])
    a_left, a_right = set(wa[: wa.index("than")]), set(wa[wa.index("than") + 1:])
    named = {w for w in (p_left ^ p_right) if len(w) > 3 and w not in NEGATORS}
    moved = {w for w in named if (w in p_left and w in a_right and w not in a_left)
             or (w in p_right and w in a_left and w not in a_right)}
    return len(moved) >= 1 and not any(w in set().union(*(u | d for u, d in POLES)) for w in moved)


def other_number(point: str, answer: str) -> bool:
    """The answer gives numbers where the point does, and none of the point's."""
    p, a = set(NUMBER.findall(point)), set(NUMBER.findall(answer))
    return bool(p) and bool(a) and not p & a
