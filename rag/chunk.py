"""Notes -> chunks with exact line spans, following the notes' structure (pure)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from rag.models import Chunk, Note

# The markdown line grammar, shared with rag.units.
HEADING = re.compile(r"^[ \t]{0,3}(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})")
LIST_ITEM = re.compile(r"^([ \t]*)(?:[-*+]|\d{1,3}[.)])[ \t]+\S")  # group 1: the item's indentation
TABLE_ROW = re.compile(r"^[ \t]*\|")
CELL_MARKER = re.compile(r"^(?:In|Out)[ \t]*\[[ \t\d]*\]:[ \t]*$")
# A line of prose after a notebook cell: starts with a capital, ends like a sentence.
PROSE = re.compile(r"^[A-Z*][^=(){}\[\]]{30,}[.:?!)]\s*$")
SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")
# Table rules, horizontal rules, bold/italic markers, LaTeX inline/display delimiters.
MARKUP_NOISE = re.compile(r"\|?(?:[ \t]*:?-{3,}:?[ \t]*\|)+[ \t]*:?-*|^[ \t]*(?:[-*_=][ \t]*){3,}$|\*\*|\\[()\[\]]",
                          re.MULTILINE)
SPACES = re.compile(r"[ \t]{2,}")
WORD = re.compile(r"\S+\s*")
# A longer "heading" is prose set as a heading; every chunk below inherits it, so keep it short
# enough (about ten words) not to outweigh the chunk's own text in its embedding.
MAX_TITLE = 60
PROSE_WORDS = 25  # a `#` line longer than this is read as a paragraph: titles, even questions, are shorter
HEADING_SEP = " > "


@dataclass(frozen=True)
class Budget:
    """Limits a chunk must respect."""

    max_tokens: int  # in budget (tiktoken) tokens
    overlap_tokens: int  # a trailing block this small is repeated in the next chunk
    count: Callable[[str], int]  # budget tokens of a text
    fits_model: Callable[[str], bool]  # True if the embedder sees the text untruncated

    @property
    def id(self) -> str:
        """What decides chunk boundaries: stored with the index so a change re-cuts the notes."""
        return f"v{CHUNKER_VERSION}:{self.max_tokens}:{self.overlap_tokens}"


CHUNKER_VERSION = 5  # bump when chunk boundaries or headings change, so `rag index` re-cuts every note


@dataclass(frozen=True)
class Block:
    """A structural unit: lines start..end (0-based, inclusive), or a slice of one line."""

    start: int
    end: int
    kind: str  # heading | code | table | item | para
    path: tuple[str, ...] = ()  # the headings this block sits under, outermost first
    text: str | None = None  # set only for a slice of a single over-long line


def chunk_note(note: Note, budget: Budget) -> list[Chunk]:
    """Split a note into chunks that keep headings, code, tables and items whole where they fit."""
    lines = note.text.split("\n")
    chunks: list[Chunk] = []
    for piece in pack_tree(build_sections(parse_blocks(lines)), lines, budget):
        chunks.append(to_chunk(note.source, piece, lines))
    return chunks


def parse_blocks(lines: list[str]) -> list[Block]:
    """Blocks of the note with the heading path each one sits under."""
    blocks: list[Block] = []
    path: list[tuple[int, str]] = []  # (level, title)
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        kind, end = classify(lines, i)
        if kind == "heading":
            match = HEADING.match(line)
            assert match
            level, title = len(match.group(1)), clean_heading(match.group(2))
            path = [(lv, t) for lv, t in path if lv < level]
            path.append((level, title))
        blocks.append(Block(i, end, kind, tuple(title for _, title in path)))
        i = end + 1
    return blocks


def classify(lines: list[str], i: int) -> tuple[str, int]:
    """The kind of block starting at line i, and its last line."""
    line = lines[i]
    fence = FENCE.match(line)
    if fence:
        return "code", fence_end(lines, i, fence.group(1))
    if CELL_MARKER.match(line):
        return "code", cell_end(lines, i)
    if is_title(line):
        return "heading", i
    if TABLE_ROW.match(line):
        return "table", run_end(lines, i, lambda s: bool(TABLE_ROW.match(s)))
    if LIST_ITEM.match(line):
        return "item", run_end(lines, i, continues_block)
    return "para", run_end(lines, i, continues_block)


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
        if starts_block and (PROSE.match(line) or FENCE.match(line) or CELL_MARKER.match(line)):
            break
        if starts_block and HEADING.match(line) and not lines[j - 2 if j >= 2 else j].strip():
            break
        if line.strip():
            last = j
    return last


def run_end(lines: list[str], i: int, continues: Callable[[str], bool]) -> int:
    """Last line of a run that starts at i and goes on while `continues` holds."""
    j = i
    while j + 1 < len(lines) and lines[j + 1].strip() and continues(lines[j + 1]):
        j += 1
    return j


def continues_block(line: str) -> bool:
    """A line that continues the paragraph or list item above it (not a new item or another block)."""
    return not (LIST_ITEM.match(line) or starts_other_block(line))


def starts_other_block(line: str) -> bool:
    """A heading, fence, table row or notebook marker."""
    return bool(HEADING.match(line) or FENCE.match(line) or TABLE_ROW.match(line) or CELL_MARKER.match(line))


def is_title(line: str) -> bool:
    """A heading line that is a title, not a paragraph typed after `#` (notebook exports have those).

    Such a paragraph would head every chunk below it, up to the next heading of its level, with text
    that names one topic while the chunks discuss others; it is read as text instead.
    """
    match = HEADING.match(line)
    return match is not None and len(match.group(2).split()) <= PROSE_WORDS


def clean_heading(title: str) -> str:
    """A heading's text without emphasis markers, cut to its first sentence if it is prose."""
    title = title.replace("**", "").strip()
    if len(title) > MAX_TITLE:
        first = SENTENCE_END.search(title, 20)  # "18. What is …" is a numbered title, not a sentence
        title = title[: first.start()] if first else title
    return title if len(title) <= MAX_TITLE else title[: MAX_TITLE - 1].rstrip() + "…"


def heading_level(block: Block) -> int:
    """1 for `#`, 6 for `######`: a heading's depth is the length of its path."""
    return len(block.path)


@dataclass
class Section:
    """A heading, the blocks under it, and its subsections."""

    level: int
    blocks: list[Block]
    children: list[Section]

    def all_blocks(self) -> list[Block]:
        return self.blocks + [b for child in self.children for b in child.all_blocks()]


def build_sections(blocks: list[Block]) -> Section:
    """The note's heading tree; text before the first heading belongs to the root."""
    root = Section(0, [], [])
    stack = [root]
    for block in blocks:
        if block.kind == "heading":
            level = heading_level(block)
            while stack[-1].level >= level:
                stack.pop()
            section = Section(level, [block], [])
            stack[-1].children.append(section)
            stack.append(section)
        else:
            stack[-1].blocks.append(block)
    return root


def pack_tree(section: Section, lines: list[str], budget: Budget) -> list[list[Block]]:
    """A whole subsection per chunk where it fits; otherwise its body, then its children."""
    everything = section.all_blocks()
    if everything and fits(everything, lines, budget):
        return [everything]
    pieces = pack_blocks(section.blocks, lines, budget) if section.blocks else []
    for child in section.children:
        pieces.extend(pack_tree(child, lines, budget))
    return merge_neighbours(pieces, lines, budget)


def merge_neighbours(pieces: list[list[Block]], lines: list[str], budget: Budget) -> list[list[Block]]:
    """Join adjacent, non-overlapping pieces while they fit (small sibling sections, bare headings)."""
    merged: list[list[Block]] = []
    for piece in pieces:
        prev = merged[-1] if merged else None
        if (prev and prev[-1].end < piece[0].start and prev[-1].text is None and piece[0].text is None
                and same_topic(prev, piece) and fits(prev + piece, lines, budget)):
            merged[-1] = prev + piece
        else:
            merged.append(piece)
    return merged


def same_topic(a: list[Block], b: list[Block]) -> bool:
    """Pieces share a heading (or neither has one): two top-level topics are never joined."""
    return bool(heading_of(a + b)) or not (heading_of(a) or heading_of(b))


def pack_blocks(blocks: list[Block], lines: list[str], budget: Budget) -> list[list[Block]]:
    """Greedy packing of consecutive blocks into chunks within the budget."""
    units = [unit for block in blocks for unit in split_block(block, lines, budget)]
    pieces: list[list[Block]] = []
    current: list[Block] = []
    for unit in units:
        if current and (unit.text is not None or current[-1].text is not None
                        or not fits(current + [unit], lines, budget)):
            pieces.append(current)
            current = overlap_tail(current, lines, budget, unit)
        current.append(unit)
    if current:
        pieces.append(current)
    return pieces


def overlap_tail(previous: list[Block], lines: list[str], budget: Budget, nxt: Block) -> list[Block]:
    """The small trailing block repeated at the start of the next chunk, if any."""
    last = previous[-1]
    if len(previous) < 2 or last.text is not None or last.kind in ("heading", "code", "table"):
        return []
    if budget.count(span_text([last], lines)) > budget.overlap_tokens:
        return []
    return [last] if fits([last, nxt], lines, budget) else []


def fits(blocks: list[Block], lines: list[str], budget: Budget) -> bool:
    """True if these blocks make one chunk within both budgets."""
    return slice_fits(span_text(blocks, lines), heading_of(blocks), budget)


def split_block(block: Block, lines: list[str], budget: Budget) -> list[Block]:
    """A block as units that each fit: whole if possible, else by lines, else by sentences."""
    if fits([block], lines, budget):
        return [block]
    if block.end > block.start:
        return [u for i in range(block.start, block.end + 1) if lines[i].strip()
                for u in split_block(Block(i, i, block.kind, block.path), lines, budget)]
    return split_line(block, lines[block.start], budget)


def split_line(block: Block, line: str, budget: Budget) -> list[Block]:
    """An over-long single line as slices at sentence (or, inside a long sentence, word) boundaries."""
    spans = [(a, b) for a, b in sentence_spans(line) for a, b in (
        [(a, b)] if budget.count(line[a:b]) <= budget.max_tokens else word_spans(line, a, b))]
    slices, start, used = [], 0, 0
    for a, b in spans:  # each span is counted once: a 1 MB line stays linear
        n = budget.count(line[a:b])
        if used and used + n > budget.max_tokens:
            slices.append((start, a))
            start, used = a, 0
        used += n
    slices.append((start, len(line)))
    return [piece for a, b in slices for piece in fit_slice(block, line[a:b].strip(), budget)]


def sentence_spans(line: str) -> list[tuple[int, int]]:
    ends = [m.end() for m in SENTENCE_END.finditer(line)]
    return list(zip([0, *ends], [*ends, len(line)]))


def word_spans(line: str, start: int, end: int) -> list[tuple[int, int]]:
    return [(start + m.start(), start + m.end()) for m in WORD.finditer(line[start:end])]


def fit_slice(block: Block, text: str, budget: Budget) -> list[Block]:
    """A slice that fits as one block, else its halves (cut at the space nearest the middle)."""
    if not text.strip():
        return []
    if slice_fits(text, heading_of([block]), budget) or len(text) < 2:
        return [Block(block.start, block.start, block.kind, block.path, text)]
    mid = len(text) // 2
    space = text.rfind(" ", 0, mid)
    cut = space if space > len(text) // 4 else mid
    return fit_slice(block, text[:cut].strip(), budget) + fit_slice(block, text[cut:].strip(), budget)


def slice_fits(text: str, heading: str, budget: Budget) -> bool:
    """True if a text, seen with its heading, is within both budgets."""
    return budget.count(text) <= budget.max_tokens and budget.fits_model(embed_view(heading, text))


def span_text(blocks: list[Block], lines: list[str]) -> str:
    """The text of a chunk: its lines as in the file, or the slice of one line."""
    if len(blocks) == 1 and blocks[0].text is not None:
        return blocks[0].text
    return "\n".join(lines[blocks[0].start : blocks[-1].end + 1])


def embed_view(heading: str, text: str) -> str:
    """What the embedder sees: the heading path, then the text without markdown noise."""
    return strip_markup(f"{heading}\n{text}" if heading else text)


def strip_markup(text: str) -> str:
    """Drop syntax that costs model tokens and carries no meaning (rules, bold markers, math delimiters)."""
    text = MARKUP_NOISE.sub(" ", text)
    return SPACES.sub(" ", text)


def to_chunk(source: str, blocks: list[Block], lines: list[str]) -> Chunk:
    """A chunk with 1-based inclusive line numbers."""
    return Chunk(source, blocks[0].start + 1, blocks[-1].end + 1, heading_of(blocks), span_text(blocks, lines))


def heading_of(blocks: list[Block]) -> str:
    """The heading path shared by all the blocks (a bare heading leading in counts as shared)."""
    paths = [b.path for b in blocks if b.kind != "heading"] or [blocks[-1].path]
    common = paths[0]
    for path in paths[1:]:
        n = 0
        while n < min(len(common), len(path)) and common[n] == path[n]:
            n += 1
        common = common[:n]
    return HEADING_SEP.join(common)
