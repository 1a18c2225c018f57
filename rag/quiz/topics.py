"""Topic cards: a heading that names a topic over prose ("## Initiative" then "Initiative determines …") asked as
"Explain initiative (combat)", answered by its opening sentences (pure)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.answer.note import NoteView
from rag.answer.units import is_lead_in, is_output
from rag.ingest.blocks import plain_share
from rag.quiz.card import Card, Point, answers_here, make_card, merge_nested, point
from rag.quiz.terms import definition_card, plural_verb
from rag.quiz.wording import GENERIC_WORDS, asks, explain, heading_title, names_topic, shares_word, term_case, word_set

OPENING_SENTENCES = 3  # a topic's answer: the sentences that open its section (and what the last one leads into)
MAX_LED = 6  # items, rows or code a lead-in brings along
LINK = re.compile(r"!?\[[^\]]*\]\([^)]*\)|<?https?://\S+")
# A heading that says something rather than names it: "MAE is not differentiable at the origin", "err(x) = …",
# "To tag an image" (a cheat sheet's how-to line, asked as such).
STATEMENT = re.compile(r"=|\b(?:is|are|was|were|has|have|isn't|aren't|that's|why|because|we|you|i)\b|^to\s", re.I)
# One word that heads a part of a page rather than naming a thing ("## Algorithm", "## Techniques").
GENERIC_TOPICS = GENERIC_WORDS | word_set("""algorithm implementation implementations notebook notebooks complexity
application overview background motivation problem solution idea approach method methods usage basics""")
HATNOTE = re.compile(r"^\W*(?:main articles?|see also|further information|for more (?:information|details))\s*:", re.I)
MIN_WORDS = 10
NAVIGATION_WORDS = 6


def topic_card(view: NoteView, i: int, title: str, body: Sequence[int]) -> Card | None:
    """Heading i over prose (`body`: the units before its first sub-heading), when the prose is about it."""
    if not names_topic(title) or STATEMENT.search(title):
        return None
    points = opening_points(view, body)
    said = " ".join(p.text for p in points)
    if len(re.findall(r"\w+", said)) < MIN_WORDS or not shares_word(title, said) \
            or any(p.kind == "formula" for p in points):
        return None  # "Regression" over "Let's prepare a training set:" is about something else; a formula has its card
    question = explain(view, i, title)
    under_question = len(view.paths[i]) > 1 and asks(heading_title(view.paths[i][-2]))
    opening = re.sub(r"[*_`]+", "", points[0].text).lower()
    named = len(title.split()) == 1 and shares_word(title, opening) or title.lower() in opening
    if not question and not under_question and named and title.lower() not in GENERIC_TOPICS:
        name = title.lower() if title.isupper() and len(title) > 5 else term_case(title)  # "# COMBAT"
        # a title over what it is: "# Trie", "# Counting Sort" (a gerund first, which reads as a step elsewhere)
        question = f"What {plural_verb(title)} {name}?" if len(title.split()) == 1 else f"Explain {name}"
    return make_card(view, i, question, "question", points) if question else None


def opening_points(view: NoteView, body: Sequence[int]) -> list[Point]:
    """The first sentences under a heading, if the section opens with prose; a definition there has its own card."""
    units = [j for j in body if answers_here(view.units[j]) and not is_output(view.units[j])
             and not is_navigation(view.units[j].text) and not HATNOTE.match(view.units[j].text)]
    if not units or view.units[units[0]].kind != "sentence" or not reads_as_prose(view.units[units[0]].text):
        return []
    if definition_card(view, units[0]):
        return []
    points: list[Point] = []
    lead = False
    for j in units:
        unit = view.units[j]
        if unit.kind == "sentence":
            if lead or len(points) >= OPENING_SENTENCES or not reads_as_prose(unit.text):
                break
            lead = is_lead_in(unit)
        elif not lead or len(points) > OPENING_SENTENCES + MAX_LED:
            break
        points.append(point(unit))
    return merge_nested(view, points)


def reads_as_prose(text: str) -> bool:
    """A sentence of words ("Initiative determines the order of turns."), not a formula, command or caption: it
    opens like a sentence, ends like one, and is mostly plain words."""
    words = text.split()
    opens = text.lstrip("*_\"'([> ")[:1]
    closes = re.search(r"[.!?:)][*_\"']*$", text.rstrip()) is not None
    return len(words) >= 5 and plain_share(text) >= 0.6 and closes and (opens.isupper() or opens.isdigit()
                                                                          or text.lstrip().startswith("`"))


def is_navigation(text: str) -> bool:
    """A line of links with a few words around them ("_Read this in other languages:_ [français](README.fr.md)")."""
    links = list(LINK.finditer(text))
    return bool(links) and len(re.findall(r"[^\W\d_]{2,}", LINK.sub(" ", text))) <= NAVIGATION_WORDS
