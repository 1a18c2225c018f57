"""A note read back from its stored chunks: its units, the section each sits in, the chunk each is cited to (pure)."""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from rag.answer.units import Unit, split_passage
from rag.ingest.chunk import note_title
from rag.ingest.headings import plain_text
from rag.ingest.paths import parse_blocks
from rag.models import Passage

QUOTE_MARK = re.compile(r"^ {0,3}(?:> ?)+")


@dataclass(frozen=True)
class Section:
    """Units start..end (inclusive) of a note under one heading; `heading` is its heading unit, if any."""

    start: int
    end: int
    heading: int | None
    path: tuple[str, ...]


class NoteView:
    """One note as an answer reads it: every unit with its heading path, and the chunk that holds each line.

    Built from the stored chunks rather than the file, so it is exactly what was indexed, also with a
    Chroma server on another machine. Answers quote whole blocks and sections from it, across chunk ends.
    """

    def __init__(self, chunks: Sequence[Passage]) -> None:
        self.chunks = sorted(chunks, key=lambda c: (c.start_line, c.end_line))
        self.source = self.chunks[0].source if self.chunks else ""
        self.lines = [unquoted(line) for line in note_lines(self.chunks)]
        whole = Passage("", self.source, 1, len(self.lines), "", "\n".join(self.lines))
        self.units: list[Unit] = split_passage(whole) if self.lines else []
        self.paths = unit_paths(self.lines, self.units, plain_text(self.source))
        self._starts = [c.start_line for c in self.chunks]

    @cached_property
    def title(self) -> str:
        """The file name, for a note with no heading of its own (what a notes app shows as its title)."""
        return "" if any(u.kind == "heading" for u in self.units) else note_title(self.source)

    @cached_property
    def first_unit_at(self) -> list[int]:
        """Start lines of the units, for bisecting."""
        return [u.start_line for u in self.units]

    def units_in(self, start_line: int, end_line: int) -> list[int]:
        """Indices of the units that start within the lines."""
        lo = bisect.bisect_left(self.first_unit_at, start_line)
        hi = bisect.bisect_right(self.first_unit_at, end_line)
        return list(range(lo, hi))

    def units_over(self, start_line: int, end_line: int) -> list[int]:
        """Indices of the units over the lines: those starting within them and a code block running into them
        (one a chunk boundary cuts is read whole; lists and tables are widened when quoted)."""
        inside = self.units_in(start_line, end_line)
        lo = inside[0] if inside else bisect.bisect_left(self.first_unit_at, start_line)
        before = self.units[lo - 1] if lo else None
        runs_in = before is not None and before.kind == "code" and before.end_line >= start_line
        return [lo - 1, *inside] if runs_in else inside

    def chunk_of(self, line: int) -> Passage:
        """The chunk a line is cited to: the last one starting at or before it."""
        n = max(0, bisect.bisect_right(self._starts, line) - 1)
        while n > 0 and self.chunks[n].end_line < line and self.chunks[n - 1].end_line >= line:
            n -= 1
        return self.chunks[n]

    def section(self, i: int, depth: int | None = None) -> Section:
        """The section unit i sits in: the units sharing its heading path (cut to `depth` headings)."""
        path = self.paths[i] if depth is None else self.paths[i][:depth]
        if not path and self.paths[i]:
            return Section(i, i, None, ())  # cut to no heading: only the unit itself
        n = len(path)  # no heading at all: the run of units before the first heading (a note without any)
        start, end = i, i
        while start > 0 and self.paths[start - 1][:n] == path:
            start -= 1
        while end + 1 < len(self.units) and self.paths[end + 1][:n] == path:
            end += 1
        heading = start if self.units[start].kind == "heading" and len(self.paths[start]) == n else None
        return Section(start, end, heading, path)


def unquoted(line: str) -> str:
    """A line of a blockquote read as its content, so a quoted heading or list keeps its structure."""
    return QUOTE_MARK.sub("", line)


def note_lines(chunks: Sequence[Passage]) -> list[str]:
    """The note's lines from its chunks (what lies between chunks is blank; slices of one line are rejoined)."""
    if not chunks:
        return []
    lines = [""] * max(c.end_line for c in chunks)
    sliced: dict[int, list[str]] = {}
    for chunk in chunks:
        texts = chunk.text.split("\n")
        if chunk.start_line == chunk.end_line and len(texts) == 1:
            sliced.setdefault(chunk.start_line, []).append(texts[0])
            continue
        for n, text in enumerate(texts):
            lines[chunk.start_line - 1 + n] = text
    for line, parts in sliced.items():  # an over-long line is stored as slices, each a chunk of its own
        if not lines[line - 1] or len(parts) > 1:
            lines[line - 1] = " ".join(dict.fromkeys(parts))
    return lines


def unit_paths(lines: list[str], units: Sequence[Unit], plain: bool = False) -> list[tuple[str, ...]]:
    """Each unit's heading path, as the chunker reads the note's headings (`plain`: a plain-text note's)."""
    starts, paths = [], []
    for block in parse_blocks(lines, plain):
        starts.append(block.start + 1)
        paths.append(block.path)
    found = []
    for unit in units:
        n = bisect.bisect_right(starts, unit.start_line) - 1
        found.append(paths[n] if n >= 0 else ())
    return found
