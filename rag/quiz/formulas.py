"""Formula cards: a display formula asked as "Write the formula for ...", its legend as further points (pure)."""

from __future__ import annotations

import re

from rag.answer.note import NoteView
from rag.quiz.card import Card, make_card, point
from rag.quiz.wording import (
    FORMULA_VAGUE,
    LIST_NOUNS,
    VAGUE,
    asks,
    heading_title,
    term_case,
    topic_title,
    word_set,
)

# The bold term a formula's lead-in names: at its start, or as what "is defined as" / "is given by".
NAMED_FORMULA = re.compile(r"^\W*(?:\d{1,3}[.)]\s*)?(?:(?:the|an?)\s+)?\*\*(?P<term>[^*]{2,60}?)\*\*"
                           r"|\*\*(?P<named>[^*]{2,60}?)\*\*\s*(?:\([^)]{1,40}\)\s*)?"
                           r"(?:is|are|can be)\s+(?:defined|given|calculated|computed|expressed|written)", re.I)
# "..., the cross-entropy loss is given by:" (the clause after the last comma names it)
FORMULA_SUBJECT = re.compile(r"^(?:the\s+)?(?P<term>[\w\- ()]{3,40}?)\s+(?:is|are|can be)\s+"
                             r"(?:defined|given|calculated|computed|expressed|written)\s+(?:as|by)\b", re.I)
FORMULA_OF = re.compile(r"\b(?:formula|equation|expression)\s+(?:for|of)\s+(?:the\s+)?(?P<term>[\w\- ()]{3,50}?)"
                        r"\s*(?:is|:|$)", re.I)
LEGEND = re.compile(r"^\W*where\b", re.I)
LATEX_WORDS = word_set("""frac text sum cdot partial hat bar tilde times sqrt log exp prod int dots ldots cdots quad
leq geq le ge neq in mathbb mathrm mathbf begin end cases if left right operatorname max min lim approx""")
# A legend item opens with the symbol it explains: "- \\( y_i \\) is ...", "- $n$: ...", "- `lr` = ...".
LEGEND_SYMBOL = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+(?:\\\((.{1,200}?)\\\)|\$(.{1,60}?)\$|`(.{1,30}?)`)")
MAX_POINTS = 8  # an expected answer longer than this is a chapter, not a card


def formula_card(view: NoteView, i: int) -> Card | None:
    """A display formula, asked as "Write the formula for ..." with its legend ("Where: ...") as further points."""
    unit = view.units[i]
    name = formula_name(view, i)
    if not name:
        return None
    points = [point(unit)]
    j = i + 1
    if j < len(view.units) and LEGEND.match(view.units[j].text):
        legend_lead = j
        j += 1
        while (j < len(view.units) and view.units[j].kind == "item" and view.units[j].lead in (legend_lead, None)
               and explains(view.units[j].text, unit.text)):
            points.append(point(view.units[j]))
            j += 1
            if len(points) > MAX_POINTS:
                break
    if name.lower() in FORMULA_VAGUE:  # "**Definition**:" names the topic above it
        name = topic_title(view, i, name)
        if not name:
            return None
    elif len(name.split()) <= 2:  # "penalty term", "prediction step": of what, the topic above says
        topic = topic_title(view, i, name)
        name = f"the {name} ({topic})" if topic else name
    return make_card(view, i, f"Write the formula for {name}", "formula", points[:MAX_POINTS])


def explains(item: str, formula: str) -> bool:
    """A legend item says what a symbol of this formula is ("- \\( y_i \\) is the true label"); an item about
    something else ("- **Effect**: ...", symbols of other formulas) is not part of this formula's answer."""
    symbol = LEGEND_SYMBOL.match(item)
    if not symbol:
        return False
    def symbols(text: str) -> set[str]:  # letters and Greek letters, not LaTeX's own \frac, \text, \sum
        return {t.lstrip("\\") for t in re.findall(r"\\?[A-Za-z]+", text)} - LATEX_WORDS

    return bool(symbols(next(g for g in symbol.groups() if g)) & symbols(formula))


def formula_name(view: NoteView, i: int) -> str:
    """What a formula computes: the term its lead-in line names, or else the heading it sits under."""
    unit = view.units[i]
    lead = view.units[unit.lead] if unit.lead is not None else (view.units[i - 1] if i > 0 else None)
    if lead is not None and lead.kind != "heading" and lead.end_line >= unit.start_line - 2:
        named = FORMULA_OF.search(lead.text)
        if named:
            return re.sub(r"^the\s+", "", term_case(named.group("term").strip()), flags=re.I)
        clause = re.sub(r"[*_`]+", "", lead.text).rsplit(",", 1)[-1]
        subject = FORMULA_SUBJECT.match(re.sub(r"^[\W\d]+", "", clause))
        if subject and not re.match(r"(?:it|this|that|which|they|and|or|but|so|then|where)\b", subject.group("term"),
                                    re.I):
            return term_case(subject.group("term").strip())
        bold = NAMED_FORMULA.search(lead.text)
        term = (bold.group("term") or bold.group("named") or "") if bold else ""
        if term and len(term.split()) <= 6:
            return term_case(term.strip(" :"))
    title = heading_title(unit.context).rstrip(":?. ")
    words = re.findall(r"[\w&]+", title.lower())
    first = not any(u.kind == "formula" and view.paths[k] == view.paths[i] for k, u in enumerate(view.units[:i]))
    if (first and title and not VAGUE.match(title) and not asks(title) and len(words) <= 8
            and not (set(words) & (FORMULA_VAGUE | LIST_NOUNS))):
        return re.sub(r"^the\s+", "", term_case(title), flags=re.I)
    return ""
