"""The headings a card reads: setext titles (`Title` over `=====` or `-----`) count as headings too (pure)."""

from __future__ import annotations

import re

from rag.answer.note import NoteView
from rag.chunk import FENCE, HEADING, LIST_ITEM, TABLE_ROW
from rag.models import Passage

UNDERLINE = re.compile(r"^[ \t]{0,3}(=+|-+)[ \t]*$")
MAX_TITLE = 80  # characters: a longer line over a rule is a paragraph, not a title
DASHES_SHARE = 0.6  # a `---` this much shorter than the line above is a rule under a paragraph, not an underline


def with_setext_headings(view: NoteView) -> NoteView:
    """The note with each setext title read as the `#`/`##` heading it is (plain-text notes, PEPs, reST); the
    same view when it has none. Line numbers stay: the underline becomes a blank line."""
    lines = list(view.lines)
    titled = setext_titles(lines)
    if not titled:
        return view
    for n, level in titled:
        lines[n] = f"{'#' * level} {lines[n].strip()}"
        lines[n + 1] = ""
    return NoteView([Passage(f"{view.source}#outline", view.source, 1, len(lines), "", "\n".join(lines))])


def setext_titles(lines: list[str]) -> list[tuple[int, int]]:
    """(line index, level) of each title underlined with `=` (1) or `-` (2), outside code blocks."""
    found = []
    fence: str | None = None
    for n, line in enumerate(lines[:-1]):
        opened = FENCE.match(line)
        if opened:
            mark = opened.group(1)[0]
            fence = mark if fence is None else (None if mark == fence else fence)
            continue
        if fence:
            continue
        underline = UNDERLINE.match(lines[n + 1])
        if underline and is_title_line(lines, n, underline.group(1)):
            found.append((n, 1 if underline.group(1)[0] == "=" else 2))
    return found


def is_title_line(lines: list[str], n: int, underline: str) -> bool:
    """A one-line paragraph that a rule underlines: short, not a list item, heading, table row or quote."""
    line = lines[n].strip()
    if not line or len(line) > MAX_TITLE or (n > 0 and lines[n - 1].strip()):
        return False
    if HEADING.match(lines[n]) or LIST_ITEM.match(lines[n]) or TABLE_ROW.match(lines[n]) or line.startswith(">"):
        return False
    if len(underline) < 3 or (underline[0] == "-" and len(underline) < DASHES_SHARE * len(line)):
        return False
    return re.search(r"[A-Za-z]{2}", line) is not None and not line.endswith((".", ",", ";"))
