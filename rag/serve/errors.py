"""The one error table of the API: RagError classes -> statuses, the bodies they answer with (`{"detail"}`, or
OpenAI's shape on its routes), and what each status means in the OpenAPI schema."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

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
from rag.serve.models import PATTERN_WORDS, ErrorOut

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
OPENAI_PATHS = ("/v1/chat/", "/v1/models")
ERROR_TYPES = {401: "authentication_error", 403: "permission_error", 429: "rate_limit_error"}
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


def add_error_handlers(app: FastAPI) -> None:
    """Every error the app can meet answered in the route's shape: ours, validation's, Starlette's, the rest."""
    app.add_exception_handler(RagError, rag_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, internal_error)


def status_for(exc: RagError) -> int:
    """The status of an error class, or of its nearest mapped base."""
    return next((ERROR_STATUS[c] for c in type(exc).__mro__ if c in ERROR_STATUS), 500)


async def rag_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RagError)
    status = status_for(exc)
    if status >= 500:
        log.error("%s %s -> %s: %s", request.method, request.url.path, status, exc)
    # The class name lets a client (rag/cli/remote.py) raise the very exception the server met.
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


def speaks_openai(path: str) -> bool:
    """True for the routes OpenAI clients call: their errors come in OpenAI's shape."""
    return path.startswith(OPENAI_PATHS)


def openai_error(status: int, message: str, param: str | None = None) -> dict[str, Any]:
    """`{"error": {"message", "type", "param", "code"}}`, so an OpenAI client shows the message."""
    kind = ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    code = "model_not_found" if status == 404 and "model" in message else None
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}
