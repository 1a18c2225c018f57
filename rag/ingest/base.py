"""What every format's loader returns, and how it says a file can't be read (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from rag.models import Segment


@dataclass(frozen=True)
class Extracted:
    """A file's text as markdown (what is chunked and what line numbers count), and where its lines came from."""

    text: str
    segments: tuple[Segment, ...] = ()  # pages, cells: sorted, not overlapping; empty for a text note
    tags: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()


class Unreadable(Exception):
    """The file can't be read as its kind; the message says why and what to do."""


class Loader(Protocol):
    """Reads one format: the file's bytes -> Extracted, or Unreadable."""

    def __call__(self, raw: bytes, source: str) -> Extracted: ...
