"""What a unit is filed under and what the question wants of it: labels, the intent and language
adjustments, and the units outside the passages worth reading (remedies in their own section, code in the
language asked for) (pure)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.answer.note import NoteView
from rag.answer.question import content_words, language
from rag.answer.units import is_lead_in
from rag.retrieve.intents import OPPOSITE, labels_intent

INTENT_BONUS = 0.12  # a unit under a label that announces what the question wants ("Solutions", "Limitations")
OPPOSITE_PENALTY = 0.2  # a unit under the opposite label ("Advantages" when disadvantages are asked)
LANGUAGE_PENALTY = 0.25  # a unit about another programming language than the one asked for
HEADING_WORDS_BONUS = 0.1  # times the share of the question's words that its section's headings name
DESCRIBES_PROBLEM = re.compile(r"\b(?:description|impact|example|causes?|problem|definition|symptoms?)\b", re.I)
OWN_LABEL = re.compile(r"^[\s>*+\-\d.)]*\*\*([^*]{1,60})\*\*\s*:")
LIST_INTENTS = {"fix", "pros", "cons", "assume"}
USE_HEADING = re.compile(r"\b(?:applications?|use cases?|usage|when to use)\b", re.I)  # "used" is too common
CODE_LOOKAHEAD = 12  # units after a passage searched for an example in the language asked for
DEFINES = re.compile(r"\b(?:is|are) (?:a|an|the)\b|\brefers? to\b|\balso (?:known|called) as\b|\bis defined as\b"
                     r"|\bstands for\b")
MAX_INTENT_UNITS = 30  # units of a section found by its heading's intent label that are scored
ANSWER_HEADING = re.compile(r"^\W*(?:(?:short |the )?answers?|a|explanation|solution)\W*$", re.I)  # under a question


def label_of(view: NoteView, i: int) -> str:
    """What a unit is filed under: its headings, the "...:" lines it continues, its own bold label."""
    own = OWN_LABEL.match(view.units[i].text)  # "- **Solutions**: ..." labels itself
    return " ".join([*view.paths[i], *lead_texts(view, i), own.group(1) if own else ""])


def on_intent(view: NoteView, i: int, asked: set[str]) -> bool:
    """True if a unit is filed under what a list-like question wants: remedies, pros, cons, assumptions."""
    label = label_of(view, i)
    return (any(labels_intent(label, intent) for intent in asked & LIST_INTENTS)
            or ("use" in asked and USE_HEADING.search(label) is not None))


def adjustment(view: NoteView, i: int, asked: set[str], asked_language: str | None, words: Sequence[str]) -> float:
    """What the unit's labels and headings add to its relevance: the intent, the language, the topic named."""
    unit = view.units[i]
    label = label_of(view, i)
    bonus = 0.0
    for intent in asked:
        if labels_intent(label, intent):
            bonus += INTENT_BONUS
        elif intent in OPPOSITE and labels_intent(label, OPPOSITE[intent]):
            bonus -= OPPOSITE_PENALTY
        elif intent == "fix" and DESCRIBES_PROBLEM.search(label):  # "how do I fix X" is not "what is X"
            bonus -= INTENT_BONUS / 2
        elif intent == "define" and defines(unit.text, words):  # "X is a ...", "X, also known as ..."
            bonus += INTENT_BONUS
    if asked_language:
        named = unit_language(view, i)
        if named and named != asked_language:
            bonus -= LANGUAGE_PENALTY
    if words:
        heading_words = set(content_words(" ".join(view.paths[i])))
        stems = {w[:5] for w in heading_words}
        bonus += HEADING_WORDS_BONUS * sum(w[:5] in stems for w in words) / len(words)
    if any(ANSWER_HEADING.match(title) for title in view.paths[i][-2:]):
        bonus += INTENT_BONUS  # a Q&A note's "#### Answer" under its question: the answer itself, not its extras
    return bonus if unit.kind != "heading" else 0.0


def defines(text: str, words: Sequence[str]) -> bool:
    """True if a sentence defines something the question names ("The ROC curve is a graphical plot ...")."""
    found = DEFINES.search(text)
    return found is not None and bool(word_keys(words) & word_keys(content_words(text[: found.start()])))


def lead_texts(view: NoteView, i: int) -> list[str]:
    """The "...:" lines a unit continues, nearest first (a nested item's parents, a list's lead-in)."""
    texts: list[str] = []
    lead = view.units[i].lead
    while lead is not None and len(texts) < 4:
        texts.append(view.units[lead].text)
        lead = view.units[lead].lead
    return texts


def unit_language(view: NoteView, i: int) -> str | None:
    """The language a unit is about: its code fence's, else the one its headings name."""
    unit = view.units[i]
    if unit.kind == "code":
        fence = re.match(r"[`~]{3,}\s*([\w+#-]+)", unit.text.strip())
        if fence:
            return language(fence.group(1))
    return language(" ".join(view.paths[i][-2:]))


def intent_sections(view: NoteView, anchor: int, asked: set[str], words: Sequence[str]) -> list[int]:
    """Units of the sections in the anchor's topic whose headings announce what the question wants and whose
    heading path names its subject ("Solutions to Some LSTM Issues" for "my LSTM overfits, what can I do?").

    Retrieval finds the passage about the problem; the remedies often sit in a section of their own.
    """
    topic = view.section(anchor, depth=1)
    subject = word_keys([w for w in words if not any(labels_intent(w, intent) for intent in asked)])
    found: list[int] = []
    for j in range(topic.start, topic.end + 1):
        unit = view.units[j]
        own = OWN_LABEL.match(unit.text) if unit.kind == "item" and is_lead_in(unit) else None
        label = unit.text if unit.kind == "heading" else own.group(1) if own else ""
        announces = label and (any(labels_intent(label, intent) for intent in asked & LIST_INTENTS)
                               or ("use" in asked and USE_HEADING.search(label) is not None))
        if not announces or not subject & word_keys(content_words(" ".join(view.paths[j]))):
            continue
        if unit.kind == "heading":  # "### Limitations of IoU Loss": its section
            section = view.section(j)
            found += range(section.start, min(section.end, section.start + MAX_INTENT_UNITS) + 1)
        else:  # "5. **Strengths**:" with its sub-items
            found += [j, *(k for k in range(j + 1, min(j + MAX_INTENT_UNITS, topic.end + 1)) if leads_to(view, k, j))]
    return found[: 3 * MAX_INTENT_UNITS]


def leads_to(view: NoteView, k: int, j: int) -> bool:
    """True if unit k continues unit j (directly or through parents)."""
    lead = view.units[k].lead
    while lead is not None and lead >= j:
        if lead == j:
            return True
        lead = view.units[lead].lead
    return False


def word_keys(words: Sequence[str]) -> set[str]:
    """Words as compared with headings: their first five letters without a plural "s", and the initials of
    runs of words ("recurrent neural networks" also gives "rnn")."""
    keys = {w.rstrip("s")[:5] for w in words}
    for size in (2, 3, 4):
        keys |= {"".join(w[0] for w in words[n : n + size]) for n in range(len(words) - size + 1)}
    return keys


def code_after(view: NoteView, line: int, asked_language: str) -> list[int]:
    """The first code block in the asked language within a few units after a line, in the same topic."""
    after = view.units_in(line + 1, line + 1_000_000)[:CODE_LOOKAHEAD]
    if not after:
        return []
    topic = view.section(after[0], depth=1)
    for i in after:
        if i > topic.end:
            break
        if view.units[i].kind == "code" and unit_language(view, i) == asked_language:
            return [i]
    return []
