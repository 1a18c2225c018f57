"""Frozen dataclasses passed between the pipeline stages."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Note:
    """One note file as read from disk."""

    source: str  # path relative to the corpus folder, with "/" separators
    text: str  # decoded text, line endings normalised to "\n"
    sha256: str


@dataclass(frozen=True)
class Chunk:
    """A span of a note: its text is lines start_line..end_line (or a sub-span)."""

    source: str
    start_line: int  # 1-based, inclusive
    end_line: int  # 1-based, inclusive
    heading: str  # "A > B > C", "" if none
    text: str


@dataclass(frozen=True)
class Passage:
    """A stored chunk returned by retrieval."""

    id: str
    source: str
    start_line: int
    end_line: int
    heading: str
    text: str
    score: float = 0.0
    scores: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Citation:
    """An answer's reference `[n]`: the passage and the lines of the cited sentences."""

    n: int
    passage: Passage
    cited_start: int
    cited_end: int


@dataclass(frozen=True)
class Answer:
    """A composed answer with its citations."""

    question: str
    search_query: str
    text: str
    answered: bool
    mode: str  # "extractive" or "llm"
    citations: list[Citation]
    note: str = ""


@dataclass(frozen=True)
class FileReport:
    """What an index run did to one file."""

    source: str
    status: str  # added | updated | removed | unchanged | skipped | failed
    reason: str = ""
    chunks: int = 0
    embedded: int = 0


@dataclass(frozen=True)
class IndexReport:
    """The summary of one index run (INTERFACE.md)."""

    added: int
    updated: int
    removed: int
    unchanged: int
    chunks: int
    seconds: float
    embedded: int
    files: list[FileReport]
    units: int = 0  # answer units (sentences, items...) embedded and stored for answers, beyond the chunks


@dataclass(frozen=True)
class IndexStatus:
    """The index run in progress (if any) and how the last one ended, as the API and the UI show them."""

    running: bool
    done: int = 0  # texts embedded so far by the run in progress
    total: int = 0
    started_at: str | None = None  # of the run in progress
    finished_at: str | None = None  # of the last run that ended
    last: IndexReport | None = None  # what the last successful run did
    error: str | None = None  # why the last run failed, if it did


@dataclass(frozen=True)
class SourceInfo:
    """One indexed note as `rag sources` lists it."""

    source: str
    chunks: int
    sha256: str
    indexed_at: str
