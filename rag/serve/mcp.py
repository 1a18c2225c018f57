"""The notes over the Model Context Protocol, for AI assistants: tools to search, ask, list and study them, and
each note as a read-only `note://` resource. Served over stdio (`rag mcp`) and at /mcp on `rag serve`.

The tools are the REST API's operations with its wire models as their results, so an assistant gets the same
passages, cited answers and cards a REST client gets. Reads are open; grading a quiz answer changes the study
schedule, so over HTTP it needs the API key, as every write does (over stdio the user runs the server).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError

from rag.errors import AuthError, NotFound, RagError
from rag.serve.models import AskResponse, SearchResponse, SourcesResponse, answer_out, passage_out, sources_out
from rag.serve.quiz import AnswerOut, CardOut, Grade, QuizClient

if TYPE_CHECKING:
    from rag.models import Answer, Passage, SourceInfo
    from rag.settings import Settings

T = TypeVar("T")
INSTRUCTIONS = """These are the user's own study notes (markdown, PDFs, notebooks, Word and web pages).
Use ask_notes for a question the notes should answer: its answer quotes the notes, every sentence cited [n] to
the exact lines, and says so when the notes don't cover it (then don't make an answer up from them).
Use search_notes to find passages to read yourself, list_notes to see which notes there are, and read a whole
note as the resource note://{source}. To quiz the user, get a card with next_quiz_card, let the user answer,
and grade it with grade_quiz_answer."""


class Notes(Protocol):
    """What the tools read: `Rag` in this process, or `RemoteRag`, a running server's API (`rag mcp` beside it)."""

    settings: Settings

    def search(self, query: str, k: int, sources: Sequence[str], *, tags: Sequence[str]) -> list[Passage]: ...

    def ask(self, question: str, k: int, *, sources: Sequence[str], history: Sequence[tuple[str, str]]) -> Answer: ...

    def sources(self) -> list[SourceInfo]: ...


def build_mcp(rag: Notes, deck: Callable[[], QuizClient], version: str = "") -> MCPServer:
    """An MCP server over the notes `rag` reads (in this process or through a running server), studying the deck
    `deck` gives (made on first use: study mode opens its schedule only when asked)."""
    mcp = MCPServer("notes-rag", instructions=INSTRUCTIONS, version=version)
    add_note_tools(mcp, rag)
    add_quiz_tools(mcp, rag, deck)
    return mcp


def add_note_tools(mcp: MCPServer, rag: Notes) -> None:
    """search_notes, ask_notes, list_notes and the note:// resource."""

    @mcp.tool(description="Search the user's notes: the k passages that best match the query (hybrid: meaning "
              "and words), each with its note, line numbers, heading path and page or cell.")
    async def search_notes(query: str, k: int = 5, sources: list[str] | None = None,
                           tags: list[str] | None = None) -> SearchResponse:
        passages = await off_loop(lambda: rag.search(query, k, sources or (), tags=tags or ()))
        return SearchResponse(query=query, results=[passage_out(p) for p in passages])

    @mcp.tool(description="Ask the user's notes a question: a short answer in the notes' own words, every "
              "sentence ending with [n] for the citation (note, lines, heading) it comes from; `answered` is false "
              "when the notes don't cover it. `history` holds earlier turns for a follow-up ('and its "
              "disadvantages?'), as [{'role': 'user' or 'assistant', 'content': ...}].")
    async def ask_notes(question: str, history: list[dict[str, str]] | None = None, k: int = 5,
                        sources: list[str] | None = None) -> AskResponse:
        turns = pairs(history or [])
        answer = await off_loop(lambda: rag.ask(question, k, sources=sources or (), history=turns))
        return answer_out(answer)

    @mcp.tool(description="The user's notes: each note's name (as the other tools and note:// take it), its "
              "kind, chunk count and tags.")
    async def list_notes() -> SourcesResponse:
        return sources_out(await off_loop(rag.sources))

    @mcp.resource("note://{+source}", name="note", mime_type="text/markdown",
                  description="A note's text as it is indexed (line i is the note's line i; a PDF, notebook, Word "
                  "file or web page as the markdown read from it).")
    async def note(source: str) -> str:
        return await off_loop(lambda: note_text(rag, source), resource=True)


def add_quiz_tools(mcp: MCPServer, rag: Notes, deck: Callable[[], QuizClient]) -> None:
    """next_quiz_card, and grade_quiz_answer (a write: over HTTP it needs the API key)."""

    @mcp.tool(description="The next study card from the notes (due ones first, then new ones): a question and "
              "where its answer is. Show the question to the user, not the answer lines.")
    async def next_quiz_card(source: str | None = None, topic: str | None = None) -> CardOut:
        return await off_loop(lambda: deck().next(source or None, topic or None))

    @mcp.tool(description="Grade the user's answer to a study card against the notes, point by point, and "
              "schedule the card's next review (by `grade`: again, hard, good or easy; else the suggested one). "
              "Changes the study schedule: needs the API key over HTTP.")
    async def grade_quiz_answer(card_id: str, answer: str, ctx: Context, grade: Grade | None = None) -> AnswerOut:
        try:
            check_key(rag, ctx)
        except AuthError as exc:
            raise ToolError(str(exc)) from exc
        return await off_loop(lambda: deck().answer(card_id, answer, grade))


async def off_loop(work: Callable[[], T], resource: bool = False) -> T:
    """Run blocking work in a thread; the notes' own errors reach the assistant with their message (what went
    wrong and what to do) rather than as the SDK's generic crash."""
    try:
        return await anyio.to_thread.run_sync(work)
    except NotFound as exc:
        raise (ResourceNotFoundError if resource else ToolError)(str(exc)) from exc
    except RagError as exc:
        raise (ResourceError if resource else ToolError)(str(exc)) from exc


def pairs(history: list[dict[str, str]]) -> list[tuple[str, str]]:
    """[{'role', 'content'}, ...] turns as (role, content) pairs, as `Rag.ask` takes them."""
    return [(str(turn.get("role", "")), str(turn.get("content", ""))) for turn in history]


def check_key(rag: Notes, ctx: Context[Any, Any]) -> None:
    """Over HTTP, a write needs `Authorization: Bearer <RAG_API_KEY>` when a key is set."""
    headers = ctx.headers
    key = rag.settings.api_key
    if headers is None or not key:  # stdio: the user's own process
        return
    given = headers.get("authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), key.encode()):
        raise AuthError("grading changes the study schedule: send Authorization: Bearer <RAG_API_KEY>")


def note_text(rag: Notes, source: str) -> str:
    """The indexed note's text, read by its loader."""
    from rag.index.uploads import note_path
    from rag.ingest import read_note

    if source not in {s.source for s in rag.sources()}:
        raise NotFound(f"no note named {source}: list_notes lists them")
    note = read_note(note_path(rag.settings.corpus_dir, source), source)
    if not hasattr(note, "text"):
        raise NotFound(f"{source} can no longer be read: {getattr(note, 'reason', '')}")
    return str(note.text)
