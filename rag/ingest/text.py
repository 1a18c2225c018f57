"""Markdown and plain-text notes: decoded as UTF-8, line endings normalised (pure)."""

from __future__ import annotations

from rag.ingest.base import Extracted, Unreadable


def decode_text(raw: bytes) -> str:
    """UTF-8 text with "\n" line ends, so line numbers match what an editor shows."""
    if b"\x00" in raw:
        raise Unreadable("binary file (contains NUL bytes)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Unreadable(f"not valid UTF-8 (byte {exc.start}): re-save the file as UTF-8") from exc
    return text.replace("\r\n", "\n").replace("\r", "\n")


def load_text(raw: bytes, source: str) -> Extracted:
    """A `.txt` or `.md` note as it is."""
    return Extracted(decode_text(raw))
