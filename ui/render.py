"""Answers, source cards and note tables as HTML: pure functions, every note-derived string escaped."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from html import escape

from markdown_it import MarkdownIt

from rag.models import Answer, Citation, IndexReport, IndexStatus, SourceInfo

MARKER = re.compile(r"\[(\d+)\]")
TAG = re.compile(r"(<[^>]*>)")
CODE_OPEN = re.compile(r"<(?:code|pre)[\s>]")
CODE_CLOSE = re.compile(r"</(?:code|pre)>")
# $$..$$ and \[..\] are display formulas, \(..\) inline ones; a lone $ is not (notes quote shell and C++).
MATH = re.compile(r"\$\$(.+?)\$\$|\\\[(.+?)\\\]|\\\((.+?)\\\)", re.S)
FORMULA = re.compile(r"KATEXFORMULA(\d+)X")  # a formula's stand-in while the Markdown around it is rendered
CONTEXT_LINES = 1  # uncited lines shown around the cited ones, so the highlight reads as one
FOLD_LINES = 2  # a longer run of uncited lines between two cited spans is folded into "…"; <details> has it all


@dataclass(frozen=True)
class Turn:
    """One exchange of the conversation; `answer` is None while the notes are being searched."""

    question: str
    answer: Answer | None = None


def line_range(start: int, end: int) -> str:
    """'line 7' or 'lines 7–12' (en dash)."""
    return f"line {start}" if start == end else f"lines {start}–{end}"


def where(citation: Citation) -> str:
    """The cited lines as a person looks them up: "lines 7–12", or "page 3, lines 12–20" in a PDF."""
    start, end = citation.cited_start, citation.cited_end
    return citation.location.label() if citation.location else line_range(start, end)


def card_id(turn: int | str, n: int) -> str:
    """The element id a `[n]` marker of turn `turn` links to."""
    return f"t{turn}-c{n}"


@cache
def markdown() -> MarkdownIt:
    """Markdown to HTML with raw HTML escaped and images off (an image would fetch its URL)."""
    return MarkdownIt("default", {"html": False, "breaks": True}).disable("image")  # an answer line is a line


def math_span(match: re.Match[str]) -> str:
    """A formula as a `.math` span holding its TeX as text; the browser typesets it with KaTeX."""
    display = match.group(3) is None
    tex = next(group for group in match.groups() if group is not None).strip()
    return f'<span class="math {"display" if display else "inline"}">{escape(tex)}</span>'


def with_math(text: str) -> str:
    """Plain text as HTML, escaped, with each formula in it a `.math` span."""
    out, at = [], 0
    for match in MATH.finditer(text):
        out += [escape(text[at : match.start()]), math_span(match)]
        at = match.end()
    return "".join([*out, escape(text[at:])])


def table_scroller(html: str) -> str:
    """Wrap each table so a wide one scrolls sideways inside the answer instead of past the screen edge."""
    return html.replace("<table>", '<div class="table-scroll"><table>').replace("</table>", "</table></div>")


def link_markers(text: str, turn: int | str, known: set[int]) -> str:
    """The answer's Markdown as safe HTML, each `[n]` with a citation a link to its card, formulas as `.math`."""
    formulas: list[re.Match[str]] = []

    def stand_in(match: re.Match[str]) -> str:
        formulas.append(match)
        return f"KATEXFORMULA{len(formulas) - 1}X"

    def formula(match: re.Match[str]) -> str:
        return math_span(formulas[int(match.group(1))])

    def as_typed(match: re.Match[str]) -> str:
        return escape(formulas[int(match.group(1))].group(0))

    def link(match: re.Match[str]) -> str:
        n = int(match.group(1))
        if n not in known:
            return match.group(0)
        return f'<a class="cite" href="#{card_id(turn, n)}">[{n}]</a>'

    out, in_code = [], 0
    # Markdown would eat the formulas' backslashes (`\(` is an escaped "("): they sit out the rendering.
    for part in TAG.split(markdown().render(MATH.sub(stand_in, text))):
        if part.startswith("<"):  # the renderer escapes every "<" of the text, so this is a tag
            in_code += 1 if CODE_OPEN.match(part) else -1 if CODE_CLOSE.match(part) else 0
            out.append(part)
        else:  # `arr[1]` in code is not a citation, nor `$$x$$` a formula
            out.append(FORMULA.sub(as_typed, part) if in_code else FORMULA.sub(formula, MARKER.sub(link, part)))
    return table_scroller("".join(out))


def formula_blocks(lines: Sequence[str]) -> dict[int, tuple[int, str]]:
    """Formulas written over whole lines (`\\[` on one line, the TeX, `\\]` on another): first line -> (last, HTML)."""
    text = "\n".join(lines)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)
    blocks = {}
    for match in MATH.finditer(text):
        if "\n" not in match.group(0):
            continue
        first, last = bisect_right(starts, match.start()) - 1, bisect_right(starts, match.end() - 1) - 1
        whole = not text[starts[first] : match.start()].strip() and not text[match.end() : starts[last + 1] - 1].strip()
        if whole:
            blocks[first] = (last, math_span(match))
    return blocks


def numbered_lines(citation: Citation, first: int, last: int) -> str:
    """Lines first..last of the cited passage, numbered, the cited ones marked.

    A formula over several lines is typeset on its first line's row; the rows of its other lines stay
    (hidden, numbered and marked) so the marks still follow the line numbers exactly.
    """
    passage = citation.passage
    top = max(first, passage.start_line)
    lines = passage.text.split("\n")[top - passage.start_line : last - passage.start_line + 1]
    blocks, inside = formula_blocks(lines), -1
    rows = []
    for offset, line in enumerate(lines):
        number = top + offset
        cited = any(start <= number <= end for start, end in citation.quoted)
        cls = "ln cited" if cited else "ln"
        if offset in blocks:
            inside, formula = blocks[offset]
            label = f'<span class="no" data-to="{top + inside}">{number}</span>'
            rows.append(f'<span class="{cls} formula">{label}{formula}</span>')
        elif offset <= inside:
            rows.append(f'<span class="{cls} formula-rest"><span class="no">{number}</span></span>')
        else:
            rows.append(f'<span class="{cls}"><span class="no">{number}</span>{with_math(line) or " "}</span>')
    return "".join(rows)  # no literal newlines: each line is a block-level span


def excerpt_windows(citation: Citation) -> list[tuple[int, int]]:
    """The line ranges a card's excerpt shows: every quoted span, whatever its length, with its context lines."""
    p = citation.passage
    windows: list[tuple[int, int]] = []
    for start, end in citation.quoted:
        first, last = max(p.start_line, start - CONTEXT_LINES), min(p.end_line, end + CONTEXT_LINES)
        if windows and first <= windows[-1][1] + FOLD_LINES + 1:
            windows[-1] = (windows[-1][0], max(windows[-1][1], last))
        else:
            windows.append((first, last))
    return windows


def render_excerpt(citation: Citation) -> str:
    """The cited lines, numbered and marked; a long uncited stretch between them is one "…" row."""
    more = '<span class="ln more">…</span>'
    return more.join(numbered_lines(citation, first, last) for first, last in excerpt_windows(citation))


def render_card(citation: Citation, turn: int | str) -> str:
    """One numbered source card: note, heading of the quoted lines, line range, the cited lines, the full passage."""
    p = citation.passage
    heading = f'<span class="heading" title="{escape(p.heading)}">{escape(p.heading)}</span>' if p.heading else ""
    return (
        f'<div class="card" id="{card_id(turn, citation.n)}" tabindex="-1">'
        f'<div class="card-head"><span class="num">{citation.n}</span>'
        f'<span class="src">{escape(p.source)}</span>{heading}'
        f'<span class="lines">{where(citation)}</span></div>'
        f'<div class="excerpt">{render_excerpt(citation)}</div>'
        f"<details><summary>Full passage ({line_range(p.start_line, p.end_line)})</summary>"
        f'<div class="excerpt full">{numbered_lines(citation, p.start_line, p.end_line)}</div></details>'
        "</div>"
    )


def copy_text(answer: Answer) -> str:
    """What an answer's Copy button copies: its Markdown, then what each `[n]` cites."""
    cites = [
        f"[{c.n}] {c.passage.source}, {where(c)}"
        + (f" ({c.passage.heading})" if c.passage.heading else "")
        for c in answer.citations
    ]
    return "\n\n".join([answer.text, "\n".join(cites)] if cites else [answer.text])


def copy_button(answer: Answer) -> str:
    """The Copy button of a finished answer; the page's script puts its data-copy on the clipboard."""
    return (f'<button type="button" class="copy" data-copy="{escape(copy_text(answer))}" '
            'title="Copy the answer and its sources">Copy</button>')


def render_answer(answer: Answer, turn: int, shown: str | None = None) -> str:
    """The answer bubble; `shown` is the part streamed so far (cards appear once it is complete)."""
    text = answer.text if shown is None else shown
    body = link_markers(text, turn, {c.n for c in answer.citations})
    meta = f'<span class="badge">{escape(answer.mode)}</span>searched for: “{escape(answer.search_query)}”'
    note = f'<div class="answer-note">{escape(answer.note)}</div>' if answer.note else ""
    if not answer.answered:
        label = '<div class="nf-label">Not in your notes</div>'
        bubble = f'<div class="bubble answer not-found">{label}<div class="text">{body}</div>{note}</div>'
    else:
        bubble = f'<div class="bubble answer"><div class="text">{body}</div>{note}</div>'
    cards = render_cards(answer, turn) if shown is None else ""
    copy = copy_button(answer) if shown is None else ""
    written = render_attribution(answer) + render_quotes(answer, turn) if shown is None else ""
    return f'{bubble}<div class="query-used">{copy}{meta}</div>{written}{cards}'


def render_cards(answer: Answer, turn: int | str) -> str:
    """The numbered source cards of an answer."""
    if not answer.citations:
        return ""
    title = "Sources" if answer.answered else "Closest passages"
    items = "".join(render_card(c, turn) for c in answer.citations)
    return f'<div class="cards-title">{title}</div><div class="cards">{items}</div>'


def render_attribution(answer: Answer) -> str:
    """A written answer's sentences, each with the lines that support it, and those none does (left out)."""
    if not answer.sentences:
        return ""
    rows = []
    for s in answer.sentences:
        said = f"<code>{escape(s.text[:80])}…</code>" if s.kind == "code" else escape(s.text)
        if s.supported:
            cites = ", ".join(f"[{n}] {line_range(start, end)}" for n, start, end in s.cites)
            rows.append(f'<li class="supported">{said} <span class="by">{escape(cites)} · support {s.support:.2f}'
                        "</span></li>")
        else:
            rows.append(f'<li class="unsupported">{said} <span class="by">not supported by the notes, left out: '
                        f"{escape(s.reason)}</span></li>")
    kept = sum(s.supported for s in answer.sentences)
    summary = f"{kept} of {len(answer.sentences)} written sentences attributed to the notes"
    return f'<details class="attribution"><summary>{summary}</summary><ol>{"".join(rows)}</ol></details>'


def render_quotes(answer: Answer, turn: int) -> str:
    """The extractive answer a written one was made from, folded: the notes' own lines, one click away."""
    quoted = answer.extractive
    if quoted is None or quoted is answer:
        return ""
    inner = f"{turn}x"  # its cards' ids differ from the written answer's
    body = link_markers(quoted.text, inner, {c.n for c in quoted.citations})
    return (f'<details class="quotes"><summary>The notes\' own lines</summary>'
            f'<div class="bubble answer"><div class="text">{body}</div></div>{render_cards(quoted, inner)}</details>')


def render_turn(turn: Turn, index: int, shown: str | None = None) -> str:
    """A question bubble and its answer (or a 'searching' placeholder)."""
    question = f'<div class="bubble question">{escape(turn.question)}</div>'
    if turn.answer is None:
        reply = '<div class="bubble answer pending">Searching your notes…</div>'
    else:
        reply = render_answer(turn.answer, index, shown)
    state = "turn" if turn.answer is not None and shown is None else "turn streaming"
    return f'<div class="{state}">{question}{reply}</div>'


def render_conversation(turns: Sequence[Turn], shown: str | None = None) -> str:
    """The whole chat; `shown` applies to the last turn while it streams."""
    if not turns:
        return (
            '<div class="chat empty"><div class="hello">Ask a question about your notes.</div>'
            '<div class="hello-sub">Every answer cites the exact lines it comes from.</div></div>'
        )
    last = len(turns) - 1
    parts = [render_turn(t, i, shown if i == last else None) for i, t in enumerate(turns)]
    return f'<div class="chat">{"".join(parts)}</div>'


def when(stamp: str) -> str:
    """An ISO timestamp as 'YYYY-MM-DD HH:MM UTC' (unparseable ones as they are)."""
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def render_sources(sources: Sequence[SourceInfo]) -> str:
    """The indexed notes as a table: name, chunks, when indexed."""
    if not sources:
        return '<div class="notes-empty">No notes indexed yet: upload one, or press Re-index.</div>'
    rows = "".join(
        f"<tr><td>{escape(s.source)}</td><td class='num'>{s.chunks}</td><td>{escape(when(s.indexed_at))}</td></tr>"
        for s in sources
    )
    total = sum(s.chunks for s in sources)
    return (
        '<table class="notes-table"><thead><tr><th>Note</th><th>Chunks</th><th>Indexed at</th></tr></thead>'
        f"<tbody>{rows}</tbody><tfoot><tr><td>{len(sources)} notes</td><td class='num'>{total}</td>"
        "<td></td></tr></tfoot></table>"
    )


def render_report(report: IndexReport) -> str:
    """An index run's summary line and its per-file table (status and why)."""
    summary = (
        f"added {report.added} · updated {report.updated} · removed {report.removed} · "
        f"unchanged {report.unchanged} · {report.chunks} chunks in the index · {report.seconds:.1f} s"
    )
    rows = "".join(
        f'<tr class="st-{escape(f.status)}"><td>{escape(f.source)}</td><td>{escape(f.status)}</td>'
        f"<td class='num'>{f.chunks}</td><td>{escape(f.reason)}</td></tr>"
        for f in report.files
    )
    return (
        f'<div class="report"><div class="report-summary">{summary}</div>'
        '<table class="notes-table"><thead><tr><th>Note</th><th>Status</th><th>Chunks</th><th>Why</th></tr>'
        f"</thead><tbody>{rows}</tbody></table></div>"
    )


def clock(stamp: str, today: datetime | None = None) -> str:
    """An ISO time as '12:03:04 UTC', with the date unless it is today (UTC)."""
    when = datetime.fromisoformat(stamp).astimezone(UTC)
    same_day = when.date() == (today or datetime.now(UTC)).date()
    return when.strftime("%H:%M:%S UTC" if same_day else "%Y-%m-%d %H:%M:%S UTC")


def render_status(status: IndexStatus, watching: str | None = None, today: datetime | None = None) -> str:
    """One line: the index run going on, or when the last one ended and what it did; and what is watched."""
    failed = False
    if status.running:
        counted = f"{status.done} of {status.total} texts embedded" if status.total else ""
        line = "Index run in progress"
        if status.stage == "units":  # the chunks are in: search works, answers embed what is not stored yet
            line += ": the notes are searchable; preparing answers"
        line += (", " if status.stage == "units" else ": ") + counted if counted else ""
    elif status.finished_at is None:
        line = "No index run recorded yet"
    elif status.error is not None:
        failed = True
        line = f"Last index run {clock(status.finished_at, today)} failed: {status.error}"
    elif status.last is not None:
        r = status.last
        line = (f"Last index run {clock(status.finished_at, today)}: "
                f"{r.added} added, {r.updated} updated, {r.removed} removed")
    else:
        line = f"Last index run {clock(status.finished_at, today)}"
    watched = f" (watching {watching})" if watching else ""
    return f'<div class="index-status{" failed" if failed else ""}">{escape(line + watched)}</div>'
