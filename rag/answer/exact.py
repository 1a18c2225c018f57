"""What a written sentence must say exactly as its cited lines do: code, formulas, numbers and names.

Similarity places a sentence on the lines that support it but cannot see a changed number or two names
swapped ("LoRA is smaller" said of QLoRA scores 0.9); these checks can.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

INLINE_CODE = re.compile(r"`([^`\n]+)`")
INLINE_MATH = re.compile(r"\$\$(.+?)\$\$|\$([^$\n]+)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.S)
NUMBER = re.compile(r"(?<![\w.])[-−]?\d[\d,]*(?:\.\d+)?(?![\w])")
WORD = re.compile(r"(?<![\w])\w[\w+#'-]*[\w+#]|(?<![\w])\w")
TEX_NOISE = re.compile(r"\\[,;:! ]|\\left|\\right|\\displaystyle|\\quad|\\qquad|\s+|[{}]")
CLAUSE = re.compile(r"[;,:]|\s(?:whereas|while|but|and|or|unlike|than)\s", re.I)
LIST_NUMBER = re.compile(r"^\s*\d+[.)]\s")
STOP = frozenset(re.findall(r"\w+", "the a an of to in on for and or is are be it its as by with that this from"
                                " at was were can not no do does than then them they their which"))


@dataclass(frozen=True)
class Terms:
    """The parts of a sentence that must occur in its cited lines as they are."""

    code: tuple[str, ...]
    formulas: tuple[str, ...]
    numbers: tuple[str, ...]
    names: tuple[str, ...]


def plain(sentence: str) -> str:
    """The sentence without its inline code and formulas (what the number and name checks read)."""
    return INLINE_MATH.sub(" ", INLINE_CODE.sub(" ", sentence))


def terms_of(sentence: str) -> Terms:
    """The code spans, formulas, numbers and names of a written sentence."""
    code = tuple(m.group(1).strip() for m in INLINE_CODE.finditer(sentence) if m.group(1).strip())
    formulas = tuple(next(g for g in m.groups() if g is not None) for m in INLINE_MATH.finditer(sentence))
    rest = plain(LIST_NUMBER.sub("", sentence))
    numbers = tuple(m.group(0) for m in NUMBER.finditer(rest))
    return Terms(code, formulas, numbers, names_in(rest))


def names_in(text: str) -> tuple[str, ...]:
    """Words that name a thing: mixed case (LoRA, QLoRA, PyTorch), capitalised past a sentence's first word,
    or letters with digits or underscores (L2, max_len). A sentence's first word is only capitalised."""
    names = []
    first = True
    for match in WORD.finditer(text):
        word = match.group(0)
        if NUMBER.fullmatch(word):
            continue
        starts = first or re.search(r"[.!?]\s*$", text[: match.start()]) is not None
        first = False
        mixed = any(c.isupper() for c in word[1:]) and not word.isupper() or (word.isupper() and len(word) > 1)
        coded = re.search(r"\d|_", word) is not None and re.search(r"[A-Za-z]", word) is not None
        if mixed or coded or (word[0].isupper() and not starts and word.lower() not in STOP and word != "I"):
            names.append(word)
    return tuple(dict.fromkeys(names))


def same_tex(formula: str) -> str:
    """A formula with spacing, sizing and braces left out: `\\frac{h}{1-p}` and `\\frac {h} {1 - p}` agree."""
    return TEX_NOISE.sub("", formula)


def as_number(text: str) -> float | None:
    try:
        return float(text.replace(",", "").replace("−", "-"))
    except ValueError:
        return None


def missing(terms: Terms, lines: str) -> list[str]:
    """The terms that the cited lines do not contain exactly (names as whole words, any case; numbers by
    value; formulas as the same TeX)."""
    gone = [f"`{c}`" for c in terms.code if c not in lines]
    tex = same_tex(lines)
    gone += [f"${f}$" for f in terms.formulas if same_tex(f) not in tex]
    values = {as_number(m.group(0)) for m in NUMBER.finditer(lines)}
    gone += [n for n in terms.numbers if as_number(n) not in values]
    gone += [name for name in terms.names if not has_word(lines, name)]
    return gone


def has_word(text: str, word: str) -> bool:
    """`word` in `text` as a whole word, any case (LoRA is not found in QLoRA)."""
    return re.search(rf"(?<![\w]){re.escape(word)}(?![\w])", text, re.I) is not None


def swapped(sentence: str, lines: str) -> str | None:
    """A name the sentence says something of that the lines say of another name, if any.

    Each clause of the sentence that names one thing is set against the clauses of the lines: if a clause naming
    something else shares more of its words than any clause naming the same thing (or nothing), it is a swap.
    "LoRA is generally smaller" against "QLoRA is generally smaller in memory than LoRA" is one.
    """
    names = names_in(plain(sentence))
    if not names:
        return None
    source = [(c, names_in(c)) for c in CLAUSE.split(plain(lines)) if c and c.strip()]
    for clause in CLAUSE.split(plain(sentence)):
        named = [n for n in names if has_word(clause or "", n)]
        if len(named) != 1:
            continue
        words = claim_words(clause, names)
        if len(words) < 2:
            continue
        own = max((len(words & content(c)) for c, found in source
                   if not found or has_word(c, named[0])), default=0)
        other = max((len(words & content(c)) for c, found in source if found and not has_word(c, named[0])),
                    default=0)
        if other >= 2 and other > own:
            return named[0]
    return None


def claim_words(text: str, names: tuple[str, ...]) -> set[str]:
    """What a sentence says, without the names it says it of."""
    return content(plain(text)) - {n.lower() for n in names}


def content(text: str) -> set[str]:
    return {w.lower() for w in WORD.findall(text) if w.lower() not in STOP}
