"""Definition cards: a term the notes define ("**Encapsulation** is …", "X refers to …"), asked back as "What is
…?" with the lines that define it (pure)."""

from __future__ import annotations

import re

from rag.answer.note import NoteView
from rag.quiz.card import Card, answers_here, make_card, point
from rag.quiz.wording import term_case

# "**Term** is a ...", "An **abstract class** is a class ...", "**RNNs** are a class ...", "X refers to ..."
DEFINES = re.compile(
    r"^(?P<article>(?:an?|the)\s+)?\*\*(?P<term>[^*]{2,60}?)\*\*(?P<aside>\s*\([^)]{1,40}\))?\s*,?\s+"
    r"(?P<verb>is|are|refers? to)\s+(?:an?\b|the\b|one of\b|defined as\b|used (?:to|for)\b|when\b|a set of\b)", re.I)
PLAIN_REFERS = re.compile(r"^(?:the\s+)?(?P<term>[A-Za-z][\w\- ]{2,40}?)\s+(?P<verb>refers? to)\s+(?!this|that|it)\S",
                          re.I)


def definition_card(view: NoteView, i: int) -> Card | None:
    """"**Encapsulation** is ..." asked back as "What is encapsulation?", answered by its sentence (and the next)."""
    unit = view.units[i]
    text = re.sub(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+", "", unit.text) if unit.kind == "item" else unit.text
    found = DEFINES.match(text) or (PLAIN_REFERS.match(text) if unit.kind == "sentence" else None)
    if not found or text.rstrip("*_ ").endswith(":"):  # "X is defined as:" introduces a formula, its own card
        return None
    term = found.group("term").strip(" :")
    if len(term.split()) > 6 or not re.search(r"[A-Za-z]{2}", term):
        return None
    aside = (found.groupdict().get("aside") or "").strip()
    article = (found.groupdict().get("article") or "").lower()
    name = f"{article}{term_case(term)} {aside}".strip()
    verb = "are" if found.group("verb").lower() == "are" or (found.group("verb").lower() == "refer to") else "is"
    points = [point(unit)]
    nxt = i + 1
    if unit.kind == "sentence":  # the rest of the paragraph explains the definition, up to two more sentences
        while (nxt < len(view.units) and len(points) < 3 and view.units[nxt].kind == "sentence"
               and view.units[nxt].block == unit.block and answers_here(view.units[nxt])):
            points.append(point(view.units[nxt]))
            nxt += 1
    else:  # an item's nested items
        while nxt < len(view.units) and view.units[nxt].kind == "item" and view.units[nxt].depth > unit.depth:
            points.append(point(view.units[nxt]))
            nxt += 1
        points = points[:4]
    if len(re.findall(r"\w+", " ".join(p.text for p in points))) < 8:
        return None
    return make_card(view, i, f"What {verb} {name}?", "definition", points)
