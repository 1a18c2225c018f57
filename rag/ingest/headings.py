"""Which lines of a note are headings, how deep they are, and their titles, as the notes' authors wrote them (pure).

Read as headings: markdown's `#` lines; a title underlined with `===` (level 1) or `---` (level 2), and in plain
text any reStructuredText underline (`~~~`, `***`: level 3); a title framed by banner lines above and below
(`=====`, `#####`), and in plain text one between runs of it on its line (`===== CH01 =====`: level 2); and a
question set on a line of its own in bold (`**What is X?**`, `<b>…</b>`, `**Q:** …`) or as a collapsible's
`<summary>`, which heads the answer under it, one level below the heading it sits under.
In a plain-text note (`.txt`) a `#` line inside a block is a shell comment on the lines around it, not a heading.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

# The markdown line grammar, shared by rag.ingest (blocks, paths) and rag.answer.units.
HEADING = re.compile(r"^[ \t]{0,3}(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})")
LIST_ITEM = re.compile(r"^([ \t]*)(?:[-*+]|\d{1,3}[.)])[ \t]+\S")  # group 1: the item's indentation
TABLE_ROW = re.compile(r"^[ \t]*\|")
CELL_MARKER = re.compile(r"^(?:In|Out)[ \t]*\[[ \t\d]*\]:[ \t]*$")
# A run-in label opening a paragraph: "***Cover***. Walls, trees …", "**Kernel**: The kernel …", and in PDFs a
# bullet glyph, the term and a dash: "❒ Dropout – Dropout is a technique …".
RUN_IN = re.compile(r"^\s*(?:(?P<mark>\*\*\*|\*\*|__)(?P<label>[^*_]{2,60}?)(?P<inner>[.:]?)(?P=mark)(?P<outer>[.:]?)"
                    r"|[❒•▪◦●■□➢►‣]\s*(?P<glyph_label>[^–—:.]{2,60}?)\s+[–—])\s+(?P<rest>\S.*)$")
# A line of one punctuation character repeated: a setext underline, a banner, a rule.
ADORNMENT = re.compile(r"^[ \t]{0,3}([=\-~*^+\"'.:_#])\1{2,}[ \t]*$")
INLINE_BANNER = re.compile(r"^[ \t]*([=\-~*+])\1{2,}[ \t]+(\S.*?)[ \t]+\1{3,}[ \t]*$")
MARKDOWN_UNDERLINES = "=-"  # CommonMark: `***` and `___` are rules, `~~~` opens code
MARKDOWN_BANNERS = "=-#"
PLAIN_ADORNMENTS = "=-~*^+#"  # reStructuredText's usual ones; `"""`, `...`, `:::` are code or prose in a note
SUMMARY = re.compile(r"^[ \t]*(?:<details\b[^>]*>[ \t]*)?<summary\b[^>]*>(.*)$", re.IGNORECASE)
SUMMARY_END = re.compile(r"</summary>((?:[ \t]*<br[ \t]*/?>)*)[ \t]*$", re.IGNORECASE)
DETAILS = re.compile(r"^[ \t]*<details\b[^>]*>[ \t]*$", re.IGNORECASE)
BOLD_LINE = re.compile(r"^[ \t]*(\*\*|__)((?:(?!\1).)+)\1[ \t]*$")
HTML_BOLD_LINE = re.compile(r"^[ \t]*<(b|strong)>(.+?)</\1>[ \t]*$", re.IGNORECASE)
QUESTION_LABEL = re.compile(r"^[ \t]*(\*\*|__)[ \t]*(?:Q|Question)[ \t]*\d*[ \t]*[:.]?[ \t]*\1[ \t]*[:.]?[ \t]*(.+)$")
Q_PREFIX = re.compile(r"^(?:Q|Question)[ \t]*\d*[ \t]*[:.][ \t]*")
# Inline HTML a heading may carry (`<a name="x">Title</a>`, `<code>`): named, so `List<T>` stays.
HTML_TAG = re.compile(r"</?(?:a|b|i|u|s|em|strong|code|kbd|tt|span|sup|sub|small|big|mark|del|ins|abbr|cite|q|font"
                      r"|br|img|summary|details|p|div|center|h[1-6])\b[^<>]*>", re.IGNORECASE)
EMOJI_CODE = re.compile(r"(?<!\S):[a-z0-9][a-z0-9_+-]*:(?!\S)")  # GitHub's `:star:`, alone as a word
SPACES = re.compile(r"\s+")
TRAILING_SYMBOLS = re.compile(r"[^\w?]+$")  # emojis, closing markup after a question mark
PROSE_WORDS = 25  # a `#` line longer than this is read as a paragraph: titles, even questions, are shorter
PLAIN_SUFFIXES = (".txt",)
OUTLINE, SUMMARY_TIER, QUESTION_TIER = 0, 1, 2


@dataclass(frozen=True)
class Heading:
    """A heading found at a line: its level, its title and its last line."""

    level: int  # 1 for `#` and `===`; 0 for a heading one below the one it sits under (see `tier`)
    title: str  # its words without HTML, emoji codes or the `#`s; "" when it names nothing
    end: int  # 0-based index of its last line: the underline, the banner below, `</summary>`
    tier: int = OUTLINE  # OUTLINE: a heading of the note's outline; SUMMARY_TIER: a <summary>; QUESTION_TIER: a
    # bold question line. A heading nests in the open headings of a lower tier and closes those of its own.


def plain_text(source: str) -> bool:
    """True for a plain-text note: `#` lines may be shell comments, any punctuation may underline a title."""
    return PurePosixPath(source).suffix.lower() in PLAIN_SUFFIXES


def heading_at(lines: list[str], i: int, plain: bool = False) -> Heading | None:
    """The heading the block starting at line i is, if it is one (i must start a block: after a blank line or
    another block)."""
    return (banner(lines, i, plain) or (framed(lines[i], i) if plain else None) or atx(lines, i, plain)
            or underlined(lines, i, plain) or summary(lines, i) or bold_question(lines, i))


def is_title(line: str) -> bool:
    """A `#` line that is a title, not a paragraph typed after `#` (notebook exports have those).

    Such a paragraph would head every chunk below it, up to the next heading of its level, with text
    that names one topic while the chunks discuss others; it is read as text instead.
    """
    match = HEADING.match(line)
    return match is not None and len(match.group(2).split()) <= PROSE_WORDS


def atx(lines: list[str], i: int, plain: bool) -> Heading | None:
    """A `#` heading (in plain text, only where it does not continue the lines above it as a comment)."""
    if not is_title(lines[i]) or (plain and is_comment(lines, i)):
        return None
    match = HEADING.match(lines[i])
    assert match
    return Heading(len(match.group(1)), heading_text(match.group(2)), i)


def is_comment(lines: list[str], i: int) -> bool:
    """A plain-text `#` line that goes on from the line above (a command, an earlier comment line), as shell
    comments do; a `##` right under a `#` title is its subheading, and one after a rule starts a section."""
    above = lines[i - 1].strip() if i > 0 else ""
    if not above or above == "#" or ADORNMENT.match(above):
        return False
    outer, inner = HEADING.match(lines[i - 1]), HEADING.match(lines[i])
    return not (outer and inner and len(outer.group(1)) < len(inner.group(1)))


def banner(lines: list[str], i: int, plain: bool) -> Heading | None:
    """A title framed by the same punctuation above and below (`=====` / Title / `=====`)."""
    top = ADORNMENT.match(lines[i])
    if not top or i + 2 >= len(lines) or top.group(1) not in (PLAIN_ADORNMENTS if plain else MARKDOWN_BANNERS):
        return None
    below = ADORNMENT.match(lines[i + 2])
    title = lines[i + 1].strip()
    if not below or below.group(1) != top.group(1) or not title or ADORNMENT.match(title) or too_long(title):
        return None
    match = HEADING.match(title)
    text = match.group(2) if match else title.strip("#").strip()
    return Heading(2 if top.group(1) == "-" else 1, heading_text(text), i + 2)


def framed(line: str, i: int) -> Heading | None:
    """A plain-text title between runs of punctuation on its own line (`===== CH01 Processes =====`): a section
    of the note, below a title underlined or framed above and below."""
    match = INLINE_BANNER.match(line)
    if not match or too_long(match.group(2)):
        return None
    return Heading(2, heading_text(match.group(2)), i) if any(ch.isalnum() for ch in match.group(2)) else None


def underlined(lines: list[str], i: int, plain: bool) -> Heading | None:
    """A setext title: a line of text directly underlined (`===` level 1, `---` level 2, other punctuation 3).

    Only a one-line paragraph: i starts a block, so a `---` after a blank line, a list item or a table is none.
    Other punctuation, in plain text only, must be as long as the title, as reStructuredText asks.
    """
    if i + 1 >= len(lines) or not reads_as_text(lines[i]):
        return None
    under = ADORNMENT.match(lines[i + 1])
    char = under.group(1) if under else ""
    if not under or not (char in MARKDOWN_UNDERLINES or (plain and char in PLAIN_ADORNMENTS
                                                         and len(lines[i + 1].strip()) >= len(lines[i].strip()))):
        return None
    level = {"=": 1, "-": 2}.get(under.group(1), 3)
    return Heading(level, heading_text(lines[i].strip()), i + 1)


def reads_as_text(line: str) -> bool:
    """A line of words that could be a title: not code, a table, a list item, a quote, a `#` line or a rule."""
    return bool(line.strip()) and not (HEADING.match(line) or FENCE.match(line) or TABLE_ROW.match(line)
                                       or LIST_ITEM.match(line) or CELL_MARKER.match(line) or ADORNMENT.match(line)
                                       or line.startswith(("    ", "\t")) or line.lstrip().startswith(">")
                                       or too_long(line))


def summary(lines: list[str], i: int) -> Heading | None:
    """A collapsible's title, `<details>` / `<summary>…</summary>` (the `</summary>` may be a few lines down)."""
    if DETAILS.match(lines[i]) and i + 1 < len(lines):
        i += 1
    opened = SUMMARY.match(lines[i])
    if not opened:
        return None
    text = [opened.group(1)]
    for j in range(i, min(i + 4, len(lines))):
        if j > i:
            text.append(lines[j])
        closed = SUMMARY_END.search(text[-1])
        if closed:
            text[-1] = text[-1][: closed.start()]
            return Heading(0, heading_text(" ".join(text)), j, SUMMARY_TIER)
    return None


def bold_question(lines: list[str], i: int) -> Heading | None:
    """A question alone on its line in bold (`**What is X?**`, `<b>What is X?</b>`, `**Q:** What is X?`)."""
    line = lines[i]
    match = QUESTION_LABEL.match(line) or BOLD_LINE.match(line) or HTML_BOLD_LINE.match(line)
    if not match or too_long(line):
        return None
    title = Q_PREFIX.sub("", heading_text(match.group(2)).strip())
    words = re.sub(r"[*_`]+", "", title)
    return Heading(0, title, i, QUESTION_TIER) if TRAILING_SYMBOLS.sub("", words).endswith("?") else None


def too_long(line: str) -> bool:
    return len(line.split()) > PROSE_WORDS


def heading_text(text: str) -> str:
    """A heading's words: HTML tags and entities, emoji codes and runs of spaces out (emphasis stays)."""
    text = html.unescape(HTML_TAG.sub("", text))
    text = SPACES.sub(" ", EMOJI_CODE.sub("", text).replace("\u200b", "")).strip()
    return text if any(ch.isalnum() for ch in text) else ""
