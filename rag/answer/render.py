"""Chosen units -> the answer's markdown, every block ending in the [n] of the chunk it was read from (pure)."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence
from dataclasses import replace

from rag.answer.note import NoteView
from rag.answer.units import Unit, is_lead_in
from rag.models import Citation, Passage

NUMBERED = re.compile(r"^(\s*)(\d{1,3})([.)])(\s+)")
HEADING_NUMBER = re.compile(r"^(?:\d{1,3}(?:\.\d{1,3})+\.?|\d{1,3}[.)]|[a-z][.)])\s+(?=\S)")


def compose(picked: Sequence[tuple[NoteView, int]], retrieved: Sequence[Passage] = ()) -> tuple[str, list[Citation]]:
    """The answer text and its citations: chunks numbered in order of use, each cited for the lines quoted.

    A unit is cited to every chunk its lines lie in (a code block longer than a chunk gets `[1] [2]`).
    """
    by_id = {p.id: p for p in retrieved}
    numbers: dict[str, int] = {}
    spans: dict[str, tuple[Passage, int, int]] = {}
    units: list[Unit] = []
    markers: list[str] = []
    for view, i in picked:
        unit = view.units[i]
        chunks = chunks_of(view, unit)
        for chunk in chunks:
            numbers.setdefault(chunk.id, len(numbers) + 1)
            start, end = max(unit.start_line, chunk.start_line), min(unit.end_line, chunk.end_line)
            passage, lo, hi = spans.get(chunk.id, (by_id.get(chunk.id, chunk), start, end))
            spans[chunk.id] = (passage, min(lo, start), max(hi, end))
        units.append(unit)
        markers.append(" ".join(f"[{numbers[c.id]}]" for c in chunks))
    citations = [Citation(numbers[cid], passage, lo, hi) for cid, (passage, lo, hi) in spans.items()]
    return "\n\n".join(render(renumber(units), markers)), sorted(citations, key=lambda c: c.n)


def chunks_of(view: NoteView, unit: Unit) -> list[Passage]:
    """The chunks a unit's lines lie in, in order (one for all but a block longer than a chunk)."""
    first = view.chunk_of(unit.start_line)
    found = [first]
    for chunk in view.chunks:
        if first.end_line < chunk.start_line <= unit.end_line and chunk.end_line > found[-1].end_line:
            found.append(chunk)
    return found


def renumber(units: Sequence[Unit]) -> list[Unit]:
    """Numbered items renumbered 1, 2, 3 as the answer shows them, when it skips some of a list's items.

    A heading or a "...:" line starts a new list; the count of each indentation depth goes on across
    the formulas and sub-items between a list's items.
    """
    out = list(units)
    counts: dict[int, int] = {}
    for n, unit in enumerate(units):
        match = NUMBERED.match(unit.text) if unit.kind == "item" else None
        if unit.kind == "heading" or (unit.kind == "sentence" and is_lead_in(unit)):
            counts.clear()
        if not match:
            continue
        counts = {d: c for d, c in counts.items() if d <= unit.depth}
        counts[unit.depth] = counts.get(unit.depth, 0) + 1
        if int(match.group(2)) != counts[unit.depth]:
            indent, _, mark, space = match.groups()
            out[n] = replace(unit, text=f"{indent}{counts[unit.depth]}{mark}{space}{unit.text[match.end():]}")
    return out


def render(units: Sequence[Unit], markers: Sequence[str]) -> list[str]:
    """Markdown blocks: a paragraph's sentences together, a list's items together, blocks whole."""
    groups: list[list[int]] = []
    for n, unit in enumerate(units):
        if groups and continues(units[groups[-1][-1]], unit, markers[groups[-1][-1]] == markers[n]):
            groups[-1].append(n)
        else:
            groups.append([n])
    blocks = []
    for group in groups:
        first = units[group[0]]
        if first.kind == "row":
            blocks.append(render_table([units[n] for n in group], markers[group[-1]]))
        else:
            sep = " " if first.kind == "sentence" else "\n"
            blocks.append(sep.join(render_unit(units[n], markers[n]) for n in group))
    return blocks


def continues(prev: Unit, unit: Unit, same_marker: bool) -> bool:
    """True if a unit goes on the block of the one before it: the same paragraph, list or table."""
    if prev.kind != unit.kind:
        return False
    if unit.kind == "sentence":
        return prev.block == unit.block
    if unit.kind == "row":
        return unit.header is not None and same_marker
    return unit.kind == "item"


def render_unit(unit: Unit, marker: str) -> str:
    """One unit in the notes' own words with its marker."""
    if unit.kind == "code":
        return f"{fenced(unit.text)}\n{marker}"
    if unit.kind == "formula":
        return f"{textwrap.dedent(unit.text).strip()} {marker}"
    if unit.kind == "row":
        return unit.text
    if unit.kind == "item":
        return f"{' ' * unit.depth}{unit.text} {marker}"
    if unit.kind == "heading":  # bold, without the notes' section number: "4." alone reads as a skipped list
        return f"**{HEADING_NUMBER.sub('', unit.text)}** {marker}"
    return f"{unit.text} {marker}"


def fenced(code: str) -> str:
    """A code block with both fences, also when the passage cut it at either end."""
    code = textwrap.dedent(code).strip("\n")
    lines = code.split("\n")
    opens = re.match(r"`{3,}|~{3,}", lines[0].strip())
    if not opens:
        lines.insert(0, "```")
    fence = re.match(r"`{3,}|~{3,}", lines[0].strip()).group(0)  # type: ignore[union-attr]
    if len(lines) == 1 or not (lines[-1].strip().startswith(fence) and not lines[-1].strip().strip(fence[0])):
        lines.append(fence)
    return "\n".join(lines)


def render_table(rows: Sequence[Unit], marker: str) -> str:
    """Table rows as a table: the first row, a separator, the rest, then the marker."""
    cells = max(1, rows[0].text.strip().strip("|").count("|") + 1)
    separator = "|" + "---|" * cells
    return "\n".join([rows[0].text, separator, *(r.text for r in rows[1:])]) + f"\n\n{marker}"
