"""What a text asks for (a fix, advantages, disadvantages, uses, assumptions, a definition) and whether a
heading or label announces it ("Solutions", "Limitations"): read by retrieval and by the answer stage (pure)."""

from __future__ import annotations

import re

# What a question wants, and the words that label the notes' blocks giving it ("- **Solutions**:").
INTENTS = {
    "fix": (r"\b(?:fix\w*|avoid\w*|prevent\w*|stop\w*|deal with|handle|overcom\w*|mitigat\w*|remed\w*|solv\w*|"
            r"solutions?|address\w*|what can i do|what helps|helps?|tackl\w*|combat\w*|reduc\w*|improv\w*)\b",
            r"\b(?:solutions?|fix\w*|remed\w*|mitigat\w*|prevent\w*|avoid\w*|address\w*|overcom\w*|handl\w*|"
            r"strateg\w*|techniques?|tips?|best practices?|ways? to|how to|improv\w*)\b"),
    "pros": (r"\b(?:advan?t\w*ges?|pros|benefits?|strengths?|upsides?|why use|why bother|gain\w*|the point of|"
             r"worth it)\b",
             r"\b(?:advantages?|benefits?|strengths?|pros|key features?)\b"),
    "cons": (r"\b(?:disadvan?t\w*ges?|cons|downsides?|drawbacks?|limitations?|weakness\w*|pitfalls?|shortcomings?)\b",
             r"\b(?:disadvantages?|limitations?|drawbacks?|cons|weakness\w*|downsides?|challenges?)\b"),
    "use": (r"\b(?:use cases?|used for|useful|applications?|in practice|situations?|scenarios?|"
            r"when (?:\w+ ){0,3}(?:use|pick|choose|prefer)|where (?:\w+ ){0,3}used)\b",
            r"\b(?:applications?|use cases?|when to use|usage|used|useful|scenarios?|uses)\b"),
    "assume": (r"\bassum\w*", r"\bassum\w*"),
    "define": (r"^\s*(?:what(?:'s|s)?\s+(?:\w+\s+)?(?:is|are)\b|whats?\b|define|definition of|explain)\b",
               r"\b(?:definition|what is|overview|introduction|concept|basic idea|core idea)\b"),
}
OPPOSITE = {"pros": "cons", "cons": "pros"}


def intents(question: str) -> set[str]:
    """What the question wants: a fix, advantages, disadvantages, uses, assumptions (any number of them)."""
    return {name for name, (asks, _) in INTENTS.items() if re.search(asks, question, re.I)}


def labels_intent(label: str, intent: str) -> bool:
    """True if a heading or an item's label announces what the intent wants ("Solutions", "Limitations")."""
    return re.search(INTENTS[intent][1], label, re.I) is not None
