"""Heading paths: which headings are still open at each block, and where a note's topics really end (pure)."""

from __future__ import annotations

import re
from dataclasses import replace

from rag.ingest.blocks import Block, read_blocks
from rag.ingest.headings import CELL_MARKER, HEADING, OUTLINE, is_title

# A chatbot answer's last line: addresses the reader, ends with an offer or a question, and offers more in the
# words chatbots use ("Let me know if…!", "Would you like…?"); advice to the reader ("you must practise!") is none.
CLOSING_OFFER = re.compile(r"^(?=.*\byou).*[?!][*_]*[ \t]*$", re.IGNORECASE)
OFFER = re.compile(r"\b(?:let me know|feel free|would you like|do you want|want me to|shall I|happy to help"
                   r"|if you(?:'re| are) interested|hope this helps)\b", re.IGNORECASE)
Open = tuple[float, str, int]  # an open heading: (level, title, tier); see rag.ingest.headings.Heading
UNTITLED: Open = (1.0, "", OUTLINE)  # an answer that starts without a title is open like a `#` that names nothing
SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")
# A longer "heading" is prose set as a heading; every chunk below inherits it, so keep it short
# enough (about ten words) not to outweigh the chunk's own text in its embedding.
MAX_TITLE = 60


def parse_blocks(lines: list[str], plain: bool = False) -> list[Block]:
    """Blocks of the note with the heading path each one sits under, where the note's topics really end.

    `plain`: a plain-text note (`rag.ingest.headings.plain_text`), where `#` lines may be shell comments.
    """
    return with_paths(read_blocks(lines, plain), lines)


# Markdown's rule: a heading is open until the next heading at its level or above. A question line in bold or
# a <summary> (rag.ingest.headings) heads its answer one level below the heading it sits under, and any heading of the
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


def clean_heading(title: str) -> str:
    """A heading's text without emphasis markers, cut to its first sentence if it is prose."""
    title = title.replace("**", "").strip()
    if len(title) > MAX_TITLE:
        first = SENTENCE_END.search(title, 20)  # "18. What is …" is a numbered title, not a sentence
        title = title[: first.start()] if first else title
    return title if len(title) <= MAX_TITLE else title[: MAX_TITLE - 1].rstrip() + "…"
