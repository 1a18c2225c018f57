"""The chat tab's handlers: ask the Rag container, stream the answer in, start over."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import gradio as gr

from rag.errors import RagError
from ui.render import Turn, render_conversation

if TYPE_CHECKING:
    from rag.app import Rag

# Generic questions about topics the shipped corpus (corpus/interview-notes.md) covers.
EXAMPLES = (
    "How do SVMs handle multi-class classification?",
    "What is the difference between compile-time and runtime polymorphism?",
    "How is data abstraction accomplished?",
    "What problems do RNNs have that LSTMs fix?",
)
STREAM_STEPS = 12  # the answer arrives in about this many pieces
STREAM_DELAY = 0.03  # seconds between pieces: visible as typing, short enough not to slow anyone down

ChatOutput = tuple[str, list[Turn], Any, Any]  # conversation HTML, turns, question box, examples box


def history_of(turns: Sequence[Turn]) -> list[tuple[str, str]]:
    """Prior answered turns as (role, content) messages, as `rag.ask` takes them for a follow-up."""
    messages = []
    for turn in turns:
        if turn.answer is not None:
            messages += [("user", turn.question), ("assistant", turn.answer.text)]
    return messages


def pieces(text: str, steps: int = STREAM_STEPS) -> Iterator[str]:
    """Growing prefixes of the text, cut at word ends, the full text last."""
    ends = [m.end() for m in re.finditer(r"\S+\s*", text)]
    stride = max(1, -(-len(ends) // steps))
    shown = None
    for end in ends[stride - 1 :: stride]:
        shown = text[:end]
        yield shown
    if shown != text:
        yield text


def ask_options(rag: Rag, k: float, sources: Sequence[str] | None, mode: str | None) -> dict[str, Any]:
    """Keyword arguments for `rag.ask` from the settings panel."""
    options: dict[str, Any] = {"k": int(k), "mode": mode or None}
    if sources:
        options["sources"] = list(sources)
    return options


def respond(
    rag: Rag, question: str, turns: list[Turn], k: float, sources: Sequence[str] | None, mode: str | None
) -> Iterator[ChatOutput]:
    """Show the question, ask the notes, stream the answer, then show its source cards."""
    question = (question or "").strip()
    hidden = gr.update(visible=False)
    # An empty box asks nothing and says nothing, as any chat box does: a second Enter pressed while the first
    # one's answer arrives runs afterwards, on the emptied box.
    if not question:
        yield render_conversation(turns), turns, "", gr.update()
        return
    yield render_conversation([*turns, Turn(question)]), turns, "", hidden
    try:
        answer = rag.ask(question, history=history_of(turns), **ask_options(rag, k, sources, mode))
    except RagError as exc:
        gr.Warning(str(exc))
        yield render_conversation(turns), turns, question, gr.update(visible=not turns)
        return
    done = [*turns, Turn(question, answer)]
    # The question box is left alone from here on: the next question may already be being typed.
    for shown in pieces(answer.text):
        yield render_conversation(done, shown), turns, gr.update(), gr.update()
        time.sleep(STREAM_DELAY)
    yield render_conversation(done), done, gr.update(), gr.update()


def new_chat() -> ChatOutput:
    """An empty conversation with the example questions back."""
    return render_conversation([]), [], "", gr.update(visible=True)
