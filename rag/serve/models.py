"""The REST API's request and response models (pydantic lives only at this edge) and their converters."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import Path as PathParam
from pydantic import BaseModel, Field, SerializerFunctionWrapHandler, model_serializer

from rag.app import MAX_K
from rag.ingest import MAX_PATH_BYTES
from rag.models import (
    Answer,
    Attribution,
    Citation,
    IndexReport,
    IndexStatus,
    Location,
    Passage,
    SourceInfo,
    segments_at,
)

QUERY_DOC = "Not blank; longer than RAG_MAX_QUERY_CHARS (default 2000) characters is refused with 413."
NOT_BLANK = r"\S"  # a JSON Schema pattern (unanchored): at least one character that is not white space
# A count of passages: a JSON integer; `true`, `"5"` and `5.0` are refused (JSON Schema itself calls 5.0 an integer).
K = Annotated[int, Field(ge=1, le=MAX_K, strict=True)]
# A note's name in a path (DELETE /v1/sources/{source}): parts of 1..255 characters between single slashes, no NUL.
# What a schema cannot say (no `..` part, lengths in UTF-8 bytes, a kind of note) is refused with 422 or 404.
SOURCE_NAME = r"^[^/\\\x00][^/\x00]{0,254}(?:/[^/\x00]{1,255})*$"
NO_NUL = r"^[^\x00]*$"
SourceName = Annotated[str, PathParam(
    min_length=1, max_length=MAX_PATH_BYTES, pattern=SOURCE_NAME,
    description="As GET /v1/sources lists it: relative to the corpus folder; parts of at most 255 characters "
    "(bytes in UTF-8), no leading slash, no NUL.")]
PathName = Annotated[str, Field(min_length=1, pattern=NO_NUL)]
# What each pattern above means, for the 422's message (pydantic's names the regular expression).
PATTERN_WORDS = {
    NOT_BLANK: "is blank: type some words",
    SOURCE_NAME: "is not a note name (parts of at most 255 characters, no leading slash, no NUL): GET /v1/sources "
    "lists them",
    NO_NUL: "contains a NUL character",
}


class LocationOut(BaseModel):
    """Where lines are in the original file of a PDF (page) or a notebook (cell); absent for text notes."""

    line_start: int = Field(description="Line on the page, or in the cell's source.")
    line_end: int
    page: int | None = Field(None, description="1-based page of a PDF.")
    page_end: int | None = Field(None, description="The page the lines end on, when it is a later one.")
    cell: int | None = Field(None, description="1-based cell of a notebook.")
    cell_end: int | None = Field(None, description="The cell the lines end in, when it is a later one.")
    execution_count: int | None = Field(None, description="The cell's `In [n]`, when it ran.")
    output: bool | None = Field(None, description="True when the lines are in the cell's output.")

    @model_serializer(mode="wrap")
    def only_what_applies(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """`{"page": 3, "line_start": 12, "line_end": 20}`: keys that don't apply are left out, not null."""
        return {key: value for key, value in handler(self).items() if value is not None}


class LineSpan(BaseModel):
    start_line: int
    end_line: int


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
    location: LocationOut | None = Field(None, description="Where the lines are in a PDF or notebook.")


class SearchRequest(BaseModel):
    query: str = Field(min_length=1, pattern=NOT_BLANK, description=QUERY_DOC)
    k: K = Field(5, description="How many passages.")
    sources: list[str] = Field(default_factory=list, description="Only these notes (as /v1/sources names them).")
    tags: list[str] = Field(default_factory=list, description="Only notes with any of these tags (`ml` or `#ml`).")


class SearchResponse(BaseModel):
    query: str
    results: list[PassageOut]


class Message(BaseModel):
    role: Literal["user", "assistant"]
    content: str


class AskRequest(BaseModel):
    question: str = Field(min_length=1, pattern=NOT_BLANK, description=QUERY_DOC)
    k: K = Field(5, description="How many passages the answer may draw on.")
    history: list[Message] = Field(default_factory=list, description="Earlier turns, oldest first.")
    mode: Literal["extractive", "llm"] | None = Field(
        None, description="Default: llm when RAG_LLM_BASE_URL is set, else extractive."
    )
    sources: list[str] = Field(default_factory=list, description="Only these notes (default: all).")
    tags: list[str] = Field(default_factory=list, description="Only notes with any of these tags (`ml` or `#ml`).")


class CitationOut(PassageOut):
    """A `[n]` of the answer: the passage, and the lines of it the answer quotes."""

    n: int
    cited_start_line: int
    cited_end_line: int
    quoted: list[LineSpan] = Field(
        default_factory=list, description="The line ranges the answer quotes, within cited_start..cited_end_line."
    )
    cited_location: LocationOut | None = Field(None, description="Where the cited lines are in a PDF or notebook.")


class SentenceCite(BaseModel):
    """Lines of a citation that support a written sentence."""

    n: int = Field(description="The `[n]` of `citations` the lines are in.")
    start_line: int
    end_line: int


class SentenceOut(BaseModel):
    """A sentence (or code block, or formula) of a written answer and what in the notes supports it."""

    text: str = Field(description="As the LLM wrote it, markers removed.")
    kind: Literal["sentence", "code", "formula"]
    supported: bool = Field(description="False: no line of the notes supports it, and it is not in `answer`.")
    support: float = Field(description="Similarity to the supporting lines (code and formulas: the share of it "
                           "found in the notes exactly).")
    cites: list[SentenceCite] = Field(default_factory=list, description="The lines that support it.")
    reason: str = Field("", description="Why it is not supported.")


class AskResponse(BaseModel):
    question: str
    search_query: str = Field(description="The query used for retrieval (a follow-up resolved against history).")
    answer: str = Field(description="Markdown; every sentence ends with its [n].")
    answered: bool = Field(description="False when the notes don't cover the question.")
    mode: Literal["extractive", "llm"]
    citations: list[CitationOut]
    note: str = Field("", description="Why the answer is not what was asked for (e.g. the LLM failed).")
    sentences: list[SentenceOut] = Field(
        default_factory=list,
        description="mode llm: every sentence the LLM wrote, attributed to the lines that support it; the "
        "unsupported ones are listed here and left out of `answer`.",
    )


class SourceOut(BaseModel):
    source: str
    chunks: int
    sha256: str
    indexed_at: str
    kind: str = Field("text", description="How the note was read: text, notebook, pdf, html or docx.")
    tags: list[str] = Field(default_factory=list, description="From front matter and #tags in the text.")
    aliases: list[str] = Field(default_factory=list, description="Other names of the note (front matter).")


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
    stages: dict[str, float] = Field(default_factory=dict, description="Seconds per stage of the run: read, chunk, "
                                     "embed, store, bm25, units (the answer units of the notes that changed).")
    trash: str = Field("", description="After a delete: where the note's file went in the data folder's trash "
                       "(`POST /v1/sources/{source}/restore` brings it back).")


class IndexStatusOut(BaseModel):
    """The index run in progress, if any, and how the last one ended."""

    running: bool
    done: int = Field(0, description="Texts embedded so far by the run in progress.")
    total: int = Field(0, description="Texts the run in progress embeds (grows once the chunks are done).")
    started_at: str | None = None
    finished_at: str | None = Field(None, description="When the last run ended.")
    last: IndexSummary | None = Field(None, description="What the last successful run did.")
    error: str | None = Field(None, description="Why the last run failed, if it did.")
    stage: str = Field("", description="Of the run in progress: `chunks` (embedding and storing them), then `units` "
                       "(the notes are searchable; the answer stage's units are being embedded).")


class IndexRequest(BaseModel):
    rebuild: bool = Field(False, strict=True, description="Drop the index and embed every note again.")
    paths: list[PathName] = Field(
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


def passage_fields(p: Passage) -> dict[str, Any]:
    """A passage's JSON fields: its segments only as the `location` they give."""
    where = p.location
    return {"id": p.id, "source": p.source, "start_line": p.start_line, "end_line": p.end_line,
            "heading": p.heading, "text": p.text, "score": p.score, "scores": p.scores,
            "location": LocationOut.model_validate(where.as_dict()) if where else None}


def passage_out(p: Passage) -> PassageOut:
    return PassageOut(**passage_fields(p))


def citation_out(c: Citation) -> CitationOut:
    return CitationOut(n=c.n, cited_start_line=c.cited_start, cited_end_line=c.cited_end,
                       quoted=[LineSpan(start_line=a, end_line=b) for a, b in c.quoted],
                       cited_location=LocationOut.model_validate(c.location.as_dict()) if c.location else None,
                       **passage_fields(c.passage))


def passage_from(out: PassageOut) -> Passage:
    """A passage as the API returned it (the CLI through a running server)."""
    where = Location(**out.location.model_dump()) if out.location else None
    return Passage(out.id, out.source, out.start_line, out.end_line, out.heading, out.text, out.score, out.scores,
                   segments_at(where, out.start_line, out.end_line) if where else ())


def citation_from(out: CitationOut) -> Citation:
    where = Location(**out.cited_location.model_dump()) if out.cited_location else None
    return Citation(out.n, passage_from(out), out.cited_start_line, out.cited_end_line,
                    tuple((s.start_line, s.end_line) for s in out.quoted), where)


def answer_out(answer: Answer) -> AskResponse:
    citations = [citation_out(c) for c in answer.citations]
    return AskResponse(
        question=answer.question, search_query=answer.search_query, answer=answer.text, answered=answer.answered,
        mode=answer.mode, citations=citations, note=answer.note,  # type: ignore[arg-type]
        sentences=[sentence_out(a) for a in answer.sentences],
    )


def sentence_out(a: Attribution) -> SentenceOut:
    return SentenceOut(text=a.text, kind=a.kind, supported=a.supported, support=a.support,  # type: ignore[arg-type]
                       cites=[SentenceCite(n=n, start_line=start, end_line=end) for n, start, end in a.cites],
                       reason=a.reason)


def summary_out(report: IndexReport) -> IndexSummary:
    return IndexSummary.model_validate(asdict(report))


def status_out(status: IndexStatus) -> IndexStatusOut:
    return IndexStatusOut.model_validate(asdict(status))


def sources_out(infos: list[SourceInfo]) -> SourcesResponse:
    return SourcesResponse(sources=[SourceOut.model_validate(asdict(s)) for s in infos])
