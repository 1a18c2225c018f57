"""Answers, source cards and note tables as HTML: pure functions, every note-derived string escaped."""

from __future__ import annotations

import re
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
EXCERPT_LINES = 12  # longer cited spans are cut in the card; the <details> holds them all
CONTEXT_LINES = 1  # uncited lines shown around the cited ones, so the highlight reads as one


@dataclass(frozen=True)
class Turn:
    """One exchange of the conversation; `answer` is None while the notes are being searched."""

    question: str
    answer: Answer | None = None


def line_range(start: int, end: int) -> str:
    """'line 7' or 'lines 7–12' (en dash)."""
    return f"line {start}" if start == end else f"lines {start}–{end}"


def card_id(turn: int, n: int) -> str:
    """The element id a `[n]` marker of turn `turn` links to."""
    return f"t{turn}-c{n}"


@cache
def markdown() -> MarkdownIt:
    """Markdown to HTML with raw HTML escaped and images off (an image would fetch its URL)."""
    return MarkdownIt("default", {"html": False}).disable("image")


def link_markers(text: str, turn: int, known: set[int]) -> str:
    """The answer's Markdown as safe HTML, each `[n]` with a citation a link to its card."""

    def link(match: re.Match[str]) -> str:
        n = int(match.group(1))
        if n not in known:
            return match.group(0)
        return f'<a class="cite" href="#{card_id(turn, n)}">[{n}]</a>'

    out, in_code = [], 0
    for part in TAG.split(markdown().render(text)):
        if part.startswith("<"):  # the renderer escapes every "<" of the text, so this is a tag
            in_code += 1 if CODE_OPEN.match(part) else -1 if CODE_CLOSE.match(part) else 0
            out.append(part)
        else:  # `arr[1]` in code is not a citation
            out.append(part if in_code else MARKER.sub(link, part))
    return "".join(out)


def numbered_lines(citation: Citation, first: int, last: int) -> str:
    """Lines first..last of the cited passage, numbered, the cited ones marked."""
    passage = citation.passage
    lines = passage.text.split("\n")
    rows = []
    for number in range(max(first, passage.start_line), last + 1):
        offset = number - passage.start_line
        if offset >= len(lines):
            break
        cited = citation.cited_start <= number <= citation.cited_end
        cls = "ln cited" if cited else "ln"
        text = escape(lines[offset]) or " "
        rows.append(f'<span class="{cls}"><span class="no">{number}</span>{text}</span>')
    return "".join(rows)  # no literal newlines: each line is a block-level span


def render_card(citation: Citation, turn: int) -> str:
    """One numbered source card: note, heading path, line range, the cited lines, the full passage."""
    p = citation.passage
    start, end = citation.cited_start, citation.cited_end
    cut = min(end, start + EXCERPT_LINES - 1)
    more = '<span class="ln more">…</span>' if cut < end else ""
    before = start - CONTEXT_LINES
    after = cut + CONTEXT_LINES if cut == end else cut  # a cut excerpt ends in "…" instead
    heading = f'<span class="heading" title="{escape(p.heading)}">{escape(p.heading)}</span>' if p.heading else ""
    return (
        f'<div class="card" id="{card_id(turn, citation.n)}">'
        f'<div class="card-head"><span class="num">{citation.n}</span>'
        f'<span class="src">{escape(p.source)}</span>{heading}'
        f'<span class="lines">{line_range(start, end)}</span></div>'
        f'<div class="excerpt">{numbered_lines(citation, before, after)}{more}</div>'
        f"<details><summary>Full passage ({line_range(p.start_line, p.end_line)})</summary>"
        f'<div class="excerpt full">{numbered_lines(citation, p.start_line, p.end_line)}</div></details>'
        "</div>"
    )


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
    cards = ""
    if shown is None and answer.citations:
        title = "Sources" if answer.answered else "Closest passages"
        items = "".join(render_card(c, turn) for c in answer.citations)
        cards = f'<div class="cards-title">{title}</div><div class="cards">{items}</div>'
    return f'{bubble}<div class="query-used">{meta}</div>{cards}'


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
        counted = f": {status.done} of {status.total} texts embedded" if status.total else ""
        line = f"Index run in progress{counted}"
    elif status.finished_at is None:
        line = "No index run since the server started"
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
