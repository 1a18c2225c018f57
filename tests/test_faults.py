"""Faults and bad input: the store going away, a killed index run, a failed re-index, concurrent runs, hostile input.

Each test checks that the error is clear (status and message) and that nothing already indexed is lost.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import pytest

from rag.app import Rag
from rag.errors import StoreUnavailable
from rag.retrieve.hybrid import GENERATION_TTL
from rag.serve.app import create_app
from rag.settings import load_settings
from rag.store.chunks import ChromaStore
from tests.conftest import REAL_NOTE, ChromaServer, make_settings
from tests.llm_standin import running

RAG_BIN = str(Path(sys.executable).parent / "rag")
WORDS = (
    "alpha", "beta", "gamma", "delta", "kernel", "margin", "gradient", "tensor", "vector", "matrix", "sample",
    "label", "cluster", "forest", "tree", "boost", "bias", "variance", "entropy", "loss", "batch", "epoch",
    "layer", "neuron", "pixel", "token", "graph", "node", "edge", "path", "cache",
)


# --- helpers --------------------------------------------------------------------------------------------------

@contextmanager
def served(rag: Rag, write_wait: float | None = None) -> Iterator[httpx.Client]:
    """The API over `rag` on a real uvicorn on loopback, and a client for it (`write_wait`: how long a write
    waits for an index run in progress, if not the default)."""
    app = create_app(rag, with_ui=False)
    if write_wait is not None:
        app.state.write_wait = write_wait
    with running(app) as url, httpx.Client(base_url=url, timeout=120) as client:
        yield client


def write_small_notes(corpus: Path) -> None:
    (corpus / "birds.md").write_text(
        "# Birds\n\n## Penguins\n\nPenguins are flightless birds of the southern hemisphere.\n\n"
        "## Owls\n\nOwls hunt at night and turn their heads far round.\n"
    )
    (corpus / "trees.md").write_text("# Trees\n\n## Oaks\n\nOaks carry acorns and live for centuries.\n")


def synthetic_note(n: int, sections: int = 12) -> str:
    """A note of distinct sections, each a few sentences long, so that it makes several chunks."""
    parts = [f"# Note {n}\n"]
    for i in range(sections):
        words = [WORDS[(n * 7 + i * 3 + j) % len(WORDS)] for j in range(40)]
        parts.append(f"## Topic {n}.{i}\n\nNote {n} topic {i} is about {' '.join(words)}.\n"
                     f"It also says {' '.join(reversed(words))} in note {n}.\n")
    return "\n".join(parts)


def snapshot(store: ChromaStore) -> list[tuple[object, ...]]:
    """Ids, texts and metadata minus the index time: what a clean rebuild must reproduce."""
    return sorted((r.id, r.text, r.source, r.start_line, r.end_line, r.heading, r.ordinal, r.file_sha256)
                  for r in store.rows())


class FlakyEmbedder:
    """The real embedder, but `embed` can be made to fail or to wait for a signal."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self.inner, self.fail = inner, False
        self.entered, self.release = threading.Event(), threading.Event()
        self.release.set()

    id = property(lambda self: self.inner.id)
    max_tokens = property(lambda self: self.inner.max_tokens)

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.entered.set()
        self.release.wait(60)
        if self.fail:
            raise RuntimeError("simulated failure inside embed")
        return self.inner.embed(texts)


def flaky_rag(rag: Rag) -> FlakyEmbedder:
    flaky = FlakyEmbedder(rag.embedder)
    rag.__dict__["embedder"] = flaky
    return flaky


@pytest.fixture
def own_chroma(tmp_path: Path) -> Iterator[ChromaServer]:
    """A Chroma server this test may stop and start (the session's one stays up for the others)."""
    server = ChromaServer(tmp_path / "chroma-db")
    server.start()
    yield server
    server.stop()


# --- the store goes away ------------------------------------------------------------------------------------

def test_chroma_down_is_503_and_the_service_recovers_by_itself(make_rag, own_chroma: ChromaServer):
    rag = make_rag(chroma_url=own_chroma.url, collection="outage")
    write_small_notes(rag.settings.corpus_dir)
    rag.index()
    with served(rag) as api:
        before = api.post("/v1/search", json={"query": "owls at night", "k": 2}).json()["results"]
        assert before and before[0]["source"] == "birds.md"

        own_chroma.stop()
        for _ in range(2):  # the second request goes through the reconnect path: still a clean 503
            down = api.post("/v1/search", json={"query": "owls at night", "k": 2})
            assert down.status_code == 503
            assert "unreachable" in down.json()["detail"] and "RAG_CHROMA_URL" in down.json()["detail"]
        assert api.get("/health").status_code == 503
        assert api.post("/v1/ask", json={"question": "what do owls do?"}).status_code == 503
        with pytest.raises(StoreUnavailable, match="RAG_CHROMA_URL"):
            rag.search("owls at night", 2)

        own_chroma.start()  # same port, same folder; the app is not restarted
        again = api.post("/v1/search", json={"query": "owls at night", "k": 2})
        assert again.status_code == 200 and again.json()["results"] == before
        assert api.get("/health").json()["chunks"] == rag.store.count() > 0


def test_a_hung_chroma_times_out_instead_of_hanging_the_api(make_rag, own_chroma: ChromaServer):
    rag = make_rag(chroma_url=own_chroma.url, collection="hung")
    s = rag.settings
    rag.__dict__["store"] = ChromaStore(s.data_dir, s.collection, s.chroma_url, timeout=2.0)
    write_small_notes(s.corpus_dir)
    rag.index()
    expected = [p.id for p in rag.search("acorns", 2)]

    own_chroma.pause()  # accepts connections, never answers
    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        rag.search("acorns", 2, mode="dense")
    assert time.monotonic() - started < 10
    own_chroma.resume()
    assert [p.id for p in rag.search("acorns", 2)] == expected


def test_a_rebuild_by_another_process_is_seen_not_mistaken_for_an_outage(make_rag, embedder,
                                                                         chroma_server: ChromaServer,
                                                                         collection_name):
    writer = make_rag(chroma_url=chroma_server.url, collection=collection_name)
    reader = Rag(writer.settings, embedder=embedder)
    write_small_notes(writer.settings.corpus_dir)
    writer.index()
    assert reader.search("acorns", 1)[0].source == "trees.md"  # caches the collection handle and generation
    (writer.settings.corpus_dir / "trees.md").write_text("# Trees\n\n## Birches\n\nBirches have white bark.\n")
    writer.index(rebuild=True)  # drops and re-creates the collection under the reader's feet
    # Within the TTL the reader still holds the dropped collection's handle: a query is retried, not a 503.
    assert reader.search("white bark", 1, mode="dense")[0].source == "trees.md"
    time.sleep(GENERATION_TTL + 0.2)  # then the generation, which kept counting across the drop, says "changed"
    assert reader.search("white bark", 1, mode="lexical")[0].text.endswith("Birches have white bark.")
    assert reader.search("acorns", 3, mode="lexical") == []


# --- index runs that die, fail or collide -------------------------------------------------------------------

def stored_count(data_dir: Path) -> int:
    """Rows in the embedded store, read from its SQLite file read-only (a second Chroma client could interfere)."""
    db = data_dir / "chroma" / "chroma.sqlite3"
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.2) as conn:
            return int(conn.execute("SELECT count(*) FROM embeddings").fetchone()[0])
    except sqlite3.OperationalError:  # not created yet, or locked for a moment by the writer
        return 0


def write_many_small_notes(corpus: Path) -> None:
    for n in range(20):
        (corpus / f"note{n:02}.md").write_text(synthetic_note(n))


def write_one_large_note(corpus: Path) -> None:
    """The first note, twice over under two titles: hundreds of chunks, written in many batches."""
    text = REAL_NOTE.read_text(encoding="utf-8")
    (corpus / "big.md").write_text(f"# Part one\n\n{text}\n\n# Part two\n\n{text}", encoding="utf-8")


@pytest.mark.parametrize("write_notes", [write_many_small_notes, write_one_large_note], ids=["small", "large"])
def test_kill_9_mid_index_then_a_rerun_equals_a_clean_rebuild(tmp_path, embedder, write_notes):
    corpus, data = tmp_path / "corpus", tmp_path / "data"
    corpus.mkdir()
    write_notes(corpus)
    cache = getattr(embedder, "_cache_dir", None)  # the session's exported ONNX model: skip a second export
    if cache and Path(cache).is_dir():
        shutil.copytree(cache, data / "onnx")
    env = {**os.environ, "RAG_CORPUS_DIR": str(corpus), "RAG_DATA_DIR": str(data)}
    env.pop("RAG_CHROMA_URL", None)

    proc = subprocess.Popen([RAG_BIN, "index"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while (written := stored_count(data)) == 0:
        assert proc.poll() is None, "the index run ended before anything was written"
        assert time.monotonic() < deadline, "nothing was written within 180 s"
        time.sleep(0.1)
    proc.kill()  # SIGKILL: no cleanup, no finally blocks
    assert proc.wait() == -9

    def cli_json(*args: str) -> dict:  # another process: this one's Chroma client would cache what it read
        out = subprocess.run([RAG_BIN, *args, "--json"], env=env, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    half_written = {s["source"] for s in cli_json("sources")["sources"] if s["sha256"].startswith("pending:")}
    if write_notes is write_one_large_note:
        assert half_written == {"big.md"}
    seen = {r["source"] for q in ("kernel margin gradient", "what is encapsulation")
            for r in cli_json("search", q, "-k", "10")["results"]}
    assert not seen & half_written  # no search takes part of a note for the note

    rerun = subprocess.run([RAG_BIN, "index", "--json"], env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    report = json.loads(rerun.stdout)
    assert report["embedded"] > 0 and not [f for f in report["files"] if f["status"] == "failed"]
    assert re.search(r"^embedded (\d+)/\1$", rerun.stderr, re.M)  # stderr no terminal: plain progress lines

    clean = Rag(load_settings(corpus_dir=corpus, data_dir=tmp_path / "clean"), embedder=embedder)
    clean.index(rebuild=True)
    recovered = Rag(load_settings(corpus_dir=corpus, data_dir=data), embedder=embedder)
    assert 0 < written < clean.store.count()  # the kill really landed mid-run
    assert snapshot(recovered.store) == snapshot(clean.store)
    for query in ("kernel margin gradient", "note 19 topic 11", "entropy loss batch", "pixel token graph"):
        # The vector index came through whole too: dense search agrees with the clean rebuild.
        assert [p.id for p in recovered.search(query, 5, mode="dense")] == \
            [p.id for p in clean.search(query, 5, mode="dense")]


def test_a_failed_reindex_keeps_serving_the_previous_index(make_rag):
    rag = make_rag()
    write_small_notes(rag.settings.corpus_dir)
    rag.index()
    count, before = rag.store.count(), [p.id for p in rag.search("penguins", 3)]
    flaky = flaky_rag(rag)
    flaky.fail = True
    (rag.settings.corpus_dir / "birds.md").write_text("# Birds\n\n## Penguins\n\nPenguins now live on the moon.\n")

    with served(rag) as api:
        out = api.post("/v1/index", json={})
        assert out.status_code == 200
        failed = {f["source"]: f["reason"] for f in out.json()["files"] if f["status"] == "failed"}
        assert "simulated failure" in failed["birds.md"] and "rag index" in failed["birds.md"]
        assert rag.store.count() == count
        found = api.post("/v1/search", json={"query": "penguins", "k": 3}).json()["results"]
        assert [p["id"] for p in found] == before and "southern hemisphere" in found[0]["text"]

        flaky.fail = False  # the next run converges to the edited note
        assert api.post("/v1/index", json={}).json()["updated"] == 1
        assert "moon" in api.post("/v1/search", json={"query": "penguins", "k": 1}).json()["results"][0]["text"]


def test_two_index_runs_at_once_one_runs_the_others_wait_then_get_409(make_rag):
    rag = make_rag()
    write_small_notes(rag.settings.corpus_dir)
    flaky = flaky_rag(rag)
    flaky.release.clear()  # the first run stops inside embed until released
    env = {**os.environ, "RAG_CORPUS_DIR": str(rag.settings.corpus_dir), "RAG_DATA_DIR": str(rag.settings.data_dir)}
    with served(rag, write_wait=0.3) as api:  # writes wait 0.3 s for the run in progress instead of 30 s
        results: list[httpx.Response] = []
        first = threading.Thread(target=lambda: results.append(api.post("/v1/index", json={})))
        first.start()
        assert flaky.entered.wait(60)

        second = api.post("/v1/index", json={})
        assert second.status_code == 409 and "already in progress (waited 0.3 s)" in second.json()["detail"]
        assert int(second.headers["retry-after"]) > 0
        upload = api.post("/v1/sources", files={"file": ("fish.md", b"# Fish\n\nSalmon swim upstream.\n")})
        assert upload.status_code == 409 and int(upload.headers["retry-after"]) > 0
        assert not (rag.settings.corpus_dir / "fish.md").exists()  # the refused upload is never saved
        assert api.delete("/v1/sources/trees.md").status_code == 409
        assert (rag.settings.corpus_dir / "trees.md").exists()
        cli = subprocess.run([RAG_BIN, "index"], env=env, capture_output=True, text=True, timeout=120)
        assert cli.returncode == 1 and "already in progress" in cli.stderr  # across processes too

        flaky.release.set()
        first.join(60)
        assert results[0].status_code == 200 and results[0].json()["added"] == 2
    assert rag.search("acorns", 1)[0].source == "trees.md"


# --- bad input (what tests/serve/test_api.py does not already cover) ----------------------------------------------

KEY = "faults-key-0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}
BIG = "why " * 25_000  # 100 KB


class Served:
    """A module's API over small notes with a key, and what must survive every bad request."""

    def __init__(self, rag: Rag, client: httpx.Client) -> None:
        self.rag, self.client = rag, client
        self.count = rag.store.count()

    def assert_intact(self) -> None:
        """Nothing indexed was lost: the same chunk count and a known search result."""
        assert self.rag.store.count() == self.count
        assert sorted(s.source for s in self.rag.sources()) == ["birds.md", "trees.md"]
        top = self.client.post("/v1/search", json={"query": "owls hunt at night", "k": 1}).json()["results"][0]
        assert top["source"] == "birds.md" and "Owls hunt at night" in top["text"]


@pytest.fixture(scope="module")
def served_notes(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[Served]:  # type: ignore[no-untyped-def]
    rag = Rag(make_settings(tmp_path_factory.mktemp("faults-api"), api_key=KEY), embedder=embedder)
    write_small_notes(rag.settings.corpus_dir)
    rag.index()
    with served(rag) as client:
        yield Served(rag, client)


def chat(content: str) -> dict[str, object]:
    return {"model": "notes-rag", "messages": [{"role": "user", "content": content}]}


@pytest.mark.parametrize(("path", "body", "status"), [
    ("/v1/search", {"query": BIG}, 413),
    ("/v1/ask", {"question": BIG}, 413),
    ("/v1/chat/completions", chat(BIG), 413),
    ("/v1/ask", {"question": " \n\t "}, 422),
    ("/v1/chat/completions", chat("   "), 422),
    ("/v1/ask", {"question": "owls", "k": 0}, 422),
    ("/v1/ask", {"question": "owls", "k": -1}, 422),
    ("/v1/ask", {"question": "owls", "k": 10**9}, 422),
    ("/v1/search", {"query": "owls", "k": 10**30}, 422),  # past any machine integer
    ("/v1/search", {"query": "owls", "k": None}, 422),
    ("/v1/search", {"query": "owls", "sources": ["../trees.md"]}, 404),
], ids=lambda v: v if isinstance(v, str | int) else None)
def test_bad_queries_get_a_clear_error(served_notes: Served, path: str, body: dict[str, object], status: int):
    response = served_notes.client.post(path, json=body)
    assert response.status_code == status, response.text
    detail = error_message(response)
    assert isinstance(detail, str) and len(detail) < 1000  # says what to do, does not echo 100 KB back
    if status == 413:
        assert "limit" in detail
    served_notes.assert_intact()


def error_message(response: httpx.Response) -> str:
    """The message of an error: `detail`, or OpenAI's `error.message` on the OpenAI routes."""
    body = response.json()
    if response.request.url.path.startswith("/v1/chat/"):
        assert set(body["error"]) == {"message", "type", "param", "code"}
        return str(body["error"]["message"])
    return str(body["detail"])


@pytest.mark.parametrize("path", ["/v1/search", "/v1/ask", "/v1/chat/completions", "/v1/index"])
@pytest.mark.parametrize("body", [b"not json", b"{", b"[1, 2]", b'"owls"', bytes(range(256)), b"\xff\xfe{}"],
                         ids=["text", "truncated", "array", "string", "binary", "bad-utf8"])
def test_non_json_bodies_are_422(served_notes: Served, path: str, body: bytes):
    response = served_notes.client.post(path, content=body, headers={**AUTH, "Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert error_message(response)
    served_notes.assert_intact()


@pytest.mark.parametrize(("name", "status"), [
    ("%2e%2e%2ftrees.md", 422),  # "../trees.md", percent-encoded by the client
    ("x" * 297 + ".md", 422),  # 300 characters
    ("a\tb.md", 422),
])
def test_hostile_upload_names_are_refused(served_notes: Served, name: str, status: int):
    response = served_notes.client.post("/v1/sources", files={"file": (name, b"# Hi\n\nhello\n")}, headers=AUTH)
    assert response.status_code == status, response.text
    assert sorted(p.name for p in served_notes.rag.settings.corpus_dir.iterdir()) == ["birds.md", "trees.md"]
    served_notes.assert_intact()


@pytest.mark.parametrize(("source", "status"), [
    ("birds%00.md", {422}),
    ("x" * 300 + ".md", {404, 422}),
    ("..%2F..%2Fetc%2Fpasswd", {422}),
    ("%2Fetc%2Fpasswd.md", {422}),
])
def test_hostile_delete_names_are_refused(served_notes: Served, source: str, status: set[int]):
    response = served_notes.client.delete(f"/v1/sources/{source}", headers=AUTH)
    assert response.status_code in status, response.text
    served_notes.assert_intact()


def test_a_note_turned_binary_or_not_utf8_keeps_its_indexed_version(served_notes: Served):
    path = served_notes.rag.settings.corpus_dir / "trees.md"
    good = path.read_bytes()
    try:
        for bad, why in [(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
                         ("Eichen \u00e4".encode("latin-1"), "UTF-8")]:
            path.write_bytes(bad)
            report = served_notes.client.post("/v1/index", json={}, headers=AUTH).json()
            (trees,) = [f for f in report["files"] if f["source"] == "trees.md"]
            assert trees["status"] == "skipped" and why in trees["reason"] and "kept" in trees["reason"]
            assert served_notes.client.post("/v1/search", json={"query": "acorns", "k": 1}).json()[
                "results"][0]["source"] == "trees.md"
            served_notes.assert_intact()
    finally:
        path.write_bytes(good)
    assert served_notes.client.post("/v1/index", json={}, headers=AUTH).json()["unchanged"] == 2


def test_a_missing_corpus_folder_is_404_on_every_write_and_the_index_is_kept(served_notes: Served):
    corpus = served_notes.rag.settings.corpus_dir
    corpus.rename(corpus.with_name("corpus-away"))  # e.g. an unmounted volume
    try:
        writes = [
            served_notes.client.post("/v1/index", json={}, headers=AUTH),
            served_notes.client.post("/v1/index", json={"paths": ["birds.md"]}, headers=AUTH),
            served_notes.client.post("/v1/sources", files={"file": ("fish.md", b"# Fish\n\nSalmon.\n")},
                                     headers=AUTH),
            served_notes.client.delete("/v1/sources/birds.md", headers=AUTH),
        ]
        for response in writes:
            assert response.status_code == 404, response.text
            assert "does not exist" in response.json()["detail"] and "RAG_CORPUS_DIR" in response.json()["detail"]
        assert not corpus.exists()  # the upload did not make the folder
        served_notes.assert_intact()
    finally:
        corpus.with_name("corpus-away").rename(corpus)


def test_cli_bad_paths_are_one_line_errors(served_notes: Served, tmp_path: Path):
    settings = served_notes.rag.settings
    env = {**os.environ, "RAG_CORPUS_DIR": str(settings.corpus_dir), "RAG_DATA_DIR": str(tmp_path / "data")}
    outside = tmp_path / "outside.md"
    outside.write_text("# Outside\n\nNot in the corpus.\n")
    for args, message in [
        (["index", "--corpus", str(tmp_path / "nope")], "does not exist"),
        (["index", str(settings.corpus_dir / ".." / ".." / outside.name)], "does not exist"),
        (["index", str(outside)], "outside the corpus folder"),
        (["search", "  "], "empty"),
        (["search", "owls", "-k", "0"], "k must be between"),
    ]:
        out = subprocess.run([RAG_BIN, *args], env=env, capture_output=True, text=True, timeout=120)
        assert out.returncode == 1 and message in out.stderr, (args, out.stderr)
        assert "Traceback" not in out.stderr


class CheapVectors:
    """The real tokenizer limits with hash-seeded vectors: the 1 MB line tests chunking and storage, not
    the model, and real embedding of its ~600 chunks would add a minute."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self.inner = inner

    id = property(lambda self: self.inner.id)
    max_tokens = property(lambda self: self.inner.max_tokens)

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        rows = [np.random.default_rng(abs(hash(t)) % 2**32).standard_normal(384) for t in texts]
        vectors = np.asarray(rows, dtype=np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_a_one_megabyte_line_indexes_in_chunks_within_the_limits(make_rag, embedder):
    rag = make_rag()
    rag.__dict__["embedder"] = CheapVectors(embedder)
    write_small_notes(rag.settings.corpus_dir)
    words = [WORDS[(i * 7919) % len(WORDS)] + str(i % 97) for i in range(200_000)]
    line = " ".join(words)[:1_000_000]
    (rag.settings.corpus_dir / "long.md").write_text(f"# Long\n\n{line}\n")
    report = rag.index()
    assert {f.source: f.status for f in report.files} == {"birds.md": "added", "trees.md": "added",
                                                          "long.md": "added"}
    rows = [r for r in rag.store.rows(source="long.md") if r.text != "# Long"]  # the title may be a chunk
    assert len(rows) > 100
    assert all(r.start_line == r.end_line == 3 and r.text in line for r in rows)
    assert all(embedder.count_tokens(r.text) <= embedder.max_tokens for r in rows)
    assert sum(len(r.text) for r in rows) >= len(line) * 0.99  # the slices cover the line
    probe = " ".join(words[100_000:100_006])
    assert rag.search(probe, 1, mode="lexical")[0].source == "long.md"
    assert rag.search("owls hunt at night", 1, mode="lexical")[0].source == "birds.md"
