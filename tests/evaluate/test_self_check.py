"""`rag eval --self`: pairs derived from the notes' own cards, the scoring of an answer's quoted lines, the command."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from rag.app import Rag
from rag.evaluate.self_check import PairScore, evaluate_self, figures, format_self_report, sample, score_pair
from rag.models import Answer, Citation, Passage
from rag.quiz.cards import Card, Point

TEST_CACHE = Path(__file__).resolve().parents[2] / ".rag-test"  # where conftest's embedder caches ONNX
QA_NOTE = """# Networking

**What is a subnet mask?**
A subnet mask splits an IP address into a network part and a host part.
It is written in dotted form like 255.255.255.0 for a /24 network.

**Why do switches use VLANs?**
- VLANs separate broadcast domains on one physical switch.
- VLANs group hosts by role instead of by cable.

## How does a DNS resolver find an address?
The DNS resolver asks a root server, then the TLD server, then the authoritative server for the address.
The DNS resolver caches each answer for its TTL.

## What does ARP do on a local network?
ARP maps an IP address to a MAC address on the local network by broadcasting a request.
"""


def card(points: list[tuple[int, int]], source: str = "n.md", kind: str = "question") -> Card:
    pts = tuple(Point(f"point {a}", a, b, "sentence") for a, b in points)
    return Card("id", source, "What is it?", kind, "H", min(a for a, _ in points), max(b for _, b in points), pts)


def answer(*quoted: tuple[str, tuple[tuple[int, int], ...]], answered: bool = True) -> Answer:
    citations = []
    for n, (source, spans) in enumerate(quoted, 1):
        passage = Passage(f"p{n}", source, 1, 100, "", "text")
        citations.append(Citation(n, passage, spans[0][0], spans[-1][1], spans))
    return Answer("What is it?", "What is it?", "x" * 40, answered, "extractive", citations)


def headings(source: str) -> frozenset[int]:
    return frozenset({3}) if source == "n.md" else frozenset()


# --- scoring (pure) -------------------------------------------------------------------------------------------------


def test_an_answer_quoting_exactly_the_cards_lines_and_their_heading_scores_full_marks() -> None:
    row = score_pair(card([(4, 4), (5, 6)]), answer(("n.md", ((3, 3), (4, 6)))), headings)
    assert row.hit and row.point_recall == 1.0 and row.precision == 1.0 and not row.refused  # heading 3 left aside


def test_quoting_the_neighbouring_lines_too_shows_in_precision_and_recall() -> None:
    row = score_pair(card([(4, 4), (5, 6)]), answer(("n.md", ((5, 6), (8, 9)))), headings)
    assert row.hit and row.point_recall == 0.5 and row.precision == 0.5
    # another note's lines count against precision, and never as a hit
    row = score_pair(card([(4, 4), (5, 6)]), answer(("n.md", ((4, 4),)), ("other.md", ((4, 6),))), headings)
    assert row.hit and row.point_recall == 0.5 and row.precision == 0.25
    row = score_pair(card([(4, 4), (5, 6)]), answer(("other.md", ((4, 6),))), headings)
    assert not row.hit and row.point_recall == 0.0 and row.precision == 0.0


def test_a_miss_that_quotes_the_same_words_from_other_lines_is_counted_as_said_elsewhere() -> None:
    ridge = "Ridge regression adds the squared L2 norm of the weights, scaled by lambda, to the loss."
    expected = Card("id", "n.md", "Write the formula for ridge", "formula", "H", 10, 10,
                    (Point(ridge, 10, 10, "formula"),))
    twice = Answer("q", "q", f"Penalty: {ridge} [1]", True, "extractive", answer(("n.md", ((40, 40),))).citations)
    row = score_pair(expected, twice, headings)
    assert not row.hit and row.elsewhere and row.precision == 0.0
    other = Answer("q", "q", "Lasso adds the L1 norm of the weights to the loss. [1]", True, "extractive",
                   twice.citations)
    assert not score_pair(expected, other, headings).elsewhere
    assert not score_pair(expected, replace(twice, citations=answer(("n.md", ((10, 10),))).citations),
                          headings).elsewhere  # a hit is a hit


def test_a_refusal_is_a_miss_without_precision_and_figures_count_it_so() -> None:
    refused = score_pair(card([(4, 4)]), answer(answered=False), headings)
    assert refused.refused and not refused.hit and refused.point_recall == 0.0 and refused.precision is None
    full = score_pair(card([(4, 4)]), answer(("n.md", ((4, 4),))), headings)
    f = figures([refused, full])
    assert (f.pairs, f.hit_rate, f.point_recall, f.precision, f.refused, f.elsewhere) == (2, 0.5, 0.5, 1.0, 1, 0)
    assert f.median_chars == 40  # of the answers given only


def test_the_sample_of_a_note_is_fixed_and_in_note_order() -> None:
    cards = [card([(n, n)]) for n in range(1, 41)]
    first, again = sample(cards, 5, "a.md"), sample(cards, 5, "a.md")
    assert first == again and len(first) == 5 and [c.start_line for c in first] == sorted(c.start_line for c in first)
    assert sample(cards, 5, "b.md") != first  # each note its own sample
    assert sample(cards, None, "a.md") == cards and sample(cards[:3], 5, "a.md") == cards[:3]


# --- on indexed notes -----------------------------------------------------------------------------------------------


@pytest.fixture
def qa_rag(make_rag: Callable[..., Rag]) -> Rag:
    rag = make_rag()
    (rag.settings.corpus_dir / "network.md").write_text(QA_NOTE)
    (rag.settings.corpus_dir / "shopping.md").write_text("Buy eggs, flour and milk on Saturday morning.\n")
    rag.index()
    return rag


def by_question(rows: list[PairScore]) -> dict[str, PairScore]:
    return {r.question: r for r in rows}


def test_bold_questions_and_question_headings_are_asked_back_and_scored(qa_rag: Rag) -> None:
    report = evaluate_self(qa_rag)
    rows = by_question(report.pairs)
    mask = rows["What is a subnet mask?"]
    assert mask.expected == ((4, 4), (5, 5)) and (mask.start_line, mask.end_line) == (4, 5)  # below its question
    assert rows["Why do switches use VLANs?"].expected == ((8, 8), (9, 9))
    assert rows["How does a DNS resolver find an address?"].expected == ((12, 12), (13, 13))
    assert mask.hit and not mask.refused and mask.precision is not None
    assert list(report.by_format) == [".md"] and list(report.by_note) == ["network.md"]
    assert report.notes == 2 and report.unpaired == ["shopping.md"]  # no question in it: said, not scored as zero
    assert report.overall.pairs == len(report.pairs) >= 4 and "question" in report.by_kind
    text = format_self_report(report)
    assert "hit rate" in text and "network.md" in text


def test_the_real_note_answers_most_of_its_own_questions(corpus_rag: Rag) -> None:
    # a floor a little under the figures when it was written (232 pairs: hit 0.741, recall 0.718, precision 0.538);
    # the 74 cards added with card rules 8 (definitions, topics over prose) are short, so an answer's whole section
    # is more than their lines: 306 pairs, hit 0.761, recall 0.757, precision 0.468 (0.522 on the first 232)
    f = evaluate_self(corpus_rag).overall
    assert f.pairs >= 250 and f.refused <= 5
    assert (f.hit_rate or 0) >= 0.70 and (f.point_recall or 0) >= 0.68 and (f.precision or 0) >= 0.44


def test_rag_eval_self_prints_json_with_at_most_limit_pairs_a_note(qa_rag: Rag) -> None:
    settings = qa_rag.settings
    shutil.copytree(TEST_CACHE / "onnx", settings.data_dir / "onnx", dirs_exist_ok=True)
    env = {**os.environ, "RAG_CORPUS_DIR": str(settings.corpus_dir), "RAG_DATA_DIR": str(settings.data_dir)}
    rag_bin = str(Path(sys.executable).parent / "rag")
    done = subprocess.run([rag_bin, "eval", "--self", "--limit", "3", "--json"], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["limit"] == 3 and report["overall"]["pairs"] == 3 == len(report["pairs"])
    assert report["by_note"]["network.md"]["pairs"] == 3 and {"hit_rate", "precision"} <= set(report["overall"])
    done = subprocess.run([rag_bin, "eval", "--limit", "3"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "--limit goes with --self" in done.stderr
