"""Which lines of a PDF are headings, and at what level (pure).

A heading is one line that heads the text below it, set apart by its type:
- large type: at least HEADING_SCALE times the body's font size, from its first character to its last;
- or bold type at body size or larger, the whole line, over text that is not bold and starts under its first
  letter, and not indented from the line above it: a table's header row and a code block's label are indented
  or stand at the top of a column, a section title is not (at the top of a column only a bold line set larger
  than the body counts). Where most of the body text is bold, bold sets nothing apart (a table's rows, which
  carry its bold header row's type, are not counted).
And its text reads as a title: at least one real word (three letters or more, not "XT", "Xm", "φ": glyphs of
a formula's large sums and brackets), mostly letters, not a sentence, not a date ("November 26, 2018"), a
byline ("By …") or a URL. Under the title of page 1, the list of its authors' names ("Afshine Amidi and Shervine
Amidi") is not a heading either, nor the next line of a title set on two ("with Git, Bash and Vim").
Levels `#`, `##`, `###` go by font size among the headings, largest first; sizes within HEADING_SCALE of the
largest of a level share it.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rag.ingest.pdf_lines import Line

HEADING_SCALE = 1.2  # a line this much larger than the body text is a heading
MAX_HEADING_CHARS = 80
INDENT = 2.0  # points: a bold line starting this far right of the line above it is indented

WORD = re.compile(r"[^\W\d_]+")
LEADERS = re.compile(r"(?:\.\s?){4,}")  # a table of contents' dots
URL = re.compile(r"\b(?:https?://|www\.)\S|\b[\w.+-]+@[\w-]+\.\w", re.IGNORECASE)
MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?"
         r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
DAY = r"\d{1,2}(?:st|nd|rd|th)?"
DATE = re.compile(
    r"^(?:(?:last\s+)?(?:updated|revised|modified)(?:\s+on)?:?\s*|date:?\s*)?"
    r"(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day,?\s+)?"
    rf"(?:{MONTH}\s+{DAY},?\s+\d{{4}}|{DAY}\s+(?:of\s+)?{MONTH},?\s+\d{{4}}|{MONTH},?\s+\d{{4}}"
    r"|\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.]\d{1,2}[/.]\d{2,4}"
    r"|(?:spring|summer|fall|autumn|winter)(?:\s+(?:term|quarter|semester))?,?\s+\d{4})$",
    re.IGNORECASE)
BYLINE = re.compile(r"^(?:(?:written\s+|compiled\s+|edited\s+)?by|authors?:)\s+\S", re.IGNORECASE)
NAME = r"[A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*){1,3}"  # "Afshine Amidi", "J. R. Smith"
NAMES = re.compile(rf"^{NAME}(?:\s*,\s*{NAME})*\s*,?\s+(?:and|&)\s+{NAME}$")


def heading_levels(pages: list[list[Line]]) -> list[list[int]]:
    """The heading level (1-3) of each line of each page, 0 for a line of text."""
    lines = [line for page in pages for line in page]
    body = body_size(lines)
    if body <= 0:
        return [[0] * len(page) for page in pages]
    # a table's rows carry its header row's type, so they say nothing of how the body is set
    text = [line for line in lines if line.size == body and not line.table]
    bold_body = 2 * sum(len(line.text) for line in text if line.bold) >= sum(len(line.text) for line in text)
    first = next((n for n, page in enumerate(pages) if page), -1)
    heads = [[is_heading(page, k, body, not bold_body, n == first and 0 < k < title_end(page, body))
              for k in range(len(page))] for n, page in enumerate(pages)]
    level = size_levels({line.size for page, flags in zip(pages, heads) for line, head in zip(page, flags) if head})
    return [[level[line.size] if head else 0 for line, head in zip(page, flags)] for page, flags in zip(pages, heads)]


def size_levels(sizes: set[float]) -> dict[float, int]:
    """Heading font size -> level 1-3, largest first; a size less than HEADING_SCALE below the largest of a level
    shares that level (a section title in 10 points among others in 9 is not their parent)."""
    level: dict[float, int] = {}
    top, current = 0.0, 0
    for size in sorted(sizes, reverse=True):
        if not top or top >= size * HEADING_SCALE:
            top, current = size, min(current + 1, 3)
        level[size] = current
    return level


def body_size(lines: list[Line]) -> float:
    """The body text's font size: the one most characters are set in (0 with no lines)."""
    weights: Counter[float] = Counter()
    for line in lines:
        weights[line.size] += len(line.text)
    return weights.most_common(1)[0][0] if weights else 0.0


def is_large(line: Line, body: float) -> bool:
    return body > 0 and min(line.size, line.end_size or line.size) >= body * HEADING_SCALE


def title_end(page: list[Line], body: float) -> int:
    """How many lines at the top of the page are in large type: the title and what is set under it."""
    return next((k for k, line in enumerate(page) if not is_large(line, body)), len(page))


def is_heading(page: list[Line], k: int, body: float, bold_sets_apart: bool, under_title: bool) -> bool:
    """Whether line k of the page heads a section (see the module's docstring)."""
    line = page[k]
    if line.table or not heading_text(line.text):
        return False
    if is_large(line, body):
        continues = k > 0 and page[k - 1].size == line.size and line.text[:1].islower()
        return not continues and not (under_title and NAMES.match(line.text))
    return bold_sets_apart and is_bold_title(page, k, body)


def is_bold_title(page: list[Line], k: int, body: float) -> bool:
    """A bold line at body size or larger, with the text it heads starting under its first letter, not bold and
    not larger, and no line above it in its column that starts further left. At the top of a column (nothing
    above it), where a table's header row sits as often as a title, only a line set larger than the body."""
    line = page[k]
    after = page[k + 1] if k + 1 < len(page) else None
    if not line.bold or line.size < body or after is None or after.bold or after.size > line.size \
            or abs(after.left - line.left) > INDENT:
        return False
    before = page[k - 1] if k else None
    if before is None or before.bottom <= line.bottom:  # the line before it ends another column or page
        return line.size > body
    return line.left <= before.left + INDENT


def heading_text(text: str) -> bool:
    """Whether a line's text reads as a title (see the module's docstring)."""
    if len(text) > MAX_HEADING_CHARS or text.endswith((".", ",", ";")) or LEADERS.search(text):
        return False
    words = WORD.findall(text)
    if not any(is_word(word) for word in words) or 2 * sum(map(len, words)) < len("".join(text.split())):
        return False
    return not (DATE.match(text) or BYLINE.match(text) or URL.search(text))


def is_word(token: str) -> bool:
    """Three letters or more, in one case or capitalised: "Loss", "loss", "SQL"; not "XTy", "Xm", "h"."""
    return len(token) >= 3 and (token.islower() or token.isupper() or token[1:].islower())
