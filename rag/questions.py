"""What a question asks: a follow-up's topic, whether it wants code, the sides of a comparison (pure)."""

from __future__ import annotations

import re
from collections.abc import Sequence

FOLLOW_UP_START = re.compile(r"^(?:and|but|also|so|then|or|what about|how about|what of|same for)\b", re.I)
PRONOUN = re.compile(r"\b(?:it|its|it's|they|them|their|this|that|these|those|former|latter)\b", re.I)
CODE_WORDS = re.compile(r"\b(?:code|example|snippet|implement\w*|sample|script|program)\b", re.I)
COMPARATIVE = re.compile(r"\b(?:which|when|better|prefer|pick|choose|more|less|differ\w*|compare\w*)\b", re.I)
SIDE_SPLIT = re.compile(r"\s+(?:vs\.?|versus|compared (?:to|with)|over|or)\s+|\s*\bvs\.?\s+", re.I)
BETWEEN = re.compile(r"\bbetween\s+(.+?)\s+and\s+(.+)", re.I)
STOPWORDS = frozenset({
    "a", "about", "actually", "all", "an", "and", "any", "are", "as", "at", "be", "been", "but", "by", "can",
    "could", "do", "does", "doing", "for", "from", "get", "gets", "give", "has", "have", "how", "i", "if", "in",
    "into", "is", "it", "its", "just", "me", "more", "most", "my", "of", "on", "or", "over", "should", "so",
    "some", "than", "that", "the", "their", "them", "then", "there", "these", "they", "this", "those", "to",
    "use", "used", "using", "vs", "versus", "was", "we", "what", "when", "where", "which", "while", "who", "why",
    "will", "with", "would", "you", "your", "between", "difference", "differences", "compare",
})


def resolve_followup(question: str, history: Sequence[tuple[str, str]], limit: int = 2000) -> str:
    """The question with the previous question's topic prepended when it only makes sense as a follow-up."""
    earlier = [content for role, content in history if role == "user" and content.strip()]
    if not earlier:
        return question
    words = question.split()
    follows = FOLLOW_UP_START.match(question) or len(words) <= 3 or (len(words) <= 8 and PRONOUN.search(question))
    if not follows:
        return question
    # The previous question may itself be a follow-up: resolve it against what came before it.
    previous = resolve_followup(earlier[-1], [("user", c) for c in earlier[:-1]], limit)
    room = max(0, limit - len(question) - 1)
    return f"{previous[-room:] if room else ''} {question}".strip()


def wants_code(question: str) -> bool:
    """True if the question asks for code or an example."""
    return CODE_WORDS.search(question) is not None


def comparison_sides(question: str) -> list[str]:
    """The things a comparison question weighs against each other ("A vs B", "between A and B")."""
    between = BETWEEN.search(question)
    parts = list(between.groups()) if between else SIDE_SPLIT.split(question)
    if len(parts) < 2 or (not between and not re.search(r"\bvs\.?|versus\b", question, re.I)
                          and not COMPARATIVE.search(question)):
        return []
    sides = []
    for n, part in enumerate(parts):
        words = [w for w in re.findall(r"[\w+#-]+", part.lower()) if w not in STOPWORDS and len(w) > 1]
        if words:  # the word nearest the separator names the side: "LSTMs" in "... LSTMs vs transformers ..."
            sides.append(words[-1] if n == 0 else words[0])
    return sides if len(sides) >= 2 else []


def mentions(text: str, side: str) -> bool:
    """True if a text names a side of a comparison (a plural side matches its singular too)."""
    stem = side[:-1] if side.endswith("s") and len(side) > 3 else side
    return re.search(rf"(?<![\w-]){re.escape(stem)}", text.lower()) is not None
