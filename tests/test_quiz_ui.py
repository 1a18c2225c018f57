"""The Quiz tab in Chromium against a real uvicorn: answer, see the missed point and its lines, grade, next card."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from llm_standin import running
from playwright.sync_api import Browser, Page, expect
from test_quiz import STUDY_NOTE
from test_ui import open_page

from rag.api import create_app
from rag.app import Rag
from rag.embed import Embedder
from rag.settings import load_settings

TIMEOUT = 60_000  # ms: the first card also builds the lexical index on 2 cores


@pytest.fixture(scope="module")
def quiz_url(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[tuple[Rag, str]]:
    root = tmp_path_factory.mktemp("quiz-ui")
    (root / "corpus").mkdir()
    settings = load_settings(corpus_dir=root / "corpus", data_dir=root / "data")
    (settings.corpus_dir / "study.md").write_text(STUDY_NOTE, encoding="utf-8")
    rag = Rag(settings, embedder=embedder)
    rag.index()
    with running(create_app(rag), timeout=60, lifespan="on") as url:  # Gradio starts its queue at start-up
        yield rag, f"{url}/"


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

    page.fill("#quiz-answer textarea", "With abstract classes and abstract methods.")
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
