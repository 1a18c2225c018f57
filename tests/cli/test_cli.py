"""The `rag` command: exit codes, JSON shapes, and which heavy modules each verb imports."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

TEST_CACHE = Path(__file__).resolve().parents[2] / ".rag-test"  # where conftest's embedder caches ONNX

HEAVY = ("torch", "transformers", "sentence_transformers")
# Runs the CLI in-process, then reports which heavy modules got imported.
PROBE = """
import atexit, json, sys
atexit.register(lambda: print("MODULES=" + json.dumps(sorted(m for m in {heavy} if m in sys.modules)), file=sys.stderr))
sys.argv = ["rag", *{args}]
from rag.cli.commands import main
main()
"""


@pytest.fixture(scope="module")
def cli_env(corpus_rag) -> dict[str, str]:
    """The environment of a user whose notes are indexed, with the exported ONNX model in place."""
    settings = corpus_rag.settings
    shutil.copytree(TEST_CACHE / "onnx", settings.data_dir / "onnx", dirs_exist_ok=True)
    return {**os.environ, "RAG_CORPUS_DIR": str(settings.corpus_dir), "RAG_DATA_DIR": str(settings.data_dir)}


def run(env: dict[str, str], *args: str, heavy: tuple[str, ...] = HEAVY) -> tuple[int, str, str, list[str]]:
    code = PROBE.format(heavy=heavy, args=list(args))
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    modules = next((json.loads(line[8:]) for line in proc.stderr.splitlines() if line.startswith("MODULES=")), None)
    assert modules is not None, proc.stderr
    stderr = "\n".join(line for line in proc.stderr.splitlines() if not line.startswith("MODULES="))
    return proc.returncode, proc.stdout, stderr, modules


def test_help_and_sources_import_no_model(cli_env):
    code, out, _, modules = run(cli_env, "--help", heavy=(*HEAVY, "onnxruntime"))
    assert code == 0 and "search" in out and modules == []
    code, out, _, modules = run(cli_env, "sources", "--json", heavy=(*HEAVY, "onnxruntime"))
    assert code == 0 and modules == []
    assert json.loads(out)["sources"][0]["source"] == "interview-notes.md"


def test_search_and_ask_run_without_torch(cli_env):
    code, out, _, modules = run(cli_env, "search", "svm kernel trick", "-k", "3", "--json")
    assert code == 0 and modules == []
    results = json.loads(out)["results"]
    assert len(results) == 3
    assert {"id", "source", "start_line", "end_line", "heading", "text", "score"} <= set(results[0])
    code, out, _, modules = run(cli_env, "ask", "how do SVMs do multi-class classification?", "--json")
    assert code == 0 and modules == []
    answer = json.loads(out)
    assert answer["answered"] and "[1]" in answer["answer"] and answer["citations"][0]["n"] == 1


def test_unchanged_index_summary(cli_env):
    code, out, _, _ = run(cli_env, "index", "--json")
    summary = json.loads(out)
    assert code == 0 and summary["unchanged"] == 1 and summary["added"] == summary["updated"] == 0
    assert {"read", "store", "bm25", "units"} <= set(summary.pop("stages"))  # nothing to chunk or embed
    assert summary["files"][0] == {"source": "interview-notes.md", "status": "unchanged", "reason": "",
                                   "chunks": summary["chunks"], "embedded": 0}


@pytest.mark.parametrize("args, status, message", [
    (("search", "   "), 1, "the query is empty"),
    (("search", "svm", "-k", "0"), 1, "k must be between 1 and 50"),
    (("search", "svm", "--source", "nope.md"), 1, "unknown source"),
    (("search", "svm", "--tag", "nope"), 1, "no indexed note is tagged nope"),
    (("ask", "what is an svm?", "--tag", "#nope"), 1, "no indexed note is tagged nope"),
    (("ask", "what is an svm?", "--source", "nope.md"), 1, "unknown source"),
    (("index", "--corpus", "/does/not/exist"), 1, "does not exist"),
    (("eval", "/no/such/questions.jsonl"), 1, "does not exist"),
    (("frobnicate",), 2, "No such command"),
    (("search",), 2, "Missing argument"),
])
def test_errors_exit_with_a_message(cli_env, args, status, message):
    code, _, err, _ = run(cli_env, *args)
    assert code == status and message in err
    if status == 1:
        assert err.strip().startswith("error: ") and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(("variable", "value", "allowed"), [
    ("RAG_PORT", "abc", "valid integer"),
    ("RAG_CHUNK_TOKENS", "-1", "greater than or equal to 32"),
    ("RAG_EMBED_BACKEND", "cuda", "'auto', 'onnx' or 'torch'"),
])
def test_a_bad_setting_is_one_line_naming_the_variable(cli_env, variable: str, value: str, allowed: str) -> None:
    code, out, err, _ = run({**cli_env, variable: value}, "sources")
    assert code == 1 and out == "" and "Traceback" not in err
    assert err.strip().count("\n") == 0 and f"{variable}='{value}'" in err and allowed in err


def test_delete_moves_a_note_to_the_trash_and_restore_brings_it_back(tmp_path):
    corpus, data = tmp_path / "corpus", tmp_path / "data"
    corpus.mkdir()
    (corpus / "quokka.md").write_text("# Quokka\n\nThe quokka lives on Rottnest Island.\n", encoding="utf-8")
    shutil.copytree(TEST_CACHE / "onnx", data / "onnx")
    env = {**os.environ, "RAG_CORPUS_DIR": str(corpus), "RAG_DATA_DIR": str(data)}
    assert run(env, "index")[0] == 0
    code, out, err, _ = run(env, "delete", "quokka.md")
    assert code == 0 and "1 removed" in out and "rag restore quokka.md" in out, err
    assert not (corpus / "quokka.md").exists()
    code, out, _, _ = run(env, "trash", "--json")
    kept = json.loads(out)["trash"]
    assert [t["source"] for t in kept] == ["quokka.md"] and Path(kept[0]["path"]).is_file()
    code, out, _, _ = run(env, "restore", "quokka.md", "--json")
    assert code == 0 and json.loads(out)["added"] == 1
    assert "Rottnest" in (corpus / "quokka.md").read_text(encoding="utf-8")
    code, _, err, _ = run(env, "restore", "quokka.md")
    assert code == 1 and "no deleted note named quokka.md" in err


def test_serve_refuses_a_missing_corpus_folder_in_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "RAG_CORPUS_DIR": str(tmp_path / "missing"), "RAG_DATA_DIR": str(tmp_path / "data")}
    code, out, err, _ = run(env, "serve", "--port", "0")
    assert code == 1 and out == "" and err.strip().splitlines() == [
        f"error: corpus folder {tmp_path / 'missing'} does not exist: create it or set RAG_CORPUS_DIR"]


def test_serve_on_a_port_that_is_taken_says_which_and_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "corpus").mkdir()
    env = {**os.environ, "RAG_CORPUS_DIR": str(tmp_path / "corpus"), "RAG_DATA_DIR": str(tmp_path / "data")}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, err, _ = run({**env, "RAG_PORT": str(port)}, "serve")
    assert code == 1 and "Errno" not in err and len(err.strip().splitlines()) == 1
    assert f"port {port} is already in use on 127.0.0.1" in err and "--port or RAG_PORT" in err
