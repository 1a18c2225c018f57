"""PDFs: the text layer of each page as markdown lines, running headers, footers and page numbers dropped (pure).

Text comes from PDFium (pypdfium2) in its reading order. Line numbers: a page's lines are the non-blank lines
of its extracted text, top to bottom, once the running header, footer and page-number lines are dropped, so
"page 3, line 12" is the twelfth line of body text a reader counts on page 3. A word PDFium joined across a
line end is split back at the line end, so the lines stay those printed on the page.

- Hyphenation: a line that ends in "letter-" followed by a line that starts with a letter gets the next
  line's first word moved up onto it, so the word is whole and every other line keeps its place. The hyphen
  goes ("regulariza-" "tion" -> "regularization") when the next word starts lowercase and the part before it
  is not a word usually hyphenated (KEEP_HYPHEN: "well-known", "self-attention"); it stays before a capital
  or a digit ("Hodgkin-Huxley"). A line emptied by the move is left out (its segment ends there).
- Running headers and footers, and page-number lines, are dropped (pdf_running.py); the title of page 1 in
  large type stays, though a running header repeats it in small type.
- Printed lines: PDFium ends a line where the type changes size within it (a subscript, a superscript, a
  formula's large bracket); a line that starts right of the previous one's last piece, their heights
  overlapping by half, is joined back to it, so "L(z,y) = − h y log(z) … i" is one page line, not four.
- Headings: a line in large type, or a short bold line over its text, becomes `#`, `##` or `###` by its size
  among the headings, unless it is a formula's glyphs, a date, a byline or a URL (pdf_headings.py). Bullets
  ("•", "▪", "–" …) become `- ` list items; numbered lines already are.
- Paragraphs: a blank line goes between two lines of body text in one font size when the step from one to
  the next is over PARAGRAPH_STEP times the page's usual step for that size (or goes up: a new column), so the
  chunker and the answers see the page's paragraphs. Blank lines are not page lines: they only end a segment.
- Each text line gets its (page, page line) place; the segments are cut from those places (page_segments), one
  per run of consecutive page lines (usually a paragraph), so locate() counts the page lines the text has and two
  lines never share a place. Pages are separated by a blank line.
"""

from __future__ import annotations

import ctypes
import re
import statistics
import threading
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from rag.ingest.base import Extracted, Unreadable
from rag.ingest.pdf_headings import HEADING_SCALE, body_size, heading_levels
from rag.ingest.pdf_lines import Cell, Line
from rag.ingest.pdf_running import drop_running_lines
from rag.ingest.pdf_tables import CELL_GAP, read_tables
from rag.models import Segment

MAX_PAGES = 2000  # pages after this are not read (a cut marker says so)
MAX_PAGE_CHARS = 200_000  # of one page's text layer: a printed page holds a few thousand
MAX_TEXT_CHARS = 20_000_000  # of the whole text; pages after it are not read (a cut marker says so)
PARAGRAPH_STEP = 1.5  # a gap between lines this much wider than the page's usual one starts a paragraph
PDFIUM = threading.Lock()  # PDFium is not thread-safe, even across documents
BOLD_WEIGHT = 600  # a font this heavy is bold (CSS weights: 400 regular, 700 bold)
FORCE_BOLD = 1 << 18  # the font descriptor's ForceBold flag
BOLD_NAME = re.compile(r"bold|black|heavy|demi", re.IGNORECASE)  # "Helvetica-Bold", "LMRoman9-Bold"

# PDFium ends a line with U+FFFE (or U+0002) where a word is hyphenated across it, and joins the next line on.
LINE_BREAK = re.compile(r"\r\n|[\n\r\x0b\x0c\u2028\u2029]|[\ufffe\x02]")
LIGATURE = re.compile("[\ufb00-\ufb06]")
CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f\u00ad]")  # soft hyphens and stray control chars
LIGATURES = str.maketrans({"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl",
                           "\ufb05": "st", "\ufb06": "st"})
BULLET = re.compile(r"^[•●▪◦‣∙·○■□▫◆◇►▸✓✔➢➤–—]\s*")
HYPHENATED = re.compile(r"(\w+)-$")
NEXT_WORD = re.compile(r"^(\S+)\s*")
MARKDOWN_START = re.compile(r"^(?=#|`{3}|~{3}|>|\|)")  # text that markdown would read as markup
KEEP_HYPHEN = frozenset({  # words usually hyphenated to the next: "well-known", "self-attention"
    "well", "self", "non", "all", "half", "ill", "ever", "high", "low", "long", "short", "full", "state", "real",
    "open", "built", "so", "co", "cross", "first", "second", "third", "multi", "semi", "anti", "pre", "post"})


@dataclass(frozen=True)
class Style:
    """How a character is set: font size, the foot and left side of its box (points from the page's foot and
    left edge), and whether its font is bold."""

    size: float
    bottom: float = 0.0
    left: float = 0.0
    bold: bool = False


def load_pdf(raw: bytes, source: str) -> Extracted:
    """A PDF's text layer as markdown, with one Segment per run of a page's lines."""
    pages, cut = read_pages(raw)
    if not any(pages):
        raise Unreadable("no text layer (a scanned PDF?): OCR it first, e.g. `ocrmypdf in.pdf out.pdf`, "
                         "and add the result")
    bodies = [read_tables(body) for body in drop_running_lines(pages)]
    body_type = body_size([line for body in bodies for line in body])
    lines: list[str] = []
    places: list[tuple[int, int] | None] = []  # each text line's (page, page line); None for a blank line
    for page_no, (body, levels) in enumerate(zip(bodies, heading_levels(bodies)), start=1):
        numbered = join_hyphenated([markdown_line(line, level) for line, level in zip(body, levels)])
        if not numbered:
            continue
        if lines:
            lines.append("")
            places.append(None)
        breaks = paragraph_starts(body, body_type)
        for number, text in numbered:
            if number in breaks and lines[-1:] != [""]:
                lines.append("")
                places.append(None)
            lines.append(text)
            places.append((page_no, number))
    if cut:
        lines += ["", cut]
    return Extracted("\n".join(lines) + "\n", page_segments(places))


def page_segments(places: list[tuple[int, int] | None]) -> tuple[Segment, ...]:
    """The segments of text lines numbered by `places`: one per run of consecutive lines of one page. A blank line
    or a skipped page line (one emptied by a joined word) ends a run, so `locate` counts only page lines."""
    segments: list[Segment] = []
    for at, place in enumerate(places, start=1):
        if place is None:
            continue
        page, number = place
        last = segments[-1] if segments else None
        if last and last.end_line == at - 1 and last.page == page \
                and last.first_line + last.end_line - last.start_line == number - 1:
            segments[-1] = Segment(last.start_line, at, page=page, first_line=last.first_line)
        else:
            segments.append(Segment(at, at, page=page, first_line=number))
    return tuple(segments)


def read_pages(raw: bytes) -> tuple[list[list[Line]], str]:
    """Each page's non-blank lines, and a marker saying what was not read ("" if all of it was)."""
    import pypdfium2 as pdfium  # loads the PDFium library: only when a PDF is read

    pages: list[list[Line]] = []
    with PDFIUM:
        try:
            doc = pdfium.PdfDocument(raw)
        except pdfium.PdfiumError as exc:
            raise Unreadable(open_problem(getattr(exc, "err_code", None))) from exc
        try:
            total, chars, cut = len(doc), 0, ""
            for index in range(total):
                if index == MAX_PAGES or chars > MAX_TEXT_CHARS:
                    why = f"the limit is {MAX_PAGES} pages" if index == MAX_PAGES else \
                        f"over {MAX_TEXT_CHARS:,} chars of text"
                    cut = f"… (PDF cut: pages {index + 1}–{total} not read, {why})"
                    break
                page = doc[index]
                textpage = page.get_textpage()
                try:
                    count = min(textpage.count_chars(), MAX_PAGE_CHARS)
                    text = textpage.get_text_range(0, count) if count > 0 else ""
                    pages.append(join_printed_lines(split_lines(text, text_styles(textpage, text),
                                                                          text_boxes(textpage, text))))
                    chars += len(text)
                finally:
                    textpage.close()
                    page.close()
        except pdfium.PdfiumError as exc:
            raise Unreadable(f"a page of the PDF can't be read ({exc}): re-export it, or repair it with "
                             "`qpdf in.pdf out.pdf`") from exc
        finally:
            doc.close()
    return pages, cut


def open_problem(code: int | None) -> str:
    """Why PDFium could not open the file, and what to do, by its error code."""
    if code == 4:
        return ("encrypted PDF (it needs a password to open): remove the password, e.g. "
                "`qpdf --decrypt --password=PASSWORD in.pdf out.pdf`, and add the result")
    if code == 6:
        return ("encrypted PDF with a security handler that can't be read: save an unprotected copy "
                "(print to PDF, or `qpdf --decrypt`) and add that")
    return "not a readable PDF (damaged or truncated): re-export it, or repair it with `qpdf in.pdf out.pdf`"


def text_styles(textpage: Any, text: str) -> Callable[[int], Style]:
    """The style of the character at each place of the page's text. PDFium numbers its characters apart from the
    text: after one it keeps out of the text (a lone hyphen at a line's end, a glyph with no Unicode value) or one
    taking two UTF-16 units (𝑥), the place in the text would give the size and place of an earlier character."""
    import pypdfium2.raw as pdfium_c

    wide = [i for i, ch in enumerate(text) if ord(ch) > 0xFFFF]

    def style(i: int) -> Style:
        found = int(pdfium_c.FPDFText_GetCharIndexFromTextIndex(textpage.raw, i + bisect_left(wide, i)))
        return char_style(textpage, found if found >= 0 else i)
    return style


def text_boxes(textpage: Any, text: str) -> Callable[[int], tuple[float, float]]:
    """The left and right sides of the character at each place of the page's text (see text_styles)."""
    import pypdfium2.raw as pdfium_c

    wide = [i for i, ch in enumerate(text) if ord(ch) > 0xFFFF]

    def box(i: int) -> tuple[float, float]:
        found = int(pdfium_c.FPDFText_GetCharIndexFromTextIndex(textpage.raw, i + bisect_left(wide, i)))
        left, _, right, _ = textpage.get_charbox(found if found >= 0 else i)
        return float(left), float(right)
    return box


def char_style(textpage: Any, index: int) -> Style:
    """A character's font size, the foot and left of its box (the font's, so a line's characters share a foot),
    and whether its font is bold (by its weight, or by its name when the weight is missing: "Calibri-Bold")."""
    import pypdfium2.raw as pdfium_c

    left, bottom = textpage.get_charbox(index, loose=True)[:2]
    bold = pdfium_c.FPDFText_GetFontWeight(textpage.raw, index) >= BOLD_WEIGHT
    if not bold:
        name, flags = ctypes.create_string_buffer(128), ctypes.c_int()
        pdfium_c.FPDFText_GetFontInfo(textpage.raw, index, name, len(name), ctypes.byref(flags))
        bold = bool(flags.value & FORCE_BOLD) or BOLD_NAME.search(name.value.decode("latin-1")) is not None
    return Style(float(pdfium_c.FPDFText_GetFontSize(textpage.raw, index)), float(bottom), float(left), bold)


def split_lines(text: str, style_at: Callable[[int], Style],
                box_at: Callable[[int], tuple[float, float]] | None = None) -> list[Line]:
    """The non-blank lines of a page's text, each with the style of its first and last characters, and its
    cells when the characters' boxes are given."""
    lines: list[Line] = []
    pos = 0
    for match in LINE_BREAK.finditer(text + "\n"):
        raw = text[pos : match.start()]
        stripped = raw.strip()
        if stripped:
            cleaned = CONTROL.sub("", stripped.translate(LIGATURES) if LIGATURE.search(stripped) else stripped)
            if match.group() in ("\ufffe", "\x02"):
                cleaned += "-"
            first = pos + len(raw) - len(raw.lstrip())
            start, end = style_at(first), style_at(pos + len(raw.rstrip()) - 1)
            cells = line_cells(text, first, pos + len(raw.rstrip()), start.size, box_at) if box_at else ()
            lines.append(Line(cleaned, round(start.size * 2) / 2, start.bottom, start.left,
                              round(end.size * 2) / 2, start.bold and end.bold, cells))
        pos = match.end()
    return lines


def line_cells(text: str, start: int, end: int, size: float,
               box_at: Callable[[int], tuple[float, float]]) -> tuple[Cell, ...]:
    """The pieces of text[start:end] (one line) between gaps wider than CELL_GAP times its font size."""
    cuts: list[tuple[int, float, float]] = []  # (start in text, left, right) of each cell
    for i in range(start, end):
        if text[i].isspace():
            continue
        left, right = box_at(i)
        if cuts and left - cuts[-1][2] <= CELL_GAP * size:
            cuts[-1] = (cuts[-1][0], cuts[-1][1], max(cuts[-1][2], right))
        else:
            cuts.append((i, left, right))
    ends = [at for at, _, _ in cuts[1:]] + [end]
    return tuple(Cell(clean(text[at:stop].strip()), left, right) for (at, left, right), stop in zip(cuts, ends))


def join_printed_lines(lines: list[Line]) -> list[Line]:
    """The lines with each one PDFium broke where the type changes size (a sub- or superscript, a formula's large
    bracket) joined to the line it sits beside, so a page's lines are the ones a reader counts on it."""
    out: list[Line] = []
    for line in lines:
        last = out[-1] if out else None
        if last is None or not beside(last, line):
            out.append(line)
            continue
        first, *rest = line.cells
        touching = first.left - last.cells[-1].right <= CELL_GAP * max(last.size, line.size)
        cells = (*last.cells[:-1], Cell(f"{last.cells[-1].text} {first.text}", last.cells[-1].left, first.right),
                 *rest) if touching else last.cells + line.cells
        out[-1] = replace(last, text=f"{last.text} {line.text}", end_size=line.end_size,
                          bold=last.bold and line.bold, cells=cells)
    return out


def beside(last: Line, line: Line) -> bool:
    """Whether `line` goes on `last` on the same printed line: right of its last piece's start (a subscript under a
    superscript starts where it does), their heights overlapping by half."""
    if not (last.cells and line.cells) or line.left < last.cells[-1].left:
        return False
    overlap = min(last.bottom + last.size, line.bottom + line.size) - max(last.bottom, line.bottom)
    return overlap >= min(last.size, line.size) / 2


def clean(text: str) -> str:
    """A line's text without ligatures, soft hyphens and stray control characters."""
    return CONTROL.sub("", text.translate(LIGATURES) if LIGATURE.search(text) else text)


def paragraph_starts(body: list[Line], body_type: float) -> set[int]:
    """The page line numbers (1-based) that start a new paragraph of text not in large type, by the gaps between
    lines, and those where a table starts or ends."""
    steps: dict[float, list[float]] = {}
    pairs = [(n, a, b) for n, (a, b) in enumerate(zip(body, body[1:]), start=2)
             if a.size == b.size and not (body_type > 0 and a.size >= body_type * HEADING_SCALE)
             and not (a.table or b.table)]
    tables = {n for n, (a, b) in enumerate(zip(body, body[1:]), start=2) if a.table != b.table}
    for _, a, b in pairs:
        if a.bottom > b.bottom:
            steps.setdefault(a.size, []).append(a.bottom - b.bottom)
    usual = {size: statistics.median(found) for size, found in steps.items() if len(found) >= 2}
    return tables | {n for n, a, b in pairs if a.size in usual
                     and (a.bottom - b.bottom > usual[a.size] * PARAGRAPH_STEP or b.bottom > a.bottom)}


def markdown_line(line: Line, level: int) -> str:
    """A line as markdown: a heading (level 1-3, 0 for none), a list item, or text escaped so it is not read as
    markup."""
    text = line.text
    if line.table:
        return text
    if level:
        return "#" * level + " " + text
    bullet = BULLET.match(text)
    if bullet and len(text) > bullet.end():
        return "- " + text[bullet.end() :]
    return MARKDOWN_START.sub("\\\\", text)


def join_hyphenated(lines: list[str]) -> list[tuple[int, str]]:
    """(page line number, text) of a page's lines with words hyphenated at a line end made whole."""
    out: list[tuple[int, str]] = []
    pending = list(lines)
    for number in range(1, len(pending) + 1):
        text = pending[number - 1]
        hyphen = HYPHENATED.search(text[-100:]) if text.endswith("-") else None
        nxt = NEXT_WORD.match(pending[number]) if hyphen and number < len(pending) else None
        if hyphen and nxt and nxt.group(1)[0].isalnum() and not text.startswith("#"):
            word = nxt.group(1)
            keep = not word[0].islower() or hyphen.group(1).lower().split("-")[-1] in KEEP_HYPHEN
            text = (text if keep else text[:-1]) + word
            pending[number] = pending[number][nxt.end() :]
        if text.strip():
            out.append((number, text))
    return out
