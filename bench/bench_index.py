"""Index and search figures on the real notes: full, unchanged and one-edit re-index, cold start, warm search.

Prints medians measured in one run; not a test. Usage:
    python bench/bench_index.py [--backend onnx|torch] [--corpus eval/multi/corpus] [--question "…"]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rag.app import Rag
from rag.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
QUERIES = [
    "what is the kernel trick in SVM?", "difference between L1 and L2 regularization",
    "how does dropout prevent overfitting", "what is encapsulation", "explain precision and recall",
    "vanishing gradient problem", "what is a virtual function in C++", "how does batch normalization work",
    "what is the curse of dimensionality", "how to handle missing values",
]


def ms(seconds: list[float], q: float) -> float:
    ordered = sorted(seconds)
    return 1000 * ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", default="onnx", choices=["onnx", "torch"])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus", help="notes to index (a copy is indexed)")
    parser.add_argument("--question", default="what is the kernel trick in SVM?", help="asked after indexing")
    parser.add_argument("--onnx", type=Path, help="a folder of ONNX exports (RAG_DATA_DIR/onnx) to copy in first, so "
                        "the peak RSS is the index run's and not the one-off export's (torch)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-index-"))
    corpus = work / "corpus"
    shutil.copytree(args.corpus, corpus)
    env = {**os.environ, "RAG_CORPUS_DIR": str(corpus), "RAG_DATA_DIR": str(work / "data"),
           "RAG_EMBED_BACKEND": args.backend}
    os.environ.update(env)
    if args.onnx:
        shutil.copytree(args.onnx, work / "data" / "onnx")
    rag = Rag(load_settings())
    rag.warm_up()  # model load (and the one-off ONNX export) is not indexing time

    started = time.perf_counter()
    full = rag.index()
    full_s = time.perf_counter() - started
    asks = []
    for _ in range(5):  # the first answer after indexing reads the stored units; the next ones are warm
        t0 = time.perf_counter()
        rag.ask(args.question, 5)
        asks.append(time.perf_counter() - t0)
    unchanged = rag.index()
    note = max(corpus.rglob("*.md"), key=lambda p: p.stat().st_size)  # edit the largest markdown note
    text = note.read_text()
    paragraph = next(line for line in text.splitlines() if len(line) > 80 and not line.startswith(("#", "|", " ")))
    note.write_text(text.replace(paragraph, paragraph + " (edited)", 1))
    edited = rag.index()
    note.write_text(text)
    rag.index()

    floor, search = [], []
    for _ in range(args.rounds):
        for query in QUERIES:
            t0 = time.perf_counter()
            rag.store.query(rag.embedder.embed([query])[0], 5)
            floor.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            rag.search(query, 5)
            search.append(time.perf_counter() - t0)

    cold = []
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "rag", "search", "svm kernel", "-k", "1"], env=env,
                       check=True, capture_output=True)
        cold.append(time.perf_counter() - t0)

    notes = sum(1 for f in full.files if f.status == "added")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"embedder {rag.embedder.id} ({args.backend}); corpus {args.corpus}, "
          f"{notes} notes")
    print(f"full index            {full_s:8.2f} s   {notes / full_s:.2f} notes/s, {full.chunks} chunks "
          f"({full.chunks / full_s:.1f}/s), {full.units} answer units; peak RSS {rss:.0f} MB")
    print("  stages (s)          " + ", ".join(f"{stage} {seconds:.2f}" for stage, seconds in full.stages.items()))
    print(f"first ask after index {asks[0] * 1000:8.1f} ms  warm ask p50 {statistics.median(asks[1:]) * 1000:.1f} ms")
    print(f"unchanged re-index    {unchanged.seconds * 1000:8.1f} ms  embedded {unchanged.embedded}")
    print(f"one-paragraph edit    {edited.seconds * 1000:8.1f} ms  embedded {edited.embedded}")
    print(f"cold start (search)   {statistics.median(cold):8.2f} s   median of 3, process start to first result")
    print(f"floor (embed+query)   p50 {ms(floor, .5):6.2f} ms  p95 {ms(floor, .95):6.2f} ms")
    print(f"rag search (hybrid)   p50 {ms(search, .5):6.2f} ms  p95 {ms(search, .95):6.2f} ms  "
          f"ratio p50 {ms(search, .5) / ms(floor, .5):.2f}x")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
