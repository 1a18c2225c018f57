"""The loaders by file suffix, and reading one note through them (I/O only in `read_note`).

A new format is one module with a `Loader` and one line in LOADERS.
"""

from __future__ import annotations

import hashlib
import importlib
from dataclasses import dataclass
from pathlib import Path

from rag.ingest.base import Loader, Unreadable
from rag.models import Note

# suffix -> (kind, "module:function"): a loader's libraries are imported when a file of its kind is first read,
# so `rag --help` or `rag sources` don't pay for bs4, python-docx or PDFium.
LOADERS: dict[str, tuple[str, str]] = {
    ".md": ("text", "rag.ingest.text:load_markdown"),
    ".markdown": ("text", "rag.ingest.text:load_markdown"),
    ".txt": ("text", "rag.ingest.text:load_text"),
    ".ipynb": ("notebook", "rag.ingest.notebook:load_notebook"),
    ".pdf": ("pdf", "rag.ingest.pdf:load_pdf"),
    ".html": ("html", "rag.ingest.html:load_html"),
    ".htm": ("html", "rag.ingest.html:load_html"),
    ".docx": ("docx", "rag.ingest.docx:load_docx"),
}
NOTE_SUFFIXES = tuple(LOADERS)


def loader_for(source: str) -> tuple[str, Loader]:
    """The kind and the loader of a note, by its suffix (text for an unknown one)."""
    kind, target = LOADERS.get(Path(source).suffix.lower(), LOADERS[".txt"])
    module, name = target.split(":")
    loader: Loader = getattr(importlib.import_module(module), name)
    return kind, loader


@dataclass(frozen=True)
class Skipped:
    """A note file that could not be used, and why."""

    source: str
    reason: str


def read_note(path: Path, source: str, max_bytes: int | None = None) -> Note | Skipped:
    """Read and load one note; a file that can't be read, or has more text than `max_bytes`, comes back as Skipped."""
    raw = read_raw(path, source)
    return raw if isinstance(raw, Skipped) else load_note(raw, source, max_bytes)


def read_raw(path: Path, source: str) -> bytes | Skipped:
    """A note file's bytes, or why they can't be read."""
    try:
        return path.read_bytes()
    except OSError as exc:
        return Skipped(source, f"cannot read file: {exc.strerror}")


def raw_sha256(raw: bytes) -> str:
    """The hash a note is known by: of its file's bytes, so an unchanged file is known before it is loaded."""
    return hashlib.sha256(raw).hexdigest()


def load_note(raw: bytes, source: str, max_bytes: int | None = None) -> Note | Skipped:
    """Turn a note's bytes into a Note with its loader, or say why they can't be one.

    Its text is what chunking and embedding cost, so `max_bytes` caps the text: a text note's file (checked before
    it is decoded), the text read out of any other kind (whose file size says little: images, outputs, zip).
    """
    kind, loader = loader_for(source)
    if kind == "text" and max_bytes is not None and len(raw) > max_bytes:
        return Skipped(source, "the note is " + over_cap(len(raw), max_bytes))
    try:
        extracted = loader(raw, source)
    except Unreadable as exc:
        return Skipped(source, str(exc))
    if not extracted.text.strip():
        return Skipped(source, "empty note" if kind == "text" else "no text in it")
    if kind != "text" and max_bytes is not None and (size := len(extracted.text.encode())) > max_bytes:
        return Skipped(source, "its text is " + over_cap(size, max_bytes))
    return Note(source=source, text=extracted.text, sha256=raw_sha256(raw),
                segments=extracted.segments, tags=extracted.tags, aliases=extracted.aliases, kind=kind)


def over_cap(size: int, max_bytes: int) -> str:
    return f"{size / 1e6:.1f} MB, over the {max_bytes / 1e6:g} MB cap (RAG_MAX_NOTE_BYTES): split it or raise the cap"
