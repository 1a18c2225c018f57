"""The formulas in a learner's answer: LaTeX spans, and plain runs of symbols and operators in the prose
("I think p = k * n / m", "FP divided by FP plus TN") (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.quiz.maths import FUNCTIONS, GREEK
from rag.quiz.wording import word_set

LATEX_SPAN = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$|\\\[(.+?)\\\]|\\\((.+?)\\\)", re.S)
# Operators said in words, as learners type them.
SPOKEN = ((r"\bdivided by\b|\bover\b", " / "), (r"\btimes\b|\bmultiplied by\b", " * "), (r"\bplus\b", " + "),
          (r"\bminus\b", " - "), (r"\bsquared\b", " ^2 "), (r"\bto the power of\b", " ^ "),
          (r"\bis equal to\b|\bequals\b", " = "), (r"\b(?:the )?square root of\b", " sqrt "))
TOKEN = re.compile(r"\\[A-Za-z]+|[A-Za-z]+(?:_\{?[\w\-+]+\}?)?'?|\d+(?:\.\d+)?|\|\||\*\*|[=+\-*/^()|·×√\[\]{}_,]|\S")
OPERATORS = word_set("= + - * / ^ ** · × √") | {"\\frac", "\\sqrt", "\\cdot", "sqrt"}
ENGLISH = word_set("a an the is are of to in by and or it for as be we so its if this that with")
MAX_SYMBOL = 3  # a bare word longer than this is prose, unless the expected formula or maths names it


@dataclass(frozen=True)
class Typed:
    """A formula as the learner typed it; `spoken` if it is read from words ("FP divided by ..."), which say
    no bracket: a mismatch there is unclear wording, not a wrong formula."""

    text: str
    spoken: bool = False


def typed_formulas(answer: str, names: frozenset[str] = frozenset()) -> list[Typed]:
    """The answer's formulas: its LaTeX spans, then the plain runs of maths in the rest."""
    found = [Typed(next(g for g in m.groups() if g)) for m in LATEX_SPAN.finditer(answer)]
    rest = LATEX_SPAN.sub(" . ", answer)
    typed = plain_runs(rest, names)
    spoken = rest
    for pattern, symbol in SPOKEN:
        spoken = re.sub(pattern, symbol, spoken, flags=re.I)
    said = [Typed(t, spoken=True) for t in plain_runs(spoken, names) if t not in typed]
    return found + [Typed(t) for t in typed] + said


def plain_runs(text: str, names: frozenset[str]) -> list[str]:
    """Maximal runs of maths tokens that hold an operator and a symbol."""
    tokens = [m.group(0) for m in TOKEN.finditer(text)]
    runs: list[list[str]] = []
    run: list[str] = []
    depth = 0
    for n, token in enumerate(tokens):
        depth += token in "([{" and token != "" and len(token) == 1
        depth -= token in ")]}" and len(token) == 1
        joined = joined_name(tokens, n, names)
        if joined:
            run.append(joined)
        elif is_math(token, names) or (token == "," and depth > 0):
            run.append(token)
        else:
            runs.append(run)
            run, depth = [], 0
    runs.append(run)
    out = []
    for r in runs:
        while r and r[0].lower() in ENGLISH | {","}:
            r = r[1:]
        while r and (r[-1].lower() in ENGLISH | {","} or r[-1] in OPERATORS):
            r = r[:-1]
        if any(t in OPERATORS for t in r) and any(re.match(r"[A-Za-z\\]", t) for t in r):
            out.append(" ".join(r))
    return out


def joined_name(tokens: list[str], n: int, names: frozenset[str]) -> str:
    """"False Positives" when the expected formula names falsepositives: one symbol (the words are consumed)."""
    if not names or not tokens[n].isalpha():
        return ""
    for width in (3, 2):
        words = tokens[n:n + width]
        if len(words) == width and all(w.isalpha() for w in words) and "".join(words).lower() in names:
            tokens[n + 1:n + width] = [""] * (width - 1)
            return "".join(words)
    return ""


def is_math(token: str, names: frozenset[str]) -> bool:
    if token == "":  # a word already joined into a name
        return True
    if token in OPERATORS or token in "()[]{}|_'∩∪" or token == "||" or re.fullmatch(r"\d+(?:\.\d+)?", token):
        return True
    word = token.lstrip("\\")
    bare = re.sub(r"[^a-z0-9]", "", word.lower())
    if token.startswith("\\") or "_" in token:
        return True
    if word in ENGLISH and word != "a":  # "v_t = ... and s_t = ...": two formulas
        return False
    return len(word) <= MAX_SYMBOL or bare in names or word in GREEK or word.lower() in FUNCTIONS
