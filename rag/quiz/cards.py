"""A note's units -> study cards: questions the notes ask or define, each with its expected answer's lines (pure)."""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator, Sequence
from dataclasses import replace

from rag.answer.labels import ANSWER_HEADING
from rag.answer.note import NoteView
from rag.answer.question import content_words
from rag.answer.select import is_filler
from rag.answer.units import PLACEHOLDER, is_lead_in
from rag.ingest.headings import FENCE
from rag.quiz.card import KINDS, RULES, Card, Point, answers_here, card_id, make_card, merge_nested, point
from rag.quiz.cells import cell_cards
from rag.quiz.commands import COMMENT, command_cards
from rag.quiz.formulas import MAX_POINTS, formula_card
from rag.quiz.terms import DEFINES, definition_card, run_in_cards
from rag.quiz.topics import topic_card
from rag.quiz.wording import (
    ABOUT_PARENT,
    ASKS,
    CHAT,
    GENERIC_WORDS,
    IMPERATIVE_ASK,
    LIST_NOUNS,
    NONE,
    VAGUE,
    VAGUE_WORDS,
    asks,
    explain,
    heading_title,
    is_title_case,
    parent_title,
    sentence_case,
    shares_word,
    term_case,
    word_set,
)

__all__ = ["KINDS", "RULES", "Card", "Point", "card_id", "derive_cards"]

MIN_ITEMS, MAX_ITEMS = 2, 12
# A line that is one bold question: "**What is a subnet mask?**", "<summary><b>What is a CLI?</b></summary><br>"
BOLD_QUESTION = re.compile(r"^\s*(?:<details>\s*)?(?:<summary>\s*)?(?:\*\*|__|<b>|<strong>)"
                           r"(?P<question>[^*_<>]{6,240}?\?)[\s*]*(?:\*\*|__|</b>|</strong>)"
                           r"\s*(?:</summary>)?\s*(?:<br\s*/?>)?\s*$", re.I)
PARENTHESISED = re.compile(r"\s*\([^()]*\)")
MARKUP = re.compile(r"<[^>]+>")
LINKED = re.compile(r"!?\[[^\]]*\]\([^)]*\)|<?https?://\S+|^\s*(?:[-*+]|\d{1,3}[.)])\s+")  # a link and its words
POINTER = re.compile(r"^\W*(?:see|refer to|read|for more|more at|check out)\b.{0,80}$", re.I)
TRAILING = word_set("with to for of in on by from and or the a an as")
# A collapsed answer's end, or the links that close it ("Useful resources:")
END_OF_ANSWER = re.compile(
    r"^\s*(?:</details>|(?:useful )?(?:resources|references|links|further reading|see also):?)\s*$", re.I)


def derive_cards(view: NoteView) -> list[Card]:
    """Every card the note makes, in note order; a question asked twice in a note is kept once (the first), and so
    is an answer two rules find ("**What is DevOps?**" over "**DevOps** is …": the question the notes ask), an answer
    the notes write twice word for word, and a question asked again with or without an abbreviation ("… false
    positive rate" / "… false positive rate (FPR)") or about the same lines ("What is IoU?" / "What is IoU
    (Intersection over Union)?")."""
    cards: dict[str, Card] = {}
    answered: set[str] = set()
    asked: dict[str, list[Card]] = {}
    for card in sorted(candidates(view), key=lambda c: (c.start_line, KINDS.index(c.kind))):
        if card.id in cards or card.answer.strip() in answered or not well_formed(card):
            continue
        bare = card_id("", PARENTHESISED.sub(" ", card.question))
        if any(near_duplicate(card, other) for other in asked.get(bare, [])):
            continue
        cards[card.id] = card
        answered.add(card.answer.strip())
        asked.setdefault(bare, []).append(card)
    return sorted(cards.values(), key=lambda c: c.start_line)


def near_duplicate(card: Card, other: Card) -> bool:
    """Two questions that differ only by a parenthesis: the same question when the parenthesis is an abbreviation
    or a gloss of the words ("(FPR)", "(Intersection over Union)"), or when they ask about the same lines; two
    questions when it names another topic ("… loss (binary)" / "… loss (multi-class)")."""
    overlap = card.start_line <= other.end_line and other.start_line <= card.end_line
    asides = set(PARENTHESISED.findall(card.question)) ^ set(PARENTHESISED.findall(other.question))
    return overlap or all(is_abbreviation(a.strip(" ()"), card.question + " " + other.question) for a in asides)


def is_abbreviation(aside: str, question: str) -> bool:
    """"FPR" for "false positive rate", "Intersection over Union" for "IoU": letters of one are the initials of
    the other."""
    words = re.findall(r"[A-Za-z][\w-]*", PARENTHESISED.sub(" ", question))
    aside_words = re.findall(r"[A-Za-z][\w-]*", aside)
    if len(aside_words) == 1:  # "(FPR)": its capitals are the initials of consecutive words of the question
        letters = re.sub(r"s$", "", aside_words[0]).lower()
        initials = "".join(w[0] for w in words).lower()
        return len(letters) >= 2 and letters in initials
    small = ("of", "over", "and", "the", "for", "in")
    glosses = {"".join(w[0] for w in aside_words).lower(),
               "".join(w[0] for w in aside_words if w.lower() not in small).lower()}
    return any(re.sub(r"s$", "", w).lower() in glosses for w in words)


def candidates(view: NoteView) -> Iterator[Card]:
    yield from bold_question_cards(view)
    yield from command_cards(view)
    yield from cell_cards(view)
    yield from run_in_cards(view)
    for i, unit in enumerate(view.units):
        if unit.kind == "heading":
            yield from heading_cards(view, i)
        elif unit.kind in ("sentence", "item"):
            card = definition_card(view, i)
            if card:
                yield card
        elif unit.kind == "formula":
            card = formula_card(view, i)
            if card:
                yield card


def heading_cards(view: NoteView, i: int) -> Iterator[Card]:
    title = heading_title(view.units[i].text)
    if not title or is_filler(title) or (VAGUE.match(title) and not asks(title)):
        return
    body = section_body(view, i)
    if asks(title):
        if CHAT.match(title):  # "so only difference is ...?": a turn of a conversation, not a question to study
            return
        points = (intro_points(view, body, title) or answer_heading_points(view, i, body, title)
                  or subheading_points(view, i, body))
        if points:
            kind = "code" if all(p.kind == "code" for p in points) else "question"
            yield make_card(view, i, ask_about(view, i, title), kind, points)
        return
    items = list_points(view, body)
    if items:
        question, kind = list_question(view, i, title, len(items))
        if question:
            yield make_card(view, i, question, kind, items)
        return
    card = topic_card(view, i, title, body[: next((n for n, j in enumerate(body) if view.units[j].kind == "heading"),
                                                  len(body))])
    if card:
        yield card


def ask_about(view: NoteView, i: int, title: str) -> str:
    """A heading's question in sentence case; one that names nothing ("When to use which?") gets its topic."""
    title = title.rstrip("?:. ")
    mark = "" if IMPERATIVE_ASK.match(title) else "?"  # "Define a get completion function", not "…function?"
    question = sentence_case(term_case(title) if is_title_case(title) else title) + mark
    if not set(content_words(title)) - VAGUE_WORDS:
        parent = parent_title(view, i)
        return f"{question.rstrip('?')} ({parent}){mark}" if parent else question
    return question


def list_question(view: NoteView, i: int, title: str, n: int) -> tuple[str, str]:
    """("Name the advantages of SVM (3)", "list") for a list heading; ("Explain overfitting (issues with RNN)",
    "question") for a topic heading with a list under it; ("", "") when the heading says too little."""
    name = term_case(title)
    words = re.findall(r"[\w&]+", title.lower())
    template = ABOUT_PARENT.get(" ".join(words))
    parent = parent_title(view, i)
    if template:
        return (template.format(parent=parent, n=n), "list" if "{n}" in template else "question") if parent else NONE
    if all(w in GENERIC_WORDS for w in words):  # "Key Points", "Advantages and Disadvantages"
        return (f"Name the {name} of {parent} ({n})", "list") if parent else NONE
    head = next((w for w in words if w in LIST_NOUNS), None)
    if head and words.index(head) <= 2:
        above = heading_title(view.paths[i][-2]).lower() if len(view.paths[i]) > 1 else ""
        if above.split()[-1:] and above.split()[-1] in LIST_NOUNS:  # "Imputation Techniques > Numerical Features"
            return f"Name the {term_case(above)} for {name} ({n})", "list"
        bare = not set(words) & {"of", "in", "to", "for", "between", "with", "on"}
        if bare and parent and not shares_word(title, parent):
            return f"Name the {name} of {parent} ({n})", "list"
        return f"Name the {name} ({n})", "list"
    question = explain(view, i, title)
    return (question, "question") if question else NONE


def section_body(view: NoteView, i: int) -> list[int]:
    """The units under heading i up to the next heading of its level or above."""
    path = view.paths[i] if i < len(view.paths) else ()
    body = []
    for j in range(i + 1, len(view.units)):
        if view.units[j].kind == "heading" and len(view.paths[j]) <= len(path):
            break
        body.append(j)
    return body


def intro_points(view: NoteView, body: Sequence[int], question: str) -> list[Point]:
    """What stands under a question before its first sub-heading (or the definition of another term): the answer
    as the notes open it."""
    points: list[Point] = []
    for j in body:
        unit = view.units[j]
        if unit.kind == "heading" or END_OF_ANSWER.match(unit.text):
            break
        if PLACEHOLDER.match(unit.text):  # "To be completed.": the notes ask it but don't answer it
            return []
        defined = DEFINES.match(unit.text) if unit.kind == "sentence" else None
        if points and defined and not shares_word(defined.group("term"), question):
            break
        if points and unit.kind == "sentence" and not answers_here(unit):  # "Would you like …?" ends the turn
            break
        if answers_here(unit) and not (is_lead_in(unit) and len(unit.text.split()) <= 6):
            points.append(point(unit))
    return merge_nested(view, points)[:MAX_POINTS]


def answer_heading_points(view: NoteView, i: int, body: Sequence[int], question: str) -> list[Point]:
    """A question whose first sub-heading is "Answer": what stands under that sub-heading."""
    first = next((j for j in body if view.units[j].kind == "heading"), None)
    if first is None or len(view.paths[first]) != len(view.paths[i]) + 1:
        return []
    if not ANSWER_HEADING.match(heading_title(view.units[first].text)):
        return []
    return intro_points(view, section_body(view, first), question)


def bold_question_cards(view: NoteView) -> Iterator[Card]:
    """A bold line that asks ("**Why use VLANs?**"), answered by what follows it up to the next such line,
    heading or `</details>`."""
    asked = [(n + 1, m.group("question")) for n, line in enumerate(view.lines) if (m := BOLD_QUESTION.match(line))]
    for n, (line, question) in enumerate(asked):
        nxt = asked[n + 1][0] if n + 1 < len(asked) else None
        question = re.sub(r"\s+", " ", question).strip()
        if not asks(question) or CHAT.match(question):
            continue
        body = bold_answer_body(view, line, nxt)
        points = [answer_part(p, question) for p in intro_points(view, body, question)]
        if points:
            kind = "code" if all(p.kind == "code" for p in points) else "question"
            yield make_card(view, body[0], question, kind, points)


def bold_answer_body(view: NoteView, line: int, next_question: int | None) -> list[int]:
    """The units after a bold question's line (one that runs on past it too), up to where its answer ends."""
    body = []
    for j in range(max(0, bisect.bisect_right(view.first_unit_at, line) - 1), len(view.units)):
        unit = view.units[j]
        if unit.end_line <= line:
            continue
        if unit.kind == "heading" or END_OF_ANSWER.match(unit.text) or \
                (next_question is not None and unit.end_line >= next_question):
            break
        body.append(j)
    return body


def answer_part(p: Point, question: str) -> Point:
    """A point without the bold question its paragraph opens with ("**Q?** A subnet mask is ...")."""
    at = p.text.find(question)
    if at < 0:
        return p
    rest = re.sub(r"^[\s*_]*(?:</b>|</strong>)?\s*(?:</summary>)?\s*(?:<br\s*/?>)?\s*", "", p.text[at + len(question):])
    return replace(p, text=rest) if rest else p


def subheading_points(view: NoteView, i: int, body: Sequence[int]) -> list[Point]:
    """A question answered by its sub-headings ("1. Reducing complexity", "2. ..."), each with its first line."""
    depth = len(view.paths[i]) + 1
    points = []
    for j in body:
        unit = view.units[j]
        if unit.kind != "heading" or len(view.paths[j]) != depth:
            continue
        title = heading_title(unit.text).rstrip(":")
        if not title or VAGUE.match(title):
            continue
        first = next((k for k in range(j + 1, min(j + 6, len(view.units))) if answers_here(view.units[k])), None)
        if first is not None and view.units[first].kind in ("sentence", "item") and view.paths[first] == view.paths[j]:
            nxt = view.units[first]
            points.append(Point(f"{title}: {nxt.text}", unit.start_line, nxt.end_line, "item"))
        else:
            points.append(Point(title, unit.start_line, unit.end_line, "item"))
    return points[:MAX_POINTS] if len(points) >= MIN_ITEMS else []


def list_points(view: NoteView, body: Sequence[int]) -> list[Point]:
    """The top-level items (or table rows) right under a heading, each with its nested items' lines."""
    units = [j for j in body if view.units[j].kind != "heading" or False]
    first_heading = next((n for n, j in enumerate(body) if view.units[j].kind == "heading"), len(body))
    units = [j for j in body[:first_heading] if answers_here(view.units[j])]
    if not units:
        return []
    kinds = {view.units[j].kind for j in units}
    if kinds <= {"item"}:
        top = min(view.units[j].depth for j in units)
        points = merge_nested(view, [point(view.units[j]) for j in units], top)
    elif kinds <= {"row"}:
        points = [point(view.units[j]) for j in units]
    else:
        return []
    return points if MIN_ITEMS <= len(points) <= MAX_ITEMS else []


def well_formed(card: Card) -> bool:
    """A card worth asking: a question that names something, an answer that says something (not only links,
    markup, a pointer elsewhere or "To be completed."), and says it about what the question asks."""
    if not card.points or is_fragment(card.question) or not says_something(card):
        return False
    if card.kind in ("formula", "code", "list"):
        return True
    asked = {w.rstrip("s") for w in content_words(card.question)} - VAGUE_WORDS
    said = {w.rstrip("s") for w in content_words(card.answer)}
    return bool(asked & said)


def is_fragment(question: str) -> bool:
    """"Explain contents", "Name the tips of": too short to name anything, or trailing off. A short question the
    notes ask themselves ("Why LSTM?", "What is it used for?") is one."""
    tokens = re.sub(r"\s*\([^)]*\)\s*\??$", "", question).rstrip("?. ").split()
    if not tokens or (tokens[-1].lower() in TRAILING and not question.endswith("?")):
        return True
    return len(question.split()) < 3 and not (question.endswith("?") and ASKS.match(question))


def says_something(card: Card) -> bool:
    """The answer has words of its own beyond links, HTML and "See …" pointers, and is not a placeholder."""
    if PLACEHOLDER.match(card.answer):
        return False
    if card.kind == "code":  # `curl <url>` is a command, <url> its argument; a bare address is a link
        code = "\n".join(line for line in card.answer.split("\n") if not COMMENT.match(line) and not FENCE.match(line))
        return len(re.findall(r"\w+", code)) >= 2 and not re.fullmatch(r"\s*<?https?://\S+\s*", card.answer)
    texts = [LINKED.sub(" ", MARKUP.sub(" ", p.text)) for p in card.points]
    if all(POINTER.match(t) for t in texts):
        return False
    words = re.findall(r"\w+", " ".join(texts))
    return len(words) >= (2 if card.kind == "code" else 4)
