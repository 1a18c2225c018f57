"""`rag serve --watch`: the time from saving a note to its first search result naming it.

Each round saves a note into the watched folder (a new note, then an edit of it, alternately), each time with
an animal's name no other note uses, and polls /v1/search for that word every 20 ms until a top-3 passage of
that note has it (at most --timeout seconds). The watcher waits for the folder to be quiet (0.5 s) before it indexes, so
that is part of every figure. Rounds start once the previous run has ended. Prints the median; not a test.

By default starts `rag serve` with RAG_WATCH=1 on a free loopback port over a copy of corpus/ in a temp folder;
--url and --corpus use a running server started with --watch instead (its notes folder; the benchmark's notes
are removed afterwards).
Usage: python bench/bench_watch.py [--saves 8] [--url http://127.0.0.1:8000 --corpus ./corpus]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from server import free_port, start_server

ROOT = Path(__file__).resolve().parent.parent
POLL_SECONDS = 0.02
# Words no note uses, one per save; made-up words would share word pieces and so rank each other's notes.
WORDS = ["axolotl", "quetzal", "narwhal", "pangolin", "okapi", "capybara", "tardigrade", "kinkajou",
         "dugong", "aardwolf", "binturong", "wombat"]


@contextmanager
def watching_server() -> Iterator[tuple[str, Path]]:
    """`rag serve` with RAG_WATCH=1 over a copy of corpus/ in a temp folder; yields its URL and notes folder."""
    with tempfile.TemporaryDirectory(prefix="bench-watch-") as tmp:
        corpus = Path(tmp) / "corpus"
        shutil.copytree(ROOT / "corpus", corpus)
        env = {**os.environ, "RAG_CORPUS_DIR": str(corpus), "RAG_DATA_DIR": str(Path(tmp) / "data"), "RAG_WATCH": "1"}
        env.pop("RAG_API_KEY", None)
        port = free_port()
        proc = start_server(env, port)
        try:
            yield f"http://127.0.0.1:{port}", corpus
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=60)


def wait_idle(client: httpx.Client, timeout: float) -> None:
    """Until a run has ended and none is going (the first is the catch-up run at start)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get("/v1/index/status").json()
        if status["finished_at"] and not status["running"]:
            return
        time.sleep(0.1)
    raise SystemExit(f"the index did not settle within {timeout:.0f} s")


def found_in(client: httpx.Client, word: str) -> set[str]:
    """The notes among the top 3 results for `word` whose passage has the word."""
    response = client.post("/v1/search", json={"query": word, "k": 3})
    results = response.json().get("results", []) if response.status_code == 200 else []
    return {r["source"] for r in results if word in r["text"]}


def save_to_searchable(client: httpx.Client, path: Path, text: str, word: str, timeout: float) -> float:
    """Seconds from writing `text` to `path` to the first search for `word` answered by that note."""
    path.write_text(text, encoding="utf-8")
    saved = time.perf_counter()
    deadline = time.monotonic() + timeout
    while path.name not in found_in(client, word):
        if time.monotonic() > deadline:
            raise SystemExit(f"{path.name} was not searchable within {timeout:.0f} s: is the server watching?")
        time.sleep(POLL_SECONDS)
    return time.perf_counter() - saved


def measure(url: str, corpus: Path, saves: int, timeout: float) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"new": [], "edit": []}
    written: list[Path] = []
    with httpx.Client(base_url=url, timeout=30) as client:
        wait_idle(client, timeout * 4)
        try:
            for n in range(saves):
                word = WORDS[n % len(WORDS)]
                if n % 2 == 0:  # a new note, under a fresh name
                    written.append(corpus / f"bench-watch-{n}.md")
                    text = f"# Watch benchmark {n}\n\nThe {word} is an animal only this note mentions.\n"
                    kind = "new"
                else:
                    text = written[-1].read_text(encoding="utf-8") + f"\nAfter the edit it mentions the {word} too.\n"
                    kind = "edit"
                times[kind].append(save_to_searchable(client, written[-1], text, word, timeout))
                wait_idle(client, timeout)
        finally:
            for path in written:
                path.unlink(missing_ok=True)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saves", type=int, default=8, help=f"At most {len(WORDS)}.")
    parser.add_argument("--timeout", type=float, default=60.0, help="Seconds to wait for one save.")
    parser.add_argument("--url", help="A running `rag serve --watch` (loopback).")
    parser.add_argument("--corpus", type=Path, help="That server's notes folder (with --url).")
    args = parser.parse_args()
    if not 1 <= args.saves <= len(WORDS):
        parser.error(f"--saves must be between 1 and {len(WORDS)}")
    if args.url:
        if not args.corpus:
            parser.error("--url needs --corpus, the server's notes folder")
        times = measure(args.url, args.corpus, args.saves, args.timeout)
    else:
        with watching_server() as (url, corpus):
            times = measure(url, corpus, args.saves, args.timeout)
    every = times["new"] + times["edit"]
    for kind, values in [*times.items(), ("all", every)]:
        if values:
            print(f"{kind:5} saves {len(values):2}: save to searchable median {statistics.median(values):.2f} s "
                  f"(min {min(values):.2f}, max {max(values):.2f})")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
