"""Chunking time by note size: markdown notes of about 1, 5 and 20 MB, made of copies of the corpus note under
different top headings, chunked with the real budget (the packaged model's limit, cleared caches).

Prints seconds and seconds per MB at each size (median of a few runs for the smallest), so a chunker that is
not linear in a note's size shows; not a test. The copies repeat, so the budget's token-count caches hit more
often than in a real note of that size: the figures are a floor, the ratios between sizes are what to read.
Usage: python bench/bench_chunk.py [--sizes 1 5 20] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.app import build  # noqa: E402
from rag.ingest import load_note  # noqa: E402
from rag.ingest.chunk import Budget, chunk_note  # noqa: E402
from rag.models import Note  # noqa: E402

NOTE = ROOT / "corpus" / "interview-notes.md"
MB = 1_000_000


def big_note(megabytes: float) -> Note:
    """The corpus note repeated to about `megabytes`, each copy under a `#` heading of its own."""
    body = NOTE.read_text()
    copies, size, n = [], 0, 0
    while size < megabytes * MB:
        n += 1
        copy = f"# Interview notes, part {n}\n\n{body}\n"
        copies.append(copy)
        size += len(copy.encode())
    note = load_note("".join(copies).encode(), "big-notes.md")
    assert isinstance(note, Note)
    return note


def chunk_seconds(note: Note, budget: Budget) -> tuple[float, int]:
    """Seconds to chunk the note from cold caches, and how many chunks it made."""
    for cached in (budget.count, budget.fits_model):
        cached.cache_clear()  # type: ignore[attr-defined]
    started = time.perf_counter()
    chunks = chunk_note(note, budget)
    return time.perf_counter() - started, len(chunks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=float, nargs="+", default=[1, 5, 20], help="note sizes in MB")
    parser.add_argument("--runs", type=int, default=3, help="runs of the smallest size (one of the others)")
    args = parser.parse_args()
    budget = build().budget
    budget.fits_model("warm up")  # load the tokenizers outside the timings
    budget.count("warm up")
    for megabytes in sorted(args.sizes):
        note = big_note(megabytes)
        size = len(note.text.encode()) / MB
        runs = args.runs if megabytes == min(args.sizes) else 1
        timings = [chunk_seconds(note, budget) for _ in range(runs)]
        seconds = statistics.median(t for t, _ in timings)
        print(f"{size:5.1f} MB  {timings[0][1]:6d} chunks  {seconds:7.2f} s  {seconds / size:5.2f} s/MB"
              + (f"  (median of {runs})" if runs > 1 else ""))


if __name__ == "__main__":
    main()
