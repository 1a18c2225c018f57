"""The answer stage: question analysis, the notes' blocks, selection, composition, and the optional LLM."""

from rag.answer.compose import Answerer

__all__ = ["Answerer"]
