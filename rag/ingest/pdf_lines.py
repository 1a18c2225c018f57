"""A PDF page's lines as the loader reads them, shared by its modules: the text and how its type looks."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cell:
    """A piece of a line between two wide gaps: its text and its left and right sides (points)."""

    text: str
    left: float
    right: float


@dataclass(frozen=True)
class Line:
    """A non-blank line of a page's text: the font size it starts in, where it sits, and how its type looks."""

    text: str
    size: float  # of its first character
    bottom: float = 0.0  # of its first character's box, in points from the page's foot
    left: float = 0.0  # of its first character's box, in points from the page's left edge
    end_size: float = 0.0  # of its last character: a heading is large from end to end
    bold: bool = False  # its first and last characters are bold
    cells: tuple[Cell, ...] = ()  # its pieces between wide gaps, one at least (pdf_tables.py)
    table: bool = False  # a markdown table's line, made from a table's cells
