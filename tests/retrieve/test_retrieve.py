"""Fusion and de-duplication as pure functions; hybrid search on the real notes."""

from __future__ import annotations

import time

import pytest

from rag.errors import InvalidInput, NotFound, TooLarge
from rag.retrieve.hybrid import (
    GENERATION_TTL,
    Ranked,
    by_intent,
    collapse_overlaps,
    convex_fuse,
    hydrate_rows,
    overlaps,
    rank,
    rrf_fuse,
)
from rag.retrieve.intents import intents
from rag.store.chunks import StoredChunk


def row(id_: str, start: int = 1, end: int = 5, source: str = "a.md", text: str | None = None) -> StoredChunk:
    return StoredChunk(id_, source, start, end, "", text or f"text {id_}", 0, "sha", "now")


def test_rrf_rewards_agreement():
    a, b, c = row("a"), row("b"), row("c")
    fused = rrf_fuse([[a, b, c], [b, c]])
    assert [r.id for r, _ in fused] == ["b", "c", "a"]
    assert fused[0][1] == pytest.approx(1 / 62 + 1 / 61)


def test_convex_fusion_scales_each_side_by_its_best():
    a, b, c = row("a"), row("b"), row("c")
    fused = dict((r.id, s) for r, s in convex_fuse([(a, 0.8), (b, 0.4)], [(c, 10.0), (b, 5.0)], weight=0.5))
    assert fused["b"] == pytest.approx(0.5 * 0.5 + 0.5 * 0.5)
    assert fused["a"] == pytest.approx(0.5 * 1.0 + 0.5 * 0.5)  # missing on the lexical side: its floor
    assert fused["c"] == pytest.approx(0.5 * 0.5 + 0.5 * 1.0)


def test_convex_fusion_with_one_side_empty_keeps_the_other_order():
    a, b = row("a"), row("b")
    assert [r.id for r, _ in convex_fuse([(a, 0.9), (b, 0.3)], [])] == ["a", "b"]


def test_overlapping_passages_collapse_to_the_better_ranked():
    first, overlapping, elsewhere, other_note = row("1", 10, 20), row("2", 12, 22), row("3", 30, 40), row(
        "4", 10, 20, source="b.md")
    kept = collapse_overlaps([Ranked(r, {}) for r in (first, overlapping, elsewhere, other_note)])
    assert [k.row.id for k in kept] == ["1", "3", "4"]
    assert not overlaps(row("x", 1, 10), row("y", 10, 30))


def test_identical_text_collapses_even_in_another_note():
    kept = collapse_overlaps([Ranked(row("1", text="same"), {}), Ranked(row("2", 50, 60, "b.md", "same"), {})])
    assert len(kept) == 1


def test_every_candidate_keeps_its_stage_scores():
    a, b = row("a"), row("b")
    ranked = rank([(a, 0.7)], [(b, 3.0), (a, 1.0)], "hybrid")
    scores = {r.row.id: r.scores for r in ranked}
    assert set(scores["a"]) == {"dense", "lexical", "fused"} and set(scores["b"]) == {"lexical", "fused"}


def test_a_passage_labelled_with_what_the_query_asks_is_lifted_and_the_opposite_dropped():
    described = StoredChunk("d", "a.md", 1, 5, "Exploding gradients", "Gradients grow without bound.", 0, "s", "t")
    remedied = StoredChunk("r", "a.md", 6, 9, "Exploding gradients", "**Solutions**:\n- Clip them.", 0, "s", "t")
    praised = StoredChunk("p", "a.md", 10, 12, "RNN > Advantages", "Shares weights over time.", 0, "s", "t")
    fused = [(described, 1.0), (praised, 0.97), (remedied, 0.95)]
    assert [r.id for r, _ in by_intent(fused, intents("how do I fix exploding gradients"))] == ["r", "d", "p"]
    assert [r.id for r, _ in by_intent(fused, intents("what are the downsides of RNNs"))] == ["d", "r", "p"]
    assert by_intent(fused, intents("what are exploding gradients")) == fused


def test_svm_kernel_question_finds_the_svm_section(corpus_rag):
    results = corpus_rag.search("What is the kernel trick in SVM?", 5)
    top = results[0]
    assert top.source == "interview-notes.md" and "kernel" in top.text.lower()
    assert 1500 <= top.start_line <= top.end_line <= 2000
    lines = (corpus_rag.settings.corpus_dir / "interview-notes.md").read_text().split("\n")
    assert top.text == "\n".join(lines[top.start_line - 1 : top.end_line])
    assert {"dense", "lexical", "fused"} <= set(top.scores)


def test_search_validates_its_input(corpus_rag):
    with pytest.raises(InvalidInput):
        corpus_rag.search("   ", 5)
    with pytest.raises(TooLarge):
        corpus_rag.search("x" * 100_000, 5)
    for k in (0, -1, 10**9):
        with pytest.raises(InvalidInput):
            corpus_rag.search("svm", k)
    with pytest.raises(NotFound, match="unknown source"):
        corpus_rag.search("svm", 5, sources=["nope.md"])


def test_source_filter_restricts_results(corpus_rag):
    results = corpus_rag.search("svm kernels", 5, sources=["interview-notes.md"])
    assert results and all(p.source == "interview-notes.md" for p in results)


def test_ask_can_be_restricted_to_some_notes(corpus_rag):
    answer = corpus_rag.ask("how do SVMs handle multi-class problems?", 5, sources=["interview-notes.md"])
    assert answer.answered and all(c.passage.source == "interview-notes.md" for c in answer.citations)
    with pytest.raises(NotFound):
        corpus_rag.ask("svm", 5, sources=["nope.md"])


def test_hydration_uses_the_snapshot_and_fetches_only_new_ids():
    known = {"a": row("a")}
    fetched: list[list[str]] = []

    def fetch(ids):
        fetched.append(list(ids))
        return [row(i) for i in ids if i != "gone"]

    hits = hydrate_rows([("a", 0.9), ("new", 0.8), ("gone", 0.7)], known, fetch)
    assert [(r.id, s) for r, s in hits] == [("a", 0.9), ("new", 0.8)] and fetched == [["new", "gone"]]
    assert hydrate_rows([("a", 0.5)], known, fetch) and len(fetched) == 1


def test_a_search_may_skip_the_thread_pool_only_when_it_cannot_wait(make_rag, monkeypatch):
    rag = make_rag()
    (rag.settings.corpus_dir / "oaks.md").write_text("# Oaks\n\nOaks carry acorns.\n")
    seen_mid_run: list[bool] = []
    rag.index(progress=lambda done, total: seen_mid_run.append(rag.search_cannot_wait()))
    assert seen_mid_run and not any(seen_mid_run)  # an index run's writes could hold the store
    assert rag.search("acorns", 1) and rag.search_cannot_wait()  # embedded store, snapshot just checked

    later = time.monotonic() + GENERATION_TTL + 1
    monkeypatch.setattr("rag.retrieve.hybrid.time.monotonic", lambda: later)
    assert not rag.search_cannot_wait()  # the next search asks the store whether the snapshot is stale
    monkeypatch.undo()

    remote = make_rag(chroma_url="http://127.0.0.1:9")  # never contacted: the setting alone decides
    assert not remote.search_cannot_wait()
