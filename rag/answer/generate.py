"""The optional LLM: the prompt made of the chosen blocks, and one call to an OpenAI-compatible
/chat/completions endpoint with a token cap and a time budget. What the reply may say is rag.answer.written's."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from rag.errors import LLMError
from rag.models import Citation
from rag.settings import Settings
from rag.tokens import count_budget_tokens

log = logging.getLogger(__name__)

CONTEXT_TOKENS = 3000  # passages beyond this budget are left out of the prompt
HISTORY_TURNS = 6  # earlier messages sent along, newest kept
RETRIES = 2  # on 5xx answers, timeouts and refused connections
BACKOFF = 0.5  # seconds, doubled per retry
MIN_ATTEMPT = 1.0  # seconds: less than this left of the budget, no retry is started
# No [n] demand by default: a small model told to cite copies the numbered passages, headers included, and
# rejects its own words when it forgets a marker. The sentences are attributed to the notes afterwards.
INSTRUCTIONS = (
    "You answer questions from the user's study notes, using only the passages given. "
    "Answer in a few short sentences of your own words; do not copy the passages or repeat the question. "
    "Write code, formulas, numbers and names exactly as the passages write them. "
    "If the passages do not contain the answer, say that the notes don't cover it. Never use outside knowledge."
)
CITE = " End every sentence with the number of the passage it comes from, like [1] or [2]."


@dataclass(frozen=True)
class Completion:
    """The assistant's reply, and whether it stopped at max_tokens."""

    text: str
    truncated: bool = False


def cited_text(block: Citation) -> str:
    """The lines of its chunk that a citation quotes."""
    lines = block.passage.text.split("\n")
    first = block.passage.start_line
    return "\n".join(lines[block.cited_start - first : block.cited_end - first + 1]) or block.passage.text


def budget_blocks(blocks: Sequence[Citation], budget: int) -> list[Citation]:
    """The blocks that fit the token budget, in answer order (at least the first)."""
    kept: list[Citation] = []
    used = 0
    for block in blocks:
        cost = count_budget_tokens(cited_text(block)) + 20  # the number, source and heading line
        if kept and used + cost > budget:
            break
        kept.append(block)
        used += cost
    return kept


def header(n: int, block: Citation, cites: bool) -> str:
    """A passage's first line in the prompt: its number and heading (no file name or line numbers: a small
    model copies those into its answer)."""
    heading = block.passage.heading or "no heading"
    return f"[{n}] ({heading})" if cites else f"Passage {n} ({heading}):"


def asked_line(question: str, search_query: str) -> str:
    return question if search_query == question else f"{question}\n(In context: {search_query})"


def build_messages(question: str, search_query: str, blocks: Sequence[Citation],
                   history: Sequence[tuple[str, str]], cites: bool = False) -> list[dict[str, str]]:
    """System instructions, the last turns of the conversation, then the numbered blocks and the question."""
    numbered = "\n\n".join(f"{header(n, b, cites)}\n{cited_text(b)}" for n, b in enumerate(blocks, start=1))
    turns = [{"role": role, "content": content} for role, content in history[-HISTORY_TURNS:]
             if role in ("user", "assistant")]
    system = INSTRUCTIONS + (CITE if cites else "")
    return [{"role": "system", "content": system}, *turns,
            {"role": "user", "content": f"Passages:\n\n{numbered}\n\nQuestion: {asked_line(question, search_query)}"}]


def post_chat(settings: Settings, messages: list[dict[str, str]]) -> str:
    """The assistant's reply text (see `complete`)."""
    return complete(settings, messages).text


def complete(settings: Settings, messages: list[dict[str, str]]) -> Completion:
    """The assistant's reply; retries transient failures within the time budget, wraps every failure in
    LLMError."""
    url = settings.llm_base_url.rstrip("/") + "/chat/completions"  # type: ignore[union-attr]
    headers = {"Authorization": f"Bearer {settings.llm_api_key}"} if settings.llm_api_key else {}
    body = {"model": settings.llm_model, "messages": messages, "temperature": 0, "max_tokens": settings.llm_max_tokens}
    deadline = time.monotonic() + settings.llm_budget
    with httpx.Client(headers=headers) as client:
        for attempt in range(RETRIES + 1):
            left = deadline - time.monotonic()
            last = attempt == RETRIES or left - BACKOFF * 2**attempt < MIN_ATTEMPT
            try:
                response = client.post(url, json=body, timeout=min(settings.llm_timeout, max(left, 0.05)))
                if response.status_code < 500 or last:
                    return reply_of(response)
                log.warning("LLM endpoint answered %s; retrying", response.status_code)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                if last:
                    raise LLMError(f"the LLM endpoint {url} did not answer ({type(exc).__name__})") from exc
                log.warning("LLM endpoint %s: %s; retrying", url, exc)
            time.sleep(BACKOFF * 2**attempt)
    raise LLMError("unreachable")  # the loop always returns or raises


def reply_of(response: httpx.Response) -> Completion:
    """The message of a chat-completion response, or LLMError saying what was wrong."""
    if response.status_code != 200:
        raise LLMError(f"the LLM endpoint answered HTTP {response.status_code}: {response.text[:200]}")
    try:
        choice = response.json()["choices"][0]
        content = choice["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise LLMError("the LLM endpoint's answer is not a chat completion") from exc
    if not isinstance(content, str) or not content.strip():
        raise LLMError("the LLM endpoint returned an empty answer")
    return Completion(content.strip("\n"), choice.get("finish_reason") == "length")

