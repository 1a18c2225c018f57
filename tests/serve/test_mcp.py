"""The MCP server, driven by the official SDK's client: over streamable HTTP at /mcp of a real server, and over
stdio as `rag mcp` (a real subprocess), against the real notes and model."""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from rag.app import Rag
from rag.serve.app import create_app
from tests.conftest import REAL_NOTE, TEST_CACHE, make_settings
from tests.llm_standin import running

KEY = "mcp-test-key"
RAG_BIN = str(Path(sys.executable).parent / "rag")
TOOLS = {"search_notes", "ask_notes", "list_notes", "next_quiz_card", "grade_quiz_answer"}


@pytest.fixture(scope="module")
def notes(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> Rag:
    """Part of the first note, indexed, behind an API key."""
    settings = make_settings(tmp_path_factory.mktemp("mcp"), api_key=KEY)
    lines = REAL_NOTE.read_text(encoding="utf-8").split("\n")[:600]
    (settings.corpus_dir / "oop.md").write_text("\n".join(lines), encoding="utf-8")
    rag = Rag(settings, embedder=embedder)
    rag.index()
    return rag


@pytest.fixture(scope="module")
def mcp_url(notes: Rag) -> Iterator[str]:
    with running(create_app(notes), lifespan="on") as url:  # the UI mounted too: /mcp must not fall to it
        yield f"{url}/mcp"


async def over_http(url: str, calls: Any, key: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with (httpx2.AsyncClient(headers=headers, timeout=120) as http,
                streamable_http_client(url, http_client=http) as (read, write),
                ClientSession(read, write) as session):
        await session.initialize()
        return await calls(session)


def structured(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    return result.structured_content


def test_the_tools_and_a_note_over_http(mcp_url: str) -> None:
    async def calls(session: ClientSession) -> tuple[Any, ...]:
        tools = await session.list_tools()
        asked = await session.call_tool("ask_notes", {"question": "What is encapsulation?"})
        follow = await session.call_tool("ask_notes", {"question": "and its advantages?", "history": [
            {"role": "user", "content": "What is encapsulation?"},
            {"role": "assistant", "content": "Encapsulation bundles data with the methods that act on it."}]})
        off = await session.call_tool("ask_notes", {"question": "What is the capital of Peru?"})
        found = await session.call_tool("search_notes", {"query": "abstract class", "k": 3})
        listed = await session.call_tool("list_notes", {})
        note = await session.read_resource("note://oop.md")
        return tools, asked, follow, off, found, listed, note

    tools, asked, follow, off, found, listed, note = anyio.run(over_http, mcp_url, calls)
    assert {t.name for t in tools.tools} >= TOOLS and all(t.description for t in tools.tools)
    answer = structured(asked)
    assert answer["answered"] and "[1]" in answer["answer"] and answer["citations"][0]["source"] == "oop.md"
    assert "[1]" in asked.content[0].text  # the text an assistant reads carries the markers too
    assert "encapsulation" in structured(follow)["search_query"].lower()  # the follow-up read with its history
    assert structured(off)["answered"] is False
    results = structured(found)["results"]
    assert len(results) == 3 and all(r["source"] == "oop.md" and r["start_line"] >= 1 for r in results)
    assert [s["source"] for s in structured(listed)["sources"]] == ["oop.md"]
    text = note.contents[0].text
    assert text.split("\n")[:600] == REAL_NOTE.read_text(encoding="utf-8").split("\n")[:600]


def test_reads_are_open_and_grading_needs_the_key_over_http(mcp_url: str) -> None:
    async def grade(session: ClientSession) -> tuple[Any, Any]:
        card = structured(await session.call_tool("next_quiz_card", {}))
        graded = await session.call_tool("grade_quiz_answer", {"card_id": card["id"], "answer": "no idea"})
        return card, graded

    card, refused = anyio.run(over_http, mcp_url, grade)
    assert card["question"] and card["source"] == "oop.md"
    assert refused.is_error and "RAG_API_KEY" in refused.content[0].text
    card, graded = anyio.run(over_http, mcp_url, grade, KEY)
    assert structured(graded)["card_id"] == card["id"] and structured(graded)["grade"] in {"again", "hard"}


def test_an_unknown_note_is_an_error_not_a_crash(mcp_url: str) -> None:
    async def read(session: ClientSession) -> Any:
        try:
            await session.read_resource("note://nope.md")
        except Exception as exc:  # the SDK raises the server's error
            return str(exc)
        return None

    assert "no note named nope.md" in anyio.run(over_http, mcp_url, read)


def test_rag_mcp_over_stdio(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    shutil.copy(REAL_NOTE, settings.corpus_dir / REAL_NOTE.name)
    shutil.copytree(TEST_CACHE / "onnx", settings.data_dir / "onnx")
    env = {**os.environ, "RAG_CORPUS_DIR": str(settings.corpus_dir), "RAG_DATA_DIR": str(settings.data_dir)}
    Rag(settings).index()  # its own process indexes; `rag mcp` then reads the folder

    async def session_calls() -> tuple[Any, Any]:
        server = StdioServerParameters(command=RAG_BIN, args=["mcp"], env=env)
        async with stdio_client(server) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            asked = await session.call_tool("ask_notes", {"question": "how do SVMs do multi-class?"})
            listed = await session.call_tool("list_notes", {})
            return asked, listed

    asked, listed = anyio.run(session_calls)
    answer = structured(asked)
    assert answer["answered"] and answer["citations"][0]["source"] == "interview-notes.md"
    assert json.loads(listed.content[0].text)["sources"][0]["source"] == "interview-notes.md"
