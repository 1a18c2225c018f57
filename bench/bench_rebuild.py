"""A rebuild of the corpus while the server answers searches: how long it takes, and /v1/search p50/p95 before
and during it (one client, back to back), with every result count checked.

Starts `rag serve` on a free loopback port over a copy of corpus/ indexed into a temp folder, then runs
`POST /v1/index {"rebuild": true}` while a thread searches. Prints figures; not a test.
Usage: python bench/bench_rebuild.py [--searches 200]
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from pathlib import Path

import httpx
from bench_api import rag_server

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [json.loads(line)["question"] for line in (ROOT / "eval" / "dev_questions.jsonl").open()]
K = 5


def search_times(client: httpx.Client, count: int, stop: threading.Event | None = None) -> tuple[list[float], int]:
    """Latencies of up to `count` searches (until `stop`), and how many returned fewer than K results."""
    times, short = [], 0
    for n in range(count):
        if stop is not None and stop.is_set():
            break
        started = time.perf_counter()
        found = client.post("/v1/search", json={"query": QUESTIONS[n % len(QUESTIONS)], "k": K}).json()["results"]
        times.append(time.perf_counter() - started)
        short += len(found) < K
    return times, short


def figures(name: str, times: list[float], short: int) -> str:
    ms = sorted(t * 1000 for t in times)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return f"{name:16} {len(ms):6} searches  p50 {statistics.median(ms):7.1f} ms  p95 {p95:7.1f} ms  short {short}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--searches", type=int, default=200, help="Searches before the rebuild.")
    args = parser.parse_args()
    with rag_server(None) as (url, _), httpx.Client(base_url=url, timeout=60) as client:
        search_times(client, 20)  # warm
        before = search_times(client, args.searches)
        stop = threading.Event()
        during: list[tuple[list[float], int]] = []
        searcher = threading.Thread(target=lambda: during.append(search_times(client, 100_000, stop)))
        searcher.start()
        started = time.perf_counter()
        report = httpx.post(f"{url}/v1/index", json={"rebuild": True}, timeout=900).json()
        seconds = time.perf_counter() - started
        stop.set()
        searcher.join()
        print(f"rebuild while serving: {seconds:.1f} s ({report['chunks']} chunks, {report['units']} answer units)")
        print(figures("before", *before))
        print(figures("during rebuild", *during[0]))


if __name__ == "__main__":
    main()
