"""Study mode figures on the real notes: cards (by kind), self-score, cross-score, empty and off-topic scores, warm
grading latency; writes 40 random cards (seeded) with their expected answers to a file for reading.

Indexes a copy of corpus/ into a temp folder (or uses --data-dir if it already holds the index). Prints figures;
not a test.
Usage: python bench/bench_quiz.py [--data-dir DIR] [--sample bench/quiz_sample.md] [--seed 15]
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

from rag.app import Rag
from rag.quiz import Card, grade_answer
from rag.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
OFF_TOPIC = [
    "Paris is the capital of France and has many museums.",
    "I had pasta for lunch and then went for a long walk in the park.",
    "The football match ended in a draw after extra time.",
]
SAMPLE = 40


def open_rag(data_dir: Path | None) -> Rag:
    if data_dir is None:
        root = Path(tempfile.mkdtemp(prefix="bench-quiz-"))
        (root / "corpus").mkdir()
        shutil.copy(ROOT / "corpus" / "interview-notes.md", root / "corpus")
        data_dir = root / "data"
        rag = Rag(load_settings(corpus_dir=root / "corpus", data_dir=data_dir))
    else:
        corpus = data_dir.parent / "corpus"
        rag = Rag(load_settings(corpus_dir=corpus, data_dir=data_dir))
    if not rag.sources():
        started = time.perf_counter()
        rag.index()
        print(f"indexed in {time.perf_counter() - started:.0f} s")
    return rag


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--sample", type=Path, default=ROOT / "bench" / "quiz_sample.md")
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()
    rag = open_rag(args.data_dir)
    rag.warm_up()
    cards = [s.card for s in rag.quiz.cards() if s.card.source == "interview-notes.md"]
    embed = rag.answerer.vectors.embed
    print(f"cards from interview-notes.md: {len(cards)}")
    print("by kind: " + ", ".join(f"{k} {n}" for k, n in Counter(c.kind for c in cards).most_common()))

    rng = random.Random(args.seed)
    own = [grade_answer(c, c.answer, embed).score for c in cards]
    print(f"self-score (the notes' own answer): min {min(own):.3f}, >= 0.8 on {share(own, lambda s: s >= 0.8)}")
    others = [(c, rng.choice([o for o in cards if o.id != c.id])) for c in cards]
    cross = [grade_answer(c, o.answer, embed).score for c, o in others]
    print(f"cross-score (a random other card's answer): <= 0.3 on {share(cross, lambda s: s <= 0.3)}, "
          f"max {max(cross):.3f}")
    neighbours = [(c, neighbour(cards, n)) for n, c in enumerate(cards)]
    near = [grade_answer(c, o.answer, embed).score for c, o in neighbours]
    print(f"cross-score (the next card in the note, often the same topic): <= 0.3 on {share(near, lambda s: s <= 0.3)}")
    empty = [grade_answer(c, "", embed).score for c in cards]
    off = [grade_answer(c, text, embed).score for c in cards for text in OFF_TOPIC]
    print(f"empty answer: max {max(empty):.3f}; off-topic answers: max {max(off):.3f}, == 0 on "
          f"{share(off, lambda s: s == 0)}")

    timed = rng.sample(cards, min(100, len(cards)))
    paraphrase = "It reduces overfitting by adding a penalty and keeps the model simple and fast."
    for c in timed:  # warm: the points' vectors cached, as after a card's first answer
        rag.quiz.check(c.id, paraphrase)
    times = []
    for c in timed:
        started = time.perf_counter()
        rag.quiz.check(c.id, paraphrase)
        times.append((time.perf_counter() - started) * 1000)
    print(f"grading one answer, warm (Quiz.check, {len(times)} cards): median {statistics.median(times):.1f} ms, "
          f"max {max(times):.1f} ms")
    write_sample(rng.sample(cards, min(SAMPLE, len(cards))), args.sample)
    print(f"{SAMPLE} random cards with their expected answers: {args.sample}")


def neighbour(cards: list[Card], n: int) -> Card:
    return cards[n + 1] if n + 1 < len(cards) else cards[n - 1]


def share(values: list[float], ok: object) -> str:
    hits = sum(1 for v in values if ok(v))  # type: ignore[operator]
    return f"{hits}/{len(values)} ({hits / len(values):.1%})"


def write_sample(cards: list[Card], path: Path) -> None:
    parts = []
    for n, c in enumerate(cards, 1):
        points = "\n".join(f"   - [{p.start_line}-{p.end_line}] {p.text}".replace("\n", "\n     ") for p in c.points)
        parts.append(f"{n}. **{c.question}** ({c.kind}; {c.source}:{c.start_line}-{c.end_line}; {c.heading})\n"
                     f"{points}\n")
    path.write_text("# 40 random study cards (bench/bench_quiz.py)\n\n" + "\n".join(parts), encoding="utf-8")


if __name__ == "__main__":
    main()
