"""PDF text on real notes of eval/multi/corpus (rag/ingest/pdf.py, pdf_headings.py): every line's page and line,
the headings' paths, no heading made of a formula's glyphs, running footers gone, printed lines kept whole."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

from rag.ingest.base import Extracted
from rag.ingest.chunk import Budget, chunk_note
from rag.ingest.pdf import load_pdf
from rag.models import Note, Segment, locate
from tests.conftest import MULTI

CORPUS = MULTI
TIPS = CORPUS / "stanford-cs230" / "cheatsheet-deep-learning-tips-tricks.pdf"
STATES = CORPUS / "stanford-cs221" / "cheatsheet-states-models.pdf"
PRODUCTIVITY = CORPUS / "mit-15-003" / "study-guide-engineering-productivity-tips.pdf"
READABLE = sorted(path for path in CORPUS.rglob("*.pdf") if path.name != "Wrap-Up-doc-example.pdf")  # a scan


@cache
def extracted(path: Path) -> Extracted:
    return load_pdf(path.read_bytes(), path.name)


def lines_of(path: Path) -> list[str]:
    return extracted(path).text.split("\n")


def line_at(segments: tuple[Segment, ...], page: int, line: int) -> int | None:
    """The note's text line that is line `line` of page `page`: locate() the other way round."""
    for s in segments:
        if s.page == page and s.first_line <= line <= s.first_line + s.end_line - s.start_line:
            return s.start_line + line - s.first_line
    return None


@pytest.mark.parametrize("path", READABLE, ids=lambda p: p.stem)
def test_every_line_has_a_page_line_of_its_own_and_back(path: Path) -> None:
    found = extracted(path)
    seen: dict[tuple[int, int], int] = {}
    for number, text in enumerate(found.text.split("\n"), start=1):
        place = locate(found.segments, number, number)
        if not text.strip():
            assert place is None, number  # a blank line is no page line
            continue
        assert place is not None and place.page is not None, (number, text)
        key = (place.page, place.line_start)
        assert key not in seen, (number, seen.get(key), key)
        seen[key] = number
        assert line_at(found.segments, *key) == number
    for page in {p for p, _ in seen}:  # each page's lines are numbered 1, 2, 3 … (one emptied by a joined word aside)
        numbers = sorted(n for p, n in seen if p == page)
        assert numbers[0] == 1 and numbers[-1] - len(numbers) <= 2, (page, numbers[-1], len(numbers))


def test_a_citation_over_a_paragraph_gap_counts_the_page_lines_only() -> None:
    lines = lines_of(TIPS)
    start = lines.index("- Step 1: Take a batch of training data and perform forward propagation to compute the")
    end = lines.index("- Step 3: Use the gradients to update the weights of the network.") + 1
    assert "" in lines[start - 1 : end]  # the steps are paragraphs apart
    place = locate(extracted(TIPS).segments, start + 1, end)
    assert place is not None and (place.page, place.line_start, place.line_end) == (1, 46, 49)
    assert end - start - lines[start:end].count("") == place.line_end - place.line_start + 1


@pytest.mark.parametrize(("path", "text", "page", "line"), [
    (TIPS, "## Regularization", 2, 32),
    (TIPS, "Remark: other methods include Adadelta, Adagrad and SGD.", 2, 31),
    (STATES, "## Game playing", 5, 73),
    (PRODUCTIVITY, "| Push latest local changes to remote branch | git push name_of_branch |  |", 1, 30),
])
def test_chosen_lines_are_on_their_page_and_line(path: Path, text: str, page: int, line: int) -> None:
    number = lines_of(path).index(text) + 1
    place = locate(extracted(path).segments, number, number)
    assert place is not None and (place.page, place.line_start) == (page, line)


def chunk_heading(path: Path, text: str) -> str:
    """The heading path of the chunk that holds the line `text`, as the chunker cuts the note."""
    found = extracted(path)
    note = Note(path.name, found.text, "", found.segments, kind="pdf")
    budget = Budget(200, 0, lambda t: len(t.split()), lambda t: True)
    number = found.text.split("\n").index(text) + 1
    return next(c.heading for c in chunk_note(note, budget) if c.start_line <= number <= c.end_line)


@pytest.mark.parametrize(("path", "text", "heading"), [
    (PRODUCTIVITY, "| Push latest local changes to remote branch | git push name_of_branch |  |",
     "Study Guide: Engineering Productivity Tips > Working in groups with Git"),
    (PRODUCTIVITY, "| Search previous commands | Ctrl + r |",
     "Study Guide: Engineering Productivity Tips > Working with Bash"),
    (PRODUCTIVITY, "| Searching | Search for expression containing name_of_pattern | /name_of_pattern |",
     "Study Guide: Engineering Productivity Tips > Mastering editors"),
    (TIPS, "Remark: other methods include Adadelta, Adagrad and SGD.",
     "VIP Cheatsheet: Tips and Tricks > Parameter tuning"),
])
def test_section_titles_head_their_lines(path: Path, text: str, heading: str) -> None:
    assert chunk_heading(path, text) == heading


@pytest.mark.parametrize("path", READABLE, ids=lambda p: p.stem)
def test_headings_are_titles_not_glyphs_dates_or_names(path: Path) -> None:
    headings = [line.lstrip("#").strip() for line in lines_of(path) if line.startswith("#")]
    for heading in headings:
        assert re.search(r"[^\W\d_]{3}", heading), heading  # a word, not "Xm", "h", "φ"
        assert not re.search(r"\b(?:19|20)\d\d$", heading), heading  # no date: "November 26, 2018"
        assert " and " not in heading or "Amidi" not in heading, heading  # no byline


@pytest.mark.parametrize("path", READABLE, ids=lambda p: p.stem)
def test_running_footers_with_their_page_number_are_gone(path: Path) -> None:
    text = extracted(path).text
    assert not re.search(r"Stanford University|Massachusetts Institute of Technology|https://stanford\.edu/~", text)


def test_a_line_broken_at_a_sub_or_superscript_is_one_printed_line() -> None:
    lines = lines_of(TIPS)
    assert "L(z,y) = − h y log(z) + (1 − y) log(1 − z) i" in lines  # not four lines: "L(z,y) = −", "h", …, "i"
    assert "B the mean and variance of that we want to correct to the batch, it is done as" not in lines
    assert any(line.startswith("By noting µB, σ2 B the mean and variance") for line in lines)
