"""The chat as data for scripts: what the gradio_client endpoint `/answer` returns (the shape of POST /v1/ask)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import gradio as gr

from rag.app import MAX_K
from rag.errors import RagError
from rag.models import answer_json

if TYPE_CHECKING:
    from rag.app import Rag

ROLES = ("user", "assistant")


def answer_data(
    rag: Rag, question: str, history: list[dict[str, str]] | None, sources: list[str] | None, k: float
) -> dict[str, Any]:
    """The cited answer as a JSON-able dict; a bad input or a refusal is a `gr.Error` with the server's message."""
    turns = checked_history(history or [])
    try:
        answer = rag.ask(question, checked_k(k), turns, None, sources or [])
    except RagError as exc:
        raise gr.Error(str(exc), print_exception=False) from None
    return answer_json(answer)


def checked_k(k: float) -> int:
    """k as a whole number of passages (a UI number field sends 5.0), within the API's range."""
    whole = (isinstance(k, int) and not isinstance(k, bool)) or (isinstance(k, float) and k.is_integer())
    if not whole or not 1 <= k <= MAX_K:
        raise gr.Error(f"invalid request: k: a whole number from 1 to {MAX_K}, not {k!r}", print_exception=False)
    return int(k)


def checked_history(history: list[dict[str, str]]) -> list[tuple[str, str]]:
    """Earlier turns as (role, content) pairs; a turn that is not a user's or assistant's text is refused."""
    for i, turn in enumerate(history):
        if not isinstance(turn, dict) or turn.get("role") not in ROLES or not isinstance(turn.get("content"), str):
            raise gr.Error(f"invalid request: history.{i}: a turn is {{'role': 'user' or 'assistant', 'content': "
                           "text}", print_exception=False)
    return [(turn["role"], turn["content"]) for turn in history]
