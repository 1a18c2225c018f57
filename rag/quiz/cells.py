"""Cell cards: a notebook's markdown cell that asks or says what the code cell under it does ("You can get the total
number of nodes in the tree:", "Load environment variables.", "How do you read a CSV file?"), asked as "How do you
…?" and answered by that code and the output it printed (pure).

Notebooks are written one way whatever their subject: prose that announces a step, then the code that takes it,
then what it printed. Markdown notes that write "Here's how to …:" over a code block are read the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from rag.answer.note import NoteView
from rag.answer.units import Unit, is_output
from rag.quiz.card import Card, Point, make_card
from rag.quiz.commands import how_to, opens_with_verb, topic
from rag.quiz.wording import asks

MAX_CODE_LINES = 15  # a longer cell draws a figure or trains a model: too much to recall as an answer
MAX_OUTPUT_LINES = 10
MIN_STEP_WORDS = 3
GAP = 2  # lines between the markdown cell and its code
# What opens a sentence that says what the next cell does, before the step itself.
OPENERS = re.compile(
    r"^(?:(?:so|now|and|then|next|finally|first|second|lastly|also|alternatively|similarly)\b,?\s+)*"
    r"(?:(?:you|we|one) (?:can|could|may|will|should|need to|have to|must)(?: also| now| then| easily| simply)?\s+"
    r"|here(?:'s|’s| is) how(?: (?:you|we) (?:can|could)| to)?\s+"
    r"|let(?:'s|’s| us)\s+(?!(?:see|look|try|check|take|go|start|do|have|now|say|just|assume|run it)\b)"
    r"|(?:the )?following (?:code|command|cell|line|snippet)s? (?:will |can |shows? how to )?)", re.I)
# A verb in the third person after "The following command …" ("converts"): the step in the imperative.
THIRD_PERSON = re.compile(r"^(\w+?)(?:es|s)\b")


def cell_cards(view: NoteView) -> Iterator[Card]:
    """Every code cell (or code block) that the prose right above it announces or asks for."""
    for i, unit in enumerate(view.units):
        if unit.kind != "code" or is_output(unit) or i == 0 or not fits(unit):
            continue
        above = view.units[i - 1]
        if above.kind != "sentence" or above.end_line < unit.start_line - GAP - 1:
            continue
        question = cell_question(view, i, above)
        if question:
            yield make_card(view, i, question, "code", cell_points(view, i))


def cell_question(view: NoteView, i: int, above: Unit) -> str:
    """The question the prose over code cell i asks: its own, when it asks one; else the step it announces."""
    paragraph = [u for u in view.units[:i] if u.kind == "sentence" and u.block == above.block]
    if above.text.rstrip("*_ ").endswith("?") and asks(plain(above.text)):  # "How do you read a CSV file?"
        return plain(above.text)
    if above.text.rstrip("*_ ").endswith(":"):  # "You can get the total number of nodes in the tree:"
        return step_question(view, i, plain(above.text))
    first = plain(paragraph[0].text if paragraph else above.text)  # "Load environment variables. You can …"
    return step_question(view, i, first) if first.endswith(".") and opens_with_verb(first) else ""


def step_question(view: NoteView, i: int, text: str) -> str:
    opener = OPENERS.match(text)
    if opener and opener.end():
        text = text[opener.end():]
        if re.match(r"(?:the )?following", opener.group(0), re.I):  # "converts the dot file" -> "convert …"
            verb = THIRD_PERSON.match(text)
            text = (base_verb(verb.group(0)) + text[verb.end():]) if verb else text
    if len(re.findall(r"[^\W\d_]{2,}", text)) < MIN_STEP_WORDS:  # "Output 1:", "To write simply:": a label
        return ""
    return how_to(text, topic(view, i))


def base_verb(word: str) -> str:
    """"converts" -> "convert", "pushes" -> "push": the imperative a how-to line uses."""
    stem = word[:-2] if word.endswith(("shes", "ches", "sses", "xes", "zes")) else word[:-1]
    return stem[:-1] + "y" if stem.endswith("ie") else stem


def plain(text: str) -> str:
    return re.sub(r"^[\s*_>]+|[\s*_]+$", "", text)


def cell_points(view: NoteView, i: int) -> list[Point]:
    """The code, then what it printed (the output cells right under it)."""
    code = view.units[i]
    points = [Point(code.text, code.start_line, code.end_line, "code")]
    last = code.end_line
    for unit in view.units[i + 1:]:
        if not is_output(unit) or unit.start_line > last + GAP + 1 or len(unit.text.split("\n")) > MAX_OUTPUT_LINES + 2:
            break
        points.append(Point(unit.text, unit.start_line, unit.end_line, "code"))
        last = unit.end_line
    return points


def fits(unit: Unit) -> bool:
    return len(unit.text.split("\n")) <= MAX_CODE_LINES + 2  # the fences
