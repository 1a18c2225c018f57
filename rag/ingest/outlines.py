"""Plain-text outlines read as the nested lists they are (pure).

People type outlines in plain text with indentation alone: a topic on a line, its points indented below it,
their details indented further, no bullets. Read as prose, a topic and its points run together into one
paragraph ("Process a program in execution states new, ready ..."); as markdown lists, each point is an item
that an answer can quote with the points under it. Only the bullet is added: every line keeps its place, so
line numbers still match the file.
"""

from __future__ import annotations

import re

from rag.ingest.headings import ADORNMENT, LIST_ITEM

# Code typed without a fence also indents under a line: a block is an outline only if no line reads as code.
CODE_LINE = re.compile(
    r"[{};\\]\s*$"  # braces, statement ends, line continuations
    r"|::\s*$"  # reStructuredText: a literal block follows
    r"|^\s*(?:def|class|if|elif|else|for|while|try|except|with|return|import|from|function|var|let|const)\b"
    r"|^\s*[$>#%]"  # prompts, shell comments, directives
    r"|\w\([^)]*\)\s*:?\s*$"  # a call or a signature ending the line
    r"|\s(?:=|==|:=|\+=)\s"
)
MAX_WORDS = 25  # a longer line is a wrapped paragraph, not an outline's point


def as_lists(lines: list[str]) -> list[str]:
    """The lines with each indented outline's lines made list items (`- `), deeper ones nested."""
    out = list(lines)
    start = 0
    while start < len(lines):
        end = start
        while end < len(lines) and lines[end].strip():
            end += 1
        if end > start and is_outline(lines, start, end):
            out[start:end] = [bulleted(line) for line in lines[start:end]]
        start = end + 1
    return out


def is_outline(lines: list[str], start: int, end: int) -> bool:
    """Lines start..end-1 (no blank between) are an outline: a topic at the margin, points indented under it,
    short lines of words, no bullets or code; after a `::` line they are a literal block instead."""
    block = lines[start:end]
    before = lines[start - 2] if start >= 2 else ""
    return (indent(block[0]) == 0 and any(indent(line) > 0 for line in block[1:])
            and not before.rstrip().endswith("::")
            and not any(LIST_ITEM.match(line) or CODE_LINE.search(line) or ADORNMENT.match(line)
                        or line.strip().split(" ")[0] == ".." or len(line.split()) > MAX_WORDS for line in block)
            and not any(hangs(above, line) for above, line in zip(block, block[1:])))


def hangs(above: str, line: str) -> bool:
    """A line indented to the second word of the line above continues it ("Author: Guido van Rossum,"
    / "        Barry Warsaw"): a wrapped field or footnote, not a point under a topic."""
    label = re.match(r"\S+\s+", above.expandtabs(4))
    return label is not None and indent(above) < indent(line) == label.end()


def bulleted(line: str) -> str:
    """An outline's line as a list item at its indentation."""
    body = line.lstrip()
    return f"{line[: len(line) - len(body)]}- {body}"


def indent(line: str) -> int:
    """How far a line is indented, a tab counted as four spaces."""
    body = line.lstrip()
    return len(line[: len(line) - len(body)].expandtabs(4))
