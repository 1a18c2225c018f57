"""Which runs of a PDF page's lines are a table, read as a markdown table (pure).

PDFium reads a table's cells in its own order: a row's cells joined into one line, or one column after the
other. The characters' places say what is a table:
- a header row: one line cut by wide gaps (over CELL_GAP times its font size) into two or more cells, each a
  short label that reads as a title ("Advantages", "Type of gate"; not a formula, not a sentence);
- under it, the lines that follow it in reading order, while the header and those lines leave vertical
  gutters (x ranges no cell crosses) that keep every header cell in a column of its own. A line of prose
  across the columns ends the table, and so does a line above the header (the next column of the page): a
  page's two columns of prose have no header row over both, so they are not a table; so does a line in larger
  type than the header (the next section's title). Rows' labels left of
  the header's first cell (under no header) make a column of their own.
A column's cells are cut into items: a new item at a wider gap than the column's usual line step (or than a
wrapped line's, WRAP_STEP times the font size, in a column of one-line cells), a bullet,
or a line that does not start in lower case (a cell that wraps goes on in lower case: "historical
information"). Items side by side (their heights overlap) make a row, one item a column; an item whose column
the row already has starts the next row. The table comes out as markdown, `| a | b |`, a `|---|---|` row,
then one line a row, so the chunker and the answers read it as the notes' other tables.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from rag.ingest.pdf_headings import heading_text

if TYPE_CHECKING:
    from rag.ingest.pdf_lines import Cell, Line

CELL_GAP = 1.0  # a gap between two characters of a line this many times its font size parts two cells
MAX_LABEL_CHARS = 40  # a header cell is a short label
ITEM_STEP = 1.5  # a step between a column's lines this much wider than its usual one starts a new item
WRAP_STEP = 1.3  # times the font size: the step of a cell's text wrapped onto its next line, at most
BULLET = re.compile(r"^(?:[-•●▪◦‣∙·○■□▫◆◇►▸✓✔➢➤–—]\s)")
FORMULA = re.compile(r"[=<>≈∈∑∀|{}]")


@dataclass(frozen=True)
class Item:
    """A table cell's text gathered from one or more lines of a column, and how high it stands."""

    column: int
    text: str
    top: float
    bottom: float


def read_tables(body: list[Line]) -> list[Line]:
    """The page's lines with each table in them replaced by its markdown lines."""
    out: list[Line] = []
    i = 0
    while i < len(body):
        found = table_at(body, i)
        if found is None:
            out.append(body[i])
            i += 1
            continue
        end, rows = found
        out += table_lines(body[i], rows)
        i = end
    return out


def table_at(body: list[Line], i: int) -> tuple[int, list[list[Item]]] | None:
    """(the index after the table's last line, its rows, the header first) if line i heads a table."""
    header = body[i]
    if len(header.cells) < 2 or not all(is_label(cell.text) for cell in header.cells):
        return None
    end, bounds = i + 1, None
    while end < len(body) and body[end].bottom < header.bottom - header.size / 2 and not body[end].table \
            and body[end].size <= header.size:  # a line in larger type under a table is the next section's title
        found = column_bounds(header, body[i + 1 : end + 1])
        if found is None:
            break
        end, bounds = end + 1, found
    if bounds is None:
        return None
    rows = table_rows(body[i + 1 : end], bounds)
    filled = {item.column for row in rows for item in row}
    if len(filled) < 2:  # text under one header cell only: a caption row over a figure, or labels
        return None
    skip = len(bounds) - len(header.cells) + 1  # 1 with an empty header cell over the rows' labels
    heads = [Item(k + skip, cell.text, header.bottom + header.size, header.bottom)
             for k, cell in enumerate(header.cells)]
    return end, [heads, *rows]


def is_label(text: str) -> bool:
    """A header cell's text: short, a title's words, no formula."""
    return len(text) <= MAX_LABEL_CHARS and heading_text(text) and not FORMULA.search(text)


def column_bounds(header: Line, lines: list[Line]) -> list[float] | None:
    """Where each column after the first starts: the middle of a gutter between two header cells that no cell
    of the header or the lines crosses; None if a pair of header cells has no gutter between them."""
    spans = sorted((c.left, c.right) for line in [header, *lines] for c in line.cells)
    gutters: list[tuple[float, float]] = []
    reach = spans[0][1]
    for left, right in spans[1:]:
        if left > reach:
            gutters.append((reach, left))
        reach = max(reach, right)
    bounds = []
    stub = [g for g in gutters if g[1] <= header.cells[0].left and g[1] - g[0] >= header.size]
    if stub:  # the rows' labels stand left of the header's first cell, under an empty one
        widest = max(stub, key=lambda g: g[1] - g[0])
        bounds.append((widest[0] + widest[1]) / 2)
    for a, b in zip(header.cells, header.cells[1:]):
        between = [g for g in gutters if a.right <= g[0] and g[1] <= b.left]
        if not between:
            return None
        widest = max(between, key=lambda g: g[1] - g[0])
        bounds.append((widest[0] + widest[1]) / 2)
    return bounds


def table_rows(lines: list[Line], bounds: list[float]) -> list[list[Item]]:
    """The table's rows under its header, each a list of items (one per filled column), top to bottom."""
    pieces: dict[int, list[tuple[Line, Cell]]] = {}
    rows_read: dict[int, set[float]] = {}  # per column: the feet of lines PDFium read across it and another one
    for line in lines:
        columns = [sum(cell.left > bound for bound in bounds) for cell in line.cells]
        for column, cell in zip(columns, line.cells):
            pieces.setdefault(column, []).append((line, cell))
        for column in set(columns):
            if len(set(columns)) > 1 or column > 0:
                rows_read.setdefault(column, set()).add(line.bottom)
    items = [item for column, found in pieces.items()
             for item in column_items(column, found, {y for c, ys in rows_read.items() if c != column for y in ys})]
    rows: list[list[Item]] = []
    for item in sorted(items, key=lambda it: (-it.top, it.column)):
        row = rows[-1] if rows else None
        if row and min(it.bottom for it in row) < item.top and all(it.column != item.column for it in row):
            row.append(item)
        else:
            rows.append([item])
    return joined_wrapped(rows)


def joined_wrapped(rows: list[list[Item]]) -> list[list[Item]]:
    """Rows with a row that only goes on the one above joined to it: each of its cells either in a column the
    row above left empty or going on in lower case ("Revert file to" / "last commit" beside the command that
    row lacked)."""
    out: list[list[Item]] = []
    for row in rows:
        above = {item.column: item for item in out[-1]} if out else {}
        goes_on = bool(above) and all(item.column not in above or item.text[:1].islower() for item in row) and any(
            item.column in above for item in row)
        if not goes_on:
            out.append(row)
            continue
        for item in row:
            last = above.get(item.column)
            above[item.column] = item if last is None else replace(last, text=f"{last.text} {item.text}",
                                                                     bottom=item.bottom)
        out[-1] = sorted(above.values(), key=lambda it: it.column)
    return out


def column_items(column: int, pieces: list[tuple[Line, Cell]], beside: set[float]) -> list[Item]:
    """A column's cells, top to bottom, gathered into items (see the module's docstring). `beside`: the feet of
    the other columns' lines, where a line of this one starts a new item (a command beside its description)."""
    pieces = sorted(pieces, key=lambda p: -p[0].bottom)
    steps = [a.bottom - b.bottom for (a, _), (b, _) in zip(pieces, pieces[1:]) if a.bottom - b.bottom > 0]
    usual = statistics.median(steps) if steps else 0.0
    bulleted = sum(BULLET.match(cell.text) is not None for _, cell in pieces) >= 2
    items: list[Item] = []
    for n, (line, cell) in enumerate(pieces):
        step = pieces[n - 1][0].bottom - line.bottom if n else 0.0
        if bulleted:  # a list in a cell: its items are its bullets
            starts = not items or BULLET.match(cell.text) is not None or step > usual * ITEM_STEP
        else:
            starts = not items or not cell.text[:1].islower() or step > min(usual, WRAP_STEP * line.size) * ITEM_STEP \
                or any(abs(line.bottom - y) < line.size / 4 for y in beside)
        if starts:
            items.append(Item(column, cell.text, line.bottom + line.size, line.bottom))
        else:
            last = items[-1]
            items[-1] = replace(last, text=f"{last.text} {cell.text}", bottom=line.bottom)
    return items


def table_lines(header: Line, rows: list[list[Item]]) -> list[Line]:
    """The table as markdown lines: the header row, the separator, a line a row."""
    width = 1 + max(item.column for row in rows for item in row)

    def row_line(row: list[Item], bottom: float) -> Line:
        cells = [""] * width
        for item in row:
            cells[item.column] = item.text.replace("|", "\\|")
        return replace(header, text="| " + " | ".join(cells) + " |", bottom=bottom, cells=(), table=True)

    out = [row_line(rows[0], header.bottom),
           replace(header, text="|" + "---|" * width, cells=(), table=True)]
    return out + [row_line(row, min(item.bottom for item in row)) for row in rows[1:]]
