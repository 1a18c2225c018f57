"""The web UI: HTML rendering and note handling, then Chromium and gradio_client against a live server."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, Dialog, Page, expect

from rag.app import Rag
from rag.embed.base import Embedder
from rag.errors import AuthError, InvalidInput, NotFound, TooLarge
from rag.models import Answer, Citation, IndexReport, IndexStatus, Passage
from rag.settings import load_settings
from tests.ingest.test_pages import NotesPDF, notes_pdf
from tests.llm_standin import running
from ui import build_ui, mount_ui
from ui.blocks import STATUS_SECONDS
from ui.chat import pieces, respond
from ui.notes import check_key, safe_name
from ui.render import Turn, render_conversation, render_sources, render_status

ROOT = Path(__file__).resolve().parent.parent
REAL_NOTE = ROOT / "corpus" / "interview-notes.md"
ARTIFACTS = ROOT / "test-artifacts"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
EVIL = '<script>window.__pwned = 1</script>\n<img src=x onerror="window.__pwned=2">'
QUOKKA_NOTE = f"""# Quokka facts

The quokka is a small marsupial that lives on Rottnest Island near Perth.
{EVIL}
Quokkas are nocturnal herbivores that eat grasses and leaves.
"""
SOURDOUGH_NOTE = """# Sourdough starter

A sourdough starter is fed equal weights of rye flour and water every twelve hours.
A healthy starter doubles in size within six hours of a feeding.
"""
FORMULA_NOTE = r"""# Counting handshakes

Choosing two of n people can be done in \(\binom{n}{2} = \frac{n(n-1)}{2}\) ways, so that many handshakes happen.
The handshake total grows like the sum $$\sum_{i=1}^{n-1} i = \frac{n(n-1)}{2}$$ over everyone in the room.
Written as a display formula, the handshakes among n people are
\[
H(n) = \frac{n(n-1)}{2}
\]
"""
SVM_QUESTION = "how do SVMs handle multi-class classification?"
ANSWER_TIMEOUT = 120_000  # ms: the first question also warms the lexical index on 2 cores


# --- rendering and file handling, no server ---------------------------------------------------------


def cited_answer(text: str, note_text: str, answered: bool = True) -> Answer:
    """An answer citing lines 11-12 of a passage spanning lines 10-13."""
    passage = Passage("n.md#0001", "n.md", 10, 13, "Top > Sub", note_text)
    return Answer("q?", "q?", text, answered, "extractive", [Citation(1, passage, 11, 12)])


def test_card_escapes_note_html_and_marks_cited_lines() -> None:
    answer = cited_answer("It runs [1]. Not a marker [7].", f"intro\n{EVIL}\nend")
    html = render_conversation([Turn("q?", answer)])
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in html
    assert '<a class="cite" href="#t0-c1">[1]</a>' in html and "[7]" in html
    assert 'id="t0-c1"' in html and "lines 11–12" in html and "Top &gt; Sub" in html
    cited = re.findall(r'<span class="ln cited"><span class="no">(\d+)</span>', html)
    assert cited[:2] == ["11", "12"]
    assert "<details><summary>Full passage (lines 10–13)</summary>" in html


def test_card_marks_only_the_quoted_lines_when_the_answer_skips_some() -> None:
    passage = Passage("n.md#0001", "n.md", 10, 15, "", "a\nb\nc\nd\ne\nf")
    citation = Citation(1, passage, 11, 14, ((11, 11), (13, 14)))
    html = render_conversation([Turn("q?", Answer("q?", "q?", "b [1]. d e [1].", True, "extractive", [citation]))])
    cited = re.findall(r'<span class="ln cited"><span class="no">(\d+)</span>', html)
    assert cited == ["11", "13", "14"] * 2  # the excerpt and the full passage
    assert "lines 11–14" in html


def excerpt_numbers(html: str) -> list[str]:
    """The line numbers (and "…" folds) a card's excerpt shows, in order."""
    excerpt = html.split('<div class="excerpt">')[1].split("</div>")[0]
    return [number or "…" for number in re.findall(r'<span class="no">(\d+)</span>|class="ln more"', excerpt)]


def test_the_excerpt_shows_every_cited_line_however_long() -> None:
    note = "\n".join(f"line {n}" for n in range(1, 23))  # a 22-line block quoted whole, as a code block is
    whole = Citation(1, Passage("n.md#0001", "n.md", 1, 22, "Top", note), 1, 22)
    html = render_conversation([Turn("q?", Answer("q?", "q?", "code [1]", True, "extractive", [whole]))])
    assert excerpt_numbers(html) == [str(n) for n in range(1, 23)]  # not cut after 12 lines
    far = Citation(1, Passage("n.md#0001", "n.md", 1, 22, "Top", note), 3, 19, ((3, 4), (9, 9), (18, 19)))
    html = render_conversation([Turn("q?", Answer("q?", "q?", "a [1]. b [1].", True, "extractive", [far]))])
    shown = [str(n) for n in range(2, 11)] + ["…"] + [str(n) for n in range(17, 21)]
    assert excerpt_numbers(html) == shown  # two uncited lines are shown, six are folded


def test_formulas_become_math_spans_and_keep_their_backslashes() -> None:
    text = "Train \\(k(k-1)/2\\) models [1]. `$$x$$` stays code.\n\n$$\\sum_i \\frac{a}{b}$$"
    note = "intro\n\\[\nJ = \\frac{1}{2m}\n\\]\nend"  # lines 10-14; lines 11-12 are cited
    passage = Passage("n.md#0001", "n.md", 10, 14, "Top", note)
    answer = Answer("q?", "q?", text, True, "extractive", [Citation(1, passage, 11, 12)])
    html = render_conversation([Turn("q?", answer)])
    assert '<span class="math inline">k(k-1)/2</span>' in html
    assert '<span class="math display">\\sum_i \\frac{a}{b}</span>' in html and "<code>$$x$$</code>" in html
    assert '<span class="ln cited formula"><span class="no" data-to="13">11</span>' \
           '<span class="math display">J = \\frac{1}{2m}</span></span>' in html
    full = html.split('class="excerpt full"')[1]
    assert re.findall(r'class="ln cited[^"]*"><span class="no"[^>]*>(\d+)<', full) == ["11", "12"]


def test_answer_markdown_is_escaped_and_code_markers_stay_text() -> None:
    html = render_conversation([Turn("q?", cited_answer("`arr[1]` and <b onclick=x>bold</b> [1]", "a\nb\nc\nd"))])
    assert "<b onclick" not in html and "&lt;b onclick=x&gt;" in html
    assert "<code>arr[1]</code>" in html and html.count('class="cite"') == 1


def test_each_line_of_an_answer_shows_on_its_own_line() -> None:
    html = render_conversation([Turn("q?", cited_answer("`find . -ctime -2` [1]\nOr created: [1]\n`find -Btime -2` [1]",
                                                        "a\nb\nc\nd"))])
    assert "<code>find . -ctime -2</code>" in html and html.count("<br") >= 2


def test_not_covered_answer_looks_different() -> None:
    html = render_conversation([Turn("q?", cited_answer("The notes don't cover this.", "a", answered=False))])
    assert "not-found" in html and "Not in your notes" in html


def test_streamed_pieces_grow_to_the_full_text() -> None:
    text = "one two three four five six seven eight nine ten eleven twelve thirteen [1]"
    shown = list(pieces(text, steps=4))
    assert shown[-1] == text and len(shown) >= 4
    assert all(a != b and b.startswith(a) for a, b in zip(shown, shown[1:], strict=False))


def test_sources_table_escapes_names() -> None:
    from rag.models import SourceInfo

    html = render_sources([SourceInfo("<img src=x>.md", 3, "abc", "2026-01-02T03:04:05+00:00")])
    assert "<img" not in html and "2026-01-02 03:04 UTC" in html


def test_status_line_says_what_the_last_run_did_and_what_is_watched() -> None:
    today = datetime(2026, 1, 2, 20, 0, tzinfo=UTC)
    report = IndexReport(1, 0, 2, 3, 40, 0.5, 7, [])
    done = IndexStatus(False, finished_at="2026-01-02T12:03:04+00:00", last=report)
    assert render_status(done, "corpus/", today) == (
        '<div class="index-status">Last index run 12:03:04 UTC: 1 added, 0 updated, 2 removed '
        "(watching corpus/)</div>"
    )
    assert "2026-01-01 23:59:59 UTC" in render_status(IndexStatus(False, finished_at="2026-01-01T23:59:59+00:00",
                                                                  last=report), None, today)
    failed = render_status(IndexStatus(False, finished_at="2026-01-02T12:03:04+00:00", last=report,
                                       error="the corpus folder <x> has no notes"), None, today)
    assert 'class="index-status failed"' in failed and "failed: the corpus folder &lt;x&gt; has no notes" in failed
    assert "(watching" not in failed
    assert "in progress: 12 of 40 texts embedded" in render_status(IndexStatus(True, done=12, total=40, stage="chunks"),
                                                                   "corpus/", today)
    units = render_status(IndexStatus(True, done=300, total=900, stage="units"), None, today)
    assert "the notes are searchable; preparing answers, 300 of 900 texts embedded" in units
    assert "No index run recorded yet" in render_status(IndexStatus(False), None, today)


class FakeRag:
    """Stands in for Rag in handler tests: records each `ask` call and answers from a script."""

    def __init__(self, *replies: Answer | Exception) -> None:
        self.replies, self.calls = list(replies), []
        self.settings = load_settings(api_key="s3cret")

    def ask(
        self,
        question: str,
        k: int = 5,
        history: Sequence[tuple[str, str]] = (),
        mode: str | None = None,
        sources: Sequence[str] = (),
    ) -> Answer:
        self.calls.append({"question": question, "k": k, "history": list(history), "sources": list(sources)})
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply


def test_respond_streams_the_answer_then_keeps_the_turn() -> None:
    fake = FakeRag(cited_answer("first answer " * 20 + "[1]", "a\nb\nc\nd"), cited_answer("second [1]", "a"))
    outputs = list(respond(fake, "  first?  ", [], 3.0, ["n.md"], "extractive"))  # type: ignore[arg-type]
    assert outputs[0][2] == "" and "Searching your notes" in outputs[0][0]  # the question box is cleared at once
    assert any("turn streaming" in html for html, *_ in outputs[1:-1])
    html, turns, *_ = outputs[-1]
    assert "turn streaming" not in html and 'class="card"' in html and [t.question for t in turns] == ["first?"]
    assert fake.calls[0] == {"question": "first?", "k": 3, "history": [], "sources": ["n.md"]}
    list(respond(fake, "and then?", turns, 5, [], "extractive"))  # type: ignore[arg-type]
    assert fake.calls[1]["history"] == [("user", "first?"), ("assistant", "first answer " * 20 + "[1]")]


def test_respond_shows_a_rag_error_as_a_warning_and_keeps_the_question() -> None:
    fake = FakeRag(TooLarge("the query is too long: shorten it"))
    with pytest.warns(UserWarning, match="shorten it"):
        *_, (html, turns, box, _) = respond(fake, "why?", [], 5, [], None)  # type: ignore[arg-type]
    assert turns == [] and box == "why?" and "Ask a question about your notes" in html


def test_note_changes_need_the_api_key_when_one_is_set() -> None:
    settings = load_settings(api_key="s3cret")
    check_key(settings, "s3cret")
    for wrong in (None, "", "nope"):
        with pytest.raises(AuthError):
            check_key(settings, wrong)
    check_key(load_settings(api_key=None), None)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("notes.md", "notes.md"),
        ("../../etc/evil.md", "evil.md"),
        ("my notes (v2).TXT", "my-notes-v2.txt"),
        ("<script>.md", "script.md"),
        ("-.md", "note.md"),
        ("Lecture 3.PDF", "Lecture-3.pdf"),
        ("lab (final).ipynb", "lab-final.ipynb"),
        ("essay.docx", "essay.docx"),
        ("saved page.htm", "saved-page.htm"),
    ],
)
def test_safe_name(name: str, expected: str) -> None:
    assert safe_name(name) == expected


def test_safe_name_refuses_other_files() -> None:
    with pytest.raises(InvalidInput):
        safe_name("photo.png")


def test_remove_note_stays_inside_the_corpus(make_rag) -> None:
    rag = make_rag()
    outside = rag.settings.corpus_dir.parent / "outside.md"
    outside.write_text("keep me")
    with pytest.raises(InvalidInput):
        rag.remove_note("../outside.md")
    with pytest.raises(NotFound):
        rag.remove_note("never-there.md")
    assert outside.exists()


# --- a live server ------------------------------------------------------------------------------------


def make_app(rag: Rag) -> FastAPI:
    """The real app when rag.serve.app exists (it mounts the UI at "/"), else the UI on a bare FastAPI app."""
    if importlib.util.find_spec("rag.serve.app") is not None:
        from rag.serve.app import create_app

        return create_app(rag)
    return mount_ui(FastAPI(), rag)


@pytest.fixture(scope="module")
def ui_rag(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Rag:
    """The real notes in a temp corpus this module may add notes to."""
    root = tmp_path_factory.mktemp("ui")
    (root / "corpus").mkdir()
    settings = load_settings(corpus_dir=root / "corpus", data_dir=root / "data")
    shutil.copy(REAL_NOTE, settings.corpus_dir / REAL_NOTE.name)
    rag = Rag(settings, embedder=embedder)
    rag.index()
    return rag


@pytest.fixture(scope="module")
def base_url(ui_rag: Rag) -> Iterator[str]:
    """uvicorn serving the app on a free loopback port, in a thread."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(make_app(ui_rag), log_level="warning", timeout_graceful_shutdown=2))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture
def requested() -> list[str]:
    """Every URL the test's page requests, in order."""
    return []


@contextmanager
def open_page(browser: Browser, url: str, name: str, **options: Any) -> Iterator[Page]:
    """A fresh page on `url` (context `options` such as viewport); afterwards a screenshot is saved and every
    request must have stayed local."""
    context = browser.new_context(**{"viewport": {"width": 1280, "height": 1000}, **options})
    tab = context.new_page()
    requested: list[str] = []
    tab.on("request", lambda r: requested.append(r.url))
    tab.goto(url, wait_until="load")
    tab.wait_for_selector("#question textarea")
    yield tab
    ARTIFACTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"ui-{name}.png"), full_page=True)
    context.close()
    assert_all_local(requested)


@pytest.fixture
def page(browser: Browser, base_url: str, requested: list[str], request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh page on `/`; afterwards a screenshot is saved and every request must have stayed local."""
    with open_page(browser, base_url, request.node.name) as tab:
        tab.on("request", lambda r: requested.append(r.url))
        yield tab


def assert_all_local(urls: list[str]) -> None:
    """Every request went to the test server: no font, CDN or analytics host."""
    hosts = {urlsplit(u).hostname for u in urls if urlsplit(u).scheme in ("http", "https", "ws", "wss")}
    assert urls and hosts <= LOCAL_HOSTS, sorted(hosts - LOCAL_HOSTS)


def ask(page: Page, question: str) -> None:
    """Type a question, send it and wait until its answer has finished streaming."""
    turns = page.locator("#conversation .turn").count()
    page.fill("#question textarea", question)
    page.press("#question textarea", "Enter")
    answered(page, turns + 1)


def answered(page: Page, turns: int, timeout: float = ANSWER_TIMEOUT) -> None:
    """Wait until the conversation has `turns` turns and none is still streaming."""
    page.wait_for_function(
        "n => document.querySelectorAll('#conversation .turn').length === n"
        " && !document.querySelector('#conversation .turn.streaming')",
        arg=turns,
        timeout=timeout,
    )


def upload(page: Page, tmp_path: Path, name: str, text: str | bytes) -> None:
    """Upload one note through the Notes tab and wait for its index report."""
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    page.get_by_role("tab", name="Notes").click()
    page.set_input_files("#upload input[type=file]", str(path))
    # the file's row names it in aria-label: its text is split into stem and suffix spans, which a text
    # match does not always see as one name
    expect(page.locator("#upload").get_by_label(name, exact=True)).to_be_visible(timeout=ANSWER_TIMEOUT)
    page.click("#add-notes")
    saved = safe_name(name)
    expect(page.locator("#index-report tr", has_text=saved)).to_contain_text("added", timeout=ANSWER_TIMEOUT)
    expect(page.locator("#notes-table")).to_contain_text(saved)
    page.get_by_role("tab", name="Chat").click()


def test_page_loads_with_examples_and_the_notes_list(page: Page, requested: list[str]) -> None:
    expect(page.locator(".examples button")).to_have_count(4)
    page.get_by_role("tab", name="Notes").click()
    expect(page.locator("#notes-table")).to_contain_text("interview-notes.md")
    assert_all_local(requested)


def test_ask_shows_a_cited_answer_with_source_cards(page: Page, requested: list[str]) -> None:
    ask(page, "how do SVMs handle multi-class classification?")
    turn = page.locator("#conversation .turn").last
    expect(turn.locator("a.cite").first).to_have_text("[1]")
    card = turn.locator("#t0-c1")
    expect(card.locator(".src")).to_have_text("interview-notes.md")
    expect(card.locator(".lines")).to_have_text(re.compile(r"^lines? \d+(–\d+)?$"))
    first = int(card.locator(".ln.cited .no").first.inner_text())
    shown = card.locator(".ln.cited").first.inner_text()[len(str(first)) :]
    assert shown.strip() == REAL_NOTE.read_text(encoding="utf-8").split("\n")[first - 1].strip()
    turn.locator("a.cite").first.click()
    assert page.evaluate("location.hash") == "#t0-c1"
    expect(turn.locator(".query-used")).to_contain_text("searched for")
    assert_all_local(requested)


def test_follow_up_uses_the_conversation_and_new_chat_clears_it(page: Page) -> None:
    ask(page, "What is the difference between compile-time and runtime polymorphism?")
    ask(page, "and what about in C++?")
    expect(page.locator("#conversation .turn")).to_have_count(2)
    used = page.locator("#conversation .turn").last.locator(".query-used")
    expect(used).to_contain_text("polymorphism")
    page.click("#new-chat")
    expect(page.locator("#conversation .turn")).to_have_count(0)
    expect(page.locator(".examples button").first).to_be_visible()


def test_a_question_sent_as_the_last_answer_arrives_is_kept(page: Page) -> None:
    box = page.locator("#question textarea")
    box.fill(SVM_QUESTION)
    box.press("Enter")
    page.wait_for_selector("#conversation .turn.streaming .bubble.answer:not(.pending)", timeout=ANSWER_TIMEOUT)
    box.fill("What problems do RNNs have that LSTMs fix?")  # typed and sent while the answer streams in
    box.press("Enter")
    answered(page, 2, 30_000)  # the model is warm by now: a dropped question is not waited for long
    box.fill("How is data abstraction accomplished?")  # sent the moment the answer is in, Enter pressed twice
    box.press("Enter")
    box.press("Enter")
    answered(page, 3, 30_000)
    page.wait_for_timeout(1000)  # the second Enter's turn: on the emptied box, it does nothing
    expect(page.locator("#conversation .turn")).to_have_count(3)
    expect(page.locator(".toast-body")).to_have_count(0)  # nor says anything
    asked = page.locator("#conversation .bubble.question").all_inner_texts()
    assert asked[1:] == ["What problems do RNNs have that LSTMs fix?", "How is data abstraction accomplished?"]
    expect(box).to_have_value("")
    expect(page.locator("#conversation .turn").last.locator(".card").first).to_be_visible()


# The part of an element's box on screen: inside the window and every scrolling box around it.
SHOWN_BOX = """el => { const r = el.getBoundingClientRect(); let top = 0, bottom = window.innerHeight;
  for (let box = el.parentElement; box; box = box.parentElement) {
    if (getComputedStyle(box).overflowY === 'visible') continue;
    const b = box.getBoundingClientRect(); top = Math.max(top, b.top); bottom = Math.min(bottom, b.bottom); }
  return {top: r.top, bottom: r.bottom, shownTop: top, shownBottom: bottom}; }"""


def test_a_new_answer_scrolls_into_view(page: Page) -> None:
    ask(page, "What is the difference between compile-time and runtime polymorphism?")  # a tall answer first
    ask(page, "What problems do RNNs have that LSTMs fix?")
    body = page.locator("#conversation .turn").last.locator(".bubble.answer")
    box = body.evaluate(SHOWN_BOX)
    assert box["shownTop"] <= box["top"] and box["bottom"] <= box["shownBottom"], box  # all of it, not its title


def test_a_question_the_notes_do_not_cover_is_marked(page: Page) -> None:
    ask(page, "What is the boiling point of tungsten?")
    expect(page.locator("#conversation .not-found")).to_contain_text("Not in your notes")


def test_uploaded_note_is_indexed_and_cited(page: Page, requested: list[str], tmp_path: Path) -> None:
    upload(page, tmp_path, "sourdough starter.md", SOURDOUGH_NOTE)
    expect(page.locator("#notes-table")).to_contain_text("sourdough-starter.md")
    ask(page, "How often is a sourdough starter fed?")
    card = page.locator("#conversation .card").first
    expect(card.locator(".src")).to_have_text("sourdough-starter.md")
    assert_all_local(requested)


def test_a_pdf_uploaded_in_the_browser_is_cited_by_its_page(page: Page, tmp_path: Path) -> None:
    pdf = notes_pdf([[(20, "Wombats"), (11, "Wombats dig long burrows with their strong claws.")],
                     [(15, "Wombat diet"), (11, "Wombats graze on native grasses and roots at night.")]], NotesPDF)
    upload(page, tmp_path, "wombats.pdf", pdf)
    ask(page, "What do wombats eat at night?")
    card = page.locator("#conversation .card", has_text="wombats.pdf").first
    expect(card.locator(".lines")).to_contain_text("page ")  # "page 1 line 1 – page 2 line 2" or "page 2, …"
    expect(card.locator(".excerpt.full")).to_contain_text("native grasses")


def test_html_in_a_note_is_shown_as_text_and_never_runs(page: Page, requested: list[str], tmp_path: Path) -> None:
    upload(page, tmp_path, "quokka.md", QUOKKA_NOTE)
    ask(page, "Where do quokkas live and what do they eat?")
    card = page.locator("#conversation .card", has_text="quokka.md").first
    card.locator("summary").click()
    expect(card.locator(".excerpt.full")).to_contain_text("<script>window.__pwned = 1</script>")
    expect(card.locator(".excerpt.full")).to_contain_text('<img src=x onerror="window.__pwned=2">')
    assert page.locator("#conversation script, #conversation img").count() == 0
    assert page.evaluate("window.__pwned") is None
    assert_all_local(requested)


# What makes a button look like the theme's: its variant's classes and the computed look (not its width).
BUTTON_LOOK = """el => [el.className.replace(/svelte-\\S+/g, '').trim().split(/\\s+/).sort().join(' '),
  ...['backgroundColor', 'color', 'borderRadius', 'borderTopWidth', 'borderTopColor', 'fontFamily', 'fontSize',
      'fontWeight', 'paddingTop', 'paddingLeft', 'boxShadow'].map(p => getComputedStyle(el)[p])]"""


def assert_styled_alike(page: Page, pairs: dict[str, str]) -> None:
    """Each button looks as the page's own button it is paired with."""
    page.mouse.move(0, 0)  # a hovered button has another background,
    page.wait_for_timeout(500)  # reached by a transition
    for button, like in pairs.items():
        assert page.locator(button).evaluate(BUTTON_LOOK) == page.locator(like).evaluate(BUTTON_LOOK), button


def test_delete_and_reindex_report_per_file(page: Page, ui_rag: Rag, tmp_path: Path) -> None:
    (ui_rag.settings.corpus_dir / "doomed.md").write_text("# Doomed\n\nThis note will be deleted.\n")
    (ui_rag.settings.corpus_dir / "binary.md").write_bytes(b"\x00\xff\xfe not text")
    page.get_by_role("tab", name="Notes").click()
    page.click("#reindex")
    report = page.locator("#index-report")
    expect(report.locator("tr", has_text="doomed.md")).to_contain_text("added", timeout=ANSWER_TIMEOUT)
    expect(report.locator("tr", has_text="binary.md")).to_contain_text("skipped")
    expect(report.locator("tr", has_text="interview-notes.md")).to_contain_text("unchanged")
    page.click("#delete-choice input")
    page.get_by_role("option", name="doomed.md").click()
    dialogs: list[Dialog] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog))  # the question is asked in the page, not by the browser
    panel = page.locator("#delete-confirm")
    expect(panel).to_be_hidden()
    page.click("#delete-note")
    expect(panel).to_contain_text("Delete the note “doomed.md”?")
    assert_styled_alike(page, {"#delete-yes": "#delete-note", "#delete-cancel": "#reindex"})
    page.click("#delete-cancel")
    expect(panel).to_be_hidden()
    expect(page.locator("#index-progress")).to_be_hidden()  # a cancelled delete changes nothing
    expect(page.locator("#notes-table")).to_contain_text("doomed.md")
    expect(report.locator("tr", has_text="doomed.md")).to_contain_text("added")
    assert (ui_rag.settings.corpus_dir / "doomed.md").exists()
    page.click("#delete-note")
    page.click("#delete-yes")
    expect(report.locator("tr", has_text="doomed.md")).to_contain_text("removed", timeout=ANSWER_TIMEOUT)
    expect(panel).to_be_hidden()
    assert not dialogs
    expect(page.locator("#notes-table")).not_to_contain_text("doomed.md")
    assert not (ui_rag.settings.corpus_dir / "doomed.md").exists()
    trashed = [t.source for t in ui_rag.trash.list()]
    assert trashed[-1] == "doomed.md"  # in the data folder's trash, not gone

    undo = page.locator("#undo-delete")
    expect(undo).to_have_text("Undo: restore doomed.md")
    assert_styled_alike(page, {"#undo-delete": "#reindex"})
    undo.click()
    expect(report.locator("tr", has_text="doomed.md")).to_contain_text("added", timeout=ANSWER_TIMEOUT)
    expect(page.locator("#notes-table")).to_contain_text("doomed.md")
    expect(undo).to_be_hidden()
    assert (ui_rag.settings.corpus_dir / "doomed.md").read_text() == "# Doomed\n\nThis note will be deleted.\n"
    ui_rag.remove_note("doomed.md")  # as it was before this test, for the tests after it
    (ui_rag.settings.corpus_dir / "binary.md").unlink()


VISIBLE_TEXT = """el => { const copy = el.cloneNode(true);
  copy.querySelectorAll('.katex-mathml').forEach(m => m.remove());  // MathML keeps the TeX for screen readers
  return copy.textContent; }"""


TINTED_LINES = """el => [...el.querySelectorAll('.ln')]
  .filter(line => getComputedStyle(line).backgroundColor !== 'rgba(0, 0, 0, 0)')
  .map(line => +line.querySelector('.no').textContent)"""


def test_formulas_render_as_math_in_answers_and_cards(page: Page, tmp_path: Path) -> None:
    upload(page, tmp_path, "handshakes.md", FORMULA_NOTE)
    ask(page, "How many handshakes happen when n people meet?")
    turn = page.locator("#conversation .turn").last
    answer, card = turn.locator(".bubble.answer"), turn.locator(".card", has_text="handshakes.md").first
    expect(answer.locator(".katex").first).to_be_visible(timeout=30_000)
    expect(card.locator(".excerpt:not(.full) .ln.cited .katex").first).to_be_visible()
    expect(card.locator(".excerpt.full .ln.formula .katex-display")).to_have_count(1)  # the three-line \\[ \\]
    for part in (answer, card.locator(".excerpt").first, card.locator(".excerpt.full")):
        shown = part.evaluate(VISIBLE_TEXT)
        assert "\\frac" not in shown and "\\sum" not in shown and "\\(" not in shown, shown
    assert page.locator("#conversation .katex .mfrac").count() > 0  # a real fraction, not "frac" text


def test_citation_links_jump_to_their_card_with_a_query_string(browser: Browser, base_url: str) -> None:
    with open_page(browser, base_url + "?__theme=dark", "cite-dark") as tab:
        ask(tab, SVM_QUESTION)
        turn = tab.locator("#conversation .turn").last
        link, card = turn.locator("a.cite").first, turn.locator("#t0-c1")
        link.click()
        expect(card).to_be_focused()
        expect(card).to_be_in_viewport()
        assert "__theme=dark" in tab.url and tab.url.endswith("#t0-c1")
        tab.locator("#question textarea").focus()
        link.focus()
        tab.keyboard.press("Enter")
        expect(card).to_be_focused()
        expect(tab.locator("#conversation .turn")).to_have_count(1)  # no reload: the conversation is kept
        assert tab.evaluate("document.querySelector('.dark') !== null")  # still the dark page


def test_highlighted_lines_are_exactly_the_cited_ones(page: Page, ui_rag: Rag) -> None:
    ask(page, SVM_QUESTION)
    answer = ui_rag.ask(SVM_QUESTION)
    cards = page.locator("#conversation .turn").last.locator(".card")
    expect(cards).to_have_count(len(answer.citations))
    for citation, card in zip(answer.citations, cards.all(), strict=True):
        for excerpt in (card.locator(".excerpt").first, card.locator(".excerpt.full")):
            numbers = [int(n) for n in excerpt.locator(".ln.cited .no").all_text_contents()]
            wanted = [n for start, end in citation.quoted for n in range(start, end + 1)]
            assert numbers == wanted  # all of them, however far apart
            assert excerpt.evaluate(TINTED_LINES) == numbers


def test_a_card_shows_the_cited_lines_under_their_own_heading(page: Page, ui_rag: Rag) -> None:
    ask(page, "How do I do KNN imputation in Python?")  # a 22-line code block: the KNN lines are its last
    excerpt = page.locator("#conversation .turn").last.locator(".card").first.locator(".excerpt").first
    expect(excerpt.locator(".ln.cited", has_text="knn_imputer = KNNImputer(n_neighbors=5)")).to_be_visible()
    question = "What are the limitations of IoU loss?"  # its chunk starts under "Benefits of IoU Loss"
    ask(page, question)
    cited = ui_rag.ask(question).citations[0]
    card = page.locator("#conversation .turn").last.locator(".card").first
    expect(card.locator(".heading")).to_have_text(cited.passage.heading)
    assert cited.passage.heading.endswith("Limitations of IoU Loss")
    first = card.locator(".excerpt").first.locator(".ln.cited .no").first.inner_text()
    assert first == str(cited.cited_start) and cited.cited_start > cited.passage.start_line


def test_copy_button_copies_the_answer_with_its_citations(browser: Browser, base_url: str) -> None:
    permissions = ["clipboard-read", "clipboard-write"]
    with open_page(browser, base_url, "copy", permissions=permissions) as tab:
        ask(tab, SVM_QUESTION)
        turn = tab.locator("#conversation .turn").last
        turn.locator("button.copy").click()
        expect(turn.locator("button.copy")).to_have_text("Copied")
        copied = tab.evaluate("navigator.clipboard.readText()")
    assert "\\(k(k-1)/2\\)" in copied and "[1]" in copied  # the Markdown as written, formulas and markers
    assert re.search(r"^\[1\] interview-notes\.md, lines? \d+", copied, re.M)


def test_wide_answer_tables_scroll_inside_the_answer_on_a_phone(browser: Browser, base_url: str) -> None:
    with open_page(browser, base_url, "phone", viewport={"width": 390, "height": 844}, is_mobile=True) as tab:
        ask(tab, "What is the difference between compile-time and runtime polymorphism?")
        scroller = tab.locator("#conversation .bubble.answer .table-scroll").first
        expect(scroller.locator("table")).to_be_visible()
        assert scroller.evaluate("el => getComputedStyle(el).overflowX") == "auto"
        assert scroller.evaluate("el => el.scrollWidth > el.clientWidth")  # the table is wider: it scrolls
        assert tab.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_reindex_progress_bar_and_report_do_not_overlap(page: Page) -> None:
    page.get_by_role("tab", name="Notes").click()
    page.click("#reindex")  # a first run, so there is a report on the page before the next one
    report = page.locator("#index-report .report")
    expect(report).to_be_visible(timeout=ANSWER_TIMEOUT)
    page.get_by_label("Rebuild from scratch").check()  # a rebuild embeds every chunk: long enough to watch
    page.click("#reindex")
    bar = page.locator("#index-progress .progress-level")
    expect(bar).to_be_visible(timeout=30_000)
    slot = page.locator("#index-progress").bounding_box()
    shown = report.bounding_box() if report.is_visible() else None
    for part in ("progress-text", "progress-level"):
        box = page.locator(f"#index-progress .{part}").bounding_box()
        assert slot and box and shown, (slot, box, shown)
        assert box["y"] >= slot["y"] and box["y"] + box["height"] <= slot["y"] + slot["height"], part  # not clipped
        assert box["y"] + box["height"] <= shown["y"] or shown["y"] + shown["height"] <= box["y"], part
    expect(page.locator("#index-report tr", has_text="interview-notes.md")).to_contain_text(
        "added", timeout=ANSWER_TIMEOUT)
    expect(bar).to_be_hidden()
    page.get_by_label("Rebuild from scratch").uncheck()


def test_screenshot_of_a_cited_answer(page: Page) -> None:
    """The README's picture: saved to test-artifacts/chat.png, and to docs/chat.png with RAG_UPDATE_DOCS=1."""
    ask(page, SVM_QUESTION)
    expect(page.locator("#conversation .katex").first).to_be_visible()
    page.locator("#conversation .turn").last.locator("a.cite").first.click()
    page.locator("#question textarea").focus()  # the picture shows the card, not its focus ring
    page.evaluate("window.scrollTo(0, 0)")
    ARTIFACTS.mkdir(exist_ok=True)
    shot = page.screenshot(path=str(ARTIFACTS / "chat.png"), full_page=True)
    if os.environ.get("RAG_UPDATE_DOCS") == "1":
        (ROOT / "docs" / "chat.png").write_bytes(shot)


def test_gradio_client_calls_the_chat_function(base_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # else the client reaches for the Hub when it starts
    from gradio_client import Client

    client = Client(base_url, verbose=False)
    try:
        endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
        assert [r["label"] for r in endpoints["/ask"]["returns"]] == ["conversation", "question"]  # named outputs
        question = "how do SVMs handle multi-class classification?"
        html, *_ = client.predict(question, 5, [], "extractive", api_name="/ask")
        only, *_ = client.predict(question, 5, ["interview-notes.md"], "extractive", api_name="/ask")
        unknown, kept = client.predict(question, 5, ["nope.md"], "extractive", api_name="/ask")
    finally:
        client.close()
    assert 'class="cite"' in html and "interview-notes.md" in html and re.search(r"lines? \d+", html)
    turns = only.count('class="turn"')  # the client's session: this answer and the one before it
    assert turns == 2 and 'class="cite"' in only  # a client's own `sources` are taken, not refused by the page
    assert unknown.count('class="turn"') == turns and kept == question  # an unknown note: no answer, question kept


def test_gradio_client_gets_the_answer_as_data_with_the_notes_filter(
    base_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    client = Client(base_url, verbose=False)
    try:
        endpoint = client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/answer"]
        assert [p["parameter_name"] for p in endpoint["parameters"]] == ["question", "history", "sources", "k"]
        only = ["interview-notes.md"]
        first = client.predict("what is an SVM?", sources=only, api_name="/answer")
        follow_up = client.predict(
            "and its disadvantages?",
            [{"role": "user", "content": "what is an SVM?"}, {"role": "assistant", "content": first["answer"]}],
            only,
            3,
            api_name="/answer",
        )
        with pytest.raises(AppError, match="no-such-note.md"):
            client.predict("what is an SVM?", sources=["no-such-note.md"], api_name="/answer")
        with pytest.raises(AppError, match="invalid request: k"):
            client.predict("what is an SVM?", k=0, api_name="/answer")
    finally:
        client.close()
    for answer in (first, follow_up):
        assert answer["answered"] is True and answer["mode"] == "extractive" and "[1]" in answer["answer"]
        cited = answer["citations"][0]
        assert cited["n"] == 1 and cited["source"] == "interview-notes.md"
        assert 1 <= cited["start_line"] <= cited["cited_start_line"] <= cited["cited_end_line"] <= cited["end_line"]
    assert "svm" in follow_up["search_query"].lower() and "disadvantage" in follow_up["answer"].lower()


def test_build_ui_does_no_work_until_a_page_loads(make_rag) -> None:  # type: ignore[no-untyped-def]
    rag = make_rag()
    build_ui(rag)
    assert "store" not in rag.__dict__ and "retriever" not in rag.__dict__


def test_mounted_ui_polls_its_idle_queue_gently(make_rag) -> None:  # type: ignore[no-untyped-def]
    import ui

    app = mount_ui(FastAPI(), make_rag())
    blocks = next(route.app.get_blocks() for route in app.routes if hasattr(getattr(route, "app", None), "get_blocks"))
    assert blocks._queue.sleep_when_free == ui.QUEUE_POLL_SECONDS
    assert blocks._queue.progress_update_sleep_when_free == ui.PROGRESS_POLL_SECONDS


@pytest.mark.parametrize(("path", "rendered"), [("docs", ".swagger-ui .opblock-summary-path"),
                                                ("redoc", "[data-section-id^='operation/']")])
def test_api_docs_render_offline_from_this_server(browser: Browser, base_url: str, path: str, rendered: str) -> None:
    context = browser.new_context()
    context.route(re.compile(r"^(?!http://127\.0\.0\.1:).*"), lambda route: route.abort())  # no other host
    tab = context.new_page()
    requested: list[str] = []
    tab.on("request", lambda r: requested.append(r.url))
    blocked: list[str] = []  # refused by the page's Content-Security-Policy before anything left the browser
    tab.on("requestfailed", lambda r: blocked.append(r.url) if r.failure == "csp" else None)
    tab.goto(base_url + path, wait_until="load")
    expect(tab.locator(rendered).first).to_be_visible(timeout=30_000)  # the scripts ran: operations are listed
    assert "/v1/search" in tab.content()
    ARTIFACTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"api-{path}.png"))
    context.close()
    assert_all_local([url for url in requested if url not in blocked])  # ReDoc's logo from cdn.redoc.ly: blocked
    assert all(url.startswith("https://cdn.redoc.ly/") for url in blocked), blocked


# --- a live server watching its folder ---------------------------------------------------------------


@pytest.fixture(scope="module")
def watched_url(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[tuple[Rag, str]]:
    """A second server, with RAG_WATCH on, over a one-note corpus folder."""
    root = tmp_path_factory.mktemp("ui-watch")
    (root / "corpus").mkdir()
    settings = load_settings(corpus_dir=root / "corpus", data_dir=root / "data", watch=True)
    (settings.corpus_dir / "sourdough.md").write_text(SOURDOUGH_NOTE, encoding="utf-8")
    rag = Rag(settings, embedder=embedder)
    with running(make_app(rag), timeout=60, lifespan="on") as url:
        yield rag, f"{url}/"


def test_notes_tab_follows_the_watched_folder(browser: Browser, watched_url: tuple[Rag, str]) -> None:
    rag, url = watched_url
    with open_page(browser, url, "watching") as page:
        follow_the_folder(page, rag)


def follow_the_folder(page: Page, rag: Rag) -> None:
    page.get_by_role("tab", name="Notes").click()
    status, table = page.locator("#index-status"), page.locator("#notes-table")
    watching = re.escape(f"(watching {rag.settings.corpus_dir.as_posix()}/)")
    expect(status).to_have_text(  # the run that caught up with the folder when the server started
        re.compile(rf"Last index run \d\d:\d\d:\d\d UTC: 1 added, 0 updated, 0 removed {watching}"),
        timeout=ANSWER_TIMEOUT,
    )
    expect(table).to_contain_text("sourdough.md")

    (rag.settings.corpus_dir / "quokka.md").write_text(QUOKKA_NOTE, encoding="utf-8")
    expect(table).to_contain_text("quokka.md", timeout=ANSWER_TIMEOUT)
    (rag.settings.corpus_dir / "sourdough.md").unlink()
    expect(status).to_contain_text("0 added, 0 updated, 1 removed", timeout=ANSWER_TIMEOUT)
    expect(table).not_to_contain_text("sourdough.md")
    page.click("#delete-choice input")
    expect(page.get_by_role("option")).to_have_text([re.compile(r"^\W*quokka\.md$")])


OTTER_NOTE = "# Otters\n\nSea otters hold hands while they sleep so that they do not drift apart.\n"


def test_the_status_line_keeps_an_uploads_run_over_the_watchers_look_after_it(
    browser: Browser, watched_url: tuple[Rag, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rag, url = watched_url
    looked: list[IndexReport] = []  # the watcher's runs
    index = rag.index

    def counted(*args: Any, **kwargs: Any) -> IndexReport:
        report = index(*args, **kwargs)
        looked.append(report)
        return report

    monkeypatch.setattr(rag, "index", counted)
    with open_page(browser, url, "watching-upload") as page:
        upload(page, tmp_path, "otters.md", OTTER_NOTE)
        deadline = time.monotonic() + 30
        while not any(r.unchanged and not r.added for r in looked):  # it saw the upload, indexed already
            assert time.monotonic() < deadline, "the watcher did not look at the uploaded note"
            page.wait_for_timeout(100)
        page.get_by_role("tab", name="Notes").click()
        page.wait_for_timeout(STATUS_SECONDS * 1000 + 500)  # a status tick after the watcher's run
        expect(page.locator("#index-status")).to_contain_text("Last index run")
        expect(page.locator("#index-status")).to_contain_text(": 1 added, 0 updated, 0 removed")


def test_a_server_started_after_an_index_run_reports_it(
    browser: Browser, tmp_path: Path, embedder: Embedder
) -> None:
    settings = load_settings(corpus_dir=tmp_path / "corpus", data_dir=tmp_path / "data")
    settings.corpus_dir.mkdir()
    (settings.corpus_dir / "otters.md").write_text(OTTER_NOTE, encoding="utf-8")
    Rag(settings, embedder=embedder).index()  # `make run`: `rag index`, then `rag serve` in a new process
    with running(make_app(Rag(settings, embedder=embedder)), timeout=60) as url, \
            open_page(browser, f"{url}/", "started-after-index") as page:
        page.get_by_role("tab", name="Notes").click()
        expect(page.locator("#index-status")).to_contain_text(
            re.compile(r"Last index run \d\d:\d\d:\d\d UTC: 1 added, 0 updated, 0 removed"))
