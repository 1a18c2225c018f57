"""Scale: 100,000 synthetic chunks in an embedded store; write time, disk, memory, hybrid search latency.

The store side uses precomputed random unit vectors (embedding 100k chunks would take hours on 2 cores); real
embedding throughput is measured separately on the real notes. Queries are embedded by the real model.
Prints figures; not a test. Usage: .venv/bin/python bench/bench_scale.py [--chunks 100000] [--queries 200]
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.app import Rag  # noqa: E402
from rag.ingest import read_note  # noqa: E402
from rag.ingest.chunk import chunk_note  # noqa: E402
from rag.ingest.view import embed_view  # noqa: E402
from rag.models import Note  # noqa: E402
from rag.settings import load_settings  # noqa: E402
from rag.store.chunks import StoredChunk  # noqa: E402

NOTE = ROOT / "corpus" / "interview-notes.md"
DIM = 384
BATCH = 5000  # rows per upsert (Chroma's embedded max batch is larger)
PER_SOURCE = 100  # chunks per synthetic note
EXPORT = ("import sys; from rag.app import build; "
          "build(corpus_dir=sys.argv[1], data_dir=sys.argv[2]).embedder.embed(['x'])")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def rss_mb() -> tuple[float, float]:
    """Current and peak resident memory of this process, in MB."""
    current = next(int(line.split()[1]) for line in Path("/proc/self/status").read_text().splitlines()
                   if line.startswith("VmRSS:"))
    return current / 1024, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def disk_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def synthetic_rows(n: int, rng: np.random.Generator) -> list[StoredChunk]:
    """Chunks of 60-140 words drawn from the real notes' word frequencies, 100 per synthetic note."""
    words = np.array(re.findall(r"[A-Za-z][A-Za-z'-]+", NOTE.read_text()))
    rows = []
    for i in range(n):
        source = f"notes/topic-{i // PER_SOURCE:05}.md"
        ordinal = i % PER_SOURCE
        text = " ".join(rng.choice(words, int(rng.integers(60, 141))))
        rows.append(StoredChunk(f"{source}#{i:016x}", source, 1 + 10 * ordinal, 10 + 10 * ordinal,
                                f"Topic {i // PER_SOURCE} > Part {ordinal}", text, ordinal, f"{i // PER_SOURCE:064x}",
                                "2026-01-01T00:00:00+00:00"))
    return rows


def random_unit_vectors(n: int, rng: np.random.Generator) -> np.ndarray:
    vectors = rng.standard_normal((n, DIM), dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def embedding_throughput(rag: Rag, limit: int = 256) -> tuple[int, float, int]:
    """Real chunks of the real notes embedded in batches of 32: (chunks, seconds, model tokens)."""
    note = read_note(NOTE, NOTE.name)
    assert isinstance(note, Note)
    texts = [embed_view(c.heading, c.text) for c in chunk_note(note, rag.budget)][:limit]
    tokens = sum(rag.embedder.count_tokens(t) for t in texts)
    started = time.perf_counter()
    for start in range(0, len(texts), 32):
        rag.embedder.embed(texts[start : start + 32])
    return len(texts), time.perf_counter() - started, tokens


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    (work / "corpus").mkdir()
    settings = load_settings(corpus_dir=work / "corpus", data_dir=work / "data")
    # The one-off ONNX export loads torch: do it in another process so this one's RSS is what a server's is.
    subprocess.run([sys.executable, "-c", EXPORT, str(settings.corpus_dir), str(settings.data_dir)], check=True,
                   capture_output=True)
    rag = Rag(settings)
    rag.embedder.embed(["warm up"])  # model load is not measured
    baseline_rss, _ = rss_mb()

    rng = np.random.default_rng(7)
    started = time.perf_counter()
    rows = synthetic_rows(args.chunks, rng)
    vectors = random_unit_vectors(args.chunks, rng)
    generated = time.perf_counter() - started

    started = time.perf_counter()
    for start in range(0, len(rows), BATCH):
        rag.store.upsert(rows[start : start + BATCH], vectors[start : start + BATCH])
    rag.store.mark_written(rag.embedder.id)
    write_s = time.perf_counter() - started
    del rows, vectors

    started = time.perf_counter()
    stored = rag.store.rows()
    read_s = time.perf_counter() - started
    del stored
    started = time.perf_counter()
    rag.retriever.refresh(force=True)  # what every API process does after another one writes
    refresh_s = time.perf_counter() - started

    qs = [json.loads(line)["question"] for line in (ROOT / "eval" / "dev_questions.jsonl").read_text().splitlines()]
    timings: dict[str, list[float]] = {"hybrid": [], "dense": [], "lexical": [], "hybrid, 1 source": []}
    for n in range(args.queries):
        query = qs[n % len(qs)]
        for mode in ("hybrid", "dense", "lexical"):
            t0 = time.perf_counter()
            rag.search(query, 5, mode=mode)  # type: ignore[arg-type]
            timings[mode].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        rag.search(query, 5, sources=[f"notes/topic-{n % (args.chunks // PER_SOURCE):05}.md"])
        timings["hybrid, 1 source"].append(time.perf_counter() - t0)
    now_rss, peak_rss = rss_mb()

    chunks, embed_s, tokens = embedding_throughput(rag)

    print(f"{args.chunks:,} chunks ({args.chunks // PER_SOURCE:,} notes), {DIM}-d vectors, embedded Chroma; "
          f"generated in {generated:.1f} s")
    print(f"  write (upsert, batches of {BATCH})  {write_s:7.1f} s   {args.chunks / write_s:8.0f} chunks/s")
    print(f"  disk                               {disk_mb(work / 'data' / 'chroma'):7.0f} MB")
    print(f"  read all rows back                 {read_s:7.1f} s")
    print(f"  BM25 refresh (read + build)        {refresh_s:7.1f} s   after any write by another process")
    print(f"  RSS  {now_rss:.0f} MB now, {peak_rss:.0f} MB peak ({baseline_rss:.0f} MB with only the model loaded)")
    print(f"  ({args.queries} queries of the dev set, k=5; dense and hybrid include embedding the query)")
    for mode, values in timings.items():
        print(f"  search {mode:17} p50 {pct(values, .5):7.1f} ms   p95 {pct(values, .95):7.1f} ms")
    print(f"  real embedding ({rag.embedder.id}): {chunks} chunks of the real notes in {embed_s:.1f} s = "
          f"{chunks / embed_s:.1f} chunks/s, {tokens / embed_s:,.0f} tokens/s; "
          f"{args.chunks:,} such chunks would take ~{args.chunks / (chunks / embed_s) / 60:.0f} min")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
