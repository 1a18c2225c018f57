"""Passages -> answer units (sentences, list items, formulas, table rows, code blocks) with exact lines (pure)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from rag.ingest.blocks import cell_end, front_matter_end, plain_share, run_end
from rag.ingest.headings import CELL_MARKER, FENCE, HEADING, RUN_IN, heading_at, plain_text
from rag.ingest.headings import LIST_ITEM as ITEM
from rag.ingest.headings import TABLE_ROW as ROW
from rag.models import Passage

SEPARATOR_ROW = re.compile(r"^[ \t]*\|?[ \t]*:?-{2,}[-:| \t]*$")
RULE = re.compile(r"^[ \t]*([-*_])([ \t]*\1){2,}[ \t]*$")
# A sentence ends at . ! ? before a space and something that starts a sentence; "e.g. the" stays whole.
SENTENCE_END = re.compile(r"(?<=[.!?])[ \t\n]+(?=[A-Z0-9*\"'(\\`\[])")
# an item that opens with a link or a bare address (after its mark and any emoji); a bold link is a term's label
REFERENCE = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+(?:[^\w\s*_]{0,3}\s*)?(?:\[[^\]]+\]\([^)]+\)|<?https?://)")
# A sentence that points at what the note will say or where to read more: it names any question's topic and
# answers none ("We will compare their complexity", "For additional tips on BFS, refer to this post").
SIGNPOST = re.compile(
    r"\byou (?:can|could|may|might|should)(?: also)? (?:refer|read|consult|visit|learn more|check out|find (?:more|out)"
    r"|see more)\b|\bwish to read\b|^\W*(?:for|to learn) (?:more (?:details|information|info|on|about|examples|tips)|"
    r"additional|further|a (?:deeper|fuller)|details)\b|^\W*(?:see|refer to|check out|read more)\b|"
    r"\b(?:we(?: will|'ll| shall| now)|let'?s|let us|(?:this|the next|the following) (?:section|chapter|article|post|"
    r"tutorial|notebook) (?:will )?)(?: now| first| briefly)? (?:compare|focus|look|discuss|see|cover|explore|"
    r"introduce|describe|consider|review|go (?:over|through)|walk through|show|take a look|try|test)\b", re.I)
FOLLOWING = re.compile(r"\b(?:the following|as follows)\b[^.!?:]{0,60}\.$", re.I)
# A stub where the answer will go: the notes ask the question but don't answer it yet.
PLACEHOLDER = re.compile(r"^\W*(?:to be (?:completed|done|written|added|continued)(?: soon| later)?|tbd|todo|to ?do|"
                         r"coming soon|wip|work in progress|n/?a)\W*$", re.I)
OUTPUT_FENCE = re.compile(r"^\s*(?:`{3,}|~{3,})output\s*$", re.M)
COMMAND_PLAIN_SHARE = 0.6  # a line with fewer plain words than this is a command (`find . -type f -ctime -2`)
STANZA_BLOCK = 40  # a code block longer than this many lines is quoted stanza by stanza
STANZA_LINES = 15  # ... and one of its stanzas this short, with comments, reads as a note
COMMENTED = re.compile(r"(?:^|\s)(?:#|//|--|;)\s+\S")  # a line that is or ends in a comment
COMMENT = re.compile(r"^\s*(?:#|//|--|;|%)")
BANNER_RULE = re.compile(r"^\s*(?:#|//|--|;|%)+\s*[-=*#~]{5,}\s*$")
ABBREVIATION = re.compile(r"(?:\b(?:e\.g|i\.e|etc|vs|cf|approx|Fig|Eq|No|al)\.|\b[A-Z]\.)$")


@dataclass(frozen=True)
class Unit:
    """The smallest piece of a passage an answer quotes, with its lines in the note."""

    passage: int  # position of the passage in the retrieved list
    start_line: int  # 1-based, inclusive
    end_line: int
    kind: str  # sentence | item | formula | row | code | heading
    text: str
    context: str = ""  # nearest heading above it: what the unit is about
    depth: int = 0  # an item's indentation: a deeper item belongs to the one above it
    lead: int | None = None  # the unit this one continues (a list's "...:" line, a nested item's parent)
    header: int | None = None  # for a table row: its table's header row
    block: int = 0  # first line of the paragraph a sentence belongs to (its own first line for other kinds)


def split_passage(passage: Passage, index: int = 0) -> list[Unit]:
    """Cut a passage into answer units, each with the note's line numbers."""
    lines = passage.text.split("\n")
    context = passage.heading.split(" > ")[-1].strip() if passage.heading else ""
    plain = plain_text(passage.source)  # headings as the chunker reads them (rag.ingest.headings)
    front = front_matter_end(lines) if passage.start_line == 1 else -1
    units: list[Unit] = []
    i = open_code_end(lines, plain) + 1
    if i:  # the chunker cut a long code block: the passage starts inside it
        units.append(Unit(index, passage.start_line, passage.start_line + i - 1, "code", "\n".join(lines[:i]), context))
    while i < len(lines):
        line = lines[i]
        if not line.strip() or RULE.match(line) or (plain and line.strip() == "#"):
            i += 1
            continue
        kind, end = classify(lines, i, plain, headings=i > front)
        line_no = passage.start_line + i
        if kind == "cell":  # quoted without its `In [1]:` marker
            if end > i:
                units.append(Unit(index, line_no + 1, passage.start_line + end, "code",
                                  "\n".join(lines[i + 1 : end + 1]), context))
        elif kind == "heading":  # its underline or banner lines are part of it, never quoted
            context = clean_markup(heading_at(lines, i, plain).title)  # type: ignore[union-attr]
            units.append(Unit(index, line_no, passage.start_line + end, "heading", context, context))
        elif kind == "para" and plain and is_command_run(lines[i : end + 1]):  # a plain cheat sheet: a command a line
            units.extend(Unit(index, line_no + a, line_no + b, "item", command_line(text), context, block=line_no)
                         for a, b, text in command_lines(lines[i : end + 1]))
        elif kind == "para":
            para = [HEADING.sub(r"\2", lines[i]), *lines[i + 1 : end + 1]]  # a prose `#` line reads as text
            units.extend(split_sentences(para, line_no, index, context))
        elif kind == "code" and end - i >= STANZA_BLOCK:  # a cheat sheet: one commented example per stanza
            units.extend(Unit(index, passage.start_line + a, passage.start_line + b, "code",
                              "\n".join(lines[a : b + 1]), context, block=line_no)
                         for a, b in code_stanzas(lines, i, end))
        elif not (kind == "row" and SEPARATOR_ROW.match(line)):
            text = "\n".join(lines[i : end + 1]) if kind in ("code", "formula") else join_lines(lines[i : end + 1])
            depth = indent(line) if kind == "item" else 0
            units.append(Unit(index, line_no, passage.start_line + end, kind, text, context, depth))
        i = end + 1
    return link_units([u if u.kind == "sentence" or u.block else replace(u, block=u.start_line) for u in units])


def code_stanzas(lines: list[str], first: int, last: int) -> list[tuple[int, int]]:
    """A long code block's stanzas: the runs of lines between blank lines, a comment banner kept with the
    stanza it announces, a lone fence with its neighbour."""
    spans: list[tuple[int, int]] = []
    start: int | None = None
    for j in range(first, last + 2):
        if j <= last and lines[j].strip():
            start = j if start is None else start
        elif start is not None:
            spans.append((start, j - 1))
            start = None
    merged: list[tuple[int, int]] = []
    announced = False  # the last stanza opened with comments alone: they say what the code after them does
    for a, b in spans:
        if merged and (FENCE.match(lines[b]) and a == b or is_banner(lines, *merged[-1])):
            merged[-1] = (merged[-1][0], b)  # a closing fence alone, or the stanza a banner announces
        elif announced and not COMMENT.match(lines[a]) and b - merged[-1][0] < STANZA_LINES:
            merged[-1] = (merged[-1][0], b)  # "# Fix this using functools" over the code that does it
        else:
            merged.append((a, b))
            announced = announces(lines, a, b)
    if len(merged) > 1 and merged[0][0] == merged[0][1] and FENCE.match(lines[merged[0][0]]):
        merged[1] = (merged[0][0], merged[1][1])  # the opening fence (with its language) on the first stanza
        merged.pop(0)
    return merged


def explains_itself(unit: Unit) -> bool:
    """A short code stanza whose comments say what it does (a comment over it, or beside a third of its lines):
    a cheat sheet's note, quotable for any question."""
    lines = [line for line in unit.text.split("\n") if line.strip() and not FENCE.match(line)]
    said = sum(bool(COMMENTED.search(line)) for line in lines)
    opens = bool(lines) and COMMENT.match(lines[0]) is not None and said < len(lines)
    return unit.kind == "code" and 0 < len(lines) <= STANZA_LINES and (said * 3 >= len(lines) or opens)


def announces(lines: list[str], a: int, b: int) -> bool:
    """Comment lines alone (no banner rule): they say what the code after them does."""
    return all(COMMENT.match(line) for line in lines[a : b + 1] if line.strip()) and not any(
        BANNER_RULE.match(line) for line in lines[a : b + 1])


def starts_banner(unit: Unit) -> bool:
    """A code stanza that opens with a comment banner: it starts a new part of a cheat sheet."""
    first = [line for line in unit.text.split("\n") if line.strip() and not FENCE.match(line)][:1]
    return bool(first) and BANNER_RULE.match(first[0]) is not None


def is_banner(lines: list[str], a: int, b: int) -> bool:
    """Comment lines that only frame a title ("#-----" / "# Phony Targets" / "#-----")."""
    return all(COMMENT.match(line) or FENCE.match(line) for line in lines[a : b + 1]) and any(
        BANNER_RULE.match(line) for line in lines[a : b + 1])


def open_code_end(lines: list[str], plain: bool = False) -> int:
    """The closing fence of a code block the passage starts inside (-1 if it doesn't).

    A first fence with no language that is followed by an odd number of fences, or by one with a
    language, closes a block rather than opening one. A plain-text title's `~~~` underline is no fence.
    """
    fences = [i for i, line in enumerate(lines) if FENCE.match(line) and not (plain and adorns(lines, i))]
    if not fences or lines[fences[0]].strip().strip("`~"):
        return -1
    later_has_language = len(fences) > 1 and bool(lines[fences[1]].strip().strip("`~"))
    return fences[0] if len(fences) % 2 == 1 or later_has_language else -1


def adorns(lines: list[str], i: int) -> bool:
    """True if line i underlines or frames a plain-text title."""
    return any(h is not None and j <= i <= h.end
               for j in range(max(0, i - 2), i + 1) for h in [heading_at(lines, j, plain=True)])


def classify(lines: list[str], i: int, plain: bool = False, headings: bool = True) -> tuple[str, int]:
    """The kind of the block starting at line i and its last line (0-based); `headings` False in front matter."""
    line = lines[i]
    stripped = line.strip()
    head = heading_at(lines, i, plain) if headings else None
    if head is not None:
        return "heading", head.end
    fence = FENCE.match(line)
    if fence:
        marker = fence.group(1)
        def is_close(s: str) -> bool:
            return s.strip().startswith(marker) and not s.strip(marker[0]).strip()

        return "code", find_line(lines, i + 1, is_close)
    if plain and line[:1] in (" ", "\t") and opens_literal(lines, i):  # reStructuredText: "... is::" then code
        return "code", literal_end(lines, i)
    if CELL_MARKER.match(line):  # a notebook cell: unfenced code (and its output), as the chunker reads it
        return "cell", cell_end(lines, i)
    if stripped.startswith("\\["):
        closes = "\\]" in stripped[2:]
        return "formula", i if closes else find_line(lines, i + 1, lambda s: "\\]" in s)
    if stripped.startswith("$$"):
        closes = "$$" in stripped[2:]
        return "formula", i if closes else find_line(lines, i + 1, lambda s: "$$" in s)
    if ROW.match(line):
        return "row", i
    if ITEM.match(line) or is_run_in(line):  # a paragraph opened by a run-in label is one of a list of terms
        return "item", run_end(lines, i, lambda s: not starts_block(s) and not ITEM.match(s))
    return "para", run_end(lines, i, lambda s: not starts_block(s) and not ITEM.match(s))


def is_command_run(lines: list[str]) -> bool:
    """Lines of a plain-text note that are no wrapped prose: mostly code-like, none ends a sentence (commands,
    one a line, in a cheat sheet)."""
    kept = [line for line in lines if line.strip()]
    coded = sum(plain_share(line) <= COMMAND_PLAIN_SHARE for line in kept)
    return bool(kept) and 2 * coded >= len(kept) and not any(
        re.search(r"[.!?][\"')\]*_]*$", line.strip()) or line[:1].isspace() for line in kept)


def command_lines(lines: list[str]) -> list[tuple[int, int, str]]:
    """A plain cheat sheet's lines, a command continued with `\\` on the next line read as one (offsets, text)."""
    found: list[tuple[int, int, str]] = []
    for k, line in enumerate(lines):
        if found and lines[found[-1][1]].rstrip().endswith("\\"):
            a, _, text = found[-1]
            found[-1] = (a, k, f"{text.rstrip()[:-1].rstrip()} {line.strip()}")
        elif line.strip():
            found.append((k, k, line))
    return found


def command_line(line: str) -> str:
    """A plain cheat sheet's line as an answer shows it: a command as code, a comment ("# Or created ...:") and a
    line of words as they are."""
    text = HEADING.sub(r"\2", line).strip()
    if text != line.strip() or plain_share(text) > COMMAND_PLAIN_SHARE:
        return text
    tick = "``" if "`" in text else "`"
    return f"{tick}{text}{tick}"


def is_run_in(line: str) -> bool:
    """A paragraph opened by an emphasised label and its stop ("***Contact***. Contact poison can be ...")."""
    found = RUN_IN.match(line)
    return found is not None and bool(found.group("mark")) and bool(found.group("inner") or found.group("outer"))


def opens_literal(lines: list[str], i: int) -> bool:
    """True if line i starts a plain-text note's literal block: the paragraph before it ends with "::"."""
    before = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
    return before.rstrip().endswith("::") and indent(before) < indent(lines[i])


def literal_end(lines: list[str], i: int) -> int:
    """The last line of a literal block starting at i: the lines indented as deep as its first, blank ones between."""
    last = i
    for j in range(i + 1, len(lines)):
        if lines[j].strip():
            if indent(lines[j]) < indent(lines[i]):
                break
            last = j
    return last


def indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def starts_block(line: str) -> bool:
    """True if a line opens a block of its own (so it ends a paragraph or item)."""
    s = line.strip()
    return bool(FENCE.match(line) or HEADING.match(line) or ROW.match(line) or RULE.match(line)
                or CELL_MARKER.match(line) or s.startswith("\\[") or s.startswith("$$"))


def find_line(lines: list[str], start: int, closes: Callable[[str], bool]) -> int:
    """The first line from `start` for which `closes` holds; the last line if none (a cut-off block)."""
    for j in range(start, len(lines)):
        if closes(lines[j]):
            return j
    return len(lines) - 1


def split_sentences(lines: list[str], first_line: int, index: int, context: str) -> list[Unit]:
    """A paragraph's sentences, each with the lines it spans."""
    text = "\n".join(lines)
    units = []
    start = 0
    for match in SENTENCE_END.finditer(text):
        if ABBREVIATION.search(text[start : match.start()]):
            continue
        units.append(sentence_unit(text, start, match.start(), first_line, index, context))
        start = match.end()
    units.append(sentence_unit(text, start, len(text.rstrip()), first_line, index, context))
    return [u for u in units if u.text]


def sentence_unit(text: str, start: int, end: int, first_line: int, index: int, context: str) -> Unit:
    """The sentence text[start:end] as a Unit; its lines come from the newlines before it."""
    return Unit(index, first_line + text.count("\n", 0, start), first_line + text.count("\n", 0, max(start, end - 1)),
                "sentence", join_lines(text[start:end].split("\n")), context, block=first_line)


def join_lines(lines: list[str]) -> str:
    """Lines of one sentence or item as a single line of the notes' own words (a quote's `>` once, at its start)."""
    kept = [line.strip() for line in lines if line.strip()]
    if len(kept) > 1 and kept[0].startswith(">"):
        kept = [kept[0], *(re.sub(r"^>\s?", "", line) for line in kept[1:])]
    return " ".join(kept)


def clean_markup(text: str) -> str:
    """A heading without its emphasis markers."""
    return re.sub(r"[*_`]+", "", text).strip().lstrip("#").strip()  # "# ### Title" is a notebook's title


def link_units(units: list[Unit]) -> list[Unit]:
    """Point items, formulas and code at the line they continue, and rows at their table's header."""
    linked: list[Unit] = []
    for n, unit in enumerate(units):
        lead = header = None
        if unit.kind == "item":
            lead = item_lead(units, n)
        elif unit.kind in ("formula", "code") and n > 0 and is_lead_in(units[n - 1]):
            lead = n - 1
        elif unit.kind == "sentence" and n > 0 and is_lead_in(units[n - 1]) and units[n - 1].block != unit.block:
            lead = n - 1  # "- Connect through a jump host:" then the command on a line of its own
        elif unit.kind == "row":
            header = table_header(units, n)
            first = linked[header] if header < n else unit
            lead = first.lead if header < n else (n - 1 if n > 0 and is_lead_in(units[n - 1]) else None)
            header = header if header < n else None
        linked.append(replace(unit, lead=lead, header=header))
    return linked


def is_output(unit: Unit) -> bool:
    """A notebook cell's output (fenced as `output` by the loader): what the code printed, not the code."""
    return unit.kind == "code" and OUTPUT_FENCE.match(unit.text) is not None


def is_reference(unit: Unit) -> bool:
    """A list item that points elsewhere ("- [LRU Cache on LeetCode](https://…)"): a reading list, not a note."""
    return unit.kind == "item" and REFERENCE.match(unit.text) is not None


def is_signpost(unit: Unit) -> bool:
    """A sentence that announces what comes or points elsewhere: context for an answer, never its core."""
    return unit.kind == "sentence" and SIGNPOST.search(unit.text) is not None


def is_asked_question(unit: Unit) -> bool:
    """A list item that asks ("3. Why is dropout not used at test time?"): an exercise, not its answer. One that
    says something first and then asks ("Clarify input value range. Inputs: how big?") is a note."""
    first = SENTENCE_END.split(unit.text, maxsplit=1)[0]
    return unit.text.rstrip("*_ ").endswith("?") and first.rstrip("*_ ").endswith("?")


def is_lead_in(unit: Unit) -> bool:
    """A sentence or item that announces what follows ("... include:", "Poisons come in the following four types.")."""
    text = unit.text.rstrip("*_ ")
    return unit.kind in ("sentence", "item") and (text.endswith(":") or FOLLOWING.search(text) is not None)


def item_lead(units: list[Unit], n: int) -> int | None:
    """A nested item's parent item, or the "...:" sentence that introduces a top-level list."""
    depth = units[n].depth
    if n and units[n - 1].kind == "item" and is_lead_in(units[n - 1]) and units[n - 1].block == units[n].block:
        return n - 1  # a plain cheat sheet's "# Or created in last 2 days:" over its command
    j = n - 1
    while j >= 0 and units[j].kind == "item":
        if units[j].depth < depth:
            return j
        j -= 1
    return j if j >= 0 and is_lead_in(units[j]) else None


def table_header(units: list[Unit], n: int) -> int:
    """The first row of the table a row belongs to."""
    j = n
    while j > 0 and units[j - 1].kind == "row" and units[j].start_line - units[j - 1].end_line <= 2:
        j -= 1
    return j
