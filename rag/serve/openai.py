"""OpenAI-compatible /v1/chat/completions over Rag.ask, so OpenAI clients can use the notes as a model."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from rag.errors import InvalidInput
from rag.models import Answer
from rag.serve.api import get_rag
from rag.serve.errors import error_docs
from rag.serve.models import K

MODEL_ID = "notes-rag"
PIECE_WORDS = 8  # words per streamed chunk: small enough to look live, few enough to stay cheap

router = APIRouter(tags=["openai"])


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(BaseModel):
    """The fields of an OpenAI chat-completions request this endpoint uses; others are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(MODEL_ID, description=f"Any name: every model name is an alias of '{MODEL_ID}' (OpenAI "
                       "clients often send a fixed one, e.g. gpt-4o); the response names the model asked for.")
    messages: list[ChatMessage] = Field(
        min_length=1, description="The last user message is the question; the turns before it its history.",
        json_schema_extra={"contains": {"type": "object", "properties": {"role": {"const": "user"}}}},
    )
    stream: bool = Field(False, strict=True)
    k: K = Field(5, description="Extension: how many passages the answer may draw on.")


class OpenAIErrorBody(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class OpenAIError(BaseModel):
    """An error as OpenAI's API returns it."""

    error: OpenAIErrorBody


class ModelOut(BaseModel):
    """A model as OpenAI's API lists it."""

    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "notes-rag"
    root: str = Field(default=MODEL_ID, description="The model that answers: this server, under any name.")


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelOut]


def message_text(message: ChatMessage) -> str:
    """A message's text, also when it comes as a list of content parts."""
    if isinstance(message.content, list):
        return "\n".join(str(part.get("text", "")) for part in message.content if part.get("type") == "text")
    return message.content or ""


def split_conversation(messages: list[ChatMessage]) -> tuple[str, list[tuple[str, str]]]:
    """The last user message is the question; the user and assistant turns before it are its history."""
    last = max((i for i, m in enumerate(messages) if m.role == "user"), default=None)
    if last is None:
        raise InvalidInput("the conversation has no user message: add one with the question")
    history: list[tuple[str, str]] = [
        (m.role, message_text(m)) for m in messages[:last] if m.role in ("user", "assistant")
    ]
    return message_text(messages[last]), history


def reply_content(answer: Answer) -> str:
    """The cited answer followed by where each [n] points."""
    if not answer.citations:
        return answer.text
    sources = "\n".join(
        f"[{c.n}] {c.place()}"
        + (f" ({c.passage.heading})" if c.passage.heading else "")
        for c in answer.citations
    )
    return f"{answer.text}\n\nSources:\n{sources}"


def usage(prompt: str, content: str) -> dict[str, int]:
    from rag.tokens import count_budget_tokens

    prompt_tokens, completion_tokens = count_budget_tokens(prompt), count_budget_tokens(content)
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


CHAT_OK: dict[int | str, dict[str, Any]] = {
    200: {"description": "A chat.completion; with `stream: true`, chat.completion.chunk events",
          "content": {"application/json": {"schema": {"type": "object"}},
                      # each server-sent event: `data:` a chat.completion.chunk as JSON, the last one `[DONE]`
                      "text/event-stream": {"schema": {
                          "type": "object", "required": ["data"],
                          "properties": {"data": {"type": "string"}, "event": {"type": "string"}}}}}},
}


@router.post("/v1/chat/completions", response_model=None,
             responses={**CHAT_OK, **error_docs(409, 413, 422, 503, model=OpenAIError)})
def chat_completions(body: ChatRequest, request: Request) -> dict[str, Any] | StreamingResponse:
    """An OpenAI chat completion whose content is the cited answer (`stream: true` gives server-sent events)."""
    rag = get_rag(request)
    question, history = split_conversation(body.messages)
    answer = rag.ask(question, body.k, history)
    content = reply_content(answer)
    completion_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
    if body.stream:
        return StreamingResponse(stream_chunks(completion_id, created, body.model, content),
                                 media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
    return {
        "id": completion_id, "object": "chat.completion", "created": created, "model": body.model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": usage(question, content),
    }


def stream_chunks(completion_id: str, created: int, model: str, content: str) -> Iterator[str]:
    """`data: {chat.completion.chunk}` events: the role, the content a few words at a time, the stop, [DONE]."""

    def event(delta: dict[str, str], finish: str | None = None) -> str:
        chunk = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model,
                 "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"

    yield event({"role": "assistant", "content": ""})
    words = re.findall(r"\s*\S+\s*", content) or [content]
    for start in range(0, len(words), PIECE_WORDS):
        yield event({"content": "".join(words[start : start + PIECE_WORDS])})
    yield event({}, "stop")
    yield "data: [DONE]\n\n"


MODEL = ModelOut(id=MODEL_ID)


@router.get("/v1/models", response_model=ModelList)
def list_models() -> ModelList:
    """The one model this server is, for clients that list models before chatting."""
    return ModelList(data=[MODEL])


# A name in a URL path: no control characters, which no route matches (a `%0A` in a path ends the match).
ModelName = Annotated[str, PathParam(pattern=r"^[^\x00-\x1f\x7f]+$", description="A model's name, or any alias.")]


@router.get("/v1/models/{model_id:path}", response_model=ModelOut,
            responses=error_docs(404, model=OpenAIError))  # a name with a control character matches no route
def retrieve_model(model_id: ModelName) -> ModelOut:
    """The model under any name, as chat completions take any: `notes-rag` itself, or an alias of it (`gpt-4o`,
    `openai/gpt-4o`) whose `root` is `notes-rag`, so a client that checks its fixed model name before chatting
    finds it."""
    return MODEL if model_id == MODEL_ID else ModelOut(id=model_id)
