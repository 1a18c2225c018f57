"""What the embedder sees of a chunk: its heading path and its text, tables as sentences, without markup (pure)."""

from __future__ import annotations

import re

from rag.ingest.headings import TABLE_ROW
from rag.ingest.plain import search_text

# Table rules, horizontal rules, bold/italic markers, LaTeX inline/display delimiters. The lookahead (every match
# starts with one of its characters) spares the alternatives at most positions: half the chunker's time before.
MARKUP_NOISE = re.compile(r"(?=[-|:\t *_=\\])(?:\|?(?:[ \t]*:?-{3,}:?[ \t]*\|)+[ \t]*:?-*|^[ \t]*(?:[-*_=][ \t]*){3,}$"
                          r"|\*\*|\\[()\[\]])", re.MULTILINE)
TABLE_RULE = re.compile(r":?-{3,}:?")
SPACES = re.compile(r"[ \t]{2,}")


def embed_view(heading: str, text: str) -> str:
    """What the embedder sees: the heading path, then the text without markdown noise, tables as sentences,
    links by their words and formulas without formatting commands (rag.ingest.plain)."""
    text = linear_tables(text)
    return strip_markup(search_text(f"{heading}\n{text}" if heading else text))


def linear_tables(text: str) -> str:
    """Each table row as "column: cell; …": a cell is read with what its column is (the header row)."""
    if "|" not in text:
        return text
    out: list[str] = []
    header: list[str] | None = None
    for line in text.split("\n"):
        if not TABLE_ROW.match(line):
            header = None
            out.append(line)
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if all(TABLE_RULE.fullmatch(c) for c in cells if c):
            continue
        if header is None:
            header = cells
            out.append(", ".join(c for c in cells if c) + ":")
        else:
            out.append("; ".join(f"{h}: {c}" if h else c for h, c in zip(header, cells) if c) + ".")
    return "\n".join(out)


def strip_markup(text: str) -> str:
    """Drop syntax that costs model tokens and carries no meaning (rules, bold markers, math delimiters)."""
    text = MARKUP_NOISE.sub(" ", text)
    return SPACES.sub(" ", text)
