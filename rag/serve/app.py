"""create_app(rag) -> FastAPI: the REST, OpenAI-compatible, quiz and MCP routers, the web UI, the middleware."""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from functools import cache
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from rag.app import WRITE_WAIT_SECONDS, Rag
from rag.serve.api import package_version, require_key, router
from rag.serve.errors import add_error_handlers
from rag.serve.openai import router as chat_router
from rag.serve.quiz import LocalQuiz, quiz_router

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

log = logging.getLogger(__name__)
MULTIPART_SLACK = 64 * 1024  # headers and boundaries around the file in a multipart body


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

    from rag.serve.mcp import build_mcp

    mcp = build_mcp(rag, cache(lambda: LocalQuiz(rag)), package_version())
    # Stateless JSON: each request stands alone, so it scales like the REST routes; `host` turns on the SDK's
    # DNS-rebinding guard for a server on the loopback interface.
    mcp_app = mcp.streamable_http_app(streamable_http_path="/mcp", stateless_http=True, json_response=True,
                                      host=rag.settings.host)
    # /docs and /redoc load their scripts and styles from this server, nothing from a CDN
    app = FastAPIOffline(title="notes-rag", version=package_version(),
                         lifespan=lifespan_of(rag, mcp),
                         description="Ask your study notes; every answer is cited to the exact lines.")
    app.state.rag = rag
    app.state.write_wait = WRITE_WAIT_SECONDS
    add_routes(app)
    add_error_handlers(app)
    app.add_middleware(UploadLimit, limit=rag.settings.max_upload_bytes)
    app.add_middleware(NothingFromElsewhere, paths=("/redoc",))
    app.router.routes.extend(mcp_app.routes)  # POST/GET/DELETE /mcp, before the UI takes what is left
    if with_ui:
        mount_ui(app, rag)
    return app


def lifespan_of(rag: Rag, mcp: MCPServer) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """The app's lifespan: the MCP session manager runs, and the corpus folder is watched if asked."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with mcp.session_manager.run():
            if rag.settings.watch:
                async with watching(app):
                    yield
            else:
                yield

    return lifespan


def add_routes(app: FastAPI) -> None:
    """The REST, OpenAI-compatible and quiz routers, then the refusals that keep /v1/ for them."""
    app.include_router(router)
    app.include_router(chat_router)
    quiz = quiz_router(require_key)
    app.include_router(quiz)
    keep_v1_for_the_api(app, [router, chat_router, quiz])


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
