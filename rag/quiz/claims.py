"""Does an answer say the opposite of a point? A clause of each is aligned by their shared key words, then read for
a negation, an antonym, two terms swapped around "than", or another number (pure).

The embedding model cannot tell these apart ("needs more memory" and "needs less memory" sit at 0.9), so these
rules decide, and only on clauses that are about the same thing."""

from __future__ import annotations

import re
from functools import lru_cache

from rag.quiz.wording import word_set

NEGATORS = word_set("""not no never cannot without neither nor none nothing hardly unable""")
# Verbs that negate what they act on: "prevents unauthorized access" / "data can't be accessed".
BLOCKERS = word_set("prevent prevents prevented avoid avoids stop stops instead")
SCOPE = 3  # words after a negator that it negates
NEAR = 3  # words either side of an antonym that say what it is about
IDIOMS = re.compile(r"\bas well as\b|\bnot only\b|\bno longer\b|\bnot just\b|\bwhether or not\b|\bif not\b", re.I)
# Words on either side of a scale: one side in the point and the other in the answer flips what is said.
POLES: tuple[tuple[frozenset[str], frozenset[str]], ...] = tuple(
    (word_set(up), word_set(down)) for up, down in (
        ("more larger large higher high bigger big greater increase increases increased increasing raise raises "
         "heavier heavy intensive expensive costly longer grows grow maximize maximizes maximise",
         "less fewer smaller small lower low decrease decreases decreased decreasing reduce reduces reduced "
         "lighter light cheap cheaper shorter shrinks shrink minimize minimizes minimise minimal"),
        ("faster fast quick quicker speeds", "slower slow slows"),
        ("better improve improves improved mitigate mitigates mitigated solves fixes", "worse worsen worsens hurt "
         "hurts degrade degrades degraded"),
        ("well good", "poorly badly bad"),
        ("long", "short"),
        ("has have keeps keep retains retain gains", "loses lose lost"),
        ("easier easy simpler simple", "harder hard complex complicated difficult"),
        ("before first earlier", "after last later"),
        ("above over", "below under"),
        ("positive positives", "negative negatives"),
        ("true", "false"),
        ("overfitting overfit overfits", "underfitting underfit underfits"),
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
        ("advantage", "disadvantage"),
        ("most", "least"),
        ("success successfully succeeded succeeds", "failed fails failure"),
        ("convex", "non-convex nonconvex"),
    ))
BIG_O = re.compile(r"\bO\(((?:[^()]|\([^()]*(?:\([^()]*\))?[^()]*\))+)\)")
RELATIONS = ("than", "against", "versus", "vs")
CLAUSE = re.compile(r"(?<=[.!?;:])\s+|\n+|\s+[–—]\s+|,\s+(?:(?:but|while|whereas|and|which|so)\b)?"
                    r"|\s+(?:but|whereas|while)\s+")
WORD = re.compile(r"[a-z][a-z']*|\d+(?:\.\d+)?%?")
NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?%?(?![\w.])")
MIN_SHARED = 2  # key words two clauses must share to be about the same thing
LABEL_WORDS = 5
ALIGNED = 0.3  # ... and this share of the shorter one's words


def clauses(text: str) -> list[str]:
    """A text's clauses; a short label ("Choice of Kernel:") stays with what it labels."""
    text = re.sub(r"[*_`]+", "", text)
    parts = [c.strip(" -") for c in CLAUSE.split(text) if c and re.search(r"[A-Za-z]{2}", c)]
    merged: list[str] = []
    for part in parts:
        short = len(part.split()) < LABEL_WORDS - 1  # "During inference", "(i.e.": part of the clause around it
        if merged and (short or merged[-1].endswith(":") and len(merged[-1].split()) <= LABEL_WORDS):
            merged[-1] = f"{merged[-1]} {part}"
        else:
            merged.append(part)
    return merged


@lru_cache(maxsize=8192)
def words(text: str) -> tuple[str, ...]:
    text = IDIOMS.sub(" ", text.lower().replace("can't", "can not").replace("won't", "will not"))
    return tuple(WORD.findall(text.replace("n't", " not")))


def contradicts(point: str, answer: str, keys: frozenset[str]) -> bool:
    """The answer says the opposite of the point: a clause of the point, and the answer's clause most about the
    same thing (sharing the most of `keys`, stems), are opposite."""
    if other_complexity(point, answer):  # "O(n^2)" for "O(n log(log n))", however it is worded around
        return True
    given = clauses(answer)
    for said in clauses(point):
        overlap = [shared(said, g, keys) for g in given]
        if not overlap or max(overlap) < MIN_SHARED:
            continue
        best = given[overlap.index(max(overlap))]
        if max(overlap) >= ALIGNED * min(len(stems(said)), len(stems(best))) and opposite(said, best):
            return True
    return False


def shared(a: str, b: str, keys: frozenset[str]) -> int:
    wa, wb = stems(a), stems(b)
    return len(wa & wb & keys) if keys else len(wa & wb)


def stems(text: str) -> set[str]:
    from rag.answer.question import STOPWORDS
    from rag.quiz.keywords import stem_words

    return set(stem_words(tuple(w for w in words(text) if w.isalpha() and len(w) > 2 and w not in STOPWORDS)))


def opposite(point: str, answer: str) -> bool:
    """One flips the other: a word both say that one negates and the other affirms, antonyms next to a word both
    say (the two cancel: "not more" is "less"), terms swapped around "than", or other numbers."""
    wp, wa = words(point), words(answer)
    both = stems(" ".join(wp)) & stems(" ".join(wa))
    flips = negation_flip(point, answer, both) + antonym_flips(wp, wa, both) + swapped(wp, wa)
    return flips % 2 == 1 or other_number(point, answer) or other_complexity(point, answer)


def negation_flip(point: str, answer: str, both: set[str]) -> bool:
    """A word both say is only ever negated in one and only ever affirmed in the other ("cannot be instantiated" /
    "can be instantiated"). A word said both ways in one text ("possibly in set" or "definitely not in set") says
    nothing; paraphrases move negations around, so only such a word counts."""
    p_neg, p_aff = polarity(point)
    a_neg, a_aff = polarity(answer)
    only = lambda neg, aff: (neg - aff) & both  # noqa: E731
    return bool(only(p_neg, p_aff) & (a_aff - a_neg) or only(a_neg, a_aff) & (p_aff - p_neg))


@lru_cache(maxsize=8192)
def polarity(text: str) -> tuple[frozenset[str], frozenset[str]]:
    """The stems a text says under a negation, and those it says plainly. A negation reaches a few words within its
    phrase (up to a comma or colon); "prevents X from Y" negates Y; "false negatives are not" the words before."""
    negated: set[str] = set()
    plain: set[str] = set()
    for segment in re.split(r"[,:;()|\[\]]", text.lower()):
        ws = words(segment)
        covered: set[int] = set()
        for n, w in enumerate(ws):
            if w in BLOCKERS and "from" in ws[n + 1:n + 5]:
                start = ws.index("from", n + 1) + 1
                covered.update(range(start, min(len(ws), start + SCOPE)))
            elif w in NEGATORS or w in BLOCKERS:
                span = range(n + 1, min(len(ws), n + 1 + SCOPE)) if n + 1 < len(ws) else range(max(0, n - SCOPE), n)
                covered.update(span)
            elif w.startswith("un") and len(w) > 5:  # "unused" says "not used"
                negated.update(stems(w[2:]))
        for n, w in enumerate(ws):
            if w in NEGATORS or w in BLOCKERS:
                continue
            (negated if n in covered else plain).update(stems(w))
    return frozenset(negated), frozenset(plain)


def antonym_flips(wp: tuple[str, ...], wa: tuple[str, ...], both: set[str]) -> int:
    """Scales where the point takes one side and the answer the other, each next to a word both say ("scales
    poorly" / "scales well", "hard to interpret" / "easy to interpret"); a pole word both use is shared, not a
    side taken ("less sensitive to large outliers" / "more sensitive to large outliers")."""
    common = set(wp) & set(wa)
    flips = 0
    for up, down in POLES:
        p, a = side_near(wp, up, down, both, common), side_near(wa, up, down, both, common)
        if p and a and p != a:
            flips += 1
    return flips


def side_near(ws: tuple[str, ...], up: frozenset[str], down: frozenset[str], both: set[str],
              common: set[str]) -> str:
    """"up" or "down" if the text takes one side of the scale next to a word of `both`; "" if neither or both."""
    sides = set()
    for n, w in enumerate(ws):
        if (w in up or w in down) and w not in common:
            near = " ".join(ws[max(0, n - NEAR):n] + ws[n + 1:n + 1 + NEAR])
            if stems(near) & both:
                sides.add("up" if w in up else "down")
    return sides.pop() if len(sides) == 1 else ""


def swapped(wp: tuple[str, ...], wa: tuple[str, ...]) -> bool:
    """"LSTMs are slower than Transformers" vs "Transformers are slower than LSTMs", "TPR against FPR" vs "FPR
    against TPR": the sides of a relation swapped."""
    relation = next((r for r in RELATIONS if r in wp and r in wa), None)
    if relation is None:
        return False
    p_left, p_right = set(wp[: wp.index(relation)]), set(wp[wp.index(relation) + 1:])
    a_left, a_right = set(wa[: wa.index(relation)]), set(wa[wa.index(relation) + 1:])
    named = {w for w in (p_left ^ p_right) if len(w) > 3 and w not in NEGATORS}
    moved = {w for w in named if (w in p_left and w in a_right and w not in a_left)
             or (w in p_right and w in a_left and w not in a_right)}
    return bool(moved)


def other_complexity(point: str, answer: str) -> bool:
    """"O(n log(log n))" vs "O(n^2)": both give a complexity, and they differ as formulas."""
    from rag.quiz.maths import equivalent, parse_formula

    p, a = BIG_O.findall(point), BIG_O.findall(answer)
    if not p or not a:
        return False
    expected = [e for t in p for e in parse_formula(t, frozenset()).shown]
    given = [e for t in a for e in parse_formula(t, frozenset()).shown]
    return bool(expected and given) and not any(equivalent(x, y) for x in expected for y in given)


def other_number(point: str, answer: str) -> bool:
    """The answer gives numbers where the point does, and none of the point's."""
    p, a = set(NUMBER.findall(point)), set(NUMBER.findall(answer))
    return bool(p) and bool(a) and not p & a
