"""An LLM's reply read into lines of pieces (sentences, code blocks, formulas), its [n] markers set aside.

Nothing here re-spaces text: a code block is kept byte for byte, and a sentence loses only its markers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from rag.answer.exact import INLINE_CODE, INLINE_MATH, content

FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
DISPLAY_OPEN = re.compile(r"^\s*(\$\$|\\\[)")
# [1], [1, 2], [1][2], (passage 1), [Passage 2]: what models write for "this comes from passage n"
MARKER = re.compile(r"\s*(?:\[\s*(?:passage\s*)?|\(\s*passage\s*)(\d{1,3}(?:\s*,\s*\d{1,3})*)\s*[\])]", re.I)
ONLY_MARKERS = re.compile(rf"^(?:{MARKER.pattern})+\s*$", re.I)
PREFIX = re.compile(r"^(\s*(?:[-*+]|\d{1,2}[.)])\s+|\s*>\s*)")
SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'`(*\[$\\])")
ABBREVIATION = re.compile(r"\b(?:e\.g|i\.e|etc|vs|cf|fig|approx|eq)\.$", re.I)
ENDS = re.compile(r"[.!?:)\]`*$]\s*$")
FILLER_WORDS = 2  # a piece with fewer content words ("Answer:", "Yes.") says nothing to attribute


@dataclass(frozen=True)
class Piece:
    """A unit of the reply that is attributed on its own."""

    kind: str  # "sentence", "code", "formula" or "filler" (a heading or a label: left out, not counted)
    text: str  # as written, without its markers
    markers: tuple[int, ...] = ()  # the passage numbers the model cited for it


@dataclass(frozen=True)
class Line:
    """A line of the reply (a paragraph, a list item, a code block): the pieces in it and how it began."""

    prefix: str  # a list item's "- " or "2. ", kept as written
    pieces: tuple[Piece, ...]
    blank_before: bool = False


def read_reply(text: str, truncated: bool = False) -> list[Line]:
    """The reply's lines; a piece repeated word for word (a model that loops) is kept once, and with
    `truncated` (the reply hit max_tokens) an unfinished last piece is dropped."""
    raw = text.replace("\r\n", "\n").split("\n")
    lines: list[Line] = []
    i, blank = 0, False
    while i < len(raw):
        line = raw[i]
        if not line.strip():
            blank, i = bool(lines), i + 1
            continue
        if ONLY_MARKERS.match(line) and lines and lines[-1].pieces:  # "[1]" under a code block
            lines[-1] = with_markers(lines[-1], markers_in(line))
            i += 1
            continue
        if FENCE.match(line) or DISPLAY_OPEN.match(line) and not closes_display(line):
            end = block_end(raw, i)
            kind = "code" if FENCE.match(line) else "formula"
            finished = end < len(raw)
            body = "\n".join(raw[i : end + 1])
            if finished or not truncated:
                lines.append(Line("", (Piece(kind, body),), blank))
            i, blank = end + 1, False
            continue
        lines.append(prose_line(line, blank))
        i, blank = i + 1, False
    if truncated and lines:
        lines[-1] = without_unfinished(lines[-1])
    return once(lines)


def block_end(raw: Sequence[str], start: int) -> int:
    """The index of the line closing the fenced code or display formula opened at `start` (len(raw) if none)."""
    fence = FENCE.match(raw[start])
    for j in range(start + 1, len(raw)):
        if fence and raw[j].strip().startswith(fence.group(1)) and not raw[j].strip().strip(fence.group(1)[0]):
            return j
        if not fence and re.search(r"(\$\$|\\\])\s*$", raw[j]):
            return j
    return len(raw)


def closes_display(line: str) -> bool:
    """A display formula opened and closed on one line (`$$x$$`) is read as a sentence with a formula."""
    body = line.strip()
    return (body.startswith("$$") and body.count("$$") >= 2) or (body.startswith("\\[") and "\\]" in body)


def prose_line(line: str, blank: bool) -> Line:
    """A line of prose: its list prefix, then its sentences, each with the markers that follow it."""
    prefix_match = PREFIX.match(line)
    prefix = prefix_match.group(0) if prefix_match else ""
    body = line[len(prefix) :].rstrip()
    if re.match(r"^#{1,6}\s", body):  # a heading the model wrote: a label, not a claim
        return Line(prefix, (Piece("filler", body),), blank)
    pieces: list[Piece] = []
    for part in sentences(body):
        text, markers = take_markers(part)
        if not text.strip() and pieces:  # markers that stood after the sentence's full stop
            pieces[-1] = replace(pieces[-1], markers=pieces[-1].markers + markers)
            continue
        kind = "sentence" if len(content(plain_words(text))) >= FILLER_WORDS else "filler"
        pieces.append(Piece(kind, text.strip(), markers))
    return Line(prefix, tuple(pieces), blank)


def sentences(body: str) -> list[str]:
    """The sentences of a line, not split inside inline code or formulas, nor after "e.g."."""
    masked = INLINE_MATH.sub(lambda m: "x" * len(m.group(0)), INLINE_CODE.sub(lambda m: "x" * len(m.group(0)), body))
    cuts = [m.end() for m in SPLIT.finditer(masked) if not ABBREVIATION.search(masked[: m.start()])]
    bounds = [0, *cuts, len(body)]
    return [body[a:b] for a, b in zip(bounds, bounds[1:]) if body[a:b].strip()]


def take_markers(text: str) -> tuple[str, tuple[int, ...]]:
    """The text without its [n] markers (not those inside inline code: `arr[1]`), and the numbers they held."""
    numbers: list[int] = []

    def keep(match: re.Match[str]) -> str:
        numbers.extend(int(n) for n in re.findall(r"\d+", match.group(1)))
        return ""

    parts = re.split(r"(`[^`\n]*`)", text)
    cleaned = "".join(p if p.startswith("`") else MARKER.sub(keep, p) for p in parts)
    return cleaned, tuple(dict.fromkeys(numbers))


def markers_in(text: str) -> tuple[int, ...]:
    return take_markers(text)[1]


def with_markers(line: Line, markers: tuple[int, ...]) -> Line:
    last = line.pieces[-1]
    return replace(line, pieces=(*line.pieces[:-1], replace(last, markers=last.markers + markers)))


def plain_words(text: str) -> str:
    """What is said, without markdown emphasis (`**`, `_`)."""
    return re.sub(r"[*_]{1,3}", "", text)


def without_unfinished(line: Line) -> Line:
    """A line cut off by max_tokens without its last, unfinished sentence."""
    pieces = list(line.pieces)
    if pieces and pieces[-1].kind == "sentence" and not ENDS.search(pieces[-1].text):
        pieces.pop()
    return replace(line, pieces=tuple(pieces))


def once(lines: Sequence[Line]) -> list[Line]:
    """Each piece kept at its first occurrence only; lines left empty are dropped."""
    seen: set[str] = set()
    out = []
    for line in lines:
        kept = []
        for piece in line.pieces:
            key = " ".join(piece.text.lower().split())
            if key in seen and piece.kind != "filler":
                continue
            seen.add(key)
            kept.append(piece)
        if kept:
            out.append(replace(line, pieces=tuple(kept)))
    return out


def pieces_of(lines: Sequence[Line]) -> list[Piece]:
    return [piece for line in lines for piece in line.pieces]
