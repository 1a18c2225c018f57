"""The REST API's routes: search, ask, the notes (list, upload, delete, restore), index runs, health."""

from __future__ import annotations

import secrets
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated

from fastapi import APIRouter, Depends, File, Request, Security, UploadFile
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from rag.app import Rag
from rag.errors import AuthError
from rag.index.uploads import note_name
from rag.ingest import corpus_path
from rag.serve.errors import error_docs
from rag.serve.models import (
    AskRequest,
    AskResponse,
    Health,
    IndexRequest,
    IndexStatusOut,
    IndexSummary,
    SearchRequest,
    SearchResponse,
    SourceName,
    SourcesResponse,
    answer_out,
    passage_out,
    sources_out,
    status_out,
    summary_out,
)

QUERY_ERRORS = error_docs(404, 409, 413, 422, 503)
WRITE_ERRORS = error_docs(401, 404, 409, 413, 422, 500, 503)


def get_rag(request: Request) -> Rag:
    return request.app.state.rag  # type: ignore[no-any-return]


async def rag_dependency(request: Request) -> Rag:
    # async on purpose: FastAPI runs a sync dependency in the thread pool, one more hop per request.
    return get_rag(request)


bearer = HTTPBearer(auto_error=False, description="RAG_API_KEY; write endpoints need it when it is set.")
router = APIRouter()
RagDep = Annotated[Rag, Depends(rag_dependency)]


def package_version() -> str:
    try:
        return version("notes-rag")
    except PackageNotFoundError:
        return "0+unknown"


Credentials = Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]


def require_key(request: Request, credentials: Credentials) -> None:
    """Writes need `Authorization: Bearer <RAG_API_KEY>` when a key is configured."""
    key = get_rag(request).settings.api_key
    if not key:
        return
    given = credentials.credentials if credentials else ""
    if not secrets.compare_digest(given.encode(), key.encode()):
        raise AuthError("missing or wrong API key: send the header `Authorization: Bearer <RAG_API_KEY>`")


@router.get("/health", response_model=Health, responses=error_docs(503), tags=["status"])
def health(rag: RagDep) -> Health:
    """Liveness and what is indexed."""
    chunks = rag.store.count()
    return Health(status="ok", chunks=chunks, sources=len(rag.retriever.refresh().sources), version=package_version())


@router.post("/v1/search", response_model=SearchResponse, responses=QUERY_ERRORS, tags=["query"])
async def search(body: SearchRequest, rag: RagDep) -> SearchResponse:
    """The k passages that best match the query."""
    # A search that cannot wait is a few ms of CPU: done right here it saves the two thread hand-offs of
    # the pool, which cost ~0.25 ms on a small VM. Anything that may wait goes to the pool.
    if rag.search_cannot_wait() and not body.tags:  # tags are read from the store
        results = rag.search(body.query, body.k, body.sources)
    else:
        results = await run_in_threadpool(rag.search, body.query, body.k, body.sources, "hybrid", body.tags)
    return SearchResponse(query=body.query, results=[passage_out(p) for p in results])


@router.post("/v1/ask", response_model=AskResponse, responses=QUERY_ERRORS, tags=["query"])
async def ask(body: AskRequest, rag: RagDep) -> AskResponse:
    """A short answer, every sentence cited `[n]` to the lines it came from."""
    history = [(m.role, m.content) for m in body.history]
    return answer_out(await run_in_threadpool(rag.ask, body.question, body.k, history, body.mode, body.sources,
                                              body.tags))


@router.get("/v1/sources", response_model=SourcesResponse, responses=error_docs(409, 503), tags=["notes"])
def list_sources(rag: RagDep) -> SourcesResponse:
    """The indexed notes with their chunk counts."""
    return sources_out(rag.sources())


UPLOAD_DOC = "A note: markdown or text, a notebook, PDF, HTML or Word file"


@router.post("/v1/sources", status_code=201, response_model=IndexSummary, responses=WRITE_ERRORS,
             dependencies=[Depends(require_key)], tags=["notes"])
def upload_source(request: Request, rag: RagDep, file: Annotated[UploadFile, File(description=UPLOAD_DOC)],
                  overwrite: bool = False) -> IndexSummary:
    """Save a note in the corpus folder and index it; an existing note is replaced only with `overwrite=true`.

    An index run in progress (the folder watcher's, another request's) is waited for, up to 30 s; then 409 with
    `Retry-After`, and nothing is saved."""
    name = note_name(file.filename)  # checked before the body is read
    data = file.file.read(rag.settings.max_upload_bytes + 1)
    return summary_out(rag.add_notes([(name, data)], overwrite, wait=write_wait(request)))


@router.delete("/v1/sources/{source:path}", response_model=IndexSummary, responses=WRITE_ERRORS,
               dependencies=[Depends(require_key)], tags=["notes"])
def delete_source(request: Request, source: SourceName, rag: RagDep) -> IndexSummary:
    """Move a note's file to the data folder's trash (`trash` says where) and its chunks out of the index (after an
    index run in progress, as an upload waits for it)."""
    return summary_out(rag.remove_note(source, wait=write_wait(request)))


@router.post("/v1/sources/{source:path}/restore", response_model=IndexSummary, responses=WRITE_ERRORS,
             dependencies=[Depends(require_key)], tags=["notes"])
def restore_source(request: Request, source: SourceName, rag: RagDep) -> IndexSummary:
    """Bring a deleted note back from the trash (its newest copy) and index it."""
    return summary_out(rag.restore_note(source, wait=write_wait(request)))


@router.post("/v1/index", response_model=IndexSummary, responses=WRITE_ERRORS,
             dependencies=[Depends(require_key)], tags=["notes"])
def reindex(request: Request, rag: RagDep, body: IndexRequest | None = None) -> IndexSummary:
    """Bring the index in line with the corpus folder, or with the given paths in it (only changed notes are
    embedded). An index run in progress is waited for, then this one runs, as an upload waits."""
    body = body or IndexRequest(rebuild=False)
    paths = [corpus_path(rag.settings.corpus_dir, name) for name in body.paths]
    return summary_out(rag.index(paths, body.rebuild, wait=write_wait(request)))


def write_wait(request: Request) -> float:
    """How long a write waits for an index run in progress (`app.state.write_wait`; tests shorten it)."""
    return float(request.app.state.write_wait)


@router.get("/v1/index/status", response_model=IndexStatusOut, tags=["notes"])
def index_status(rag: RagDep) -> IndexStatusOut:
    """The index run in progress in this server (embedded so far, of how many) and how the last one ended."""
    return status_out(rag.status)
