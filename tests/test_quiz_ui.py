"""The Quiz tab in Chromium against a real uvicorn: answer, see the missed point and its lines, grade, next card."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from rag.app import Rag
from rag.embed.base import Embedder
from rag.quiz import Card, Grade, Point, Result, Scheduled, Stats, TopicStats
from rag.serve.app import create_app
from rag.settings import load_settings
from tests.llm_standin import running
from tests.quiz.test_quiz import STUDY_NOTE
from tests.test_ui import VISIBLE_TEXT, open_page
from ui.quiz import CHART_TOPICS, render_card, render_chart, render_result

TIMEOUT = 60_000  # ms: the first card also builds the lexical index on 2 cores
FORMULA_CARDS_NOTE = r"""# Regression metrics

To assess a regression model, we use:
- **\(R^2\) (Coefficient of Determination)**:
  \[
  R^2 = 1 - \frac{\sum_{i=1}^{n} \left( y_i - \hat{y}_i \right)^2}{\sum_{i=1}^{n} \left( y_i - \bar{y} \right)^2}
  \]
- **\(\mathrm{MAE}\) (Mean Absolute Error)**:
  \[
  MAE = \frac{1}{n} \sum_{i=1}^{n} |y_i - \hat{y}_i|
  \]

# Regularization

- **\(L_2\) penalty (Ridge Regression)**:
  \[
  J(\beta) = \frac{1}{2n} \| X\beta - y \|^2 + \lambda \| \beta \|^2
  \]
- **\(L_1\) penalty (Lasso Regression)**:
  \[
  J(\beta) = \frac{1}{2n} \| X\beta - y \|^2 + \lambda \| \beta \|_1
  \]
"""


@contextmanager
def serving(root: Path, embedder: Embedder, notes: dict[str, str]) -> Iterator[tuple[Rag, str]]:
    """`notes` indexed in a corpus of their own under `root`, the app on loopback: (rag, its UI's URL)."""
    (root / "corpus").mkdir()
    settings = load_settings(corpus_dir=root / "corpus", data_dir=root / "data")
    for name, text in notes.items():
        (settings.corpus_dir / name).write_text(text, encoding="utf-8")
    rag = Rag(settings, embedder=embedder)
    rag.index()
    with running(create_app(rag), timeout=60, lifespan="on") as url:  # Gradio starts its queue at start-up
        yield rag, f"{url}/"


@pytest.fixture(scope="module")
def quiz_url(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[tuple[Rag, str]]:
    with serving(tmp_path_factory.mktemp("quiz-ui"), embedder, {"study.md": STUDY_NOTE}) as served:
        yield served


@pytest.fixture(scope="module")
def formula_url(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[tuple[Rag, str]]:
    """A note whose every card is a formula card with a formula in its question too, under two topics."""
    with serving(tmp_path_factory.mktemp("quiz-formulas"), embedder, {"metrics.md": FORMULA_CARDS_NOTE}) as served:
        yield served


def test_quiz_tab_grades_an_answer_shows_the_missed_point_and_moves_on(
        browser: Browser, quiz_url: tuple[Rag, str]) -> None:
    rag, url = quiz_url
    with open_page(browser, url, "quiz", viewport={"width": 1280, "height": 1100}) as page:
        answer_grade_and_move_on(page, rag)
    assert rag.quiz.stats().reviewed == 1


def answer_grade_and_move_on(page: Page, rag: Rag) -> None:
    page.get_by_role("tab", name="Quiz").click()
    question = page.locator("#quiz-question")
    expect(question).to_have_text("How is data abstraction accomplished?", timeout=TIMEOUT)  # the note's first card
    expect(page.locator("#quiz-progress")).to_contain_text("0 reviewed")
    expect(page.locator("#quiz-chart")).to_contain_text("Object-oriented design")

    # line 4's point only ("With abstract classes and abstract methods." is now graded as saying line 5's too)
    page.fill("#quiz-answer textarea", "Data abstraction is done with abstract methods.")
    page.click("#quiz-check")
    result = page.locator("#quiz-result")
    missed = result.locator(".missed-points li")
    expect(missed).to_have_count(1, timeout=TIMEOUT)  # the first line was made, the second was not
    expect(missed).to_contain_text("Abstract classes declare what subclasses must implement")
    expect(missed).to_contain_text("study.md:5–5")
    expect(result.locator(".made-points li")).to_contain_text("study.md:4–4")
    suggested = page.locator("#quiz-suggested").inner_text()
    assert suggested in ("again", "hard", "good", "easy")
    expect(page.locator(f"#quiz-grade-{suggested}")).to_have_class(re.compile("primary"))

    page.click("#quiz-grade-easy")  # the learner overrides the suggestion
    expect(question).not_to_have_text("How is data abstraction accomplished?", timeout=TIMEOUT)
    expect(result).to_contain_text("graded easy")
    expect(page.locator("#quiz-progress")).to_contain_text("1 reviewed")
    expect(page.locator("#quiz-answer textarea")).to_have_value("")
    assert rag.quiz.stats().reviewed == 1

    page.click("#quiz-check")  # an empty answer is refused with a message, nothing is recorded
    expect(result).to_contain_text("the answer is empty")


# --- the tab's HTML, no server ----------------------------------------------------------------------------------

R2 = "  \\[\n  R^2 = 1 - \\frac{SS_{res}}{SS_{tot}}\n  \\]"
R2_CARD = Card("c1", "m<1>.md", "Write the formula for \\(R^2\\) (a < b)", "formula", "Metrics", 4, 7,
               (Point(R2, 5, 7, "formula"), Point("- \\( y_i \\) is <the> true value,", 8, 8, "item")))


def test_formulas_in_the_card_and_its_result_become_math_spans_and_the_rest_stays_escaped() -> None:
    card = render_card(Scheduled(R2_CARD, None, 0))
    assert 'Write the formula for <span class="math inline">R^2</span> (a &lt; b)' in card
    result = render_result(Result(R2_CARD, Grade(0.5, "hard", R2_CARD.points[1:], R2_CARD.points[:1]), None, None))
    display = '<span class="math display">R^2 = 1 - \\frac{SS_{res}}{SS_{tot}}</span>'
    missed = result.split('class="missed-points"')[1].split("</ul>")[0]
    assert f'<li class="missed">{display}<span class="lines">m&lt;1&gt;.md:5–7</span>' in missed  # indent dropped
    made = result.split('class="made-points"')[1].split("</ul>")[0]
    assert '- <span class="math inline">y_i</span> is &lt;the&gt; true value,' in made
    assert result.split("<details>")[1].count('class="math ') == 2  # the notes' answer: both points
    assert "<the>" not in result and "m<1>" not in result


def test_each_bar_of_the_chart_carries_its_number() -> None:
    topics = [TopicStats("SVMs <kernels>", 9, 4, 2, 3, 0.75), TopicStats("Trees", 5, 1, 5, 0, None),
              TopicStats("Done", 2, 0, 0, 2, 1.0)]
    rows = re.findall(r"<tr data-topic.*?</tr>", render_chart(Stats(16, 5, 7, 5, 0.8, 2, 20, topics)))
    shown = [(re.sub(r"<[^>]+>", "", re.findall(r"<th[^>]*>(.*?)</th>", row)[0]),
              re.findall(r'<span class="num"[^>]*>(.*?)</span>', row),
              re.findall(r'style="width:(\d+)%"', row)) for row in rows]
    assert shown == [("SVMs &lt;kernels&gt;", ["4", "75%"], ["100", "75"]),  # due bars relative to the most due
                     ("Trees", ["1", "–"], ["25", "0"]),
                     ("Done", ["0", "100%"], ["0", "100"])]
    assert "no reviews in the last 30 days" in rows[1] and 'title="4 of 9 cards due"' in rows[0]
    assert all(row.count('aria-hidden="true"') == 2 for row in rows)  # the bars; their numbers are read out
    many = [TopicStats(f"T{i}", 1, 1, 1, 0, None) for i in range(CHART_TOPICS + 3)]
    assert render_chart(Stats(15, 15, 15, 0, None, 0, 20, many)).count("<tr data-topic") == CHART_TOPICS


# --- formulas and the chart in Chromium -------------------------------------------------------------------------

TEX = ("\\(", "\\)", "\\[", "\\]", "\\frac", "\\sum", "\\mathrm", "\\|")  # what raw TeX would show


def test_formula_cards_show_typeset_math_in_the_question_the_result_and_the_notes_answer(
        browser: Browser, formula_url: tuple[Rag, str]) -> None:
    rag, url = formula_url
    with open_page(browser, url, "quiz-formulas", viewport={"width": 1280, "height": 1100}) as page:
        page.get_by_role("tab", name="Quiz").click()
        card = page.locator("#quiz-card")
        expect(card.locator("#quiz-question .katex")).to_have_count(1, timeout=TIMEOUT)
        question = card.locator("#quiz-question").evaluate(VISIBLE_TEXT)
        assert question.startswith("Write the formula for ") and not any(t in question for t in TEX), question

        page.fill("#quiz-answer textarea", "It is one minus the ratio of the two sums of squares.")
        page.click("#quiz-check")
        result = page.locator("#quiz-result")
        expect(result.locator("#quiz-score")).to_be_visible(timeout=TIMEOUT)
        points = result.locator(".missed-points li, .made-points li")
        expect(points.first.locator(".katex-display")).to_be_visible(timeout=30_000)
        result.locator("details summary").click()
        expect(result.locator("details .katex-display")).to_be_visible()
        assert result.locator(".katex .mfrac").count() >= 2  # real fractions, in the points and the notes' answer
        shown = result.evaluate(VISIBLE_TEXT)
        assert "metrics.md:" in shown and not any(t in shown for t in TEX), shown

        first = card.locator(".quiz-card").get_attribute("data-card")
        page.click("#quiz-grade-good")  # the next card's formula is typeset too, in a re-rendered card
        expect(card.locator(".quiz-card")).not_to_have_attribute("data-card", first or "", timeout=TIMEOUT)
        expect(card.locator("#quiz-question .katex")).to_have_count(1)
        expect(result).to_contain_text("graded good")
        expect(result.locator(".katex").first).to_be_visible()  # the graded result stays, typeset
    assert rag.quiz.stats().reviewed == 1


CHART_ROWS = """chart => [...chart.querySelectorAll('tbody tr')].map(row => {
  const [due, kept] = [...row.querySelectorAll('td')].map(cell => {
    const bar = cell.querySelector('.track').getBoundingClientRect(), num = cell.querySelector('.num');
    const box = num.getBoundingClientRect();
    return {text: num.innerText, right: box.left >= bar.right, level: box.top < bar.bottom && box.bottom > bar.top,
            width: cell.querySelector('.bar').style.width};
  });
  return {topic: row.querySelector('th').innerText, due, kept};
})"""


def test_the_topic_chart_shows_each_topics_due_count_and_retention_next_to_its_bars(
        browser: Browser, formula_url: tuple[Rag, str]) -> None:
    rag, url = formula_url
    unseen = [s.card for s in rag.quiz.cards("metrics.md") if s.reviews == 0]
    days_ago = datetime.now(UTC) - timedelta(days=2)
    for card in [c for c in unseen if c.topic == "Regression metrics"]:  # forgotten two days ago: due now
        rag.quiz.answer(card.id, "I do not remember.", "again", now=days_ago)
    kept = next(c for c in unseen if c.topic == "Regularization")
    rag.quiz.answer(kept.id, kept.answer, "easy")  # remembered just now: a retention of 100%, not due
    with open_page(browser, url, "quiz-chart", viewport={"width": 1280, "height": 1100}) as page:
        page.get_by_role("tab", name="Quiz").click()
        chart = page.locator("#quiz-chart")
        expect(chart.locator("tbody tr")).to_have_count(2, timeout=TIMEOUT)
        expect(chart.get_by_role("columnheader", name="Due now")).to_be_visible()
        rows = chart.evaluate(CHART_ROWS)
    stats = rag.quiz.stats()
    expected = [(t.topic, str(t.due), "–" if t.retention is None else f"{t.retention:.0%}")
                for t in stats.by_topic[:CHART_TOPICS]]
    assert [(r["topic"], r["due"]["text"], r["kept"]["text"]) for r in rows] == expected
    assert {t.topic for t in stats.by_topic} == {"Regression metrics", "Regularization"}
    assert {t.topic: t.retention for t in stats.by_topic}["Regularization"] == 1.0
    assert max(t.due for t in stats.by_topic) >= 1  # a due bar is drawn, and its number is not 0
    assert all(cell["right"] and cell["level"] for r in rows for cell in (r["due"], r["kept"])), rows
    most = max(t.due for t in stats.by_topic) or 1
    assert [r["due"]["width"] for r in rows] == [f"{100 * t.due / most:.0f}%" for t in stats.by_topic]
