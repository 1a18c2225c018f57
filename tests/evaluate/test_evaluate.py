"""`rag eval` metrics on a tiny corpus and question file whose right numbers are known by hand."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rag.errors import InvalidInput
from rag.evaluate.retrieval import evaluate_file, is_relevant, load_questions, rank_metrics
from rag.models import Passage

NOTE = """# Cats

Cats purr when they are content and sometimes when stressed.

# Volcanoes

Volcanoes erupt when magma pressure exceeds the strength of the crust.

# Bread

Bread rises because yeast produces carbon dioxide during fermentation.
"""


def test_rank_metrics_by_hand():
    m = rank_metrics([False, True, False], n_gold=1)
    assert m["recall@1"] == 0 and m["recall@5"] == 1 and m["mrr@10"] == 0.5
    assert m["ndcg@10"] == pytest.approx(1 / 1.5849625, rel=1e-6)
    assert rank_metrics([False] * 10, 1) == {"recall@1": 0, "recall@5": 0, "recall@10": 0, "mrr@10": 0, "ndcg@10": 0}


def test_relevance_by_evidence_or_by_line_coverage():
    row = {"question": "q", "kind": "factual", "gold_lines": [[10, 13]], "evidence": ["Yeast  PRODUCES"]}
    q = load_questions_from([row])[0]
    assert is_relevant(Passage("1", "n.md", 1, 2, "", "the yeast produces gas", 0), q, "n.md")
    assert is_relevant(Passage("2", "n.md", 12, 20, "", "unrelated", 0), q, "n.md")  # 2 of 4 lines
    assert not is_relevant(Passage("3", "n.md", 13, 20, "", "unrelated", 0), q, "n.md")  # 1 of 4
    assert not is_relevant(Passage("4", "other.md", 10, 13, "", "unrelated", 0), q, "n.md")


def test_a_question_naming_its_note_is_relevant_only_from_that_note():
    row = {"question": "q", "kind": "code", "source": "tldr/tar.md", "gold_lines": [[5, 6]], "evidence": ["tar xf"]}
    q = load_questions_from([row])[0]
    assert q.source == "tldr/tar.md" and q.format == "md"
    assert q.style({"tldr": "small one-topic notes"}) == "small one-topic notes"
    assert is_relevant(Passage("1", "tldr/tar.md", 20, 22, "", "run tar xf file", 0), q, "interview-notes.md")
    assert not is_relevant(Passage("2", "cheats/tar.txt", 5, 6, "", "run tar xf file", 0), q, "tldr/tar.md")


def test_multi_note_sets_are_reported_per_format_and_style(make_rag, tmp_path):
    from rag.evaluate.answers import evaluate_answers, format_answer_report

    rag = make_rag()
    (rag.settings.corpus_dir / "pets").mkdir()
    (rag.settings.corpus_dir / "pets" / "cats.md").write_text(NOTE)
    (rag.settings.corpus_dir / "volcano.txt").write_text("Volcanoes erupt when magma pressure is high.\n")
    rag.index()
    rows = [
        {"id": "a", "question": "why do cats purr?", "kind": "factual", "source": "pets/cats.md",
         "gold_lines": [[3, 3]], "evidence": [], "facets": [["purr when they are content"]]},
        {"id": "b", "question": "why do volcanoes erupt?", "kind": "factual", "source": "volcano.txt",
         "gold_lines": [[1, 1]], "evidence": [], "facets": [["magma pressure"]]},
        {"id": "c", "question": "what is the capital of Peru?", "kind": "unanswerable", "source": None,
         "facets": []},
    ]
    path = tmp_path / "questions.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    (tmp_path / "styles.json").write_text(json.dumps({"_": "comment", "pets": "one-topic notes"}))
    groups = evaluate_file(rag, path, 10)["variants"]["hybrid"]["groups"]
    assert groups["format"]["md"]["n"] == 1 and groups["format"]["txt"]["n"] == 1
    assert groups["format"]["md"]["recall@5"] == 1.0  # found in its own note, though --source names another
    assert set(groups["style"]) == {"one-topic notes", "other"}
    report = evaluate_answers(rag, path, k=3)
    assert report["groups"]["style"]["one-topic notes"]["complete"] == 1
    assert report["groups"]["format"]["-"]["unanswerable"] == 1
    assert "style one-topic notes" in format_answer_report(report)


def load_questions_from(rows: list[dict], tmp: Path | None = None) -> list:
    import tempfile

    path = Path(tempfile.mkdtemp()) / "q.jsonl" if tmp is None else tmp
    path.write_text("\n".join(json.dumps(r) for r in rows))
    return load_questions(path)


def test_a_bad_question_line_names_the_line(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text('{"question": "ok"}\n{not json}\n')
    with pytest.raises(InvalidInput, match="q.jsonl:2"):
        load_questions(path)


def test_a_file_without_gold_fields_is_refused_instead_of_scoring_zeros(tmp_path):
    path = tmp_path / "mine.jsonl"
    rows = [{"id": "u", "question": "capital of Peru?", "kind": "unanswerable"}, {"id": "q7", "question": "why?"},
            {"id": "q8", "question": "how?"}]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    with pytest.raises(InvalidInput, match=r"question q7 \(and 1 more\) is answerable but has no `gold_lines`"):
        evaluate_file(None, path)  # type: ignore[arg-type]  # refused before the container is touched


def test_rag_eval_names_the_missing_gold_fields_and_exits_1(tmp_path):
    path = tmp_path / "mine.jsonl"
    path.write_text('{"id": "q1", "question": "what is an SVM?"}\n')
    env = {**os.environ, "RAG_CORPUS_DIR": str(tmp_path / "corpus"), "RAG_DATA_DIR": str(tmp_path / "data")}
    (tmp_path / "corpus").mkdir()
    done = subprocess.run([str(Path(sys.executable).parent / "rag"), "eval", str(path)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "question q1 is answerable but has no `gold_lines`" in done.stderr
    assert "Traceback" not in done.stderr


def test_eval_on_a_tiny_corpus(make_rag, tmp_path):
    rag = make_rag()
    (rag.settings.corpus_dir / "tiny.md").write_text(NOTE)
    rag.index()
    questions = [
        {"id": "a", "question": "why do cats purr?", "kind": "factual", "gold_lines": [[3, 3]], "evidence": []},
        {"id": "b", "question": "why does bread rise?", "kind": "factual", "gold_lines": [[11, 11]],
         "evidence": ["yeast produces carbon dioxide"]},
        {"id": "c", "question": "what is the capital of Peru?", "kind": "unanswerable", "gold_lines": [],
         "evidence": []},
    ]
    path = tmp_path / "q.jsonl"
    path.write_text("\n".join(json.dumps(q) for q in questions))
    report = evaluate_file(rag, path, 10, "tiny.md")
    for name in ("dense", "lexical", "hybrid"):
        v = report["variants"][name]
        assert v["answerable"] == 2 and v["unanswerable"] == 1
        assert v["recall@1"] == 1.0 and v["mrr@10"] == 1.0 and v["recall@10"] == 1.0
    assert report["variants"]["hybrid"]["abstained_unanswerable"] == 1
    assert report["variants"]["hybrid"]["wrongly_abstained"] == 0


def test_facets_are_matched_as_eval_readme_says() -> None:
    from rag.evaluate.answers import facets_covered

    answer = "**Use** `Adam` or RMSProp   for noisy data [1]"
    assert facets_covered([["adam or rmsprop"], ["SGD", "momentum"], ["NOISY DATA"]], answer) == 2


def test_answers_are_scored_per_kind_with_refusals_both_ways(make_rag, tmp_path):
    from rag.evaluate.answers import evaluate_answers, format_answer_report

    rag = make_rag()
    (rag.settings.corpus_dir / "tiny.md").write_text(NOTE)
    rag.index()
    rows = [
        {"id": "a", "question": "why do cats purr?", "kind": "factual", "facets": [["purr when they are content"]]},
        {"id": "b", "question": "and why does bread rise?", "kind": "factual",
         "facets": [["yeast produces carbon dioxide"], ["it is baked at night"]],
         "history": [{"role": "user", "content": "tell me about bread"}, {"role": "assistant", "content": "..."}]},
        {"id": "c", "question": "what is the capital of Peru?", "kind": "unanswerable", "facets": []},
    ]
    path = tmp_path / "answers.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    report = evaluate_answers(rag, path, k=3)
    overall = report["all"]
    assert overall["facet_recall"] == pytest.approx((1 + 0.5) / 2) and overall["complete"] == 1
    assert overall["unanswerable_refused"] == 1 and overall["answerable_refused"] == 0
    assert report["incomplete"] == ["b"] and "factual" in report["kinds"]
    assert "facet recall" in format_answer_report(report)


def test_an_answer_file_without_facets_is_refused_with_what_to_add(tmp_path):
    from rag.evaluate.answers import load_answer_questions

    path = tmp_path / "q.jsonl"
    path.write_text('{"id": "x", "question": "why?", "kind": "factual"}\n')
    with pytest.raises(InvalidInput, match="needs `facets`"):
        load_answer_questions(path)
