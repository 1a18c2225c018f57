"""The words (or a formula's symbols) that say a point, stemmed: what an answer must use to make it (pure)."""

from __future__ import annotations

import re
from functools import lru_cache

from rag.answer.question import content_words
from rag.quiz.card import Point

# LaTeX that formats rather than says something.
LATEX_NOISE = frozenset({"left", "right", "text", "mathrm", "mathbf", "mathit", "operatorname", "big", "bigg", "quad",
                         "qquad", "displaystyle", "limits", "begin", "end", "aligned", "cases", "array"})
# Words every answer about anything uses: they mark no point as made.
PLAIN = frozenset({"used", "use", "using", "also", "make", "makes", "allow", "allows", "example", "help", "helps",
                   "way", "thing", "things", "like", "such", "well", "may", "often", "etc", "specific", "different",
                   "based", "called", "known", "within", "without", "one", "two", "many", "much", "more", "less",
                   "each", "other", "type", "types"})


def uses(said: set[str], key: str) -> bool:
    """The answer uses the key word, or a word of the same stem the stemmer cut differently ("dimens", "dimension")."""
    return key in said or (len(key) >= 5 and any(len(w) >= 5 and (w.startswith(key) or key.startswith(w))
                                                 for w in said))


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
