"""Notes -> chunks with exact line spans: the note's sections packed into chunks within the budget (pure)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from rag.ingest.blocks import Block
from rag.ingest.headings import OUTLINE, plain_text
from rag.ingest.paths import SENTENCE_END, parse_blocks
from rag.ingest.view import embed_view
from rag.models import Chunk, Note

WORD = re.compile(r"\S+\s*")
HEADING_SEP = " > "
GENERIC_NAMES = frozenset({"readme", "index", "untitled", "notes", "main"})  # file names that name no subject


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


CHUNKER_VERSION = 19  # bump when chunk boundaries or headings change, so `rag index` re-cuts every note


def chunk_note(note: Note, budget: Budget) -> list[Chunk]:
    """Split a note into chunks that keep headings, code, tables and items whole where they fit."""
    lines = note.text.split("\n")
    chunks: list[Chunk] = []
    blocks = parse_blocks(lines, plain_text(note.source))
    # A note with no title of its own (no heading at all, or sections without a `#` over them: an Obsidian note,
    # a handbook page whose title is in its front matter) is titled by its file name, as a notes app shows it.
    # One with a `#` title keeps its own paths (a stretch between its topics is not about the file's name).
    title = "" if any(is_note_title(b) for b in blocks) else note_title(note.source)
    for piece in pack_tree(build_sections(blocks), lines, budget):
        chunk = to_chunk(note.source, piece, lines)
        if title and not chunk.heading.startswith(title):
            chunk = replace(chunk, heading=HEADING_SEP.join(p for p in (title, chunk.heading) if p))
        chunks.append(chunk)
    return chunks


def is_note_title(block: Block) -> bool:
    """A `#` (or `===`) heading of the note's outline: the note names its subject itself."""
    return block.head is not None and block.head.level == 1 and block.head.tier == OUTLINE


def note_title(source: str) -> str:
    """A note's file name as its title ("2023-09-12 Meeting with Steph"): a note that is only its title's
    subject is found by it."""
    stem = source.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    if stem.lower() in GENERIC_NAMES:
        return ""
    return re.sub(r"(?<=[A-Za-z])[-_]+(?=[A-Za-z])", " ", stem).strip()


@dataclass
class Section:
    """A heading, the blocks under it, and its subsections."""

    level: float  # heading depth; x.5 for text that goes on, untitled, after a subsection
    blocks: list[Block]
    children: list[Section]

    def all_blocks(self) -> list[Block]:
        return self.blocks + [b for child in self.children for b in child.all_blocks()]


def build_sections(blocks: list[Block]) -> Section:
    """The note's tree: a section per topic (text before the first one is the root's), then its headings."""
    root = Section(0, [], [])
    stack, topic = [root], 0
    for block in blocks:
        if block.topic != topic:  # a new topic never nests in the one before
            topic, stack = block.topic, [root, subsection(root, 0)]
        depth = len(block.path)
        if block.kind == "heading":
            while stack[-1].level >= depth:
                stack.pop()
            stack.append(subsection(stack[-1], depth))
        else:
            while stack[-1].level > depth + 0.5:
                stack.pop()
            if stack[-1].children:  # text after a subsection that closed early: an untitled section,
                stack.append(subsection(stack[-1], depth + 0.5))  # not the parent's body far above
        stack[-1].blocks.append(block)
    return root


def subsection(parent: Section, level: float) -> Section:
    """A new, empty subsection of parent."""
    parent.children.append(Section(level, [], []))
    return parent.children[-1]


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
    """Pieces of one topic: two topics (two answers, two top-level headings) are never joined.

    A piece that is only a heading (a title with no text of its own) may still end the piece before it.
    """
    return a[-1].topic == b[0].topic or all(block.kind == "heading" for block in b)


def pack_blocks(blocks: list[Block], lines: list[str], budget: Budget) -> list[list[Block]]:
    """Greedy packing of consecutive blocks into chunks within the budget."""
    units = [unit for block in blocks for unit in split_block(block, lines, budget)]
    pieces: list[list[Block]] = []
    current: list[Block] = []
    for unit in units:
        if current and (unit.text is not None or current[-1].text is not None
                        or not fits(current + [unit], lines, budget)):
            if leads_in(current, lines) and fits([current[-1], unit], lines, budget):
                pieces.append(current[:-1])  # "…as follows:" goes with what follows it
                current = current[-1:]
            else:
                pieces.append(current)
                current = overlap_tail(current, lines, budget, unit)
        current.append(unit)
    if current:
        pieces.append(current)
    return pieces


def leads_in(blocks: list[Block], lines: list[str]) -> bool:
    """True if the last of several blocks is a paragraph that ends with a colon: it introduces the block after it
    (a formula, code, a list: "each activation h is replaced by a random variable h' as follows:")."""
    last = blocks[-1]
    return len(blocks) > 1 and last.kind == "para" and last.text is None and lines[last.end].rstrip().endswith(":")


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
                for u in split_block(replace(block, start=i, end=i), lines, budget)]
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
        return [replace(block, end=block.start, text=text)]
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


def to_chunk(source: str, blocks: list[Block], lines: list[str]) -> Chunk:
    """A chunk with 1-based inclusive line numbers."""
    return Chunk(source, blocks[0].start + 1, blocks[-1].end + 1, heading_of(blocks), span_text(blocks, lines))


def heading_of(blocks: list[Block]) -> str:
    """The heading path of the chunk's first text block: where the chunk starts (a bare heading leading in counts).

    Sibling sections joined into one chunk keep the first one's title, not just the parent they share:
    the later ones' titles are in the chunk's text.
    """
    paths = [b.path for b in blocks if b.kind != "heading"] or [blocks[-1].path]
    return HEADING_SEP.join(paths[0])
