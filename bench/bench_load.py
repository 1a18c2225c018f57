"""Load on `rag serve`: mixed /v1/ask and /v1/search from concurrent clients, with an index run in the middle.

Prints latency percentiles, throughput and errors; not a test. Usage:
    .venv/bin/python bench/bench_load.py [--requests 2000] [--clients 32] [--ask-share 0.5] [--chroma-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from server import RAG_BIN, free_port, start_server

ROOT = Path(__file__).resolve().parent.parent
KEY = "bench-load-key"
EDIT = ("Data abstraction is", "Data abstraction (edited during the load run) is")


@dataclass
class Tally:
    """Latencies per endpoint, and everything that was not a 200."""

    seconds: dict[str, list[float]] = field(default_factory=lambda: {"search": [], "ask": []})
    errors: Counter[str] = field(default_factory=Counter)


def pct(values: list[float], q: float) -> float:
    """The q-quantile in milliseconds (nearest rank)."""
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


def questions() -> list[str]:
    """The dev set's questions: realistic length and wording."""
    lines = (ROOT / "eval" / "dev_questions.jsonl").read_text().splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


async def one_request(client: httpx.AsyncClient, n: int, ask_share: float, qs: list[str], tally: Tally) -> None:
    kind = "ask" if (n * 0.618034) % 1 < ask_share else "search"  # evenly interleaved, deterministic
    question = qs[n % len(qs)]
    body = {"question": question} if kind == "ask" else {"query": question, "k": 5}
    started = time.perf_counter()
    try:
        response = await client.post(f"/v1/{kind}", json=body)
        ok = response.status_code == 200 and bool(response.json().get("answer" if kind == "ask" else "results"))
        if not ok:
            tally.errors[f"{kind} {response.status_code}: {response.text[:120]}"] += 1
    except httpx.HTTPError as exc:
        tally.errors[f"{kind} {type(exc).__name__}: {exc}"] += 1
        return
    tally.seconds[kind].append(time.perf_counter() - started)


async def index_mid_run(client: httpx.AsyncClient, note: Path, at: asyncio.Event, report: dict[str, object]) -> None:
    """When half the requests are done, edit a note and POST /v1/index while the load goes on."""
    await at.wait()
    note.write_text(note.read_text().replace(*EDIT, 1))
    started = time.perf_counter()
    response = await client.post("/v1/index", json={}, headers={"Authorization": f"Bearer {KEY}"}, timeout=600)
    report.update(status=response.status_code, seconds=time.perf_counter() - started, body=response.json())


async def baseline(base: str, n: int) -> Tally:
    """`n` requests one at a time: the service time without queueing."""
    qs, tally = questions(), Tally()
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        for i in range(n):
            await one_request(client, i, 0.5, qs, tally)
    return tally


async def load(base: str, requests: int, clients: int, ask_share: float, note: Path) -> tuple[Tally, dict, float]:
    """Run `requests` requests from `clients` concurrent workers; the index run starts halfway."""
    qs, tally, index_report = questions(), Tally(), {}
    halfway, queue = asyncio.Event(), iter(range(requests))
    done = 0
    limits = httpx.Limits(max_connections=clients + 1, max_keepalive_connections=clients + 1)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as client:

        async def worker() -> None:
            nonlocal done
            for n in queue:
                await one_request(client, n, ask_share, qs, tally)
                done += 1
                if done == requests // 2:
                    halfway.set()

        started = time.perf_counter()
        await asyncio.gather(index_mid_run(client, note, halfway, index_report), *(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return tally, index_report, elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--ask-share", type=float, default=0.5)
    parser.add_argument("--baseline", type=int, default=40, help="sequential requests first (service time)")
    parser.add_argument("--chroma-url", default=None, help="use a Chroma server (RAG_CHROMA_URL)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    shutil.copytree(ROOT / "corpus", work / "corpus")
    port = free_port()
    env = {**os.environ, "RAG_CORPUS_DIR": str(work / "corpus"), "RAG_DATA_DIR": str(work / "data"),
           "RAG_API_KEY": KEY, "RAG_COLLECTION": f"bench-load-{port}"}
    if args.chroma_url:
        env["RAG_CHROMA_URL"] = args.chroma_url
    started = time.perf_counter()
    subprocess.run([RAG_BIN, "index"], env=env, check=True, capture_output=True)
    print(f"initial index            {time.perf_counter() - started:7.1f} s (process start to done)")
    with open(work / "serve.log", "wb") as log:
        server = start_server(env, port, log)
    try:
        alone = asyncio.run(baseline(f"http://127.0.0.1:{port}", args.baseline))
        tally, index_report, elapsed = asyncio.run(
            load(f"http://127.0.0.1:{port}", args.requests, args.clients, args.ask_share,
                 work / "corpus" / "interview-notes.md"))
        edited = httpx.post(f"http://127.0.0.1:{port}/v1/search", json={"query": EDIT[1], "k": 1}).json()
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)

    print(f"one client, {args.baseline} requests: " + ", ".join(
        f"{kind} p50 {pct(v, .5):.1f} ms p95 {pct(v, .95):.1f} ms" for kind, v in alone.seconds.items()))
    total = sum(len(v) for v in tally.seconds.values())
    every = [s for v in tally.seconds.values() for s in v]
    store = args.chroma_url or "embedded Chroma"
    print(f"{args.requests} requests, {args.clients} concurrent clients, {args.ask_share:.0%} ask; {store}; "
          f"{os.cpu_count()} cores")
    for kind, values in (*tally.seconds.items(), ("all", every)):
        print(f"  {kind:6} n={len(values):5}  p50 {pct(values, .5):7.1f} ms  p95 {pct(values, .95):7.1f} ms  "
              f"max {pct(values, 1):7.1f} ms")
    print(f"  throughput {total / elapsed:6.1f} requests/s over {elapsed:.1f} s")
    print(f"  errors {sum(tally.errors.values())}" + "".join(f"\n    {n} x {e}" for e, n in tally.errors.items()))
    body = index_report.get("body", {})
    print(f"  index run mid-load: HTTP {index_report.get('status')} in {index_report.get('seconds', 0):.1f} s, "
          f"updated {body.get('updated')}, embedded {body.get('embedded')}")
    seen = edited["results"] and "edited during the load run" in edited["results"][0]["text"]
    print(f"  the edit is searchable afterwards: {bool(seen)}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
