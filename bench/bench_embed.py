"""Benchmark: torch reference vs ONNX fp32 vs ONNX int8 on the packaged model and the real notes.

Run: .venv/bin/python bench/bench_embed.py [--passages 300] [--queries 200] [--repeats 3]
Prints figures; not a test. ONNX files are exported into a temp folder (timed as "export").
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.embed.base import Embedder, load_tokenizer, packaged_model_path  # noqa: E402
from rag.embed.onnx import OnnxEmbedder  # noqa: E402
from rag.embed.reference import SentenceTransformerEmbedder  # noqa: E402
from rag.settings import apply_offline_env  # noqa: E402

NOTE = ROOT / "corpus" / "interview-notes.md"
QUESTIONS = ROOT / "eval" / "dev_questions.jsonl"
BACKENDS = ("torch", "onnx-fp32", "onnx-int8")
COLD_START = """
import sys, time
from pathlib import Path
from rag.embed.base import packaged_model_path
from rag.embed.reference import SentenceTransformerEmbedder
backend, cache = sys.argv[1], Path(sys.argv[2])
if backend == "torch":
    model = SentenceTransformerEmbedder(str(packaged_model_path()))
else:
    from rag.embed.onnx import OnnxEmbedder
    model = OnnxEmbedder(packaged_model_path(), cache, backend.split("-")[1])
model.embed(["how does super().__init__ work?"])
print(time.time())
"""


def paragraphs() -> list[str]:
    """The real notes split at blank lines."""
    return [p.strip() for p in re.split(r"\n\s*\n", NOTE.read_text()) if p.strip()]


def passages(count: int, target_tokens: int = 200) -> list[str]:
    """Runs of consecutive paragraphs of about `target_tokens` model tokens each."""
    tokenizer = load_tokenizer(packaged_model_path())
    out: list[str] = []
    current: list[str] = []
    size = 0
    for para in paragraphs():
        tokens = len(tokenizer.encode(para).ids) - 2
        if current and size + tokens > target_tokens:
            out.append("\n\n".join(current))
            current, size = [], 0
        current.append(para)
        size += tokens
    if current:
        out.append("\n\n".join(current))
    step = max(1, len(out) // count)
    return out[::step][:count]


def queries(count: int) -> list[str]:
    """Short queries: the dev questions, then headings, then paragraph openings."""
    found = [json.loads(line)["question"] for line in QUESTIONS.read_text().splitlines() if line.strip()]
    found += [line.lstrip("#").strip() for line in NOTE.read_text().splitlines() if line.startswith("#")]
    found += [" ".join(p.split()[:8]) for p in paragraphs()]
    unique = list(dict.fromkeys(q for q in found if q))
    return unique[:count]


def cold_start(backend: str, cache: Path, repeats: int) -> float:
    """Median seconds from launching a fresh Python to its first query vector."""
    times = []
    for _ in range(repeats):
        started = time.time()
        result = subprocess.run(
            [sys.executable, "-c", COLD_START, backend, str(cache)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        times.append(float(result.stdout.split()[-1]) - started)
    return statistics.median(times)


def query_latency(model: Embedder, texts: list[str], rounds: int = 2) -> tuple[float, float]:
    """p50 and p90 of single-query embedding, in ms (best round of `rounds`)."""
    best: tuple[float, float] | None = None
    for _ in range(rounds):
        samples = []
        for text in texts:
            start = time.perf_counter()
            model.embed([text])
            samples.append((time.perf_counter() - start) * 1000)
        p50, p90 = float(np.percentile(samples, 50)), float(np.percentile(samples, 90))
        best = (p50, p90) if best is None or p50 < best[0] else best
    assert best is not None
    return best


def batch_time(model: Embedder, texts: list[str], repeats: int) -> float:
    """Best of `repeats` wall times to embed `texts` in one call."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.embed(texts)
        times.append(time.perf_counter() - start)
    return min(times)


def cosines(vectors: np.ndarray, reference: np.ndarray) -> np.ndarray:
    return (vectors * reference).sum(axis=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--passages", type=int, default=300)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    apply_offline_env()

    texts = passages(args.passages)
    short = queries(args.queries)
    counter = load_tokenizer(packaged_model_path())
    token_counts = [len(counter.encode(t).ids) for t in texts]
    embedded_tokens = sum(min(n, 256) for n in token_counts)
    print(f"cores={os.cpu_count()}  load before={os.getloadavg()[0]:.2f}")
    print(
        f"passages={len(texts)} (tokens mean {np.mean(token_counts):.0f}, max {max(token_counts)}, "
        f"{embedded_tokens} embedded after truncation)  queries={len(short)} "
        f"(tokens mean {np.mean([len(counter.encode(q).ids) for q in short]):.1f})"
    )

    cache = Path(tempfile.mkdtemp(prefix="bench-onnx-"))
    models: dict[str, Embedder] = {"torch": SentenceTransformerEmbedder(str(packaged_model_path()))}
    first_use: dict[str, float] = {}
    for backend in BACKENDS:
        if backend != "torch":
            models[backend] = OnnxEmbedder(packaged_model_path(), cache, backend.split("-")[1])
        start = time.perf_counter()
        models[backend].embed(["warm up"])
        first_use[backend] = time.perf_counter() - start

    rows = []
    reference_p = models["torch"].embed(texts)
    reference_q = models["torch"].embed(short)
    for backend in BACKENDS:
        model = models[backend]
        p50, p90 = query_latency(model, short)
        seconds = batch_time(model, texts, args.repeats)
        cos_p = cosines(model.embed(texts), reference_p)
        cos_q = cosines(model.embed(short), reference_q)
        rows.append(
            (
                backend,
                cold_start(backend, cache, args.repeats),
                first_use[backend],
                p50,
                p90,
                seconds,
                embedded_tokens / seconds,
                cos_p.mean(),
                cos_p.min(),
                cos_q.mean(),
                cos_q.min(),
            )
        )

    header = (
        f"{'backend':<10} {'cold s':>7} {'1st use s':>9} {'q p50 ms':>8} {'q p90 ms':>8} "
        f"{'passages s':>10} {'tok/s':>7} {'cos mean':>9} {'cos min':>8} {'q cos mean':>10} {'q cos min':>9}"
    )
    print(header)
    for r in rows:
        print(
            f"{r[0]:<10} {r[1]:>7.2f} {r[2]:>9.2f} {r[3]:>8.2f} {r[4]:>8.2f} {r[5]:>10.2f} {r[6]:>7.0f} "
            f"{r[7]:>9.6f} {r[8]:>8.6f} {r[9]:>10.6f} {r[10]:>9.6f}"
        )
    sizes = {p.name: p.stat().st_size / 1e6 for p in cache.glob("*.onnx")}
    print("ONNX files (MB):", {k: round(v, 1) for k, v in sizes.items()})
    print(f"load after={os.getloadavg()[0]:.2f}")
    print(
        "cold: fresh process to first query vector, median of repeats, ONNX file already cached; "
        "1st use: in-process construct+first embed (for ONNX the one-off export + session load)"
    )


if __name__ == "__main__":
    main()
