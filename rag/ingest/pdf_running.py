"""Which lines at the top and foot of a PDF's pages are running headers, footers and page numbers (pure).

A line among the first EDGE_LINES or last EDGE_LINES of a page is running when it repeats at that place, in the
same font size, on at least half of the pages and on two at least: as is, with its page number changed (numbers
masked, the first one's offset from the page's index kept: "Stanford University 3 Fall 2018" on page 3 repeats
"Stanford University 2 Fall 2018" on page 2), or as a line that starts or ends with the page number ("Chapter 3:
Utilities 7"). They go from each edge inwards, and so do lines of a bare page number ("3", "Page 3 of 9", "- 3 -").
"""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rag.ingest.pdf_lines import Line

EDGE_LINES = 2  # how many lines at the top and at the bottom of a page may be a running header or footer
PAGE_NUMBER = re.compile(r"^(?:page\s+)?[-–—(\[]?\s*\d{1,5}\s*[-–—)\]]?(?:\s*(?:/|of)\s*\d{1,5})?$", re.IGNORECASE)
NUMBER = re.compile(r"\d{1,6}")
FIRST_NUMBER = re.compile(r"^\W{0,3}(\d{1,6})\b")
LAST_NUMBER = re.compile(r"\b(\d{1,6})\W{0,3}$")


def drop_running_lines(pages: list[list[Line]]) -> list[list[Line]]:
    """The pages without their running headers and footers and their page-number lines."""
    repeated = running_keys(pages)
    bodies = []
    for index, lines in enumerate(pages):
        top, bottom = 0, len(lines)
        # from each edge inwards, while the lines repeat
        while top < min(bottom, EDGE_LINES) and is_running(repeated, top, lines[top], index):
            top += 1
        while bottom > max(top, len(lines) - EDGE_LINES) \
                and is_running(repeated, bottom - 1 - len(lines), lines[bottom - 1], index):
            bottom -= 1
        while top < bottom and PAGE_NUMBER.match(lines[top].text):
            top += 1
        while top < bottom and PAGE_NUMBER.match(lines[bottom - 1].text):
            bottom -= 1
        bodies.append(lines[top:bottom])
    return bodies


def keys(line: Line, page_index: int) -> list[tuple[str, float, int | None]]:
    """How a line matches a running header: its text as is; its text with numbers masked, with how its first
    number differs from the page's index ("Notes, p. 7" on page 7 repeats "Notes, p. 6"); and, for a line that
    starts or ends with a number, that number's offset alone ("Chapter 3: Utilities 7" repeats "GNU Manual 8").
    The font size is part of each: the title of page 1 in large type is not the running header that repeats it."""
    plain = " ".join(line.text.lower().split())
    found: list[tuple[str, float, int | None]] = [(plain, line.size, None)]
    number = NUMBER.search(plain)
    if number:
        found.append((NUMBER.sub("#", plain), line.size, int(number.group()) - page_index))
        if (last := LAST_NUMBER.search(plain)) is not None:
            found.append(("…#", line.size, int(last.group(1)) - page_index))
        if (first := FIRST_NUMBER.match(plain)) is not None:
            found.append(("#…", line.size, int(first.group(1)) - page_index))
    return found


def running_keys(pages: list[list[Line]]) -> set[tuple[int, str, float, int | None]]:
    """(place, text, number offset) of lines that repeat at the same place on at least half of the pages."""
    counts: Counter[tuple[int, str, float, int | None]] = Counter()
    for index, lines in enumerate(pages):
        for at in [*range(EDGE_LINES), *range(-1, -1 - EDGE_LINES, -1)]:
            if -len(lines) <= at < len(lines):
                counts.update({(at, *k) for k in keys(lines[at], index)})
    return {k for k, n in counts.items() if n >= max(2, (len(pages) + 1) // 2)}


def is_running(repeated: set[tuple[int, str, float, int | None]], at: int, line: Line, page_index: int) -> bool:
    return any((at, *k) in repeated for k in keys(line, page_index))
