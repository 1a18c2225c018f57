"""Written answers measured with a real local model: llama.cpp's server from the `xllamacpp` wheel on 127.0.0.1.

Starts the server on a GGUF file in a child process, indexes the notes of each answer set into a temp folder,
asks every question with RAG_LLM_BASE_URL pointing at the server, and reports per question: kept (the written
answer) or fell back (and why), seconds, facet recall of the written answer and of the extractive one it was
written from, sentences attributed to the notes, unsupported sentences caught (left out). Prints figures; not a
test, and nothing here installs anything.

The project does not depend on xllamacpp: put it in any interpreter and name that one with --llama-python
    python -m venv /tmp/llama && /tmp/llama/bin/pip install xllamacpp
    .venv/bin/python bench/bench_llm.py qwen2.5-coder-0.5b-instruct-q4_k_m.gguf --llama-python /tmp/llama/bin/python
Usage: python bench/bench_llm.py MODEL.gguf [--llama-python PY] [--threads 2] [--ctx 4096] [--limit N]
       [--sets answer,multi] [--json FILE]
       python bench/bench_llm.py --url http://127.0.0.1:8080/v1 ...   (an OpenAI-compatible server already up)
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from rag.app import Rag  # noqa: E402
from rag.evaluate.answers import facets_covered, load_answer_questions  # noqa: E402
from rag.evaluate.retrieval import Question  # noqa: E402
from rag.models import Answer  # noqa: E402
from rag.settings import load_settings  # noqa: E402

SETS = {  # name: (questions, the notes they ask about)
    "answer": (ROOT / "eval/answer_questions.jsonl", ROOT / "corpus"),
    "multi": (ROOT / "eval/multi/questions.jsonl", ROOT / "eval/multi/corpus"),
}
# Run by --llama-python: llama.cpp's HTTP server on loopback, kept up until this script ends it.
SERVE = """
import sys, time
import xllamacpp as xlc
model, ctx, threads, port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
params = xlc.CommonParams()
params.model.path = model
params.n_ctx = ctx
params.n_parallel = 1
params.cpuparams.n_threads = threads
params.cpuparams_batch.n_threads = threads
params.hostnames = ["127.0.0.1"]
params.port = port
server = xlc.Server(params)
print(server.listening_address, flush=True)
while True:
    time.sleep(3600)
"""


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def llama_server(model: Path, python: str, ctx: int, threads: int, timeout: float = 300) -> Iterator[str]:
    """xllamacpp's llama.cpp server on 127.0.0.1 serving `model`; yields its OpenAI base URL."""
    port = free_port()
    proc = subprocess.Popen([python, "-c", SERVE, str(model), str(ctx), str(threads), str(port)])
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"the llama.cpp server exited with {proc.returncode} (is xllamacpp installed in "
                                 f"{python}? is {model} a GGUF file?)")
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"the llama.cpp server did not answer within {timeout:.0f} s")
            time.sleep(0.5)
        yield f"{base}/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def indexed(corpus: Path, data: Path, url: str, model: str) -> Rag:
    """A container over a copy of the notes, indexed, answering with the LLM at `url`."""
    notes = data / "corpus"
    shutil.copytree(corpus, notes)
    settings = load_settings(corpus_dir=notes, data_dir=data / "rag", llm_base_url=url, llm_model=model)
    rag = Rag(settings)
    rag.index()
    return rag


def recall(question: Question, answer: Answer | None) -> float | None:
    if answer is None or not question.facets or not answer.answered:
        return None
    return facets_covered(question.facets, answer.text) / len(question.facets)


def row(question: Question, answer: Answer, seconds: float) -> dict[str, Any]:
    """One question's figures."""
    extractive = answer.extractive if answer.mode == "llm" else answer
    called = answer.mode == "llm" or "LLM" in answer.note
    return {
        "id": question.id, "kind": question.kind, "answered": answer.answered, "llm_called": called,
        "kept": answer.mode == "llm", "fell_back": answer.note if answer.mode != "llm" and called else "",
        "seconds": round(seconds, 2),
        "recall_written": recall(question, answer) if answer.mode == "llm" else None,
        "recall_extractive": recall(question, extractive),
        "sentences": len(answer.sentences),
        "attributed": sum(s.supported for s in answer.sentences),
        "unsupported_caught": sum(not s.supported for s in answer.sentences),
        "left_out": [s.text for s in answer.sentences if not s.supported],
    }


def mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.fmean(present), 3) if present else None


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    called = [r for r in rows if r["llm_called"]]
    kept = [r for r in called if r["kept"]]
    reasons: dict[str, int] = {}
    for r in called:
        if not r["kept"]:
            why = r["fell_back"].split(": ", 1)[-1].split(";")[0]
            reasons[why] = reasons.get(why, 0) + 1
    return {
        "questions": len(rows), "llm_called": len(called), "kept": len(kept), "fell_back": len(called) - len(kept),
        "fell_back_why": reasons,
        "median_seconds": round(statistics.median(r["seconds"] for r in called), 2) if called else None,
        "recall_written_kept": mean([r["recall_written"] for r in kept]),
        "recall_extractive_same": mean([r["recall_extractive"] for r in kept]),
        "sentences": sum(r["sentences"] for r in kept), "attributed": sum(r["attributed"] for r in kept),
        "unsupported_caught": sum(r["unsupported_caught"] for r in kept),
    }


def run_set(name: str, url: str, model: str, limit: int | None) -> dict[str, Any]:
    path, corpus = SETS[name]
    questions = load_answer_questions(path)[:limit]
    with tempfile.TemporaryDirectory(prefix=f"bench-llm-{name}-") as tmp:
        rag = indexed(corpus, Path(tmp), url, model)
        rows = []
        for q in questions:
            started = time.perf_counter()
            answer = rag.ask(q.question, 5, q.history)
            rows.append(row(q, answer, time.perf_counter() - started))
            print(line(rows[-1]), flush=True)
    return {"set": name, "file": str(path.relative_to(ROOT)), "summary": summary(rows), "rows": rows}


def line(r: dict[str, Any]) -> str:
    """One row as it is printed while the benchmark runs."""
    if not r["llm_called"]:
        state = "not asked (the notes don't cover it)" if not r["answered"] else "extractive"
    elif r["kept"]:
        state = f"kept: {r['attributed']}/{r['sentences']} attributed, {r['unsupported_caught']} left out"
    else:
        state = "fell back: " + r["fell_back"].split(": ", 1)[-1].split(";")[0]
    recall_w = "-" if r["recall_written"] is None else f"{r['recall_written']:.2f}"
    recall_e = "-" if r["recall_extractive"] is None else f"{r['recall_extractive']:.2f}"
    return f"{r['id']:>6} {r['seconds']:6.1f}s  recall {recall_w}/{recall_e}  {state}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", nargs="?", type=Path, help="The GGUF file the llama.cpp server loads.")
    parser.add_argument("--url", help="Use this OpenAI-compatible endpoint instead of starting a server.")
    parser.add_argument("--llama-python", default=sys.executable, help="An interpreter with xllamacpp installed.")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--ctx", type=int, default=4096, help="The server's context (the prompt is ~3,000 tokens).")
    parser.add_argument("--sets", default="answer,multi", help="answer, multi or both (comma-separated).")
    parser.add_argument("--limit", type=int, help="At most this many questions a set.")
    parser.add_argument("--json", type=Path, help="Also write every row here.")
    args = parser.parse_args()
    if not args.url and not args.model:
        parser.error("give the GGUF file, or --url of a running server")
    serving = nullcontext(args.url) if args.url else llama_server(args.model, args.llama_python, args.ctx, args.threads)
    with serving as url:
        model = args.model.stem if args.model else "local"
        print("id      time    recall written/extractive")
        reports = [run_set(name, url, model, args.limit) for name in args.sets.split(",")]
    for report in reports:
        print(f"\n{report['set']} ({report['file']}):")
        for key, value in report["summary"].items():
            print(f"  {key}: {value}")
    if args.json:
        args.json.write_text(json.dumps(reports, indent=1))


if __name__ == "__main__":
    main()
