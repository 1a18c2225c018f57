"""Every kind of note end to end: a mixed corpus folder (Obsidian markdown, notebook, PDF, web page, Word) indexed
with the real model, found by questions, cited to its page or cell, filtered by tags, uploaded over real HTTP."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from docx import Document
from nbformat import v4

from rag.app import Rag
from rag.embed.base import Embedder
from rag.errors import NotFound
from rag.ingest import NOTE_SUFFIXES, load_note
from rag.ingest.registry import loader_for
from rag.models import Location, Note, answer_json, locate
from rag.serve.app import create_app
from rag.serve.models import answer_out
from tests.conftest import make_settings
from tests.ingest.test_pages import NotesPDF, notebook_bytes, notes_pdf
from tests.llm_standin import running
from ui.render import Turn, render_conversation

KEY = "formats-key-0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}

OBSIDIAN = """---
tags: [ml, statistics]
aliases: [CLT note]
---
# Central limit theorem

The [[Central limit theorem|CLT]] says the mean of many independent samples is approximately normally
distributed, whatever the population's distribution. #probability

See also [[Law of large numbers]] and ![[bell-curve.png]].
"""
PDF_PAGES = [
    [(20, "Clustering"), (11, "Clustering groups unlabelled points by similarity."),
     (11, "It is unsupervised learning.")],
    [(15, "K-means"), (11, "K-means assigns each point to the nearest centroid,"),
     (11, "then moves every centroid to the mean of its points."),
     (11, "It repeats both steps until no assignment changes.")],
]
NOTEBOOK = [
    v4.new_markdown_cell("# Random forests\n\nA random forest averages many decorrelated decision trees."),
    v4.new_code_cell("from sklearn.ensemble import RandomForestClassifier\n"
                     "forest = RandomForestClassifier(n_estimators=200, max_features='sqrt')\n"
                     "forest.fit(X_train, y_train)\nprint(forest.score(X_test, y_test))", execution_count=12,
                     outputs=[v4.new_output("stream", name="stdout", text="0.9473\n")]),
]
WEB_PAGE = b"""<!doctype html><html><head><title>Attention</title><script>track()</script></head><body>
<nav><a href="/">Home</a> | <a href="/blog">Blog</a></nav>
<main><h1>Self-attention</h1>
<p>Self-attention lets every token of a sequence attend to every other token, weighting each by relevance.</p>
<h2>Cost</h2><ul><li>Time grows quadratically with the sequence length.</li><li>Memory grows likewise.</li></ul>
</main><footer>Copyright 2026</footer></body></html>"""


def word_document() -> bytes:
    document = Document()
    document.add_heading("Gradient boosting", level=1)
    document.add_paragraph("Gradient boosting fits each new tree to the residual errors of the ensemble so far.")
    document.add_paragraph("Shrink each tree's contribution with a learning rate", style="List Bullet")
    table = document.add_table(rows=2, cols=2)
    for cell, text in zip(table.rows[0].cells + table.rows[1].cells, ["Library", "Speed", "XGBoost", "fast"]):
        cell.text = text
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


MIXED = {
    "vault/clt.md": OBSIDIAN.encode(),
    "clustering.pdf": notes_pdf(PDF_PAGES, NotesPDF),
    "forest.ipynb": notebook_bytes(NOTEBOOK),
    "attention.html": WEB_PAGE,
    "boosting.docx": word_document(),
    "broken.ipynb": b'{"cells": [',
    "slides.odt": b"PK\x03\x04",
}


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Rag:
    settings = make_settings(tmp_path_factory.mktemp("formats"), api_key=KEY)
    for name, data in MIXED.items():
        (settings.corpus_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (settings.corpus_dir / name).write_bytes(data)
    rag = Rag(settings, embedder=embedder)
    rag.index()
    return rag


def test_every_registered_suffix_has_a_loader() -> None:
    kinds = {suffix: loader_for(f"x{suffix.upper()}") for suffix in NOTE_SUFFIXES}
    assert all(callable(loader) for _, loader in kinds.values())
    assert {kind for kind, _ in kinds.values()} == {"text", "notebook", "pdf", "html", "docx"}


def test_each_kind_is_indexed_and_the_unreadable_ones_say_why(mixed: Rag) -> None:
    report = mixed.index()  # the second run: content hashes decide, for every kind
    status = {f.source: (f.status, f.reason) for f in report.files}
    assert {s for s, (st, _) in status.items() if st == "unchanged"} == {
        "vault/clt.md", "clustering.pdf", "forest.ipynb", "attention.html", "boosting.docx"}
    assert status["broken.ipynb"][0] == "skipped" and "JSON" in status["broken.ipynb"][1]
    assert status["slides.odt"][0] == "skipped" and ".pdf" in status["slides.odt"][1]
    kinds = {s.source: s.kind for s in mixed.sources()}
    assert kinds == {"vault/clt.md": "text", "clustering.pdf": "pdf", "forest.ipynb": "notebook",
                     "attention.html": "html", "boosting.docx": "docx"}


@pytest.mark.parametrize(("question", "source", "words"), [
    ("how does k-means move its centroids?", "clustering.pdf", "mean of its points"),
    ("how do I train a random forest classifier in sklearn?", "forest.ipynb", "RandomForestClassifier"),
    ("what does self-attention do with the tokens?", "attention.html", "every other token"),
    ("what does gradient boosting fit each new tree to?", "boosting.docx", "residual errors"),
    ("what does the central limit theorem say about the mean?", "vault/clt.md", "approximately normally"),
])
def test_a_question_finds_the_note_of_each_kind(mixed: Rag, question: str, source: str, words: str) -> None:
    top = mixed.search(question, k=3)[0]
    assert top.source == source and words in top.text
    answer = mixed.ask(question)
    assert answer.answered and answer.citations[0].passage.source == source and words in answer.text
    assert answer_json(answer) == answer_out(answer).model_dump(mode="json")  # the web UI's `/answer`: the API's


def test_a_pdf_citation_names_its_page_and_the_lines_on_it(mixed: Rag) -> None:
    answer = mixed.ask("how does k-means move its centroids?")
    cited = answer.citations[0]
    note = load_note(MIXED["clustering.pdf"], "clustering.pdf")
    assert isinstance(note, Note)
    text = note.text.split("\n")
    (span,) = [(a, b) for a, b in cited.quoted if any("mean of its points" in line for line in text[a - 1 : b])]
    where = locate(cited.passage.segments, *span)
    # the page's own lines: "K-means" is line 1 of page 2, the centroid sentences lines 2-4
    assert where is not None and where.page == 2 and where.page_end is None
    assert 1 <= where.line_start <= 3 <= where.line_end <= 4  # "…the mean of its points." is line 3
    assert cited.location is not None and cited.location.page_end in (None, 2)
    assert cited.place() == f"clustering.pdf:{cited.cited_start}-{cited.cited_end} ({cited.location.label()})"
    html = render_conversation([Turn(answer.question, answer)])
    assert cited.location.label() in html


def test_a_notebook_citation_names_its_cell_as_jupyter_numbers_it(mixed: Rag) -> None:
    answer = mixed.ask("how do I train a random forest classifier in sklearn?")
    note = load_note(MIXED["forest.ipynb"], "forest.ipynb")
    assert isinstance(note, Note)
    text = note.text.split("\n")
    spans = [(c, a, b) for c in answer.citations for a, b in c.quoted
             if any("RandomForestClassifier(" in line for line in text[a - 1 : b])]
    cited, start, end = spans[0]
    where = locate(cited.passage.segments, start, end)
    assert where is not None and where.cell == 2 and where.execution_count == 12 and not where.output
    assert 1 <= where.line_start <= 2 <= where.line_end <= 4 and where.label().startswith("cell [12], lines ")
    assert cited.location is not None and cited.place().endswith(f"({cited.location.label()})")
    output = text.index("0.9473") + 1
    assert locate(note.segments, output, output) == Location(1, 1, cell=2, execution_count=12, output=True)


def test_tags_from_front_matter_and_the_text_filter_search(mixed: Rag) -> None:
    (clt,) = [s for s in mixed.sources() if s.source == "vault/clt.md"]
    assert set(clt.tags) == {"ml", "statistics", "probability"} and clt.aliases == ("CLT note",)
    results = mixed.search("mean of samples", k=5, tags=["#probability"])
    assert results and {p.source for p in results} == {"vault/clt.md"}
    assert "[[" not in results[0].text and "CLT says" in results[0].text  # wikilinks read as their text
    with pytest.raises(NotFound, match="tagged nope"):
        mixed.search("mean", tags=["nope"])


@pytest.fixture(scope="module")
def server(mixed: Rag) -> Iterator[httpx.Client]:
    with running(create_app(mixed, with_ui=False)) as url, httpx.Client(base_url=url, timeout=120) as client:
        yield client


def test_the_api_returns_locations_and_tags(server: httpx.Client) -> None:
    body = server.post("/v1/search", json={"query": "k-means nearest centroid", "k": 1}).json()
    (top,) = body["results"]
    assert top["source"] == "clustering.pdf"  # the short note is one chunk, from page 1 onto page 2
    assert top["location"] == {"page": 1, "line_start": 1, "page_end": 2, "line_end": 4}
    asked = server.post("/v1/ask", json={"question": "how does k-means move its centroids?"}).json()
    assert asked["citations"][0]["cited_location"] == {"page": 1, "line_start": 1, "page_end": 2, "line_end": 4}
    tagged = server.post("/v1/search", json={"query": "mean", "tags": ["statistics"]}).json()["results"]
    assert {r["source"] for r in tagged} == {"vault/clt.md"} and tagged[0]["location"] is None
    listed = {s["source"]: s for s in server.get("/v1/sources").json()["sources"]}
    assert listed["forest.ipynb"]["kind"] == "notebook" and "probability" in listed["vault/clt.md"]["tags"]


def test_uploads_take_every_kind_and_refuse_unreadable_files(server: httpx.Client, mixed: Rag) -> None:
    extra = notebook_bytes([v4.new_markdown_cell("# Naive Bayes\n\nNaive Bayes assumes features are "
                                                 "conditionally independent given the class.")])
    added = server.post("/v1/sources", files={"file": ("bayes.ipynb", extra)}, headers=AUTH)
    assert added.status_code == 201 and added.json()["added"] == 1
    assert mixed.search("naive bayes independence assumption", k=1)[0].source == "bayes.ipynb"
    corrupt = server.post("/v1/sources", files={"file": ("scan.pdf", b"%PDF-1.4 truncated")}, headers=AUTH)
    assert corrupt.status_code == 422 and "PDF" in corrupt.json()["detail"]
    bomb = server.post("/v1/sources", files={"file": ("fake.docx", b"not a zip at all")}, headers=AUTH)
    assert bomb.status_code == 422 and "Word" in bomb.json()["detail"]
    assert not (Path(mixed.settings.corpus_dir) / "scan.pdf").exists()  # nothing written for a refused file
    assert server.delete("/v1/sources/bayes.ipynb", headers=AUTH).status_code == 200

