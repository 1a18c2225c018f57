"""Word documents (.docx): the body's headings (styled, or short paragraphs set in bold), paragraphs, lists,
tables, code (fenced) and equations (LaTeX) in document order, as markdown (pure).

python-docx reads the body in order (paragraphs and tables as they stand, as `iter_inner_content` does), with each
paragraph's style and numbering, which is all the structure the chunker uses. The zip is checked before it is
parsed, so a zip bomb is refused without being inflated.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from itertools import groupby
from typing import Any

from docx import Document
from docx.document import Document as DocumentObject
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph
from docx.text.run import Run

from rag.ingest.base import Extracted, Unreadable
from rag.ingest.docx_styles import HEADING_STYLE, MONOSPACE, Styles, W, num_pr, read_styles
from rag.ingest.headings import PROSE_WORDS
from rag.ingest.omml import M, equation_latex

MAX_DOCX_BYTES = 50_000_000
MAX_UNZIPPED_BYTES = 100_000_000
MAX_ENTRIES = 10_000
MAX_RATIO = 100  # uncompressed : compressed, for entries over RATIO_FLOOR (document XML packs about 10:1)
RATIO_FLOOR = 1_000_000
MAX_OUTPUT_CHARS = 5_000_000
CUT_MARKER = "\n\n… (output cut: {} characters kept)"
NOT_DOCX = "not a Word document (.docx is a zip file): re-save it from Word as .docx"
LIST_STYLE = re.compile(r"^List (Bullet|Number)(?: ([2-9]))?$")
RUN_CONTAINERS = {f"{W}{name}" for name in ("hyperlink", "ins", "moveTo", "smartTag", "fldSimple", "sdt",
                                             "sdtContent", "customXml", "dir", "bdo")}


def load_docx(raw: bytes, source: str) -> Extracted:
    """A .docx's body as markdown: headings, lists, tables where they stand, bold and italic kept."""
    check_zip(raw)
    try:
        document = Document(io.BytesIO(raw))
        lines = list(body_lines(document))
    except Exception as exc:  # python-docx raises KeyError, ValueError, lxml errors... for a broken package
        raise Unreadable(f"not a readable Word document ({type(exc).__name__}): re-save it from Word as .docx") \
            from exc
    text = "\n".join(line.rstrip() for line in lines).strip("\n")
    text = re.sub(r"\n{3,}", "\n\n", text)
    if len(text) > MAX_OUTPUT_CHARS:
        text = text[:MAX_OUTPUT_CHARS].rstrip() + CUT_MARKER.format(f"{MAX_OUTPUT_CHARS:,}")
    return Extracted(text)


def check_zip(raw: bytes) -> None:
    """Refuse what is not a .docx, and a zip that would inflate past the limits, before anything is inflated."""
    if len(raw) > MAX_DOCX_BYTES:
        raise Unreadable(f"Word document too large ({len(raw):,} bytes, the limit is {MAX_DOCX_BYTES:,}): "
                         "split it, or save it without embedded media")
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as package:
            entries = package.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise Unreadable(NOT_DOCX) from exc
    if len(entries) > MAX_ENTRIES:
        raise Unreadable(f"zip bomb? the .docx holds {len(entries):,} files (the limit is {MAX_ENTRIES:,}): "
                         "re-save it from Word")
    total = sum(entry.file_size for entry in entries)
    if total > MAX_UNZIPPED_BYTES:
        raise Unreadable(f"zip bomb? the .docx unpacks to {total:,} bytes (the limit is {MAX_UNZIPPED_BYTES:,}): "
                         "re-save it from Word without embedded media")
    for entry in entries:
        if entry.file_size > RATIO_FLOOR and entry.file_size > MAX_RATIO * max(entry.compress_size, 1):
            raise Unreadable(f"zip bomb? {entry.filename} packs {entry.file_size:,} bytes into "
                             f"{entry.compress_size:,}: re-save it from Word")
    if "word/document.xml" not in {entry.filename for entry in entries}:
        raise Unreadable(NOT_DOCX)


def body_lines(document: DocumentObject) -> Iterator[str]:
    """Markdown lines of the body, a blank line between blocks, none between the items of a list."""
    styles = read_styles(document)
    counters: dict[tuple[str, int], int] = {}
    looks: list[str] = []  # the emphases of bold-line headings, outermost (first met) first
    above = 1  # the level of the styled heading they sit under (a note's title is its file name's `#`)
    previous = ""
    for block in grouped_blocks(document, styles):
        if not isinstance(block, Paragraph):
            yield from ("", *(table_lines(block) if isinstance(block, Table) else block), "")
            previous = "block"
            continue
        kind, line = paragraph_line(block, styles, counters)
        if kind == "heading":
            above = max(len(line) - len(line.lstrip("#")), 1)
        elif kind == "para" and (look := bold_title(block)) is not None:
            if look not in looks:
                looks.append(look)
            kind, line = "heading", "#" * min(above + 1 + looks.index(look), 6) + " " + " ".join(block.text.split())
        if not line.strip():
            continue
        if kind != previous or not kind.startswith("item"):  # a new block, or the next list
            yield ""
        yield line
        previous = kind


def grouped_blocks(document: DocumentObject, styles: Styles) -> Iterator[Paragraph | Table | list[str]]:
    """The body's blocks, each run of consecutive code paragraphs as the lines of one fenced block."""
    for is_code, blocks in groupby(body_blocks(document), key=lambda block: is_code_paragraph(block, styles)):
        if not is_code:
            yield from blocks
            continue
        lines = code_lines(block for block in blocks if isinstance(block, Paragraph))
        if any(line.strip() for line in lines):
            yield fenced(lines)


def is_code_paragraph(block: Paragraph | Table, styles: Styles) -> bool:
    """A paragraph in a code style, or one whose every run is set in a monospaced font (directly or by a style)."""
    if not isinstance(block, Paragraph):
        return False
    style_id = block._p.style or styles.default
    if style_id in styles.code:
        return True
    if HEADING_STYLE.match(styles.names.get(style_id, "")):
        return False
    pieces = [piece for piece in paragraph_runs(block) if isinstance(piece, str) or piece.text.strip()]
    if not pieces:  # a blank line typed between lines of code keeps their font on its paragraph mark
        return is_monospaced(block._p.find(f"{W}pPr/{W}rPr"), styles)
    return all(isinstance(piece, Run) and is_monospaced(piece._r.rPr, styles) for piece in pieces)


def is_monospaced(props: Any, styles: Styles) -> bool:
    """Run properties (`w:rPr`) that set a monospaced font, or a character style that sets code."""
    if props is None:
        return False
    fonts, style = props.find(f"{W}rFonts"), props.find(f"{W}rStyle")
    font = (fonts.get(f"{W}ascii") or fonts.get(f"{W}hAnsi") or "") if fonts is not None else ""
    return bool(MONOSPACE.search(font)) or (style is not None and style.get(f"{W}val") in styles.code)


def code_lines(paragraphs: Iterable[Paragraph]) -> list[str]:
    """The paragraphs' text as it stands (a line break inside one starts a line), blank lines at the ends dropped."""
    text = "\n".join("".join(piece if isinstance(piece, str) else piece.text for piece in paragraph_runs(paragraph))
                     for paragraph in paragraphs)
    return text.strip("\n").split("\n")


def fenced(lines: list[str]) -> list[str]:
    """A code fence around the lines, longer than any run of backticks in them."""
    fence = "`" * max(3, 1 + max((len(ticks) for ticks in re.findall(r"`+", "\n".join(lines))), default=0))
    return [fence, *lines, fence]


def body_blocks(document: DocumentObject) -> Iterator[Paragraph | Table]:
    """The body's paragraphs and tables in order, those inside content controls (`w:sdt`) included, which
    `iter_inner_content` passes over: templates often wrap the whole text in one."""
    parent = document._body
    pending = list(document.element.body)
    while pending:
        element = pending.pop(0)
        if element.tag == f"{W}p":
            yield Paragraph(element, parent)
        elif element.tag == f"{W}tbl":
            yield Table(element, parent)
        elif element.tag in (f"{W}sdt", f"{W}sdtContent", f"{W}customXml"):
            pending[:0] = list(element)


def paragraph_line(paragraph: Paragraph, styles: Styles,
                   counters: dict[tuple[str, int], int]) -> tuple[str, str]:
    """("heading" | "item:<which list>" | "para", its markdown)."""
    style_id = paragraph._p.style or styles.default
    style = styles.names.get(style_id, "")
    heading = HEADING_STYLE.match(style)
    if heading or style == "Title":
        level = min(int(heading.group(1)), 6) if heading else 1
        return "heading", "#" * level + " " + " ".join(inline_text(paragraph, marked=False).split())
    listed = list_kind(paragraph, style_id, style, styles)
    if listed is None:
        return "para", inline_text(paragraph)
    bullet, level, key = listed
    text = " ".join(inline_text(paragraph).split())
    for deeper in [k for k in counters if k[0] == key and k[1] > level]:
        del counters[deeper]  # a shallower item restarts the numbering under it
    counters[(key, level)] = counters.get((key, level), 0) + 1
    marker = "-" if bullet else f"{counters[(key, level)]}."
    return f"item:{key}", "   " * level + f"{marker} {text}"  # three spaces nest under `- ` and `1. ` alike


def bold_title(paragraph: Paragraph) -> str | None:
    """The emphasis ("**", "***") of a short paragraph set wholly in bold, which Word users make headings with
    ("**Motivation – what to do**"); None for any other paragraph. A sentence (ending in a full stop) is none, and
    so is a line with an equation, which `paragraph.text` leaves out.

    It heads what follows as a `##` would; a second look ("***…***" after "**…**") nests under the first.
    """
    text = " ".join(paragraph.text.split())
    if not text or len(text.split()) > PROSE_WORDS or text.endswith((".", ",", ";")):
        return None
    runs = [run for run in paragraph_runs(paragraph) if isinstance(run, str) or run.text.strip()]
    if not runs or not all(isinstance(run, Run) and run.bold for run in runs):
        return None
    return "***" if all(isinstance(run, Run) and run.italic for run in runs) else "**"


def list_kind(paragraph: Paragraph, style_id: str, style: str, styles: Styles) -> tuple[bool, int, str] | None:
    """(is a bullet, nesting level from 0, which list) for a list item; None for a plain paragraph."""
    own_id, own_level = num_pr(paragraph._p.find(f"{W}pPr"))
    style_id_num, style_level = styles.numbering.get(style_id, ("", None))
    num_id = own_id or style_id_num
    ilvl = next((level for level in (own_level, style_level) if level is not None), 0)
    named = LIST_STYLE.match(style)
    if named:
        level = int(named.group(2)) - 1 if named.group(2) else ilvl
        # "List Bullet 2" has its own numId in the style, yet reads as the inner level of a "List Bullet" list
        return named.group(1) == "Bullet", min(level, 8), own_id or named.group(1)
    if not num_id or num_id == "0":  # numId 0 switches numbering off
        return None
    fmt = styles.formats.get(num_id, {}).get(ilvl, "decimal")
    return None if fmt == "none" else (fmt == "bullet", min(ilvl, 8), num_id)


def inline_text(paragraph: Paragraph, marked: bool = True) -> str:
    """The paragraph's text with bold and italic runs marked, markers outside the spaces they wrap."""
    pieces: list[tuple[str, str]] = []  # (marker, text), neighbours with one marker merged
    for run in paragraph_runs(paragraph):
        marker = emphasis(run) if marked and isinstance(run, Run) else ""
        text = run if isinstance(run, str) else run.text
        if pieces and pieces[-1][0] == marker:
            pieces[-1] = (marker, pieces[-1][1] + text)
        else:
            pieces.append((marker, text))
    out = []
    for marker, text in pieces:
        core = text.strip()
        if marker and core:
            lead, trail = text[: len(text) - len(text.lstrip())], text[len(text.rstrip()):]
            text = f"{lead}{marker}{core}{marker}{trail}"
        out.append(text)
    return "".join(out)


def paragraph_runs(paragraph: Paragraph) -> Iterator[Run | str]:
    """The paragraph's runs in order, those in links, tracked insertions, fields and content controls included
    (`Paragraph.runs` has only its direct ones), and its equations as LaTeX (`$…$` inline, `$$…$$` on their own
    line); not the runs of text boxes, which are paragraphs of their own."""
    pending = list(paragraph._p)
    while pending:
        element = pending.pop(0)
        if element.tag == f"{W}r":
            yield Run(element, paragraph)
        elif element.tag == f"{M}oMath":
            yield f"${equation_latex(element)}$"
        elif element.tag == f"{M}oMathPara":
            yield "\n".join(f"$${equation_latex(omath)}$$" for omath in element.iter(f"{M}oMath"))
        elif element.tag in RUN_CONTAINERS:
            pending[:0] = list(element)


def emphasis(run: Run) -> str:
    return ("**" if run.bold else "") + ("*" if run.italic else "")


def table_lines(table: Table) -> list[str]:
    """A pipe table, the first row as its header; a merged cell repeats its text in each column it spans."""
    rows = [[" ".join(cell_text(cell).split()).replace("|", "\\|") for cell in row.cells] for row in table.rows]
    rows = [row for row in rows if any(row)]
    if not rows:
        return []
    width = max(len(row) for row in rows)
    rows = [row + [""] * (width - len(row)) for row in rows]
    lines = ["| " + " | ".join(rows[0]) + " |", "| " + " | ".join(["---"] * width) + " |"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows[1:]]


def cell_text(cell: _Cell) -> str:
    """A cell's paragraphs with their equations (`cell.text` leaves those out), unmarked as before."""
    return "\n".join(inline_text(paragraph, marked=False) for paragraph in cell.paragraphs)
