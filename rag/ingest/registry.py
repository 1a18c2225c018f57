"""The loaders by file suffix, and reading one note through them (I/O only in `read_note`).

A new format is one module with a `Loader` and one line in LOADERS.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from rag.ingest.base import Loader, Unreadable
from rag.ingest.docx import load_docx
from rag.ingest.html import load_html
from rag.ingest.notebook import load_notebook
from rag.ingest.pdf import load_pdf
from rag.ingest.text import load_markdown, load_text
from rag.models import Note

LOADERS: dict[str, tuple[str, Loader]] = {  # suffix -> (kind, loader)
    ".md": ("text", load_markdown),
    ".markdown": ("text", load_markdown),
    ".txt": ("text", load_text),
    ".ipynb": ("notebook", load_notebook),
    ".pdf": ("pdf", load_pdf),
    ".html": ("html", load_html),
    ".htm": ("html", load_html),
    ".docx": ("docx", load_docx),
}
NOTE_SUFFIXES = tuple(LOADERS)


@dataclass(frozen=True)
class Skipped:
    """A note file that could not be used, and why."""

    source: str
    reason: str


def read_note(path: Path, source: str) -> Note | Skipped:
    """Read and load one note; a file that can't be read comes back as Skipped."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return Skipped(source, f"cannot read file: {exc.strerror}")
    return load_note(raw, source)


def load_note(raw: bytes, source: str) -> Note | Skipped:
    """Turn a note's bytes into a Note with its loader, or say why they can't be one."""
    kind, loader = LOADERS.get(Path(source).suffix.lower(), LOADERS[".txt"])
    try:
        extracted = loader(raw, source)
    except Unreadable as exc:
        return Skipped(source, str(exc))
    if not extracted.text.strip():
        return Skipped(source, "empty note" if kind == "text" else "no text in it")
    return Note(source=source, text=extracted.text, sha256=hashlib.sha256(raw).hexdigest(),
                segments=extracted.segments, tags=extracted.tags, aliases=extracted.aliases, kind=kind)
