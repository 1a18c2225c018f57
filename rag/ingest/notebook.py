"""Jupyter notebooks: cells as markdown (code fenced in the notebook's language), text outputs after them (pure).

Layout: the cells in order, a blank line between them. A markdown or raw cell's lines are copied as they are;
a code cell's source sits in a fence, and its text outputs follow in a fence labelled `output`. One Segment per
non-empty cell covers exactly its source lines (`first_line` skips the blank lines it starts with), and one
more (`output=True`) the lines of its outputs; the fence lines are this loader's own and lie outside every
segment, so a range of source lines locates to exactly those lines of the cell, an output's to "output of cell".
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from rag.ingest.base import Extracted, Unreadable
from rag.ingest.text import decode_text
from rag.models import Segment

MAX_NOTEBOOK_BYTES = 100_000_000  # a notebook is parsed whole: refuse what can't fit in memory
MAX_OUTPUT_LINES = 40  # of one output: the head says what it is, the rest is seldom what a note asks
MAX_OUTPUT_CHARS = 4_000  # of one output
MAX_CELL_OUTPUT_CHARS = 12_000  # of all the outputs of one cell
MAX_TEXT_CHARS = 20_000_000  # of the whole extracted text; cells after it are left out, with a marker
ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")
FENCE_RUN = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})", re.MULTILINE)
DATA_URI = re.compile(r"\(data:[^)\s]{64,}\)")  # images pasted into markdown: megabytes of base64
OBJECT_REPR = re.compile(r"^<.*>$")  # "<Figure size 640x480 with 1 Axes>": the stand-in text of a picture
LANGUAGE = re.compile(r"[^\w+#-]")
SKIPPED_MIME = ("application/vnd.jupyter.widget-view+json",)


def load_notebook(raw: bytes, source: str) -> Extracted:
    """An `.ipynb` notebook as markdown, with one Segment per cell that has source lines."""
    nb = read_notebook(raw)
    language = notebook_language(nb.get("metadata", {}))
    lines: list[str] = []
    segments: list[Segment] = []
    size = 0
    for index, cell in enumerate(nb.cells, start=1):
        if size > MAX_TEXT_CHARS:
            lines += ["", f"… (notebook cut: cells {index}–{len(nb.cells)} not read, over {mb(MAX_TEXT_CHARS)})"]
            break
        before = len(lines)
        add_cell(cell, index, language, lines, segments)
        size += sum(len(line) + 1 for line in lines[before:])
    while lines and not lines[-1]:
        lines.pop()
    return Extracted("\n".join(lines) + "\n" if lines else "", tuple(segments))


def read_notebook(raw: bytes) -> Any:
    """The notebook as nbformat v4, validated; Unreadable says what is wrong with it."""
    if len(raw) > MAX_NOTEBOOK_BYTES:
        raise Unreadable(f"notebook too large ({mb(len(raw))}, the limit is {mb(MAX_NOTEBOOK_BYTES)}): "
                         "clear its outputs (Kernel > Restart & Clear Output) and save it again")
    import nbformat  # a quarter of a second: only when a notebook is read, not at every start

    text = decode_text(raw)
    if not text.lstrip().startswith("{"):
        raise Unreadable(f"not a notebook: {json_problem(text)}: re-save it from Jupyter")
    try:
        nb = nbformat.reader.reads(text)
        if "nbformat" not in nb:
            raise Unreadable("not a notebook: the JSON has no `nbformat` version: re-save it from Jupyter")
        nb = nbformat.convert(nb, 4)
        if nb.get("nbformat_minor", 0) >= 5:  # ids are required from 4.5; their absence is no reason to skip
            for n, cell in enumerate(nb.get("cells", [])):
                if isinstance(cell, dict):
                    cell.setdefault("id", f"cell-{n}")
        nbformat.validate(nb)
    except nbformat.reader.NotJSONError as exc:
        raise Unreadable(f"not a notebook: {json_problem(text)}: re-save it from Jupyter") from exc
    except nbformat.ValidationError as exc:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in getattr(exc, "absolute_path", ()))
        raise Unreadable(f"not a valid notebook: {first_line(exc.message)} at {where.lstrip('.') or 'the top'}: "
                         "fix that field (Jupyter shows the problem when it opens the file) and re-save it") from exc
    except (nbformat.NBFormatError, ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
        raise Unreadable(f"not a notebook ({first_line(str(exc))}): re-save it from Jupyter") from exc
    return nb


def json_problem(text: str) -> str:
    """Where the JSON is broken, as an editor would show it."""
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return f"the JSON is invalid at line {exc.lineno}, column {exc.colno} ({exc.msg})"
    return "the JSON is not an object {…}"


def notebook_language(metadata: dict[str, Any]) -> str:
    """The language its code cells are in (the fence's info string): python unless the notebook says."""
    kernelspec, info = metadata.get("kernelspec") or {}, metadata.get("language_info") or {}
    name = (kernelspec.get("language") if isinstance(kernelspec, dict) else None) \
        or (info.get("name") if isinstance(info, dict) else None) or "python"
    return LANGUAGE.sub("", str(name).lower())[:30] or "python"


def add_cell(cell: Any, index: int, language: str, lines: list[str], segments: list[Segment]) -> None:
    """Append one cell (and its outputs) to the lines, and its Segment; an empty cell adds nothing."""
    source = cell.source.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    skipped = 0
    while skipped < len(source) and not source[skipped].strip():
        skipped += 1
    body = source[skipped:]
    while body and not body[-1].strip():
        body.pop()
    if not body:
        return
    code = cell.cell_type == "code"
    if cell.cell_type == "markdown":
        body = [DATA_URI.sub("(data:…)", line) for line in body]
    fence = fence_for(body) if code else ""
    if code:
        lines.append(f"{fence}{language}")
    start = len(lines) + 1
    lines.extend(body)
    count = cell.get("execution_count") if code else None
    segments.append(Segment(start, len(lines), cell=index, execution_count=count, first_line=skipped + 1))
    if code:
        lines.append(fence)
        output = list(output_lines(cell.get("outputs", [])))
        if output:
            fence = fence_for(output)
            lines += ["", f"{fence}output"]
            segments.append(Segment(len(lines) + 1, len(lines) + len(output), cell=index, execution_count=count,
                                    output=True))
            lines += [*output, fence]
    elif unclosed_fence(body):  # a fence left open would swallow the cells after it
        lines.append(unclosed_fence(body))
    lines.append("")


def fence_for(body: list[str]) -> str:
    """A backtick fence longer than any fence inside the body."""
    longest = max((len(m.group(1)) for m in FENCE_RUN.finditer("\n".join(body)) if m.group(1)[0] == "`"),
                  default=2)
    return "`" * max(3, longest + 1)


def unclosed_fence(body: list[str]) -> str:
    """The fence that closes a markdown cell's last code block, if the cell leaves it open ("" if not)."""
    open_ = ""
    for line in body:
        match = FENCE_RUN.match(line)
        if not match:
            continue
        marker = match.group(1)
        if not open_:
            open_ = marker
        elif marker[0] == open_[0] and len(marker) >= len(open_) and not line.strip(marker[0] + " \t"):
            open_ = ""
    return open_


def output_lines(outputs: list[Any]) -> Iterator[str]:
    """The text of a cell's outputs, each cut to its limits, all of them cut to the cell's limit."""
    used = 0
    for n, output in enumerate(outputs):
        text = output_text(output)
        if text is None or not text.strip():
            continue
        if used >= MAX_CELL_OUTPUT_CHARS:
            yield f"… ({len(outputs) - n} more outputs cut)"
            return
        if used:
            yield ""  # outputs apart, as Jupyter shows them
        kept = cut_output(text, min(MAX_OUTPUT_CHARS, MAX_CELL_OUTPUT_CHARS - used))
        used += sum(len(line) + 1 for line in kept)
        yield from kept


def output_text(output: Any) -> str | None:
    """An output's text: stream text, `text/plain` of a result, or an error; None for pictures, HTML, widgets."""
    kind = output.get("output_type")
    if kind == "stream":
        return terminal_text(str(output.get("text", "")))
    if kind == "error":
        head = f"{output.get('ename', '')}: {output.get('evalue', '')}"
        trace = [ANSI.sub("", str(line)) for line in output.get("traceback", [])]
        if trace and trace[-1].strip() == head.strip():
            trace.pop()  # IPython ends the traceback with the same line
        return "\n".join([head, *trace])
    if kind in ("execute_result", "display_data"):
        data = output.get("data", {})
        plain = data.get("text/plain")
        if not isinstance(plain, str) or any(mime in data for mime in SKIPPED_MIME):
            return None
        if len(data) > 1 and OBJECT_REPR.match(plain.strip()):
            return None
        return ANSI.sub("", plain)
    return None


def terminal_text(text: str) -> str:
    """Stream text as a terminal shows it: colours dropped, a line redrawn after `\\r` (progress bars) kept last."""
    text = ANSI.sub("", text.replace("\r\n", "\n"))
    if "\r" not in text:
        return text
    return "\n".join(line.rstrip("\r").rsplit("\r", 1)[-1] for line in text.split("\n"))


def cut_output(text: str, limit: int) -> list[str]:
    """The output's first lines within `limit` chars and MAX_OUTPUT_LINES, then a marker saying what was cut.

    Only the head is split into lines, so a 20 MB output costs no more than a small one.
    """
    whole = len(text.rstrip("\n")) <= limit
    head = text.rstrip("\n") if whole else text[: limit + 1]
    kept: list[str] = []
    size, cut = 0, not whole
    for n, line in enumerate(head.split("\n")):
        if n == MAX_OUTPUT_LINES or size + len(line) > limit:
            cut = True
            if n < MAX_OUTPUT_LINES and limit - size > 80:  # a long line: keep what fits of it
                kept.append(line[: limit - size])
            break
        kept.append(line)
        size += len(line) + 1
    if cut:
        kept.append(f"… (output cut: {size_label(len(text))} in all)")
    return kept


def size_label(chars: int) -> str:
    return f"{chars:,} chars" if chars < 1_000_000 else mb(chars)


def mb(n: int) -> str:
    return f"{n / 1_000_000:.0f} MB" if n >= 10_000_000 else f"{n / 1_000_000:.1f} MB"


def first_line(text: str) -> str:
    return text.strip().split("\n", 1)[0][:200]
