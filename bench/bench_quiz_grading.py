"""The grader against labelled learner answers: the confusion table of label (right / partly / wrong) by suggested
grade, for the tuned set (eval/quiz_answers.jsonl) and the held-out set (eval/quiz_answers_heldout.jsonl, never
tuned on), and the answers it gets wrong with --misses. Prints figures; not a test.
Usage: python bench/bench_quiz_grading.py [--misses]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rag.embed import build_embedder
from rag.embed.cache import VectorCache
from rag.quiz.agreement import PASSING, find_cards, grade_all, read_labelled, table_text
from rag.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
SETS = {"tuned": ROOT / "eval" / "quiz_answers.jsonl", "held-out": ROOT / "eval" / "quiz_answers_heldout.jsonl"}


def locate(source: str) -> Path:
    first = ROOT / "corpus" / source
    return first if first.exists() else ROOT / "eval" / "multi" / "corpus" / source


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--misses", action="store_true", help="list the answers graded against their label")
    args = parser.parse_args()
    vectors = VectorCache(build_embedder(load_settings()))
    for name, path in SETS.items():
        items = read_labelled(path)
        cards = find_cards(items, locate)
        lost = [i for i in items if i.card_id not in cards]
        started = time.perf_counter()
        outcomes = grade_all(items, cards, vectors.embed)
        took = (time.perf_counter() - started) / max(1, len(outcomes))
        print(f"\n## {name}: {len(outcomes)} answers to {len({i.card_id for i in items})} cards "
              f"({len(lost)} cards not found), {took * 1000:.0f} ms an answer\n")
        print(table_text(outcomes))
        if args.misses and name == "tuned":  # the held-out set is not looked into: it is not tuned on
            for o in outcomes:
                bad = (o.item.label == "right" and o.grade.suggested not in PASSING) or \
                      (o.item.label == "wrong" and o.grade.suggested != "again")
                if bad:
                    print(f"- [{o.item.label}/{o.item.kind} -> {o.grade.suggested} {o.grade.score:.2f}] "
                          f"{o.item.question} :: {o.item.answer[:120]}")


if __name__ == "__main__":
    main()
