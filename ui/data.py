"""The chat as data for scripts: what the gradio_client endpoint `/answer` returns (the shape of POST /v1/ask)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import gradio as gr
from pydantic import ValidationError

from rag.errors import RagError
from rag.serve.models import AskRequest, answer_out

if TYPE_CHECKING:
    from rag.app import Rag


def answer_data(
    rag: Rag, question: str, history: list[dict[str, str]] | None, sources: list[str] | None, k: float
) -> dict[str, Any]:
    """The cited answer as a JSON-able dict; a bad input or a refusal is a `gr.Error` with the server's message."""
    try:
        whole = isinstance(k, float) and k.is_integer()  # a UI number field sends 5.0
        fields = {"question": question, "history": history or [], "sources": sources or [], "k": int(k) if whole else k}
        ask = AskRequest.model_validate(fields)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise gr.Error(f"invalid request: {problems}", print_exception=False) from None
    try:
        answer = rag.ask(ask.question, ask.k, [(m.role, m.content) for m in ask.history], ask.mode, ask.sources)
    except RagError as exc:
        raise gr.Error(str(exc), print_exception=False) from None
    return answer_out(answer).model_dump(mode="json")
