"""The REST API's request and response models (pydantic lives only at this edge) and their converters."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Literal

from pydantic import BaseModel, Field

from rag.app import MAX_K
from rag.models import Answer, IndexReport, IndexStatus, Passage, SourceInfo

QUERY_DOC = "Non-empty; longer than RAG_MAX_QUERY_CHARS (default 2000) characters is refused with 413."


class PassageOut(BaseModel):
    """One stored chunk; `start_line`..`end_line` are 1-based, inclusive lines of `source` on disk."""

    id: str
    source: str
    start_line: int
    end_line: int
    heading: str
    text: str
    score: float
    scores: dict[str, float] = Field(default_factory=dict)


class SearchRequest(BaseModel):
    query: str = Field(min_length=1, description=QUERY_DOC)
    k: int = Field(5, ge=1, le=MAX_K, description="How many passages.")
    sources: list[str] = Field(default_factory=list, description="Only these notes (as /v1/sources names them).")


class SearchResponse(BaseModel):
    query: str
    results: list[PassageOut]


class Message(BaseModel):
    role: Literal["user", "assistant"]
    content: str


class AskRequest(BaseModel):
    question: str = Field(min_length=1, description=QUERY_DOC)
    k: int = Field(5, ge=1, le=MAX_K, description="How many passages the answer may draw on.")
    history: list[Message] = Field(default_factory=list, description="Earlier turns, oldest first.")
    mode: Literal["extractive", "llm"] | None = Field(
        None, description="Default: llm when RAG_LLM_BASE_URL is set, else extractive."
    )
    sources: list[str] = Field(default_factory=list, description="Only these notes (default: all).")


class CitationOut(PassageOut):
    """A `[n]` of the answer: the passage, and the lines of it the answer quotes."""

    n: int
    cited_start_line: int
    cited_end_line: int


class AskResponse(BaseModel):
    question: str
    search_query: str = Field(description="The query used for retrieval (a follow-up resolved against history).")
    answer: str = Field(description="Markdown; every sentence ends with its [n].")
    answered: bool = Field(description="False when the notes don't cover the question.")
    mode: Literal["extractive", "llm"]
    citations: list[CitationOut]
    note: str = Field("", description="Why the answer is not what was asked for (e.g. the LLM failed).")


class SourceOut(BaseModel):
    source: str
    chunks: int
    sha256: str
    indexed_at: str


class SourcesResponse(BaseModel):
    sources: list[SourceOut]


class FileOut(BaseModel):
    source: str
    status: Literal["added", "updated", "removed", "unchanged", "skipped", "failed"]
    reason: str = ""
    chunks: int = 0
    embedded: int = 0


class IndexSummary(BaseModel):
    """What an index run did: counts of files, `chunks` in the index afterwards."""

    added: int
    updated: int
    removed: int
    unchanged: int
    chunks: int
    seconds: float
    embedded: int
    files: list[FileOut]
    units: int = Field(0, description="Answer units (sentences, list items) embedded, beyond the chunks.")


class IndexStatusOut(BaseModel):
    """The index run in progress, if any, and how the last one ended."""

    running: bool
    done: int = Field(0, description="Texts embedded so far by the run in progress.")
    total: int = Field(0, description="Texts the run in progress embeds (grows once the chunks are done).")
    started_at: str | None = None
    finished_at: str | None = Field(None, description="When the last run ended.")
    last: IndexSummary | None = Field(None, description="What the last successful run did.")
    error: str | None = Field(None, description="Why the last run failed, if it did.")


class IndexRequest(BaseModel):
    rebuild: bool = Field(False, description="Drop the index and embed every note again.")
    paths: list[str] = Field(
        default_factory=list, max_length=1000,
        description="Only these files or folders, relative to the corpus folder (default: all of it).",
    )


class Health(BaseModel):
    status: Literal["ok"]
    chunks: int
    sources: int
    version: str


class ErrorOut(BaseModel):
    detail: str = Field(description="What went wrong and what to do.")


# What each error status means, for the OpenAPI schema; each route lists the ones it can answer.
ERROR_MEANINGS = {
    401: "Missing or wrong API key",
    404: "Unknown note, path or model",
    409: "An index run is in progress, the note exists, or the index needs `rag index --rebuild`",
    413: "Question or upload over the limit",
    422: "Invalid input: a body that is not JSON, a field out of range, an unsafe name",
    500: "The index run failed (the old index keeps serving); the message names the note",
    503: "The vector store is unreachable",
}


def error_docs(*statuses: int, model: type[BaseModel] = ErrorOut) -> dict[int | str, dict[str, Any]]:
    """The `responses` of a route that can answer these error statuses, all with `model` as the body."""
    return {status: {"model": model, "description": ERROR_MEANINGS[status]} for status in statuses}


def passage_out(p: Passage) -> PassageOut:
    return PassageOut(**asdict(p))


def answer_out(answer: Answer) -> AskResponse:
    citations = [
        CitationOut(n=c.n, cited_start_line=c.cited_start, cited_end_line=c.cited_end, **asdict(c.passage))
        for c in answer.citations
    ]
    return AskResponse(
        question=answer.question, search_query=answer.search_query, answer=answer.text, answered=answer.answered,
        mode=answer.mode, citations=citations, note=answer.note,  # type: ignore[arg-type]
    )


def summary_out(report: IndexReport) -> IndexSummary:
    return IndexSummary.model_validate(asdict(report))


def status_out(status: IndexStatus) -> IndexStatusOut:
    return IndexStatusOut.model_validate(asdict(status))


def sources_out(infos: list[SourceInfo]) -> SourcesResponse:
    return SourcesResponse(sources=[SourceOut(**asdict(s)) for s in infos])
