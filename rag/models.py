"""Frozen dataclasses passed between the pipeline stages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Segment:
    """Lines start_line..end_line of a note's text come from one place of the original file: a PDF page or a
    notebook cell, whose own line `first_line` is the segment's first line."""

    start_line: int  # 1-based, inclusive, in the note's text
    end_line: int
    page: int | None = None  # 1-based
    cell: int | None = None  # 1-based, in the notebook's order
    execution_count: int | None = None  # the cell's `In [n]`, when it ran
    first_line: int = 1
    output: bool = False  # the lines are the cell's output, not its source


@dataclass(frozen=True)
class Location:
    """Where lines of a note's text are in the original file, as a person would look them up."""

    line_start: int
    line_end: int
    page: int | None = None
    page_end: int | None = None  # when the lines run onto a later page
    cell: int | None = None
    cell_end: int | None = None
    execution_count: int | None = None
    output: bool | None = None  # True: the lines are in the cell's output

    def as_dict(self) -> dict[str, int | bool]:
        """The JSON shape (INTERFACE v1.1): only the keys that apply."""
        return {key: value for key, value in vars(self).items() if value is not None}

    def label(self) -> str:
        """"page 3, lines 12–20", "cell [12], lines 2–9", "output of cell 7, line 1" (a cell that never ran has
        no `[n]`), "page 3 line 40 – page 4 line 5" for lines that run on."""
        lines = f"line {self.line_start}" if self.line_start == self.line_end \
            else f"lines {self.line_start}\u2013{self.line_end}"
        if self.page is not None:
            name, end = f"page {self.page}", f"page {self.page_end}" if self.page_end is not None else None
        elif self.cell is not None:
            name = f"cell [{self.execution_count}]" if self.execution_count is not None else f"cell {self.cell}"
            name = f"output of {name}" if self.output else name
            end = f"cell {self.cell_end}" if self.cell_end is not None else None
        else:
            return lines
        return f"{name} line {self.line_start} \u2013 {end} line {self.line_end}" if end else f"{name}, {lines}"


def segments_at(location: Location, start: int, end: int) -> tuple[Segment, ...]:
    """Segments that `locate` turns back into `location` for lines start..end (a passage read from the API)."""
    first = Segment(start, start, location.page, location.cell, location.execution_count, location.line_start,
                    bool(location.output))
    last = Segment(end, end, location.page_end or location.page, location.cell_end or location.cell,
                   None if location.cell_end else location.execution_count, location.line_end)
    return (first,) if start == end else (first, last)


def overlapping(segments: Sequence[Segment], start: int, end: int) -> tuple[Segment, ...]:
    """The segments (pages, cells) lines start..end lie in: what locates any of them in the original."""
    return tuple(s for s in segments if s.start_line <= end and s.end_line >= start)


def locate(segments: tuple[Segment, ...], start: int, end: int) -> Location | None:
    """Where lines start..end of a note's text are in its original file (None for a text note)."""
    inside = overlapping(segments, start, end)
    if not inside:
        return None
    first, last = inside[0], inside[-1]
    if first.page is None and last.cell == first.cell and last.output != first.output:
        last = first  # a cell's source and its output: the source's lines say where
    line_start = first.first_line + max(start, first.start_line) - first.start_line
    line_end = last.first_line + min(end, last.end_line) - last.start_line
    if first.page is not None:
        return Location(line_start, line_end, page=first.page, page_end=last.page if last.page != first.page else None)
    return Location(line_start, line_end, cell=first.cell, execution_count=first.execution_count,
                    cell_end=last.cell if last.cell != first.cell else None, output=first.output or None)


@dataclass(frozen=True)
class Note:
    """One note file as read from disk, as text: markdown, or what a loader extracted from a richer format."""

    source: str  # path relative to the corpus folder, with "/" separators
    text: str  # decoded or extracted text, line endings normalised to "\n"
    sha256: str  # of the file's bytes
    segments: tuple[Segment, ...] = ()  # where the text's lines are in the original (pages, cells), if not text
    tags: tuple[str, ...] = ()  # from front matter and `#tags`: filterable
    aliases: tuple[str, ...] = ()  # other names of the note (front matter)
    kind: str = "text"  # the loader that read it: text, notebook, pdf, html, docx


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
    segments: tuple[Segment, ...] = ()  # the note's segments these lines overlap (none for a text note)

    @property
    def location(self) -> Location | None:
        return locate(self.segments, self.start_line, self.end_line)

    def place(self) -> str:
        """"notes.md:10-12", or "lecture.pdf:40-48 (page 3, lines 12–20)" where the original has pages or cells."""
        return place(self.source, self.start_line, self.end_line, self.location)


@dataclass(frozen=True)
class Citation:
    """An answer's reference `[n]`: the passage and the lines of the cited sentences."""

    n: int
    passage: Passage
    cited_start: int
    cited_end: int
    spans: tuple[tuple[int, int], ...] = ()  # the quoted line ranges within cited_start..cited_end, in order
    location: Location | None = None  # where cited_start..cited_end are in the original file (pages, cells)

    @property
    def quoted(self) -> tuple[tuple[int, int], ...]:
        return self.spans or ((self.cited_start, self.cited_end),)

    def place(self) -> str:
        """Where the cited lines are, as `Passage.place` says it."""
        return place(self.passage.source, self.cited_start, self.cited_end, self.location)


def place(source: str, start: int, end: int, location: Location | None) -> str:
    return f"{source}:{start}-{end}" + (f" ({location.label()})" if location else "")


@dataclass(frozen=True)
class Attribution:
    """One sentence (or code block, or formula) of a written answer and the notes' lines that support it."""

    text: str  # as written, markers removed
    kind: str  # "sentence", "code" or "formula"
    support: float  # similarity to the supporting lines; for code and formulas the share found exactly
    cites: tuple[tuple[int, int, int], ...] = ()  # (n, first line, last line) of each supporting span
    reason: str = ""  # why no line supports it ("" when one does)

    @property
    def supported(self) -> bool:
        return bool(self.cites)


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
    sentences: tuple[Attribution, ...] = ()  # a written answer: every sentence and what supports it
    extractive: Answer | None = None  # a written answer: the notes' own lines it was written from



def answer_json(answer: Answer) -> dict[str, Any]:
    """The answer in the JSON shape of `POST /v1/ask` (JSON types only), for the web UI's data endpoint."""
    return {"question": answer.question, "search_query": answer.search_query, "answer": answer.text,
            "answered": answer.answered, "mode": answer.mode, "citations": [citation_json(c) for c in answer.citations],
            "note": answer.note, "sentences": [attribution_json(a) for a in answer.sentences]}


def passage_json(p: Passage) -> dict[str, Any]:
    """A passage's JSON fields: its segments only as the `location` they give."""
    where = p.location
    return {"id": p.id, "source": p.source, "start_line": p.start_line, "end_line": p.end_line,
            "heading": p.heading, "text": p.text, "score": float(p.score),
            "scores": {name: float(v) for name, v in p.scores.items()}, "location": where.as_dict() if where else None}


def citation_json(c: Citation) -> dict[str, Any]:
    return {**passage_json(c.passage), "n": c.n, "cited_start_line": c.cited_start, "cited_end_line": c.cited_end,
            "quoted": [{"start_line": a, "end_line": b} for a, b in c.quoted],
            "cited_location": c.location.as_dict() if c.location else None}


def attribution_json(a: Attribution) -> dict[str, Any]:
    return {"text": a.text, "kind": a.kind, "supported": a.supported, "support": float(a.support),
            "cites": [{"n": n, "start_line": start, "end_line": end} for n, start, end in a.cites], "reason": a.reason}

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
    trash: str = ""  # a deleted note: where its file went (rag.index.trash), to be restored from
    stages: dict[str, float] = field(default_factory=dict)  # seconds per stage: read, chunk, embed, store, bm25, units


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
    stage: str = ""  # of the run in progress: "chunks", then "units" (the notes are searchable by then)


@dataclass(frozen=True)
class SourceInfo:
    """One indexed note as `rag sources` lists it."""

    source: str
    chunks: int
    sha256: str
    indexed_at: str
    kind: str = "text"  # the loader that read it: text, notebook, pdf, html, docx
    tags: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
