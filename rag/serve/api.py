"""The REST API: create_app(rag) -> FastAPI, the one error -> status table, and `rag serve`."""

from __future__ import annotations

import errno
import gc
import importlib.util
import ipaddress
import logging
import secrets
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, File, Request, Security, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from rag.app import WRITE_WAIT_SECONDS, Rag
from rag.errors import (
    ERROR_HEADER,
    AuthError,
    IndexBusy,
    IndexFailed,
    IndexMismatch,
    InvalidInput,
    LLMError,
    NotFound,
    RagError,
    SourceExists,
    StoreUnavailable,
    TooLarge,
)
from rag.index.presence import announce, base_url, server_record
from rag.index.uploads import note_name
from rag.ingest import check_corpus_dir, corpus_path
from rag.serve.models import (
    PATTERN_WORDS,
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
    error_docs,
    passage_out,
    sources_out,
    status_out,
    summary_out,
)
from rag.serve.openai import get_rag, openai_error, speaks_openai
from rag.serve.openai import router as chat_router
from rag.serve.quiz import quiz_router
from rag.settings import Settings

log = logging.getLogger(__name__)

# The one place errors become statuses; a subclass is looked up before its base.
ERROR_STATUS: dict[type[RagError], int] = {
    InvalidInput: 422,
    TooLarge: 413,
    NotFound: 404,
    AuthError: 401,
    IndexBusy: 409,
    SourceExists: 409,
    IndexMismatch: 409,  # the index needs `rag index --rebuild`: a conflict with the configured model
    StoreUnavailable: 503,
    IndexFailed: 500,  # the run could not finish; the message names the note, and the old index serves
    LLMError: 502,
}
RETRY_AFTER_SECONDS = 5  # what a write refused while an index run goes on is told to wait before retrying
MULTIPART_SLACK = 64 * 1024  # headers and boundaries around the file in a multipart body
QUERY_ERRORS = error_docs(404, 409, 413, 422, 503)
WRITE_ERRORS = error_docs(401, 404, 409, 413, 422, 500, 503)


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


def status_for(exc: RagError) -> int:
    """The status of an error class, or of its nearest mapped base."""
    return next((ERROR_STATUS[c] for c in type(exc).__mro__ if c in ERROR_STATUS), 500)


async def rag_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RagError)
    status = status_for(exc)
    if status >= 500:
        log.error("%s %s -> %s: %s", request.method, request.url.path, status, exc)
    # The class name lets a client (rag/remote.py) raise the very exception the server met.
    headers = {ERROR_HEADER: type(exc).__name__, **({"WWW-Authenticate": "Bearer"} if status == 401 else {}),
               **({"Retry-After": str(RETRY_AFTER_SECONDS)} if isinstance(exc, IndexBusy) else {})}
    return error_response(request, status, str(exc), headers=headers)


def error_response(request: Request, status: int, message: str, param: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    """An error body: `{"detail": ...}`, or OpenAI's shape on the routes OpenAI clients call."""
    body = openai_error(status, message, param) if speaks_openai(request.url.path) else {"detail": message}
    return JSONResponse(body, status_code=status, headers=headers)


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's own errors (no such route: 404, wrong method: 405) in the same shapes."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:
        # FastAPI's "There was an error parsing the body" (bytes that are not UTF-8, a broken multipart body):
        # invalid input like any other body the route cannot read, so the 422 every route documents.
        detail = (f"the body could not be read ({exc.detail}): send UTF-8 JSON with Content-Type: "
                  "application/json (an upload: multipart/form-data with a `file` field)")
        return error_response(request, 422, detail)
    return error_response(request, exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None))


async def invalid_request(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    content_type = request.headers.get("content-type", "")
    whole_body = any(tuple(e.get("loc", ())) == ("body",) for e in exc.errors())
    if any(e.get("type") == "json_invalid" for e in exc.errors()) or (whole_body and "json" not in content_type):
        # curl -d sends a form (application/x-www-form-urlencoded) unless told otherwise: say so.
        sent = f" (it came as {content_type or 'no Content-Type'})" if "json" not in content_type else ""
        detail = f"the body is not valid JSON{sent}: send a JSON object with Content-Type: application/json"
        return error_response(request, 422, detail)
    problems = "; ".join(
        f"{'.'.join(str(part) for part in e.get('loc', ()))}: {problem_message(e)}" for e in exc.errors()
    )
    first = [str(part) for part in exc.errors()[0].get("loc", ())[1:]] if exc.errors() else []
    return error_response(request, 422, f"invalid request: {problems}", ".".join(first) or None)


def problem_message(error: Any) -> str:
    """pydantic's message for one invalid field, in words where its own names a regular expression."""
    if error.get("type") == "string_pattern_mismatch" and error.get("ctx", {}).get("pattern") in PATTERN_WORDS:
        return PATTERN_WORDS[error["ctx"]["pattern"]]
    return str(error.get("msg", "invalid"))


async def internal_error(request: Request, exc: Exception) -> JSONResponse:
    # The traceback goes to the server log (uvicorn logs it too); the client gets no internals.
    log.error("%s %s failed: %s: %s", request.method, request.url.path, type(exc).__name__, exc)
    return error_response(request, 500, f"internal error: {type(exc).__name__}; the server log has the details")


class UploadLimit:
    """Answer 413 to an upload whose declared size is over the limit, without parsing or storing it."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == "/v1/sources":
            length = dict(scope["headers"]).get(b"content-length", b"")
            if length.isdigit() and int(length) > self.limit + MULTIPART_SLACK:
                # Drain the body first: a client still sending would otherwise see a reset, not the 413.
                message = await receive()
                while message.get("more_body") and message["type"] == "http.request":
                    message = await receive()
                detail = f"the upload is {int(length)} bytes; the limit is {self.limit} (RAG_MAX_UPLOAD_BYTES)"
                await JSONResponse({"detail": detail}, status_code=413)(scope, receive, send)
                return
        await self.app(scope, receive, send)


@asynccontextmanager
async def watching(app: FastAPI) -> AsyncIterator[None]:
    """Watch the corpus folder while the server runs (RAG_WATCH, `rag serve --watch`)."""
    from rag.index.watch import Watcher

    watcher = Watcher(app.state.rag)
    watcher.start()
    app.state.watcher = watcher
    try:
        yield
    finally:
        await run_in_threadpool(watcher.stop)  # a run in progress ends at its next batch: not on the loop


def create_app(rag: Rag, with_ui: bool = True) -> FastAPI:
    """The REST API, the MCP server at /mcp (and the web UI at / when the `ui` package is installed) over `rag`.

    With `rag.settings.watch`, the app's lifespan watches the corpus folder and re-indexes it when notes change.
    """
    from fastapi_offline import FastAPIOffline

    from rag.cli.quiz import quiz_client
    from rag.serve.mcp import build_mcp

    mcp = build_mcp(rag, cache(lambda: quiz_client(rag)), package_version())
    # Stateless JSON: each request stands alone, so it scales like the REST routes; `host` turns on the SDK's
    # DNS-rebinding guard for a server on the loopback interface.
    mcp_app = mcp.streamable_http_app(streamable_http_path="/mcp", stateless_http=True, json_response=True,
                                      host=rag.settings.host)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with mcp.session_manager.run():
            if rag.settings.watch:
                async with watching(app):
                    yield
            else:
                yield

    # /docs and /redoc load their scripts and styles from this server, nothing from a CDN
    app = FastAPIOffline(title="notes-rag", version=package_version(),
                         lifespan=lifespan,
                         description="Ask your study notes; every answer is cited to the exact lines.")
    app.state.rag = rag
    app.state.write_wait = WRITE_WAIT_SECONDS
    app.include_router(router)
    app.include_router(chat_router)
    quiz = quiz_router(require_key)
    app.include_router(quiz)
    app.add_exception_handler(RagError, rag_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, internal_error)
    app.add_middleware(UploadLimit, limit=rag.settings.max_upload_bytes)
    app.add_middleware(NothingFromElsewhere, paths=("/redoc",))
    keep_v1_for_the_api(app, [router, chat_router, quiz])
    app.router.routes.extend(mcp_app.routes)  # POST/GET/DELETE /mcp, before the UI takes what is left
    if with_ui:
        mount_ui(app, rag)
    return app


class NothingFromElsewhere:
    """A Content-Security-Policy that lets a page load only from this server: ReDoc's bundle shows a logo from
    cdn.redoc.ly whatever it is told, and the browser must not ask for it (the page works offline without it)."""

    POLICY = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
              "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'")

    def __init__(self, app: Any, paths: tuple[str, ...]) -> None:
        self.app, self.paths = app, paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return

        async def with_policy(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []),
                                      (b"content-security-policy", self.POLICY.encode())]
            await send(message)

        await self.app(scope, receive, with_policy)


def keep_v1_for_the_api(app: FastAPI, routers: list[APIRouter]) -> None:
    """Answer a wrong method on an API path with 405 and an unknown /v1/ path with 404, in the route's shape.

    Without these the UI, mounted at / after them, takes every request no API route fully matches, and
    answers 404 in its own shape.
    """
    allowed: dict[str, set[str]] = {}
    gets: dict[str, APIRoute] = {}
    for route in (route for r in routers for route in r.routes):
        if isinstance(route, APIRoute):
            allowed.setdefault(route.path, set()).update(route.methods or ())
            gets.update({route.path: route} if "GET" in (route.methods or ()) else {})
    for path, methods in allowed.items():
        methods = methods | ({"HEAD"} if path in gets else set())
        app.router.routes.append(Route(path, Refusal(405, {"Allow": ", ".join(sorted(methods))}, gets.get(path))))
    app.router.routes.append(Route("/v1/{rest:path}", Refusal(404)))


class Refusal:
    """An ASGI endpoint that raises one HTTP error whatever the method (even one like QUERY that Starlette
    does not list), so the app's handlers shape it as the route's other errors; HEAD is the GET without
    its body (uvicorn sends none)."""

    def __init__(self, status: int, headers: dict[str, str] | None = None, get: APIRoute | None = None) -> None:
        self.status, self.headers, self.get = status, headers, get

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.get is not None and scope["method"] == "HEAD":
            await self.get.handle({**scope, "method": "GET"}, receive, send)
            return
        raise StarletteHTTPException(self.status, headers=self.headers)


def mount_ui(app: FastAPI, rag: Rag) -> None:
    """Mount the Gradio UI at / if the `ui` package is there (the API works without it)."""
    if importlib.util.find_spec("ui") is None:
        log.info("no `ui` package: serving the API only")
        return
    import ui

    if hasattr(ui, "mount_ui"):
        ui.mount_ui(app, rag, path="/")
    elif hasattr(ui, "build_ui"):
        import gradio as gr

        gr.mount_gradio_app(app, ui.build_ui(rag), path="/")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def listen_host(settings: Settings, asked_by: str = "RAG_HOST") -> str:
    """Where to bind: anywhere with a key; without one, loopback only, because writes would be open to all.

    The host ignored is said on stderr, naming the setting (`asked_by`: RAG_HOST or --host).
    """
    if settings.api_key or is_loopback(settings.host):
        return settings.host
    log.warning("%s=%s is ignored: RAG_API_KEY is not set, so notes-rag will not listen on %s (anyone there could "
                "change your notes); listening on 127.0.0.1 instead. Set RAG_API_KEY to serve other hosts.",
                asked_by, settings.host, settings.host)
    return "127.0.0.1"


def listen_socket(host: str, port: int) -> socket.socket:
    """A socket bound to host:port, ready for uvicorn; InvalidInput saying what to do when it can't be had."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        if exc.errno == errno.EADDRINUSE:
            raise InvalidInput(f"port {port} is already in use on {host} (another server, perhaps another `rag "
                               "serve`): stop it, or choose another port with --port or RAG_PORT (0: any free port)"
                               ) from exc
        if exc.errno == errno.EACCES:
            raise InvalidInput(f"cannot listen on {where}: ports below 1024 need root; choose another with --port "
                               "or RAG_PORT") from exc
        raise InvalidInput(f"cannot listen on {where} ({exc.strerror}): set --host/RAG_HOST to an address of this "
                           "machine and --port/RAG_PORT to a free port") from exc
    sock.set_inheritable(True)
    return sock


def serve(rag: Rag, host_asked_by: str = "RAG_HOST") -> None:
    """`rag serve`: warm the model, listen, leave the address in the data folder, serve until interrupted.

    The caller holds the data folder (`rag.presence.hold_for_serving`), so no other process has its store open.
    A missing corpus folder or a port that is taken is a one-line error (RagError) before anything starts.
    """
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
    settings = rag.settings
    if settings.watch:
        from rag.index.watch import watch_root

        watch_root(settings)  # a missing folder is a one-line error now, not a failed start-up later
        logging.getLogger("watchfiles").setLevel(logging.WARNING)  # it logs every batch of changes at INFO
    check_corpus_dir(settings.corpus_dir)  # uploads would fail, and the index be of notes that are not there
    host = listen_host(settings, host_asked_by)
    sock = listen_socket(host, settings.port)  # before the slow part: a port that is taken is said at once
    try:
        rag.warm_up()
    except RagError as exc:  # the store may come up later; /health reports it until then
        log.warning("warm-up failed: %s", exc)
    app = create_app(rag)
    config = uvicorn.Config(app, host=host, port=settings.port, log_level="info")
    sock.listen(config.backlog)  # connections queue from here on, so the record is true as soon as it is written
    port = sock.getsockname()[1]  # the real one when --port 0 asked for any free port
    ignored = f"\n  {host_asked_by}={settings.host} ignored without RAG_API_KEY" if host != settings.host else ""
    sys.stderr.write(describe_service(rag, base_url(host, port)) + ignored + "\n")
    # Start-up leaves ~200k long-lived objects (Gradio, chromadb, ORT); a full collection walking them
    # pauses every request for ~90 ms. Frozen, they are never scanned again.
    gc.freeze()
    # uvicorn shuts down on SIGTERM, then raises it again: as SystemExit it unwinds through `announce`,
    # which removes the record (the default action would end the process on the spot).
    signal.signal(signal.SIGTERM, exit_on_signal)
    with announce(settings.data_dir, server_record(settings, host, port, package_version())):
        uvicorn.Server(config).run(sockets=[sock])


def exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def describe_service(rag: Rag, base: str) -> str:
    """What `rag serve` serves, printed once at start-up."""
    s = rag.settings
    try:
        indexed = f"{rag.store.count()} chunks from {len(rag.retriever.refresh().sources)} notes"
    except RagError:
        indexed = "the index (store not reachable yet)"
    answers = f"generated by {s.llm_base_url} ({s.llm_model})" if s.llm_base_url else "extractive"
    writes = "need `Authorization: Bearer <RAG_API_KEY>`" if s.api_key else "are open (no RAG_API_KEY; loopback only)"
    ui = f"  web UI   {base}/\n" if importlib.util.find_spec("ui") else ""
    watch = f"\n  watching {s.corpus_dir}: notes are re-indexed a moment after they change" if s.watch else ""
    return (f"notes-rag {package_version()} serving {indexed} in {s.corpus_dir}\n{ui}"
            f"  REST API {base}/v1/...  (docs {base}/docs)\n  answers  {answers}; writes {writes}{watch}")
