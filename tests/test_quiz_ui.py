"""The Quiz tab in Chromium against a real uvicorn: answer, see the missed point and its lines, grade, next card."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from llm_standin import running
from playwright.sync_api import Browser, expect, sync_playwright
from test_quiz import STUDY_NOTE
from test_ui import ARTIFACTS, CHROMIUM_ARGS, assert_all_local

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


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def test_quiz_tab_grades_an_answer_shows_the_missed_point_and_moves_on(
        browser: Browser, quiz_url: tuple[Rag, str]) -> None:
    rag, url = quiz_url
    context = browser.new_context(viewport={"width": 1280, "height": 1100})
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(url, wait_until="load")
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
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ui-quiz.png"), full_page=True)
    context.close()
    assert_all_local(requested)
    assert rag.quiz.stats().reviewed == 1
