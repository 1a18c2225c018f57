"""Notes -> chunks with exact line spans, following the notes' structure (pure)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from rag.ingest.headings import (
    CELL_MARKER,
    FENCE,
    HEADING,
    LIST_ITEM,
    OUTLINE,
    TABLE_ROW,
    Heading,
    heading_at,
    is_title,
    plain_text,
)
from rag.ingest.plain import search_text
from rag.models import Chunk, Note

# A line of prose after a notebook cell: starts with a capital, ends like a sentence.
PROSE = re.compile(r"^[A-Z*][^={}]{30,}[.:?!)]\s*$")  # starts and ends like a sentence, no assignment or braces
PLAIN_WORD = re.compile(r"^[A-Za-z][a-z'’-]*[,.:;!?]?$")
# A chatbot answer's last line: addresses the reader, ends with an offer or a question, and offers more in the
# words chatbots use ("Let me know if…!", "Would you like…?"); advice to the reader ("you must practise!") is none.
CLOSING_OFFER = re.compile(r"^(?=.*\byou).*[?!][*_]*[ \t]*$", re.IGNORECASE)
OFFER = re.compile(r"\b(?:let me know|feel free|would you like|do you want|want me to|shall I|happy to help"
                   r"|if you(?:'re| are) interested|hope this helps)\b", re.IGNORECASE)
Open = tuple[float, str, int]  # an open heading: (level, title, tier); see rag.headings.Heading
UNTITLED: Open = (1.0, "", OUTLINE)  # an answer that starts without a title is open like a `#` that names nothing
SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")
# Table rules, horizontal rules, bold/italic markers, LaTeX inline/display delimiters. The lookahead (every match
# starts with one of its characters) spares the alternatives at most positions: half the chunker's time before.
MARKUP_NOISE = re.compile(r"(?=[-|:\t *_=\\])(?:\|?(?:[ \t]*:?-{3,}:?[ \t]*\|)+[ \t]*:?-*|^[ \t]*(?:[-*_=][ \t]*){3,}$"
                          r"|\*\*|\\[()\[\]])", re.MULTILINE)
TABLE_RULE = re.compile(r":?-{3,}:?")
SPACES = re.compile(r"[ \t]{2,}")
WORD = re.compile(r"\S+\s*")
# A longer "heading" is prose set as a heading; every chunk below inherits it, so keep it short
# enough (about ten words) not to outweigh the chunk's own text in its embedding.
MAX_TITLE = 60
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


@dataclass(frozen=True)
class Block:
    """A structural unit: lines start..end (0-based, inclusive), or a slice of one line."""

    start: int
    end: int
    kind: str  # heading | code | table | item | para
    path: tuple[str, ...] = ()  # the headings this block sits under, outermost first
    text: str | None = None  # set only for a slice of a single over-long line
    topic: int = 0  # which of the note's topics (answers) it is in: 0 before the first, never joined across
    head: Heading | None = None  # for a heading: its level and title


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


def parse_blocks(lines: list[str], plain: bool = False) -> list[Block]:
    """Blocks of the note with the heading path each one sits under, where the note's topics really end.

    `plain`: a plain-text note (`rag.headings.plain_text`), where `#` lines may be shell comments.
    """
    blocks: list[Block] = []
    i = front_matter_end(lines) + 1
    if i:  # kept as text (a plain-text note's YAML header): its `---` lines underline nothing
        blocks.append(Block(0, i - 1, "para"))
    while i < len(lines):
        if not lines[i].strip() or (plain and lines[i].strip() == "#"):  # an empty comment line parts blocks too
            i += 1
            continue
        kind, end = classify(lines, i, plain)
        head = heading_at(lines, i, plain) if kind == "heading" else None
        blocks.append(Block(i, end, kind, head=head))
        i = end + 1
    return with_paths(blocks, lines)


def front_matter_end(lines: list[str]) -> int:
    """The closing `---` (or `...`) of a YAML header that opens the note with `---`, with no blank line in it;
    -1 if there is none."""
    if not lines or lines[0].rstrip() != "---":
        return -1
    for j in range(1, len(lines)):
        if not lines[j].strip():
            return -1
        if lines[j].rstrip() in ("---", "..."):
            return j
    return -1


# Markdown's rule: a heading is open until the next heading at its level or above. A question line in bold or
# a <summary> (rag.headings) heads its answer one level below the heading it sits under, and any heading of the
# outline ends it. Notebook exports of pasted chatbot answers start new topics without one; four more signs end
# what is open:
#   1. a topic title (`### Topic` then sections at a level it skipped, after siblings at its own level; or the
#      heading an answer opens with) closes everything and heads the sections after it;
#   2. a closing offer ("Let me know if you…!") ends its answer: what follows is a new, untitled one;
#   3. prose after the notebook cell that a heading introduced is no longer about that heading;
#   4. a paragraph typed after `#` ends the headings at its level, as the heading it looks like would.
# Well-nested markdown has no skipped levels, offers, `In [n]:` cells or prose headings: its paths stay.
def with_paths(blocks: list[Block], lines: list[str]) -> list[Block]:
    """The blocks with the headings still open at each one, and the topic each is in."""
    open_: list[Open] = []  # a topic title sits half a level above its sections
    placed: list[Block] = []
    topic, answer_starts = 0, False
    for k, block in enumerate(blocks):
        if block.head is not None and block.head.tier != OUTLINE:
            open_ = [h for h in open_ if h[2] < block.head.tier]
            open_.append(((open_[-1][0] if open_ else 0) + 1, clean_heading(block.head.title), block.head.tier))
        elif block.head is not None:
            level, title = block.head.level, clean_heading(block.head.title)
            open_ = [h for h in open_ if h[0] < level and h[2] == OUTLINE]
            top = topic_title_level(blocks, k, open_[-1][0] if open_ else 0, answer_starts)
            topic += top is not None or not open_
            open_ = [(top, title, OUTLINE)] if top is not None else open_ + [(level, title, OUTLINE)]
        elif (closes := closing_level(blocks, k, lines, open_)) is not None:
            open_ = [h for h in open_ if h[0] < closes]
            if not open_:  # the text goes on without a title: an answer whose question was not kept
                open_, topic = [UNTITLED], topic + 1
        placed.append(replace(block, path=tuple(title for _, title, _ in open_ if title), topic=topic))
        answer_starts = is_closing_offer(block, lines)
        if answer_starts:
            open_, topic = [UNTITLED], topic + 1
    return placed


def topic_title_level(blocks: list[Block], k: int, parent: float, answer_starts: bool) -> float | None:
    """The level heading k takes if it titles a new topic (rule 1): just above its sections, the headings after it.

    A title deeper than its sections (`### Topic`, `## 1. Part`) skipped their level between its parent and
    itself, which well-nested markdown never does; it is a title when headings at its own level came before it
    under that parent (a level an answer used for its sections), not when it is the parent's first subheading
    set one level too deep (`## Melee Attacks`, `#### Opportunity Attacks`, `### Grappling`). A `#` is never a
    section: it starts a topic of its own.
    """
    level = outline_level(blocks[k])
    # Indices, not a slice: copying the blocks after each heading made a long note's chunking quadratic.
    sections = next((outline_level(blocks[j]) for j in range(k + 1, len(blocks)) if outline_level(blocks[j])), level)
    if max(parent, 1) < sections < level and (answer_starts or has_sibling_above(blocks, k)):
        return sections - 0.5
    return min(level, max(sections, 2)) - 0.5 if answer_starts and level > 1 else None


def outline_level(block: Block) -> int:
    """The level of a heading of the note's outline (0 for any other block)."""
    return block.head.level if block.head is not None and block.head.tier == OUTLINE else 0


def has_sibling_above(blocks: list[Block], k: int) -> bool:
    """True if a heading at heading k's level comes before it, with none shallower in between."""
    level = outline_level(blocks[k])
    for j in range(k - 1, -1, -1):
        if 0 < outline_level(blocks[j]) <= level:
            return outline_level(blocks[j]) == level
    return False


def closing_level(blocks: list[Block], k: int, lines: list[str], open_: list[Open]) -> float | None:
    """The level from which text block k closes the open headings, if it does (rules 3 and 4)."""
    if is_prose_heading(blocks, k, lines):
        return len(HEADING.match(lines[blocks[k].start]).group(1))  # type: ignore[union-attr]
    return open_[-1][0] if open_ and follows_titled_cell(blocks, k, lines) else None


def is_prose_heading(blocks: list[Block], k: int, lines: list[str]) -> bool:
    """A paragraph typed after `#`s (right below a heading it is that heading's text, and closes nothing).

    A shorter `#` line that is text is a plain-text note's shell comment, and closes nothing either.
    """
    line = lines[blocks[k].start]
    return (blocks[k].kind == "para" and HEADING.match(line) is not None and not is_title(line)
            and not (k and blocks[k - 1].kind == "heading"))


def follows_titled_cell(blocks: list[Block], k: int, lines: list[str]) -> bool:
    """Prose right after notebook cells (`In [1]:`, not fences) that a heading introduced."""
    j = k - 1
    while j >= 0 and blocks[j].kind == "code" and CELL_MARKER.match(lines[blocks[j].start]):
        j -= 1
    return blocks[k].kind == "para" and 0 <= j < k - 1 and blocks[j].kind == "heading"


def is_closing_offer(block: Block, lines: list[str]) -> bool:
    """A one-line paragraph that offers the reader more ("Let me know if you…!"): its answer ends there."""
    line = lines[block.start]
    return (block.kind == "para" and block.start == block.end and bool(CLOSING_OFFER.search(line))
            and bool(OFFER.search(line)))


def classify(lines: list[str], i: int, plain: bool = False) -> tuple[str, int]:
    """The kind of block starting at line i, and its last line."""
    line = lines[i]
    head = heading_at(lines, i, plain)
    if head is not None:
        return "heading", head.end
    fence = FENCE.match(line)
    if fence:
        return "code", fence_end(lines, i, fence.group(1))
    if CELL_MARKER.match(line):
        return "code", cell_end(lines, i)
    if TABLE_ROW.match(line):
        return "table", run_end(lines, i, lambda s: bool(TABLE_ROW.match(s)))
    continues = continues_plain if plain else continues_block
    if LIST_ITEM.match(line):
        return "item", run_end(lines, i, continues)
    return "para", run_end(lines, i, continues)


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
        if starts_block and (is_prose(line) or FENCE.match(line) or CELL_MARKER.match(line)):
            break
        if starts_block and HEADING.match(line) and not lines[j - 2 if j >= 2 else j].strip():
            break
        if line.strip():
            last = j
    return last


def is_prose(line: str) -> bool:
    """A line that reads as a sentence, not code: mostly plain words ("In Python, `__init__()` runs...")."""
    return PROSE.match(line) is not None and len(line.split()) >= 6 and plain_share(line) >= 0.6


def plain_share(text: str) -> float:
    """The share of a text's words that are plain words, not code, symbols or numbers."""
    tokens = text.split()
    return sum(bool(PLAIN_WORD.match(t.strip("*_`()\"'"))) for t in tokens) / len(tokens) if tokens else 0.0


def run_end(lines: list[str], i: int, continues: Callable[[str], bool]) -> int:
    """Last line of a run that starts at i and goes on while `continues` holds."""
    j = i
    while j + 1 < len(lines) and lines[j + 1].strip() and continues(lines[j + 1]):
        j += 1
    return j


def continues_block(line: str) -> bool:
    """A line that continues the paragraph or list item above it (not a new item or another block)."""
    return not (LIST_ITEM.match(line) or starts_other_block(line))


def continues_plain(line: str) -> bool:
    """In a plain-text note a `#` line goes on with the lines above it (a comment); an empty `#` parts blocks."""
    return line.strip() != "#" and (bool(HEADING.match(line)) or continues_block(line))


def starts_other_block(line: str) -> bool:
    """A heading, fence, table row or notebook marker."""
    return bool(HEADING.match(line) or FENCE.match(line) or TABLE_ROW.match(line) or CELL_MARKER.match(line))


def clean_heading(title: str) -> str:
    """A heading's text without emphasis markers, cut to its first sentence if it is prose."""
    title = title.replace("**", "").strip()
    if len(title) > MAX_TITLE:
        first = SENTENCE_END.search(title, 20)  # "18. What is …" is a numbered title, not a sentence
        title = title[: first.start()] if first else title
    return title if len(title) <= MAX_TITLE else title[: MAX_TITLE - 1].rstrip() + "…"


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


def embed_view(heading: str, text: str) -> str:
    """What the embedder sees: the heading path, then the text without markdown noise, tables as sentences,
    links by their words and formulas without formatting commands (rag.plain)."""
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
