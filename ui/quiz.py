"""The Quiz tab: a card, the answer box, the graded result with the missed points' lines, the grade buttons,
today's progress and a chart by topic. Every decision is `Rag.quiz`'s; this module renders and wires."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import gradio as gr

from rag.errors import RagError
from rag.quiz import GRADES, Result, Scheduled, Stats
from ui.notes import check_key

if TYPE_CHECKING:
    from rag.app import Rag

CHART_TOPICS = 12  # bars in the chart: the topics with most cards due (then most cards)
QUIZ_CSS = """
.quiz-card { border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 14px 16px; }
.quiz-card .q { font-size: 1.15rem; font-weight: 600; margin: 4px 0; }
.quiz-card .meta, .quiz-result .meta { color: var(--body-text-color-subdued); font-size: 0.85em; }
.quiz-result ul { list-style: none; padding-left: 0; margin: 6px 0; }
.quiz-result li { margin: 4px 0; white-space: pre-wrap; }
.quiz-result li.made::before { content: "✓ "; color: #1a7f37; font-weight: 700; }
.quiz-result li.missed::before { content: "✗ "; color: #cf222e; font-weight: 700; }
.quiz-result .lines { color: var(--body-text-color-subdued); font-size: 0.85em; margin-left: 6px; }
.quiz-chart .row { display: grid; grid-template-columns: minmax(120px, 2fr) 3fr 3fr; gap: 8px; align-items: center;
  font-size: 0.85em; margin: 3px 0; }
.quiz-chart .bar { height: 12px; border-radius: 3px; background: var(--color-accent); }
.quiz-chart .bar.kept { background: #1a7f37; }
.quiz-chart .track { background: var(--background-fill-secondary); border-radius: 3px; }
"""


def render_card(s: Scheduled | None, message: str = "") -> str:
    if s is None:
        return f'<div class="quiz-card empty"><p>{html.escape(message)}</p></div>'
    c = s.card
    due = f"due {s.due:%Y-%m-%d %H:%M}" if s.due else "new"
    return (f'<div class="quiz-card" data-card="{html.escape(c.id)}"><div class="meta">{html.escape(c.kind)} · '
            f"{html.escape(c.heading or c.source)} · {due}</div>"
            f'<p class="q" id="quiz-question">{html.escape(s.question)}</p>'
            f'<div class="meta">Expected answer: {html.escape(c.source)}, lines {c.start_line}–{c.end_line}</div>'
            "</div>")


def render_result(r: Result) -> str:
    """Score, suggested grade, the points made and missed with their lines, then the notes' own answer."""
    source = html.escape(r.card.source)

    def items(points: Any, cls: str) -> str:
        return "".join(f'<li class="{cls}">{html.escape(p.text)}<span class="lines">{source}:{p.start_line}'
                       f"–{p.end_line}</span></li>" for p in points)

    scheduled = f" · graded <b>{r.rating}</b>, next review {r.due:%Y-%m-%d %H:%M}" if r.rating and r.due else ""
    missed = (f'<p><b>Missed</b></p><ul class="missed-points">{items(r.grade.missed, "missed")}</ul>'
              if r.grade.missed else "")
    made = f'<p><b>Made</b></p><ul class="made-points">{items(r.grade.matched, "made")}</ul>' if r.grade.matched else ""
    return (f'<div class="quiz-result"><p>Score <b id="quiz-score">{r.grade.score:.2f}</b> · suggested grade '
            f'<b id="quiz-suggested">{r.grade.suggested}</b>{scheduled}</p>{missed}{made}'
            f'<details><summary>The notes\' answer ({source}, lines {r.card.start_line}–{r.card.end_line})</summary>'
            f"<ul>{items(r.card.points, '')}</ul></details></div>")


def render_progress(s: Stats) -> str:
    retention = f"{s.retention:.0%}" if s.retention is not None else "–"
    return (f'<div class="meta" id="quiz-progress-line">Today: {s.reviewed} reviewed · {s.due} due · '
            f"{max(0, s.new_per_day - s.new_today)} of {s.new_per_day} new left ({s.new} never seen) · "
            f"{s.cards} cards · retention {retention}</div>")


def render_chart(s: Stats) -> str:
    """Due cards and retention per topic as bars (plain HTML: nothing loads from elsewhere)."""
    topics = s.by_topic[:CHART_TOPICS]
    if not topics:
        return '<div class="quiz-chart"><p>No cards yet: index some notes.</p></div>'
    most = max(max(t.due for t in topics), 1)
    rows = "".join(
        f'<div class="row" title="{html.escape(t.topic)}"><span>{html.escape(t.topic[:48])}</span>'
        f'<div class="track"><div class="bar" style="width:{100 * t.due / most:.0f}%"></div></div>'
        f'<div class="track"><div class="bar kept" style="width:{100 * (t.retention or 0):.0f}%"></div></div></div>'
        for t in topics
    )
    return (f'<div class="quiz-chart"><div class="row"><b>Topic</b><b>Due now</b><b>Retention</b></div>{rows}'
            f"</div>")


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
                card = gr.HTML(elem_id="quiz-card")
                answer = gr.Textbox(label="Your answer", lines=4, elem_id="quiz-answer")
                check = gr.Button("Check my answer", variant="primary", elem_id="quiz-check")
                result = gr.HTML(elem_id="quiz-result")
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
        if not card:
            return "<p>No card: press “Next card”.</p>", gr.update(visible=False), *[gr.update()] * len(GRADES)
        try:
            r = rag.quiz.check(card, text)
        except RagError as exc:
            return f'<p class="error">{html.escape(str(exc))}</p>', gr.update(visible=False), \
                *[gr.update()] * len(GRADES)
        variants = [gr.update(variant="primary" if g == r.grade.suggested else "secondary") for g in GRADES]
        return render_result(r), gr.update(visible=True), *variants

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

    tab.select(on_select, [topic, source], [*shown, source], show_progress="hidden", **private)
    nxt.click(show_next, [topic, source], shown, **private)
    topic.submit(show_next, [topic, source], shown, **private)
    check.click(on_check, [card_id, answer], [result, grades, *buttons], **private)
    for grade, button in zip(GRADES, buttons):
        button.click(grader(grade), [card_id, answer, key, topic, source], shown, **private)
