"""A note's lines as blocks: headings, code fences and notebook cells, tables, list items, paragraphs (pure)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from rag.ingest.headings import CELL_MARKER, FENCE, HEADING, LIST_ITEM, TABLE_ROW, Heading, heading_at

# A line of prose after a notebook cell: starts with a capital, ends like a sentence.
PROSE = re.compile(r"^[A-Z*][^={}]{30,}[.:?!)]\s*$")  # starts and ends like a sentence, no assignment or braces
PLAIN_WORD = re.compile(r"^[A-Za-z][a-z'’-]*[,.:;!?]?$")


@dataclass(frozen=True)
class Block:
    """A structural unit: lines start..end (0-based, inclusive), or a slice of one line."""

    start: int
    end: int
    kind: str  # heading | code | table | item | para
    path: tuple[str, ...] = ()  # the headings this block sits under, outermost first
    text: str | None = None  # set only for a slice of a single over-long line
    topic: int = 0  # which of the note's topics (answers) it is in: 0 before the first, never joined across
    head: Heading | None = None  # for a heading: its level and title


def read_blocks(lines: list[str], plain: bool = False) -> list[Block]:
    """The note's blocks in order, each with its kind and lines (no heading paths yet).

    `plain`: a plain-text note (`rag.ingest.headings.plain_text`), where `#` lines may be shell comments.
    """
    blocks: list[Block] = []
    i = front_matter_end(lines) + 1
    if i:  # kept as text (a plain-text note's YAML header): its `---` lines underline nothing
        blocks.append(Block(0, i - 1, "para"))
    while i < len(lines):
        if not lines[i].strip() or (plain and lines[i].strip() == "#"):  # an empty comment line parts blocks too
            i += 1
            continue
        kind, end = classify(lines, i, plain)
        head = heading_at(lines, i, plain) if kind == "heading" else None
        blocks.append(Block(i, end, kind, head=head))
        i = end + 1
    return blocks


def front_matter_end(lines: list[str]) -> int:
    """The closing `---` (or `...`) of a YAML header that opens the note with `---`, with no blank line in it;
    -1 if there is none."""
    if not lines or lines[0].rstrip() != "---":
        return -1
    for j in range(1, len(lines)):
        if not lines[j].strip():
            return -1
        if lines[j].rstrip() in ("---", "..."):
            return j
    return -1


def classify(lines: list[str], i: int, plain: bool = False) -> tuple[str, int]:
    """The kind of block starting at line i, and its last line."""
    line = lines[i]
    head = heading_at(lines, i, plain)
    if head is not None:
        return "heading", head.end
    fence = FENCE.match(line)
    if fence:
        return "code", fence_end(lines, i, fence.group(1))
    if CELL_MARKER.match(line):
        return "code", cell_end(lines, i)
    if TABLE_ROW.match(line):
        return "table", run_end(lines, i, lambda s: bool(TABLE_ROW.match(s)))
    continues = continues_plain if plain else continues_block
    if LIST_ITEM.match(line):
        return "item", run_end(lines, i, continues)
    return "para", run_end(lines, i, continues)


def fence_end(lines: list[str], i: int, marker: str) -> int:
    """The closing fence line (or the last line if the fence never closes)."""
    for j in range(i + 1, len(lines)):
        if lines[j].lstrip().startswith(marker[0] * len(marker)) and not lines[j].strip(marker[0] + " \t"):
            return j
    return len(lines) - 1


def cell_end(lines: list[str], i: int) -> int:
    """Last line of a notebook cell (`In [1]:` then unfenced code and its output)."""
    last = i
    for j in range(i + 1, len(lines)):
        line = lines[j]
        starts_block = not lines[j - 1].strip()
        if starts_block and (is_prose(line) or FENCE.match(line) or CELL_MARKER.match(line)):
            break
        if starts_block and HEADING.match(line) and not lines[j - 2 if j >= 2 else j].strip():
            break
        if line.strip():
            last = j
    return last


def is_prose(line: str) -> bool:
    """A line that reads as a sentence, not code: mostly plain words ("In Python, `__init__()` runs...")."""
    return PROSE.match(line) is not None and len(line.split()) >= 6 and plain_share(line) >= 0.6


def plain_share(text: str) -> float:
    """The share of a text's words that are plain words, not code, symbols or numbers."""
    tokens = text.split()
    return sum(bool(PLAIN_WORD.match(t.strip("*_`()\"'"))) for t in tokens) / len(tokens) if tokens else 0.0


def run_end(lines: list[str], i: int, continues: Callable[[str], bool]) -> int:
    """Last line of a run that starts at i and goes on while `continues` holds."""
    j = i
    while j + 1 < len(lines) and lines[j + 1].strip() and continues(lines[j + 1]):
        j += 1
    return j


def continues_block(line: str) -> bool:
    """A line that continues the paragraph or list item above it (not a new item or another block)."""
    return not (LIST_ITEM.match(line) or starts_other_block(line))


def continues_plain(line: str) -> bool:
    """In a plain-text note a `#` line goes on with the lines above it (a comment); an empty `#` parts blocks."""
    return line.strip() != "#" and (bool(HEADING.match(line)) or continues_block(line))


def starts_other_block(line: str) -> bool:
    """A heading, fence, table row or notebook marker."""
    return bool(HEADING.match(line) or FENCE.match(line) or TABLE_ROW.match(line) or CELL_MARKER.match(line))
