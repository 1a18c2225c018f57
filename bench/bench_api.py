"""REST API figures: /v1/ask cold, /v1/search against the floor, then /v1/search and /v1/ask p50/p95, req/s, errors.

The floor is one query embedding plus one Chroma query, measured in this process on the same index in
rounds alternating with rounds of single /v1/search calls (a keep-alive http.client connection, the
lightest client), so both see the same machine. Load levels are 1, 8 and 32 concurrent clients (httpx).
Starts `rag serve` on a free loopback port over a copy of corpus/ indexed into a temp folder (or over
--data-dir if it already holds the index). Prints figures; not a test.
With --corpus eval/multi/corpus --questions eval/multi/questions.jsonl it measures the multi-note set.
Usage: python bench/bench_api.py [--clients 1,8,32] [--rounds 4] [--url http://127.0.0.1:8000] [--corpus DIR]
       [--questions FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from server import RAG_BIN, free_port, start_server

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS: list[str] = []  # filled from --questions before anything runs


def load_questions(path: Path) -> list[str]:
    return [json.loads(line)["question"] for line in path.open() if line.strip()]


@dataclass(frozen=True)
class Run:
    endpoint: str
    clients: int
    latencies: list[float]  # seconds, successful requests only
    errors: int
    seconds: float

    def row(self) -> str:
        ms = sorted(x * 1000 for x in self.latencies) or [float("nan")]
        p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
        done = len(self.latencies) + self.errors
        return (f"{self.endpoint:11} {self.clients:7} {done:8} {self.errors:6} {statistics.median(ms):8.0f} "
                f"{p95:8.0f} {len(self.latencies) / self.seconds:8.1f}")


@contextmanager
def rag_server(data_dir: Path | None, source: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """`rag index` (unless the folder has an index) and `rag serve` in a temp folder; yields URL and env."""
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        corpus = Path(tmp) / "corpus"
        shutil.copytree(source, corpus)
        env = {**os.environ, "RAG_CORPUS_DIR": str(corpus), "RAG_DATA_DIR": str(data_dir or Path(tmp) / "data")}
        env.pop("RAG_API_KEY", None)
        started = time.perf_counter()
        subprocess.run([RAG_BIN, "index"], env=env, check=True, stdout=subprocess.DEVNULL)
        print(f"index: {time.perf_counter() - started:.1f} s", file=sys.stderr)
        port = free_port()
        proc = start_server(env, port)
        try:
            yield f"http://127.0.0.1:{port}", env
        finally:
            print(f"rag serve peak RSS: {peak_rss_mb(proc.pid):.0f} MB")
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)


def peak_rss_mb(pid: int) -> float:
    """The process's high-water resident set size (VmHWM), in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")) / 1024


def floor_vs_search(url: str, env: dict[str, str], rounds: int = 30) -> None:
    """Print p50 of the floor and of /v1/search (one client), and their ratio."""
    os.environ.update(env)
    from rag.app import Rag
    from rag.settings import load_settings

    rag = Rag(load_settings())
    rag.warm_up()
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=60)

    def search(question: str) -> None:
        conn.request("POST", "/v1/search", json.dumps({"query": question, "k": 5}),
                     {"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise SystemExit(f"/v1/search answered {response.status}")

    floor: list[float] = []
    http_search: list[float] = []
    # Alternate whole rounds, not single calls: each process's ORT threads spin for a moment after a
    # run, and interleaved calls would make the two processes fight over the cores. Many short rounds,
    # because this VM drifts: with 6 rounds the same code measured anywhere from 1.10x to 1.39x.
    for n in range(rounds):
        for question in QUESTIONS:
            t0 = time.perf_counter()
            rag.store.query(rag.embedder.embed([question])[0], 5)
            if n:  # the first round warms both sides
                floor.append(time.perf_counter() - t0)
        for question in QUESTIONS:
            t0 = time.perf_counter()
            search(question)
            if n:
                http_search.append(time.perf_counter() - t0)
    conn.close()
    f50, s50 = statistics.median(floor) * 1000, statistics.median(http_search) * 1000
    print(f"floor (embed + Chroma query, in-process) p50 {f50:.2f} ms; /v1/search over HTTP p50 {s50:.2f} ms; "
          f"ratio {s50 / f50:.2f}x ({len(floor)} each)")


def body_for(endpoint: str, n: int) -> dict[str, object]:
    question = QUESTIONS[n % len(QUESTIONS)]
    return {"query": question, "k": 5} if endpoint == "search" else {"question": question, "k": 5}


async def drive(url: str, endpoint: str, clients: int, total: int) -> Run:
    """`clients` concurrent workers send `total` requests between them, each waiting for its answer."""
    latencies: list[float] = []
    errors = 0
    failures: Counter[str] = Counter()
    counter = iter(range(total))
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:

        async def worker() -> None:
            nonlocal errors
            for n in counter:
                started = time.perf_counter()
                try:
                    response = await client.post(f"/v1/{endpoint}", json=body_for(endpoint, n))
                    ok = response.status_code == 200
                    if not ok:
                        failures[f"{response.status_code} {response.text[:200]}"] += 1
                except httpx.HTTPError as exc:
                    ok = False
                    failures[f"{type(exc).__name__}: {exc}"[:200]] += 1
                if ok:
                    latencies.append(time.perf_counter() - started)
                else:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
    for reason, count in failures.items():  # an error is worth knowing by its cause, not only its count
        print(f"  {endpoint} at {clients} clients: {count} x {reason}")
    return Run(endpoint, clients, latencies, errors, time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="1,8,32", help="Concurrency levels, comma-separated.")
    parser.add_argument("--rounds", type=int, default=4, help="Requests per client at each level (at least 30).")
    parser.add_argument("--url", help="Measure a running server instead of starting one.")
    parser.add_argument("--data-dir", type=Path, help="Index folder to reuse (default: a fresh temp one).")
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus", help="Notes folder to serve (copied).")
    parser.add_argument("--questions", type=Path, default=ROOT / "eval" / "dev_questions.jsonl",
                        help="JSONL file whose `question` fields are asked.")
    args = parser.parse_args()
    QUESTIONS.extend(load_questions(args.questions))
    levels = [int(c) for c in args.clients.split(",")]
    with (nullcontext((args.url, None)) if args.url else rag_server(args.data_dir, args.corpus)) as (url, env):
        print(f"{os.cpu_count()} CPUs; server {url}")
        # Before anything else: each question once, one client, while the answer units' vectors are not
        # cached yet. The load levels below repeat the questions, so their asks find the units cached.
        cold = replace(asyncio.run(drive(url, "ask", 1, len(QUESTIONS))), endpoint="ask, 1st")
        for endpoint in ("search", "ask"):
            asyncio.run(drive(url, endpoint, 2, 10))  # warm connections; not counted
        if env is not None:  # the floor needs the server's index; a --url server's is not known here
            floor_vs_search(url, env)
        print(f"{'endpoint':11} {'clients':>7} {'requests':>8} {'errors':>6} {'p50 ms':>8} {'p95 ms':>8} {'req/s':>8}")
        print(cold.row(), "(each question's first ask: no answer cached; the units' vectors come from the index)")
        for endpoint in ("search", "ask"):
            for clients in levels:
                print(asyncio.run(drive(url, endpoint, clients, max(30, args.rounds * clients))).row(), flush=True)


if __name__ == "__main__":
    main()
