"""Test helpers: uvicorn on 127.0.0.1 in a thread, and a stand-in for an OpenAI-compatible LLM.

No LLM can run on this machine, so the generated-answer path is tested against `StandInLLM`: a small
server that speaks the same /v1/chat/completions protocol and answers with canned text. It quotes the
first line of passage [1] with the marker [1] and also cites passage [99], which does not exist (the
client must drop it). It can be told to fail with HTTP 500 a number of times, or to answer slowly, or to
write its reply from the prompt (`write`: a copy of the passages, say), or to stop as if cut at max_tokens.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


@contextmanager
def running(app: Any, timeout: float = 30.0, lifespan: str = "off") -> Iterator[str]:
    """Serve an ASGI app with uvicorn on a free loopback port; yields its base URL.

    `lifespan="on"` runs the app's start-up and shut-down (the folder watcher lives there).
    """
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan=lifespan, timeout_keep_alive=30))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


class StandInLLM:
    """Canned chat completions; records every request body it receives."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.failures = 0  # answer HTTP 500 this many times before answering properly
        self.delay = 0.0  # seconds to wait before answering
        self.reply: str | None = None  # fixed reply text instead of the canned quote
        self.write: Callable[[str], str] | None = None  # the reply made from the last user message
        self.finish_reason = "stop"  # "length": as if the reply had been cut at max_tokens

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def complete(request: Request) -> JSONResponse:
            body = await request.json()
            self.requests.append(body)
            if self.delay:
                time.sleep(self.delay)  # blocks this stand-in only, which is what a hung LLM looks like
            if self.failures > 0:
                self.failures -= 1
                return JSONResponse({"error": {"message": "overloaded"}}, status_code=500)
            prompt = body["messages"][-1]["content"]
            content = self.reply if self.reply is not None else (self.write or canned_reply)(prompt)
            return JSONResponse({
                "id": "chatcmpl-standin", "object": "chat.completion", "created": int(time.time()),
                "model": body.get("model", "standin"),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                             "finish_reason": self.finish_reason}],
            })

        return app


def canned_reply(prompt: str) -> str:
    """Quote the first line of prose of passage 1; also cite a passage that doesn't exist."""
    match = re.search(r"^(?:\[1\]|Passage 1) .*\n((?:.*\n?)*?)(?:\n(?:\[2\]|Passage 2) |\nQuestion:)", prompt, re.M)
    lines = match.group(1).split("\n") if match else []
    first = next((line.strip() for line in lines if len(line.split()) >= 4 and not line.startswith("#")), "nothing")
    return f"The notes say: {first} [1]. This claim cites a passage that was never sent [99]."
