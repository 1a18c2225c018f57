"""Every piece of a written answer attributed to the lines of the blocks sent that support it, or to none.

A sentence goes to the lines most similar to it (the embedder's cosine, at least the support floor) whose text
holds its code, formulas, numbers and names exactly and says of each name what the sentence says of it. A code
block must be the notes' own lines; a display formula the notes' formula. The model's own [n] markers are tried
first and checked the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

import numpy as np

from rag.answer.exact import claim_words, content, missing, plain, same_tex, swapped, terms_of
from rag.answer.reply import Piece, plain_words
from rag.models import Citation

Similarity = Callable[[Sequence[str], Sequence[str]], np.ndarray]  # written texts x note texts -> cosine
FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
CANDIDATES = 4  # lines above the floor tried, best first, before a sentence is called unsupported
STEM = 5  # letters that stand for a word ("quantises", "quantised") when lines are read for what they say
FORMULA_LINES = 8  # a display formula is looked for in windows of up to this many lines


@dataclass(frozen=True)
class Span:
    """Lines start..end of one block sent (its index), with their text."""

    block: int
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Attributed:
    """A piece and the spans that support it (none: unsupported, `reason` says why)."""

    piece: Piece
    support: float
    spans: tuple[Span, ...] = ()
    reason: str = ""


def block_lines(block: Citation) -> list[tuple[int, str]]:
    """The numbered lines of a block as they were sent."""
    first = block.passage.start_line
    lines = block.passage.text.split("\n")[block.cited_start - first : block.cited_end - first + 1]
    return list(enumerate(lines, start=block.cited_start))


def note_spans(blocks: Sequence[Citation]) -> list[Span]:
    """What a sentence can be attributed to: each sentence of each line (and a line with the next when a
    sentence runs on), each code block whole."""
    spans: list[Span] = []
    for b, block in enumerate(blocks):
        lines = block_lines(block)
        fence: int | None = None
        for k, (number, text) in enumerate(lines):
            if FENCE.match(text):
                if fence is None:
                    fence = k
                else:
                    body = "\n".join(t for _, t in lines[fence + 1 : k])
                    spans.append(Span(b, lines[fence][0], number, body))
                    fence = None
                continue
            if fence is not None or not text.strip() or re.match(r"^\s*#{1,6}\s", text):
                continue
            parts = re.split(r"(?<=[.!?])\s+(?=[A-Z])", text.strip())
            spans += [Span(b, number, number, part) for part in parts if len(part.split()) > 1 or len(parts) == 1]
            after = lines[k + 1][1] if k + 1 < len(lines) else ""
            if after.strip() and not re.search(r"[.!?:|]\s*$", text) and not FENCE.match(after):
                spans.append(Span(b, number, number + 1, f"{text.strip()} {after.strip()}"))
    return spans


def lines_text(blocks: Sequence[Citation], spans: Sequence[Span]) -> str:
    """The text of the note lines the spans cover (whole lines: a sentence's neighbours on its line count)."""
    out = []
    for span in spans:
        out += [t for n, t in block_lines(blocks[span.block]) if span.start <= n <= span.end]
    return "\n".join(out)


def attribute(pieces: Sequence[Piece], blocks: Sequence[Citation], similarity: Similarity,
              floor: float, question: str = "") -> list[Attributed]:
    """Each piece with what supports it; fillers (headings, labels) are passed through unattributed."""
    spans = note_spans(blocks)
    sentences = [p for p in pieces if p.kind == "sentence"]
    sims = similarity([embedded(p.text) for p in sentences], [s.text for s in spans]) if sentences and spans \
        else np.zeros((len(sentences), len(spans)), np.float32)
    rows = {id(p): sims[n] for n, p in enumerate(sentences)}
    out = []
    for piece in pieces:
        if piece.kind == "sentence":
            out.append(attribute_sentence(piece, rows[id(piece)], spans, blocks, floor, content(question)))
        elif piece.kind == "code":
            out.append(attribute_code(piece, blocks))
        elif piece.kind == "formula":
            out.append(attribute_formula(piece, blocks))
        else:
            out.append(Attributed(piece, 0.0, reason="a heading or a label, not a claim"))
    return out


def embedded(sentence: str) -> str:
    """What the embedder compares of a sentence: its words, without the inline code and formulas it quotes
    (checked exactly instead), unless that leaves little."""
    words = plain_words(plain(sentence))
    return words if len(words.split()) >= 4 else plain_words(sentence)


def attribute_sentence(piece: Piece, sims: np.ndarray, spans: Sequence[Span], blocks: Sequence[Citation],
                       floor: float, asked: AbstractSet[str] = frozenset()) -> Attributed:
    """The best lines above the floor that hold the sentence's terms exactly and say some of what it adds to
    the question (the model's cited blocks first)."""
    if not spans:
        return Attributed(piece, 0.0, reason="no lines were sent")
    cited = {n - 1 for n in piece.markers if 1 <= n <= len(blocks)}
    order = sorted(range(len(spans)), key=lambda i: (spans[i].block not in cited, -sims[i]))
    above = [i for i in order if sims[i] >= floor][:CANDIDATES]
    best = float(sims.max())
    if not above:
        return Attributed(piece, best, reason=f"no line of the notes says this (closest: {best:.2f})")
    terms = terms_of(piece.text)
    claim = claim_words(piece.text, terms.names)
    added = {w[:STEM] for w in claim - asked}
    problem, rival = "", (0, "")  # rival: the lines that say most of it, but of another name
    for i in above:
        for chosen in pairings(i, above, spans, terms.code):
            text = lines_text(blocks, chosen)
            gone = missing(terms, text)
            name = None if gone else swapped(piece.text, text)
            said = len(claim & content(text))
            if not gone and name is None and added and not added & {w[:STEM] for w in content(text)}:
                problem = problem or "the lines it is closest to say none of what it adds to the question"
                continue
            if not gone and name is None:
                if rival[0] > said:  # closer lines say this of something else: "L2 drives weights to zero"
                    return Attributed(piece, float(sims[i]), reason=f"the notes say this of something other "
                                      f"than {rival[1]}")
                return Attributed(piece, float(sims[i]), chosen)
            if gone and all(g in terms.names for g in gone) and said > rival[0]:
                rival = (said, gone[0])
            problem = problem or (f"{', '.join(gone)} not in the lines it is closest to" if gone
                                  else f"the notes say this of something other than {name}")
    return Attributed(piece, float(sims[above[0]]), reason=problem)


def pairings(i: int, above: Sequence[int], spans: Sequence[Span], code: Sequence[str]) -> list[tuple[Span, ...]]:
    """The spans a sentence may cite, tried in turn: the one it is like, then it with another of its block that is
    like it too, or that holds the code it quotes (prose is not much like code to an embedder)."""
    block = spans[i].block
    others = [j for j in above if j != i and spans[j].block == block]
    others += [j for j, s in enumerate(spans) if s.block == block and j not in others and j != i
               and code and any(c in s.text for c in code)]
    return [(spans[i],)] + [(spans[i], spans[j]) for j in others]


def code_lines(code: str) -> list[str]:
    """A fenced block's non-blank lines, stripped, without its fences."""
    lines = code.split("\n")
    body = lines[1:-1] if len(lines) > 1 and FENCE.match(lines[-1]) else lines[1:]
    return [line.strip() for line in body if line.strip()]


def attribute_code(piece: Piece, blocks: Sequence[Citation]) -> Attributed:
    """A code block is supported when every line of it is in the notes' lines (indentation aside)."""
    wanted = code_lines(piece.text)
    found: list[Span] = []
    for line in wanted:
        hit = next(((b, n) for b, block in enumerate(blocks) for n, t in block_lines(block) if line in t), None)
        if hit is not None:
            found.append(Span(hit[0], hit[1], hit[1], line))
    share = len(found) / len(wanted) if wanted else 0.0
    if not wanted or len(found) < len(wanted):
        return Attributed(piece, share, reason=f"{len(wanted) - len(found)} of its {len(wanted)} lines are not "
                          "in the notes")
    return Attributed(piece, 1.0, joined(found))


def attribute_formula(piece: Piece, blocks: Sequence[Citation]) -> Attributed:
    """A display formula is supported by the fewest lines of a block that hold the same TeX."""
    tex = same_tex(re.sub(r"^\s*(\$\$|\\\[)|(\$\$|\\\])\s*$", "", piece.text.strip()))
    for size in range(1, FORMULA_LINES + 1):
        for b, block in enumerate(blocks):
            lines = block_lines(block)
            for k in range(len(lines) - size + 1):
                window = lines[k : k + size]
                if tex and tex in same_tex("".join(t for _, t in window)):
                    return Attributed(piece, 1.0, (Span(b, window[0][0], window[-1][0], ""),))
    return Attributed(piece, 0.0, reason="the notes do not have this formula")


def joined(found: Sequence[Span]) -> tuple[Span, ...]:
    """Single-line spans of the same block that follow each other joined into one."""
    out: list[Span] = []
    for span in sorted(found, key=lambda s: (s.block, s.start)):
        if out and out[-1].block == span.block and span.start <= out[-1].end + 1:
            out[-1] = Span(span.block, out[-1].start, max(out[-1].end, span.end), "")
        else:
            out.append(span)
    return tuple(out)
