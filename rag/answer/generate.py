"""Generated answers from an OpenAI-compatible /chat/completions endpoint, written from the chosen blocks and cited."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from dataclasses import replace

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
MARKER = re.compile(r"\[(\d{1,3})\]")
INSTRUCTIONS = (
    "You answer questions using only the numbered passages from the user's study notes. "
    "Keep the answer short. End every sentence with the number of the passage it comes from, "
    "like [1] or [2]. If the passages do not contain the answer, say that the notes don't cover it. "
    "Never use outside knowledge."
)


def generate_answer(settings: Settings, question: str, search_query: str, blocks: Sequence[Citation],
                    history: Sequence[tuple[str, str]] = ()) -> tuple[str, list[Citation]]:
    """Ask the LLM for a cited answer written from the chosen blocks (each cited lines of one chunk).

    Raises LLMError when it fails or cites nothing real.
    """
    if not settings.llm_base_url:
        raise LLMError("no LLM endpoint is configured: set RAG_LLM_BASE_URL")
    sent = budget_blocks(blocks, CONTEXT_TOKENS)
    messages = build_messages(question, search_query, sent, history)
    reply = post_chat(settings, messages)
    text, citations = keep_real_citations(reply, sent)
    if not citations:
        raise LLMError("the LLM's answer cited none of the passages")
    return text, citations


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


def build_messages(question: str, search_query: str, blocks: Sequence[Citation],
                   history: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    """System instructions, the last turns of the conversation, then the numbered blocks and the question."""
    numbered = "\n\n".join(
        f"[{n}] {b.passage.source} lines {b.cited_start}-{b.cited_end} ({b.passage.heading or 'no heading'})\n"
        f"{cited_text(b)}" for n, b in enumerate(blocks, start=1)
    )
    asked = question if search_query == question else f"{question}\n(In context: {search_query})"
    turns = [{"role": role, "content": content} for role, content in history[-HISTORY_TURNS:]
             if role in ("user", "assistant")]
    return [{"role": "system", "content": INSTRUCTIONS}, *turns,
            {"role": "user", "content": f"Passages:\n\n{numbered}\n\nQuestion: {asked}"}]


def post_chat(settings: Settings, messages: list[dict[str, str]]) -> str:
    """The assistant's reply text; retries transient failures, wraps every failure in LLMError."""
    url = settings.llm_base_url.rstrip("/") + "/chat/completions"  # type: ignore[union-attr]
    headers = {"Authorization": f"Bearer {settings.llm_api_key}"} if settings.llm_api_key else {}
    body = {"model": settings.llm_model, "messages": messages, "temperature": 0}
    with httpx.Client(timeout=settings.llm_timeout, headers=headers) as client:
        for attempt in range(RETRIES + 1):
            try:
                response = client.post(url, json=body)
                if response.status_code < 500 or attempt == RETRIES:
                    return reply_text(response)
                log.warning("LLM endpoint answered %s; retrying", response.status_code)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                if attempt == RETRIES:
                    raise LLMError(f"the LLM endpoint {url} did not answer ({type(exc).__name__})") from exc
                log.warning("LLM endpoint %s: %s; retrying", url, exc)
            time.sleep(BACKOFF * 2**attempt)
    raise LLMError("unreachable")  # the loop always returns or raises


def reply_text(response: httpx.Response) -> str:
    """The message content of a chat-completion response, or LLMError saying what was wrong."""
    if response.status_code != 200:
        raise LLMError(f"the LLM endpoint answered HTTP {response.status_code}: {response.text[:200]}")
    try:
        content = response.json()["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise LLMError("the LLM endpoint's answer is not a chat completion") from exc
    if not isinstance(content, str) or not content.strip():
        raise LLMError("the LLM endpoint returned an empty answer")
    return content.strip()


def keep_real_citations(text: str, blocks: Sequence[Citation]) -> tuple[str, list[Citation]]:
    """Drop markers of blocks that don't exist; renumber the rest 1..n in order of first use."""
    numbers: dict[int, int] = {}

    def renumber(match: re.Match[str]) -> str:
        old = int(match.group(1))
        if not 1 <= old <= len(blocks):
            return ""
        numbers.setdefault(old, len(numbers) + 1)
        return f"[{numbers[old]}]"

    cleaned = re.sub(r"[ \t]+(?=[.,;:!?]|$)", "", MARKER.sub(renumber, text), flags=re.M)
    citations = [replace(blocks[old - 1], n=new) for old, new in numbers.items()]
    return cleaned, citations
