"""Chosen units -> the answer's markdown, every block ending in the [n] of the chunk it was read from (pure)."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence
from dataclasses import replace

from rag.answer.markup import without_markup
from rag.answer.note import NoteView
from rag.answer.table import Grid, clean_title
from rag.answer.units import Unit, is_lead_in
from rag.ingest.chunk import note_title
from rag.models import Citation, Passage, locate

NUMBERED = re.compile(r"^(\s*)(\d{1,3})([.)])(\s+)")
LIST_MARK = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+")
CELL_LABEL = re.compile(r"^\*\*([^*]{1,60}?)(?::\*\*|\*\*\s*:)\s*")  # "**LoRA**: "
HEADING_NUMBER = re.compile(r"^(?:\d{1,3}(?:\.\d{1,3})+\.?|\d{1,3}[.)]|[a-z][.)])\s+(?=\S)")


def compose(picked: Sequence[tuple[NoteView, int]], retrieved: Sequence[Passage] = ()) -> tuple[str, list[Citation]]:
    """The answer text and its citations: chunks numbered in order of use, each cited for the lines quoted.

    A unit is cited to every chunk its lines lie in (a code block longer than a chunk gets `[1] [2]`).
    """
    cites = Cites(retrieved)
    shown = [(view, i, readable(view.units[i])) for view, i in picked]
    shown = [(view, i, unit) for view, i, unit in shown if unit.text]  # a line of markup only says nothing
    units = [unit for _, _, unit in shown]
    markers = [cites.mark(view, [i]) for view, i, _ in shown]
    return "\n\n".join(render(renumber(units), markers)), cites.citations()


def readable(unit: Unit) -> Unit:
    """A unit as the answer shows it: prose without raw HTML or cross-reference roles (code is left as it is)."""
    if unit.kind in ("code", "formula"):
        return unit
    text = without_markup(unit.text)
    return unit if text == unit.text else replace(unit, text=text if re.search(r"\w", text) else "")


def compose_table(grid: Grid, retrieved: Sequence[Passage] = ()) -> tuple[str, list[Citation]]:
    """A comparison as a markdown table, each cell the notes' lines ending in the [n] of their chunk."""
    cites = Cites(retrieved)
    lines = ["| | " + " | ".join(escape_cell(s) for s in grid.sides) + " |", "|---|" + "---|" * len(grid.sides)]
    for title, row in zip(grid.rows, grid.cells):
        cells = [f"{cell_text(grid.view, units, {side.lower(), title.lower()})} {cites.mark(grid.view, units)}"
                 if units else "not in the notes" for side, units in zip(grid.sides, row)]
        lines.append(f"| **{escape_cell(title)}** | " + " | ".join(cells) + " |")
    return "\n".join(lines), cites.citations()


def cell_text(view: NoteView, units: Sequence[int], titles: set[str]) -> str:
    """A cell's units on one line, items apart by <br>: list marks dropped, and labels that only repeat the
    column's or the row's title ("- **LoRA**: ...")."""
    texts = []
    for i in units:
        text = LIST_MARK.sub("", view.units[i].text)
        label = CELL_LABEL.match(text)
        if label and clean_title(label.group(1)).lower() in titles:
            text = text[label.end():]
        texts.append(text.strip())
    sep = [" " if view.units[i].kind == "sentence" and view.units[j].kind == "sentence" else "<br>"
           for i, j in zip(units, units[1:])]
    joined = texts[0] + "".join(s + t for s, t in zip(sep, texts[1:]))
    return escape_cell(" ".join(joined.split()))


def escape_cell(text: str) -> str:
    """Text safe inside a table cell."""
    return text.replace("|", "\\|")


class Cites:
    """The chunks an answer quotes, numbered in order of first use, each with the span of lines quoted."""

    def __init__(self, retrieved: Sequence[Passage]) -> None:
        self.by_id = {p.id: p for p in retrieved}
        self.numbers: dict[str, int] = {}
        self.passages: dict[str, Passage] = {}
        self.spans: dict[str, list[tuple[int, int]]] = {}
        # per chunk: the first quoted line of text (headings quoted as context come after) and the heading over it
        self.headings: dict[str, tuple[tuple[bool, int], str]] = {}

    def mark(self, view: NoteView, units: Sequence[int]) -> str:
        """The [n] markers of the chunks these units lie in, recording the lines quoted from each."""
        marks: list[int] = []
        for i in units:
            unit = view.units[i]
            for chunk in chunks_of(view, unit):
                number = self.numbers.setdefault(chunk.id, len(self.numbers) + 1)
                self.passages.setdefault(chunk.id, self.by_id.get(chunk.id, chunk))
                start, end = max(unit.start_line, chunk.start_line), min(unit.end_line, chunk.end_line)
                self.spans.setdefault(chunk.id, []).append((start, end))
                order = (unit.kind == "heading", start)
                if chunk.id not in self.headings or order < self.headings[chunk.id][0]:
                    self.headings[chunk.id] = (order, quoted_heading(chunk, view.paths[i]))
                marks += [number] if number not in marks else []
        return " ".join(f"[{n}]" for n in marks)

    def citations(self) -> list[Citation]:
        cited = []
        for cid, passage in self.passages.items():
            spans = merge_spans(self.spans[cid])
            start, end = spans[0][0], spans[-1][1]
            where = locate(passage.segments, start, end)
            passage = replace(passage, heading=self.headings[cid][1])  # a card is titled by what it quotes
            cited.append(Citation(self.numbers[cid], passage, start, end, tuple(spans), where))
        return sorted(cited, key=lambda c: c.n)


def quoted_heading(chunk: Passage, path: Sequence[str]) -> str:
    """The heading path of quoted lines, which may sit in a later section of the chunk than its first line
    (the chunk's heading); a chunk titled by its note's file name keeps that title in front."""
    if not path:
        return chunk.heading
    heading = " > ".join(path)
    first = chunk.heading.split(" > ")[0]
    return f"{first} > {heading}" if first == note_title(chunk.source) and first != path[0] else heading


def merge_spans(spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Line ranges sorted, those that touch or overlap joined: what a card highlights, exactly."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


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
        elif first.kind == "code" and len(group) > 1:  # the stanzas of one block, fenced once
            text = "\n\n".join(units[n].text for n in group)
            marks = " ".join(dict.fromkeys(m for n in group for m in markers[n].split()))
            blocks.append(render_unit(replace(first, text=text), marks))
        else:
            sep = " " if first.kind == "sentence" else "\n"
            blocks.append(sep.join(render_unit(units[n], markers[n]) for n in group))
    return blocks


def continues(prev: Unit, unit: Unit, same_marker: bool) -> bool:
    """True if a unit goes on the block of the one before it: the same paragraph, list or table."""
    if prev.kind != unit.kind:
        return False
    if unit.kind == "code":
        return unit.block == prev.block and unit.start_line > prev.end_line
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
    if unit.text.endswith("|"):  # a table (an HTML one made markdown): its marker goes under it
        return f"{unit.text}\n\n{marker}"
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
