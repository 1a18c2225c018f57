"""The REST API end to end: uvicorn on 127.0.0.1 over the real model and notes, the openai client, schemathesis."""

from __future__ import annotations

import importlib.util
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from openai import OpenAI
from schemathesis import GenerationMode
from schemathesis.checks import (
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from rag.app import Rag
from rag.embed.base import Embedder
from rag.serve.app import create_app
from rag.serve.server import is_loopback, listen_host
from rag.settings import load_settings
from tests.conftest import REAL_NOTE, free_port, make_settings
from tests.llm_standin import running

KEY = "test-key-0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}
PASSAGE_KEYS = {"id", "source", "start_line", "end_line", "heading", "text", "score", "scores", "location"}
QUOKKA = """# Quokka facts

The quokka is a small marsupial that lives on Rottnest Island near Perth.
Quokkas are nocturnal herbivores that eat grasses, leaves and stems.
"""


def shared_rag(rag: Rag, **changes: Any) -> Rag:
    """A container over the same index and model as `rag`, with other settings (reads only)."""
    twin = Rag(rag.settings.model_copy(update=changes), embedder=rag.embedder)
    twin.__dict__["store"] = rag.store
    twin.__dict__["retriever"] = rag.retriever
    return twin


@pytest.fixture(scope="module")
def read_rag(corpus_rag: Rag) -> Rag:
    """The real notes behind an API key: write endpoints are only ever called without it here."""
    return shared_rag(corpus_rag, api_key=KEY)


@pytest.fixture(scope="module")
def base(read_rag: Rag) -> Iterator[str]:
    with running(create_app(read_rag, with_ui=False)) as url:
        yield url


@pytest.fixture(scope="module")
def ui_base(read_rag: Rag) -> Iterator[str]:
    """The same, with the web UI mounted at / as `rag serve` serves it."""
    with running(create_app(read_rag)) as url:
        yield url


@pytest.fixture(scope="module")
def client(base: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base, timeout=60) as c:
        yield c


@pytest.fixture(scope="module")
def write_base(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[str]:
    """A server over its own copy of part of the notes, for uploads, deletes and index runs."""
    settings = make_settings(tmp_path_factory.mktemp("api-write"), api_key=KEY)
    lines = REAL_NOTE.read_text(encoding="utf-8").split("\n")[:600]
    (settings.corpus_dir / "oop.md").write_text("\n".join(lines), encoding="utf-8")
    rag = Rag(settings, embedder=embedder)
    rag.index()
    rag.warm_up()
    with running(create_app(rag, with_ui=False)) as url:
        yield url


@pytest.fixture(scope="module")
def writer(write_base: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=write_base, timeout=120) as c:
        yield c


# --- reads -------------------------------------------------------------------------------------


def test_health(client: httpx.Client) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["chunks"] > 100 and body["sources"] == 1 and body["version"]


def test_search_returns_passages_as_the_interface_says(client: httpx.Client) -> None:
    response = client.post("/v1/search", json={"query": "SVM multi-class one-vs-rest", "k": 3})
    assert response.status_code == 200
    body = response.json()
    assert body["query"] == "SVM multi-class one-vs-rest" and len(body["results"]) == 3
    top = body["results"][0]
    assert set(top) == PASSAGE_KEYS and top["source"] == "interview-notes.md"
    assert top["start_line"] <= 1558 <= top["end_line"]
    filtered = client.post("/v1/search", json={"query": "SVM", "k": 2, "sources": ["interview-notes.md"]})
    assert filtered.status_code == 200 and len(filtered.json()["results"]) == 2


@pytest.mark.parametrize(("body", "status"), [
    ({"query": ""}, 422),
    ({"query": "   "}, 422),
    ({"query": "svm", "k": 0}, 422),
    ({"query": "svm", "k": -1}, 422),
    ({"query": "svm", "k": 10**9}, 422),
    ({"query": "svm", "k": "five"}, 422),
    ({"query": "svm", "k": True}, 422),  # a JSON boolean is no count of passages
    ({"query": "svm", "k": 2.0}, 422),  # nor is a JSON number written with a fraction
    ({"query": "svm", "k": "5"}, 422),
    ({"k": 5}, 422),
    ({"query": "svm " * 2000}, 413),
    ({"query": "svm", "sources": ["no-such-note.md"]}, 404),
])
def test_search_errors(client: httpx.Client, body: dict[str, Any], status: int) -> None:
    response = client.post("/v1/search", json=body)
    assert response.status_code == status
    assert isinstance(response.json()["detail"], str) and response.json()["detail"]


def test_non_json_body_is_422(client: httpx.Client) -> None:
    response = client.post("/v1/search", content=b"query=svm", headers={"Content-Type": "application/json"})
    assert response.status_code == 422 and "JSON" in response.json()["detail"]


def test_a_json_body_sent_as_a_form_says_which_header_is_missing(client: httpx.Client) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}  # what `curl -d` sends by default
    response = client.post("/v1/search", content=b'{"query": "svm"}', headers=form)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "Content-Type: application/json" in detail and "x-www-form-urlencoded" in detail


def test_ask_cites_the_lines(client: httpx.Client) -> None:
    question = "SVMs are binary classifiers -- so how do you use them for multi-class problems?"
    body = client.post("/v1/ask", json={"question": question}).json()
    assert body["answered"] and body["mode"] == "extractive" and body["search_query"] == question
    first = body["citations"][0]
    cited = {"n", "cited_start_line", "cited_end_line", "quoted", "cited_location"}
    assert set(first) == PASSAGE_KEYS | cited and first["n"] == 1
    assert 1555 <= first["cited_start_line"] <= first["cited_end_line"] <= 1559
    spans = [(s["start_line"], s["end_line"]) for s in first["quoted"]]
    assert spans[0][0] == first["cited_start_line"] and spans[-1][1] == first["cited_end_line"]
    assert all(a <= b < c for (a, b), (c, _) in zip(spans, spans[1:]))
    assert first["location"] is None and first["cited_location"] is None  # a markdown note has only lines
    assert "[1]" in body["answer"] and "One-vs-Rest" in body["answer"]


def test_ask_resolves_a_follow_up(client: httpx.Client) -> None:
    history = [{"role": "user", "content": "How do SVMs handle multi-class problems?"},
               {"role": "assistant", "content": "One-vs-One and One-vs-Rest [1]"}]
    body = client.post("/v1/ask", json={"question": "and its advantages?", "history": history}).json()
    assert body["search_query"].startswith("How do SVMs handle multi-class problems?")
    assert body["answered"] and body["citations"]


def test_ask_abstains_when_the_notes_do_not_cover_it(client: httpx.Client) -> None:
    body = client.post("/v1/ask", json={"question": "What is the formula for the KL divergence?"}).json()
    assert body["answered"] is False and body["citations"] == [] and "don't cover" in body["answer"]


@pytest.mark.parametrize("body", [
    {"question": ""},
    {"question": "svm", "k": 51},
    {"question": "svm", "history": [{"role": "system", "content": "x"}]},
    {"question": "svm", "mode": "poetry"},
])
def test_ask_errors(client: httpx.Client, body: dict[str, Any]) -> None:
    assert client.post("/v1/ask", json=body).status_code == 422


def test_sources(client: httpx.Client) -> None:
    (only,) = client.get("/v1/sources").json()["sources"]
    assert only["source"] == "interview-notes.md" and only["chunks"] > 100 and len(only["sha256"]) == 64


def test_openai_client_gets_a_cited_answer(base: str) -> None:
    llm = OpenAI(base_url=f"{base}/v1", api_key="x", max_retries=0)
    messages = [{"role": "user", "content": "How do SVMs handle multi-class classification?"}]
    reply = llm.chat.completions.create(model="notes-rag", messages=messages)  # type: ignore[arg-type]
    content = reply.choices[0].message.content or ""
    assert reply.object == "chat.completion" and reply.choices[0].finish_reason == "stop"
    assert "[1]" in content and "Sources:\n[1] interview-notes.md:" in content
    stream = llm.chat.completions.create(model="notes-rag", messages=messages, stream=True)  # type: ignore[arg-type]
    chunks = list(stream)
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == content
    assert [m.id for m in llm.models.list()] == ["notes-rag"]


def test_chat_without_a_user_message_is_422(client: httpx.Client) -> None:
    response = client.post("/v1/chat/completions", json={"messages": [{"role": "system", "content": "hi"}]})
    assert response.status_code == 422
    error = response.json()["error"]  # OpenAI's shape on OpenAI's routes
    assert error["type"] == "invalid_request_error" and "no user message" in error["message"]


def test_the_openai_client_sees_the_servers_messages_and_can_retrieve_the_model(base: str) -> None:
    llm = OpenAI(base_url=f"{base}/v1", api_key="x", max_retries=0)
    assert llm.models.retrieve("notes-rag").id == "notes-rag"
    with pytest.raises(openai.UnprocessableEntityError) as empty:
        llm.chat.completions.create(model="notes-rag", messages=[])
    assert "messages" in empty.value.message and empty.value.param == "messages"
    # parameters this server has no use for are ignored, as OpenAI-compatible servers do
    reply = llm.chat.completions.create(
        model="notes-rag", temperature=0.2, top_p=0.9, max_tokens=50, seed=1, user="me",
        messages=[{"role": "user", "content": "what is encapsulation?"}], extra_body={"unknown_knob": True})
    assert "[1]" in (reply.choices[0].message.content or "")


@pytest.mark.parametrize("name", ["gpt-4", "gpt-4o", "openai/gpt-4o-mini"])
def test_any_model_name_is_an_alias_chat_and_models_agree(base: str, name: str) -> None:
    llm = OpenAI(base_url=f"{base}/v1", api_key="x", max_retries=0)
    reply = llm.chat.completions.create(model=name, messages=[{"role": "user", "content": "what is encapsulation?"}])
    assert reply.model == name and "[1]" in (reply.choices[0].message.content or "")
    model = httpx.get(f"{base}/v1/models/{name}").json()
    assert model["id"] == name and model["root"] == "notes-rag"  # an alias of the one model served
    assert [m["id"] for m in httpx.get(f"{base}/v1/models").json()["data"]] == ["notes-rag"]


@pytest.mark.parametrize("body", [{"k": True}, {"k": 2.0}, {"k": "5"}, {"k": 0}])
def test_chat_k_is_a_count_as_on_search(client: httpx.Client, body: dict[str, Any]) -> None:
    chat = {"messages": [{"role": "user", "content": "what is encapsulation?"}], **body}
    response = client.post("/v1/chat/completions", json=chat)
    assert response.status_code == 422 and response.json()["error"]["param"] == "k"


def test_the_schema_says_what_is_refused(client: httpx.Client) -> None:
    """Blank questions and answers, empty paths and absolute note names are refused by the schema itself."""
    schema = client.get("/openapi.json").json()
    props = {name: model.get("properties", {}) for name, model in schema["components"]["schemas"].items()}
    assert props["SearchRequest"]["query"]["pattern"] == props["AskRequest"]["question"]["pattern"] == r"\S"
    assert props["AnswerRequest"]["answer"]["pattern"] == r"\S"
    assert props["IndexRequest"]["paths"]["items"]["minLength"] == 1
    assert props["SearchRequest"]["k"]["type"] == props["ChatRequest"]["k"]["type"] == "integer"
    delete = schema["paths"]["/v1/sources/{source}"]["delete"]["parameters"][0]["schema"]
    assert delete["minLength"] == 1 and delete["pattern"].startswith("^[^/")
    blank = client.post("/v1/ask", json={"question": " \t"})
    assert blank.status_code == 422 and "question: is blank" in blank.json()["detail"]


def test_openai_routes_answer_404_and_405_in_openai_shape_and_the_rest_in_detail_shape(client: httpx.Client) -> None:
    assert client.post("/v1/models").status_code == 405 and "error" in client.post("/v1/models").json()
    assert client.get("/v1/chat/nothing").json()["error"]["type"] == "invalid_request_error"
    assert client.get("/v1/nothing").status_code == 404 and "detail" in client.get("/v1/nothing").json()


# --- writes: keys ------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {KEY}"}])
def test_writes_need_the_key(client: httpx.Client, headers: dict[str, str]) -> None:
    calls = [
        client.post("/v1/index", json={"rebuild": True}, headers=headers),
        client.post("/v1/sources", files={"file": ("x.md", b"# x\n\nhello")}, headers=headers),
        client.delete("/v1/sources/interview-notes.md", headers=headers),
    ]
    for response in calls:
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
        assert "RAG_API_KEY" in response.json()["detail"]
    assert [s["source"] for s in client.get("/v1/sources").json()["sources"]] == ["interview-notes.md"]


# --- writes: uploads, deletes, index runs ------------------------------------------------------


@pytest.mark.parametrize(("name", "data", "status"), [
    ("photo.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 422),
    ("latin1.md", "caf\u00e9 cr\u00e8me".encode("latin-1"), 422),
    ("empty.md", b"  \n", 422),
    ("../escape.md", b"# hi", 422),
    ("..\\escape.md", b"# hi", 422),
    ("sub/dir.md", b"# hi", 422),
    ("nul%00.md", b"# hi", 422),
    (".hidden.md", b"# hi", 422),
    ("notes.pdf", b"# hi", 422),
    ("x" * 260 + ".md", b"# hi", 422),
])
def test_bad_uploads_are_refused_before_saving(writer: httpx.Client, name: str, data: bytes, status: int) -> None:
    response = writer.post("/v1/sources", files={"file": (name, data)}, headers=AUTH)
    assert response.status_code == status, response.text
    assert [s["source"] for s in writer.get("/v1/sources").json()["sources"]] == ["oop.md"]


def test_nul_byte_in_a_raw_file_name_is_refused(writer: httpx.Client) -> None:
    body = (b'--B\r\nContent-Disposition: form-data; name="file"; filename="a\x00b.md"\r\n'
            b"Content-Type: text/markdown\r\n\r\n# hi\r\n--B--\r\n")
    response = writer.post("/v1/sources", content=body,
                           headers={**AUTH, "Content-Type": "multipart/form-data; boundary=B"})
    assert response.status_code == 422 and "control characters" in response.json()["detail"]


def test_a_50_mb_upload_is_413(writer: httpx.Client) -> None:
    response = writer.post("/v1/sources", files={"file": ("big.md", b"a" * 50_000_000)}, headers=AUTH)
    assert response.status_code == 413 and "limit" in response.json()["detail"]


def test_an_oversized_upload_without_a_length_is_413(writer: httpx.Client) -> None:
    def body() -> Iterator[bytes]:  # chunked: the size is only known once read
        yield b'--B\r\nContent-Disposition: form-data; name="file"; filename="big.md"\r\n\r\n'
        for _ in range(30):
            yield b"a" * 100_000
        yield b"\r\n--B--\r\n"

    response = writer.post("/v1/sources", content=body(),
                           headers={**AUTH, "Content-Type": "multipart/form-data; boundary=B"})
    assert response.status_code == 413


def test_upload_ask_and_delete_a_note(writer: httpx.Client) -> None:
    added = writer.post("/v1/sources", files={"file": ("quokka.md", QUOKKA.encode())}, headers=AUTH)
    assert added.status_code == 201, added.text
    summary = added.json()
    assert summary["added"] == 1 and summary["files"] == [
        {"source": "quokka.md", "status": "added", "reason": "", "chunks": 1, "embedded": 1}]
    answer = writer.post("/v1/ask", json={"question": "Where do quokkas live?"}).json()
    assert answer["answered"] and answer["citations"][0]["source"] == "quokka.md"
    cited = answer["citations"][0]
    assert cited["cited_start_line"] <= 3 <= cited["cited_end_line"] and "Rottnest Island" in answer["answer"]

    again = writer.post("/v1/sources", files={"file": ("quokka.md", b"# other")}, headers=AUTH)
    assert again.status_code == 409 and "overwrite=true" in again.json()["detail"]
    longer = (QUOKKA + "\nThey weigh 2.5 to 5 kg.\n").encode()
    replaced = writer.post("/v1/sources", params={"overwrite": "true"}, files={"file": ("quokka.md", longer)},
                           headers=AUTH)
    assert replaced.status_code == 201 and replaced.json()["updated"] == 1

    deleted = writer.delete("/v1/sources/quokka.md", headers=AUTH)
    assert deleted.status_code == 200 and deleted.json()["removed"] == 1
    assert Path(deleted.json()["trash"]).read_bytes() == longer  # moved to the data folder's trash, not gone
    assert [s["source"] for s in writer.get("/v1/sources").json()["sources"]] == ["oop.md"]
    assert writer.post("/v1/sources/quokka.md/restore").status_code == 401  # a write: the key is needed
    restored = writer.post("/v1/sources/quokka.md/restore", headers=AUTH)
    assert restored.status_code == 200 and restored.json()["added"] == 1, restored.text
    assert writer.post("/v1/ask", json={"question": "How much do quokkas weigh?"}).json()["answered"]
    assert writer.post("/v1/sources/quokka.md/restore", headers=AUTH).status_code == 404  # nothing left to restore
    assert writer.delete("/v1/sources/quokka.md", headers=AUTH).status_code == 200
    results = writer.post("/v1/search", json={"query": "quokka Rottnest Island", "k": 10}).json()["results"]
    assert all(r["source"] == "oop.md" for r in results)
    assert writer.post("/v1/search", json={"query": "quokka", "sources": ["quokka.md"]}).status_code == 404
    assert writer.delete("/v1/sources/quokka.md", headers=AUTH).status_code == 404


@pytest.mark.parametrize(("source", "status"), [
    ("..%2Foop.md", 422), ("%2e%2e%2Fcorpus%2Foop.md", 422), ("nothere.md", 404), ("oop.py", 404),
    ("x" * 300 + ".md", 422), ("%00.md", 422),
])
def test_delete_errors(writer: httpx.Client, source: str, status: int) -> None:
    assert writer.delete(f"/v1/sources/{source}", headers=AUTH).status_code == status


def test_uploads_are_written_as_the_user_writes_files(make_rag) -> None:  # type: ignore[no-untyped-def]
    """0666 less the umask for a new note (not mkstemp's 0600); a replaced note keeps its mode."""
    rag = make_rag(api_key=KEY)
    umask = os.umask(0o022)
    os.umask(umask)
    with running(create_app(rag, with_ui=False)) as url, httpx.Client(base_url=url, timeout=120) as api:
        added = api.post("/v1/sources", files={"file": ("quokka.md", QUOKKA.encode())}, headers=AUTH)
        assert added.status_code == 201, added.text
        note = rag.settings.corpus_dir / "quokka.md"
        assert note.stat().st_mode & 0o777 == 0o666 & ~umask
        note.chmod(0o640)
        replaced = api.post("/v1/sources", params={"overwrite": "true"}, headers=AUTH,
                            files={"file": ("quokka.md", (QUOKKA + "\nThey weigh 2.5 to 5 kg.\n").encode())})
        assert replaced.status_code == 201 and note.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in rag.settings.corpus_dir.iterdir()] == ["quokka.md"]  # no temporary file left


def test_index_run(writer: httpx.Client) -> None:
    summary = writer.post("/v1/index", json={}, headers=AUTH).json()
    assert summary["unchanged"] == 1 and summary["embedded"] == 0 and summary["chunks"] > 10
    assert writer.post("/v1/index", headers=AUTH).status_code == 200  # the body is optional
    status = writer.get("/v1/index/status").json()
    assert status["running"] is False and status["error"] is None and status["finished_at"]
    assert status["last"]["unchanged"] == 1 and status["last"]["chunks"] == summary["chunks"]
    for loose in (0, "false", "yes"):  # JSON has booleans: anything else is a mistake, not "false"
        refused = writer.post("/v1/index", json={"rebuild": loose}, headers=AUTH)
        assert refused.status_code == 422 and "rebuild" in refused.json()["detail"]


def test_index_status_shows_the_run_in_progress(writer: httpx.Client, write_base: str) -> None:
    with ThreadPoolExecutor(1) as pool:
        run = pool.submit(httpx.post, f"{write_base}/v1/index", json={"rebuild": True}, headers=AUTH, timeout=120)
        seen = []
        for _ in range(2000):  # bounded: at most some 20 s
            status = writer.get("/v1/index/status").json()
            seen.append(status)
            if not status["running"] and run.done():
                break
            time.sleep(0.01)
        assert run.result().status_code == 200
    running = [s for s in seen if s["running"]]
    assert running and running[0]["started_at"] and any(s["total"] > 0 and s["done"] <= s["total"] for s in running)
    assert not seen[-1]["running"] and seen[-1]["last"]["added"] >= 1


def test_concurrent_index_runs_wait_for_each_other(write_base: str) -> None:
    """Each waits (up to 30 s) for the run in progress, then runs: none is refused, none overlaps.

    (Past the wait a write gets 409 with Retry-After: tests/test_faults.py.)"""
    start = threading.Barrier(3)

    def rebuild(_: int) -> httpx.Response:
        start.wait()
        return httpx.post(f"{write_base}/v1/index", json={"rebuild": True}, headers=AUTH, timeout=120)

    with ThreadPoolExecutor(3) as pool:
        responses = list(pool.map(rebuild, range(3)))
    assert [r.status_code for r in responses] == [200, 200, 200], [r.text for r in responses]
    assert len({r.json()["chunks"] for r in responses}) == 1


# --- failures ----------------------------------------------------------------------------------


def test_unexpected_errors_are_500_without_internals(read_rag: Rag) -> None:
    class Broken(Rag):
        def search(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("/secret/path exploded")

    broken = Broken(read_rag.settings, embedder=read_rag.embedder)
    logging.getLogger("rag.serve.errors").disabled = True  # the expected error would clutter the output
    try:
        with running(create_app(broken, with_ui=False)) as url:
            response = httpx.post(f"{url}/v1/search", json={"query": "x"})
    finally:
        logging.getLogger("rag.serve.errors").disabled = False
    assert response.status_code == 500
    assert response.json()["detail"].startswith("internal error: RuntimeError") and "secret" not in response.text


def test_unreachable_store_is_503(tmp_path: Path, embedder: Embedder) -> None:
    rag = Rag(make_settings(tmp_path, chroma_url=f"http://127.0.0.1:{free_port()}"), embedder=embedder)
    with running(create_app(rag, with_ui=False)) as url:
        health = httpx.get(f"{url}/health")
        search = httpx.post(f"{url}/v1/search", json={"query": "svm"})
    assert health.status_code == 503 and search.status_code == 503
    assert "Chroma" in search.json()["detail"]


# --- the schema, fuzzed ------------------------------------------------------------------------


CONFORMANCE = [not_a_server_error, status_code_conformance, response_schema_conformance, negative_data_rejection]


@pytest.fixture(scope="module")
def scratch_base(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[str]:
    """A server over a throwaway one-note corpus, UI mounted, that fuzzed writes may change at will."""
    settings = make_settings(tmp_path_factory.mktemp("api-fuzz"), api_key=KEY)
    (settings.corpus_dir / "quokka.md").write_text(QUOKKA, encoding="utf-8")
    rag = Rag(settings, embedder=embedder)
    rag.index()
    with running(create_app(rag)) as url:
        yield url


@pytest.mark.parametrize(("server", "headers"), [("ui_base", {}), ("scratch_base", AUTH)],
                         ids=["real-notes-writes-refused", "scratch-notes-writes-with-the-key"])
def test_every_response_to_what_the_schema_allows_is_one_it_declares(
    request: pytest.FixtureRequest, server: str, headers: dict[str, str]
) -> None:
    """No 5xx, and every status and body is one the schema declares for that operation (the UI mounted too).

    schemathesis.pytest.from_fixture does not work with pytest 9, so each operation's strategy is run with
    hypothesis directly. Over the real notes no key is sent (the writes are refused: fuzzing never changes
    them); over a scratch corpus the writes get the key and run.
    """
    ui_base: str = request.getfixturevalue(server)
    schema = schemathesis.openapi.from_url(f"{ui_base}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 9
    statuses: dict[str, set[int]] = {}

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(mode))
            def conforms(case: Any) -> None:
                response = case.call_and_validate(base_url=ui_base, headers=headers, checks=CONFORMANCE, timeout=60)
                statuses.setdefault(case.operation.label, set()).add(response.status_code)

            try:
                conforms()
            except Unsatisfiable:  # nothing to get wrong in a request without parameters (GET /health)
                assert mode is GenerationMode.NEGATIVE
    writes = ["POST /v1/sources", "DELETE /v1/sources/{source}", "POST /v1/sources/{source}/restore",
              "POST /v1/index"]
    for write in writes:  # without the key no write succeeds; with it, they get past the key check
        assert statuses[write] - {401} if headers else not any(200 <= s < 300 for s in statuses[write]), statuses


@pytest.mark.parametrize("body", [b"\xff\xfe{", b'{"query": "caf\xe9"}'])
def test_a_body_that_is_not_utf8_is_422_not_400(client: httpx.Client, body: bytes) -> None:
    response = client.post("/v1/search", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422 and "could not be read" in response.json()["detail"]
    chat = client.post("/v1/chat/completions", content=body, headers={"content-type": "application/json"})
    assert chat.status_code == 422 and chat.json()["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize(("method", "path", "allow", "shape"), [
    ("PUT", "/v1/search", "POST", "detail"),
    ("GET", "/v1/ask", "POST", "detail"),
    ("PATCH", "/v1/sources", "GET, HEAD, POST", "detail"),
    ("POST", "/v1/sources/interview-notes.md", "DELETE", "detail"),
    ("DELETE", "/health", "GET, HEAD", "detail"),
    ("POST", "/v1/models", "GET, HEAD", "error"),
    ("GET", "/v1/chat/completions", "POST", "error"),
    ("QUERY", "/health", "GET, HEAD", "detail"),  # a method Starlette does not know
    ("QUERY", "/v1/chat/completions", "POST", "error"),
])
def test_a_wrong_method_is_405_with_the_ui_mounted(ui_base: str, method: str, path: str, allow: str,
                                                    shape: str) -> None:
    response = httpx.request(method, ui_base + path, timeout=30)
    assert response.status_code == 405 and response.headers["allow"] == allow and shape in response.json()


def test_head_is_the_get_without_its_body(ui_base: str) -> None:
    head, get = httpx.head(f"{ui_base}/v1/sources", timeout=30), httpx.get(f"{ui_base}/v1/sources", timeout=30)
    assert head.status_code == get.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"]


def test_an_unknown_v1_path_is_404_in_the_routes_shape_with_the_ui_mounted(ui_base: str) -> None:
    assert httpx.get(f"{ui_base}/v1/nothing", timeout=30).json() == {"detail": "Not Found"}
    assert httpx.request("QUERY", f"{ui_base}/v1/nothing", timeout=30).status_code == 404
    assert httpx.get(f"{ui_base}/v1/chat/nothing", timeout=30).status_code == 404
    assert httpx.get(f"{ui_base}/v1/chat/nothing", timeout=30).json()["error"]["type"] == "invalid_request_error"
    assert httpx.get(f"{ui_base}/", timeout=30).status_code == 200  # the UI still has the rest


# --- serving -----------------------------------------------------------------------------------


def test_without_a_key_only_loopback_is_served(caplog: pytest.LogCaptureFixture) -> None:
    assert listen_host(load_settings(host="127.0.0.1")) == "127.0.0.1"
    assert listen_host(load_settings(host="0.0.0.0", api_key="k")) == "0.0.0.0"
    with caplog.at_level(logging.WARNING, logger="rag.serve.server"):
        assert listen_host(load_settings(host="0.0.0.0")) == "127.0.0.1"
    assert "RAG_HOST=0.0.0.0 is ignored: RAG_API_KEY is not set" in caplog.text
    assert is_loopback("::1") and is_loopback("localhost") and not is_loopback("example.org")


@pytest.mark.skipif(importlib.util.find_spec("ui") is None, reason="the ui package is not installed")
def test_the_web_ui_is_mounted_at_root(read_rag: Rag) -> None:
    with running(create_app(read_rag)) as url:
        page = httpx.get(f"{url}/", follow_redirects=True, timeout=60)
        docs = httpx.get(f"{url}/docs")
        health = httpx.get(f"{url}/health")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert docs.status_code == 200 and health.json()["status"] == "ok"


def test_rag_serve_starts_says_what_it_serves_and_stays_on_loopback(tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "corpus").mkdir()
    env = {**os.environ, "RAG_CORPUS_DIR": str(tmp_path / "corpus"), "RAG_DATA_DIR": str(tmp_path / "data"),
           "RAG_EMBED_BACKEND": "torch"}
    env.pop("RAG_API_KEY", None)
    rag_bin = Path(sys.executable).parent / "rag"
    log_path = tmp_path / "serve.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([str(rag_bin), "serve", "--host", "0.0.0.0", "--port", str(port)],
                                env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        assert httpx.get(f"http://127.0.0.1:{port}/health").json()["chunks"] == 0
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    output = log_path.read_text()
    assert "will not listen on 0.0.0.0" in output and "--host=0.0.0.0 ignored without RAG_API_KEY" in output
    assert f"REST API http://127.0.0.1:{port}/v1" in output and "0 chunks" in output
