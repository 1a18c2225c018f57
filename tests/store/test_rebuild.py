"""`--rebuild` without a gap: a new collection is filled while the old one serves, then switched to in one step;
a rebuild that dies leaves the old one in service, and the next run cleans up (embedded store and Chroma server)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx

from rag.app import Rag
from rag.serve.app import create_app
from rag.store.pointer import REBUILD_INFIX
from tests.conftest import ChromaServer
from tests.index.test_index import snapshot, write_notes
from tests.llm_standin import running

KILLED_REBUILD = """
from rag.app import build

def progress(done, total):
    print("progress", done, total, flush=True)

build().index(rebuild=True, progress=progress)
print("finished", flush=True)
"""


def many_notes(corpus: Path, n: int = 6) -> None:
    for k in range(n):
        write_notes(corpus, n_sections=30, name=f"note{k}.md")


def collections(rag: Rag) -> list[str]:
    rag.store.count()  # connected
    return sorted(c.name for c in rag.store._client.list_collections())  # type: ignore[union-attr]


def test_searches_during_a_rebuild_get_full_results_from_the_old_index(make_rag):
    rag = make_rag()
    many_notes(rag.settings.corpus_dir)
    rag.index()
    before = rag.store.count()
    first_name = rag.store._name
    results: list[int] = []
    chunks: list[int] = []
    done = threading.Event()
    with running(create_app(rag, with_ui=False)) as url:

        def search_meanwhile() -> None:
            with httpx.Client(base_url=url, timeout=30) as client:
                for _ in range(5000):  # bounded
                    if done.is_set():
                        return
                    found = client.post("/v1/search", json={"query": "Topic 3 subject", "k": 5}).json()["results"]
                    results.append(len(found))
                    chunks.append(client.get("/health").json()["chunks"])

        searcher = threading.Thread(target=search_meanwhile)
        searcher.start()
        try:
            response = httpx.post(f"{url}/v1/index", json={"rebuild": True}, timeout=300)
        finally:
            done.set()
            searcher.join()
    assert response.status_code == 200 and response.json()["added"] == 6
    assert len(results) >= 3  # the searches really ran during the rebuild
    assert set(results) == {5} and min(chunks) >= before  # never a partial index
    assert rag.store._name.startswith(rag.settings.collection + REBUILD_INFIX) and rag.store._name != first_name
    assert first_name not in collections(rag) and rag.store.count() == before  # the old one is gone


def test_a_rebuild_killed_half_way_leaves_the_old_index_serving_and_the_next_run_converges(make_rag, tmp_path):
    rag = make_rag()  # not opened until the other processes are done: one process per embedded store
    corpus = rag.settings.corpus_dir
    many_notes(corpus)
    env = {**os.environ, "RAG_DATA_DIR": str(rag.settings.data_dir), "RAG_CORPUS_DIR": str(corpus)}
    indexed = subprocess.run([sys.executable, "-m", "rag", "index", "--json"], env=env, check=True,
                             capture_output=True, text=True)
    chunks = json.loads(indexed.stdout)["chunks"]
    child = subprocess.Popen([sys.executable, "-c", KILLED_REBUILD], env=env, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    line = child.stdout.readline()  # the rebuild has started writing its new collection
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    assert line.startswith("progress") and child.returncode == -signal.SIGKILL

    assert rag.store._active_name(rag.store._client or rag.store._connect()) == rag.settings.collection
    assert any(REBUILD_INFIX in name for name in collections(rag))  # what the dead rebuild left
    assert rag.store.count() == chunks > 30 and len(rag.search("Topic 3 subject", 5)) == 5  # the old index serves

    report = rag.index()
    assert report.unchanged == 6 and not any(REBUILD_INFIX in name for name in collections(rag))
    clean = Rag(rag.settings.model_copy(update={"data_dir": tmp_path / "clean"}), embedder=rag.embedder)
    clean.index(rebuild=True)
    assert snapshot(rag) == snapshot(clean)


def test_every_api_process_on_a_chroma_server_switches_to_the_rebuilt_index(make_rag, embedder,
                                                                             chroma_server: ChromaServer,
                                                                             collection_name):
    writer = make_rag(chroma_url=chroma_server.url, collection=collection_name)
    reader = Rag(writer.settings, embedder=embedder)  # another API process: its own client, pointer and BM25
    many_notes(writer.settings.corpus_dir, 3)
    writer.index()
    assert len(reader.search("Topic 3 subject", 5)) == 5
    (writer.settings.corpus_dir / "fish.md").write_text("# Fish\n\nSalmon swim upstream to spawn.\n")
    sizes: list[int] = []
    done = threading.Event()

    def search_meanwhile() -> None:
        for _ in range(5000):  # bounded
            if done.is_set():
                return
            sizes.append(len(reader.search("Topic 3 subject", 5)))

    searcher = threading.Thread(target=search_meanwhile)
    searcher.start()
    try:
        writer.index(rebuild=True)
    finally:
        done.set()
        searcher.join()
    assert sizes and set(sizes) == {5}
    for _ in range(100):  # bounded: the reader re-reads the pointer with the generation, once a second
        if [p.source for p in reader.search("salmon upstream", 1)] == ["fish.md"]:
            break
        threading.Event().wait(0.1)
    assert [p.source for p in reader.search("salmon upstream", 1)] == ["fish.md"]
    assert reader.store._name == writer.store._name != collection_name
    assert collection_name not in collections(writer)
