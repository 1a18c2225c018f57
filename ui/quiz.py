"""The Quiz tab: a card, the answer box, the graded result with the missed points' lines, the grade buttons,
today's progress and a chart by topic. Every decision is `Rag.quiz`'s; this module renders and wires.
Formulas are typeset with KaTeX as in the chat (`ui.render.with_math`, `ui.script.math_js`)."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import gradio as gr

from rag.errors import RagError
from rag.quiz import GRADES, Point, Result, Scheduled, Stats, TopicStats
from ui.notes import check_key
from ui.render import with_math
from ui.script import math_js

if TYPE_CHECKING:
    from rag.app import Rag

CHART_TOPICS = 12  # bars in the chart: the topics with most cards due (then most cards)
QUIZ_CSS = """
.quiz-card { border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 14px 16px; }
.quiz-card .q { font-size: 1.15rem; font-weight: 600; margin: 4px 0; }
.quiz-card .meta, .quiz-result .meta { color: var(--body-text-color-subdued); font-size: 0.85em; }
/* Gradio's prose styles bullet every list and box every table cell: the marks and bars say it here. */
.quiz-result ul { list-style: none !important; padding-inline-start: 0 !important; margin: 6px 0; }
.quiz-result li { margin: 4px 0; white-space: pre-wrap; }
.quiz-result li.made::before { content: "✓ "; color: #1a7f37; font-weight: 700; }
.quiz-result li.missed::before { content: "✗ "; color: #cf222e; font-weight: 700; }
.quiz-result .lines { color: var(--body-text-color-subdued); font-size: 0.85em; margin-left: 6px; }
.quiz-card .math.display, .quiz-result .math.display { display: inline-block; max-width: 100%; overflow-x: auto;
  overflow-y: hidden; vertical-align: middle; }
.quiz-card .katex-display, .quiz-result .katex-display { margin: 0.2em 0; text-align: left; }
.quiz-chart { width: 100%; border-collapse: collapse; font-size: 0.85em; table-layout: fixed; }
.quiz-chart caption { text-align: left; font-weight: 600; margin-bottom: 4px; }
table.quiz-chart tr { border: none !important; }
table.quiz-chart th, table.quiz-chart td { border: none !important; padding: 3px 4px !important; text-align: left;
  vertical-align: middle; border-bottom: 1px solid var(--border-color-primary) !important; }
.quiz-chart th[scope=row] { font-weight: 400; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.quiz-chart td > span.cell { display: flex; align-items: center; gap: 6px; }
.quiz-chart .track { flex: 1; min-width: 30px; background: var(--background-fill-secondary); border-radius: 3px; }
.quiz-chart .bar { display: block; height: 12px; border-radius: 3px; background: var(--color-accent); }
.quiz-chart .bar.kept { background: #1a7f37; }
.quiz-chart .num { min-width: 3.2em; text-align: right; font-variant-numeric: tabular-nums; }
"""


def render_card(s: Scheduled | None, message: str = "") -> str:
    if s is None:
        return f'<div class="quiz-card empty"><p>{html.escape(message)}</p></div>'
    c = s.card
    due = f"due {s.due:%Y-%m-%d %H:%M}" if s.due else "new"
    return (f'<div class="quiz-card" data-card="{html.escape(c.id)}"><div class="meta">{html.escape(c.kind)} · '
            f"{with_math(c.heading or c.source)} · {due}</div>"
            f'<p class="q" id="quiz-question">{with_math(s.question)}</p>'
            f'<div class="meta">Expected answer: {html.escape(c.source)}, lines {c.start_line}–{c.end_line}</div>'
            "</div>")


def render_result(r: Result) -> str:
    """Score, suggested grade, the points made and missed with their lines, then the notes' own answer."""
    source = html.escape(r.card.source)

    def items(points: tuple[Point, ...], cls: str) -> str:
        return "".join(f'<li class="{cls}">{point_html(p)}<span class="lines">{source}:{p.start_line}'
                       f"–{p.end_line}</span></li>" for p in points)

    scheduled = f" · graded <b>{r.rating}</b>, next review {r.due:%Y-%m-%d %H:%M}" if r.rating and r.due else ""
    missed = (f'<p><b>Missed</b></p><ul class="missed-points">{items(r.grade.missed, "missed")}</ul>'
              if r.grade.missed else "")
    made = f'<p><b>Made</b></p><ul class="made-points">{items(r.grade.matched, "made")}</ul>' if r.grade.matched else ""
    return (f'<div class="quiz-result"><p>Score <b id="quiz-score">{r.grade.score:.2f}</b> · suggested grade '
            f'<b id="quiz-suggested">{r.grade.suggested}</b>{scheduled}</p>{missed}{made}'
            f'<details><summary>The notes\' answer ({source}, lines {r.card.start_line}–{r.card.end_line})</summary>'
            f"<ul>{items(r.card.points, '')}</ul></details></div>")


def point_html(p: Point) -> str:
    """A point's text, escaped, its formulas as `.math` spans (a formula's indentation in its list is dropped)."""
    return with_math(p.text.strip() if p.kind == "formula" else p.text)


def render_progress(s: Stats) -> str:
    retention = f"{s.retention:.0%}" if s.retention is not None else "–"
    return (f'<div class="meta" id="quiz-progress-line">Today: {s.reviewed} reviewed · {s.due} due · '
            f"{max(0, s.new_per_day - s.new_today)} of {s.new_per_day} new left ({s.new} never seen) · "
            f"{s.cards} cards · retention {retention}</div>")


def render_chart(s: Stats) -> str:
    """Due cards and retention per topic as a table of bars, each with its number (plain HTML: nothing loads
    from elsewhere; the numbers are the text a screen reader reads, the bars are hidden from it)."""
    topics = s.by_topic[:CHART_TOPICS]
    if not topics:
        return '<div class="quiz-chart"><p>No cards yet: index some notes.</p></div>'
    most = max(max(t.due for t in topics), 1)
    rows = "".join(chart_row(t, most) for t in topics)
    return ('<table class="quiz-chart"><caption>Due cards and retention by topic</caption><colgroup>'
            '<col style="width:40%"><col style="width:30%"><col style="width:30%"></colgroup>'
            '<thead><tr><th scope="col">Topic</th><th scope="col">Due now</th><th scope="col">Retention</th></tr>'
            f"</thead><tbody>{rows}</tbody></table>")


def chart_row(t: TopicStats, most: int) -> str:
    """One topic: its name, a bar of its due cards with their count, a bar of its retention with the share."""
    if t.retention is None:
        kept, share = 0.0, '<span class="num" title="no reviews in the last 30 days">–</span>'
    else:
        kept, share = t.retention, f'<span class="num">{t.retention:.0%}</span>'
    due_title = f"{t.due} of {t.cards} cards due"
    return (f'<tr data-topic="{html.escape(t.topic)}"><th scope="row" title="{html.escape(t.topic)}">'
            f"{html.escape(t.topic[:48])}</th>"
            f'<td class="due" title="{due_title}"><span class="cell">{bar(t.due / most, "")}'
            f'<span class="num">{t.due}</span></span></td>'
            f'<td class="kept"><span class="cell">{bar(kept, " kept")}{share}</span></td></tr>')


def bar(share: float, cls: str) -> str:
    return (f'<span class="track" aria-hidden="true"><span class="bar{cls}" style="width:{100 * share:.0f}%">'
            "</span></span>")


def quiz_tab(rag: Rag) -> gr.Tab:
    """The tab's components and events; returns the tab (its select loads the first card)."""
    with gr.Tab("Quiz", id="quiz") as tab:
        card_id = gr.State(None)
        with gr.Row():
            with gr.Column(scale=3):
                with gr.Row():
                    topic = gr.Textbox(label="Topic", placeholder="e.g. SVMs (empty: all)", elem_id="quiz-topic",
                                       scale=3)
                    source = gr.Dropdown([], value=None, label="Note", elem_id="quiz-source", scale=2)
                    nxt = gr.Button("Next card", elem_id="quiz-next", scale=1)
                card = gr.HTML(elem_id="quiz-card", js_on_load=math_js())
                answer = gr.Textbox(label="Your answer", lines=4, elem_id="quiz-answer")
                check = gr.Button("Check my answer", variant="primary", elem_id="quiz-check")
                result = gr.HTML(elem_id="quiz-result", js_on_load=math_js())
                with gr.Row(visible=False, elem_id="quiz-grades") as grades:
                    buttons = [gr.Button(g.capitalize(), elem_id=f"quiz-grade-{g}", size="sm") for g in GRADES]
                key = gr.Textbox(label="API key", type="password", visible=bool(rag.settings.api_key),
                                 info="Needed to record grades (RAG_API_KEY).", elem_id="quiz-key")
            with gr.Column(scale=2):
                progress = gr.HTML(elem_id="quiz-progress")
                chart = gr.HTML(elem_id="quiz-chart")
    wire(rag, card_id, topic, source, nxt, card, answer, check, result, grades, buttons, key, progress, chart, tab)
    return tab


def wire(rag: Rag, card_id: gr.State, topic: gr.Textbox, source: gr.Dropdown, nxt: gr.Button, card: gr.HTML,
         answer: gr.Textbox, check: gr.Button, result: gr.HTML, grades: gr.Row, buttons: list[gr.Button],
         key: gr.Textbox, progress: gr.HTML, chart: gr.HTML, tab: gr.Tab) -> None:
    private: dict[str, Any] = {"api_visibility": "private"}
    shown = [card_id, card, answer, result, grades, progress, chart]

    show_next, on_select, on_check, grader = quiz_handlers(rag)
    tab.select(on_select, [topic, source], [*shown, source], show_progress="hidden", **private)
    nxt.click(show_next, [topic, source], shown, **private)
    topic.submit(show_next, [topic, source], shown, **private)
    check.click(on_check, [card_id, answer], [result, grades, *buttons], **private)
    for grade, button in zip(GRADES, buttons):
        button.click(grader(grade), [card_id, answer, key, topic, source], shown, **private)


def quiz_handlers(rag: Rag) -> tuple[Callable[..., Any], ...]:
    """The study tab's event handlers over `rag.quiz`: next card, tab selected, check, and a grade button's."""

    def show_next(topic: str | None, source: str | None, note: str = "") -> tuple[Any, ...]:
        try:
            s: Scheduled | None = rag.quiz.next(source or None, topic or None)
            message = ""
        except RagError as exc:
            s, message = None, str(exc)
        stats = rag.quiz.stats()
        return (s.card.id if s else None, render_card(s, message), "", note, gr.update(visible=False),
                render_progress(stats), render_chart(stats))

    def on_select(topic: str | None, source: str | None) -> tuple[Any, ...]:
        notes = [s.source for s in rag.sources()]
        return (*show_next(topic, source), gr.update(choices=notes, value=source if source in notes else None))

    def on_check(card: str | None, text: str) -> tuple[Any, ...]:
        return check_answer(rag, card, text)

    def grader(grade: str) -> Any:
        def on_grade(card: str | None, text: str, key: str | None, topic: str | None,
                     source: str | None) -> tuple[Any, ...]:
            try:
                check_key(rag.settings, key)
                r = rag.quiz.answer(card or "", text, grade)
            except RagError as exc:
                return (card, gr.update(), text, f'<p class="error">{html.escape(str(exc))}</p>', gr.update(),
                        gr.update(), gr.update())
            return show_next(topic, source, render_result(r))

        return on_grade

    return show_next, on_select, on_check, grader


def check_answer(rag: Rag, card: str | None, text: str) -> tuple[Any, ...]:
    """The answer graded without scheduling: the result, the grade buttons shown, the suggested one primary."""
    if not card:
        return "<p>No card: press “Next card”.</p>", gr.update(visible=False), *[gr.update()] * len(GRADES)
    try:
        r = rag.quiz.check(card, text)
    except RagError as exc:
        return f'<p class="error">{html.escape(str(exc))}</p>', gr.update(visible=False), \
            *[gr.update()] * len(GRADES)
    variants = [gr.update(variant="primary" if g == r.grade.suggested else "secondary") for g in GRADES]
    return render_result(r), gr.update(visible=True), *variants
