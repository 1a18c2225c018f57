"""notes-rag: ask your study notes; every answer cited to the exact lines.

    from rag import build
    rag = build()                 # settings from RAG_* variables; nothing loads until used
    rag.index()
    rag.ask("when would I pick MAE over MSE?").text

Names are imported on first use, so `import rag` stays instant (the CLI's --help needs no model).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "Answer": "rag.models", "Citation": "rag.models", "Chunk": "rag.models", "IndexReport": "rag.models",
    "Note": "rag.models", "Passage": "rag.models", "Rag": "rag.app", "RagError": "rag.errors",
    "Settings": "rag.settings", "SourceInfo": "rag.models", "build": "rag.app", "load_settings": "rag.settings",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'rag' has no attribute {name!r}")
