"""Incremental indexing: compare file hashes with the store, embed only chunks that changed."""

from __future__ import annotations

import fcntl
import hashlib
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from rag.embed.base import Embedder
from rag.errors import IndexBusy, IndexFailed, IndexMismatch, InvalidInput, StoreUnavailable
from rag.index.timing import Stages
from rag.ingest import CorpusScan, Skipped, load_note, scan_corpus, source_name
from rag.ingest.chunk import Budget, chunk_note
from rag.ingest.registry import raw_sha256, read_raw
from rag.ingest.view import embed_view
from rag.models import Chunk, FileReport, IndexReport, Note, overlapping
from rag.store.chunks import ChromaStore, StoredChunk

log = logging.getLogger(__name__)
EMBED_BATCH = 32
KEPT = " (the previously indexed version is kept)"  # said of a skipped note whose old version stays
Progress = Callable[[int, int], None]  # (chunks embedded so far, chunks to embed)


@dataclass(frozen=True)
class FilePlan:
    """What one changed note needs: new rows to embed, moved rows to relabel, stale ids to drop."""

    source: str
    status: str  # added | updated
    to_embed: list[StoredChunk]
    to_relabel: list[StoredChunk]
    to_delete: list[str]
    chunks: int


def chunk_ids(chunks: Sequence[Chunk]) -> list[str]:
    """Stable ids from source, heading and text, so re-indexing the same chunk never duplicates it."""
    seen: Counter[tuple[str, str]] = Counter()
    ids = []
    for chunk in chunks:
        key = (chunk.heading, chunk.text)
        digest = hashlib.sha1(f"{chunk.source}\0{chunk.heading}\0{chunk.text}\0{seen[key]}".encode()).hexdigest()
        seen[key] += 1
        ids.append(f"{chunk.source}#{digest[:16]}")
    return ids


def stored_rows(note: Note, chunks: Sequence[Chunk], indexed_at: str) -> list[StoredChunk]:
    """The rows a note's chunks become in the store."""
    return [
        StoredChunk(id_, c.source, c.start_line, c.end_line, c.heading, c.text, n, note.sha256, indexed_at,
                    note.kind, overlapping(note.segments, c.start_line, c.end_line), note.tags, note.aliases)
        for n, (id_, c) in enumerate(zip(chunk_ids(chunks), chunks))
    ]



def plan_file(note: Note, budget: Budget, existing: dict[str, StoredChunk], indexed_at: str) -> FilePlan:
    """Diff a changed note's chunks against what the store holds for it."""
    rows = stored_rows(note, chunk_note(note, budget), indexed_at)
    to_embed = [r for r in rows if r.id not in existing]
    to_relabel = [replace(r, indexed_at=existing[r.id].indexed_at) for r in rows
                  if r.id in existing and r.metadata() != replace(existing[r.id], indexed_at=r.indexed_at).metadata()]
    new_ids = {r.id for r in rows}
    to_delete = [i for i in existing if i not in new_ids]
    return FilePlan(note.source, "updated" if existing else "added", to_embed, to_relabel, to_delete, len(rows))


LOCK_POLL_SECONDS = 0.05  # how often a write waiting for the index lock looks again


@contextmanager
def index_lock(data_dir: Path, wait: float = 0.0) -> Iterator[None]:
    """One index run at a time per data folder, across processes and threads.

    With `wait`, a run in progress is waited for up to that many seconds; IndexBusy if it is still going then.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait
    with open(data_dir / "index.lock", "w") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError as exc:
                if time.monotonic() >= deadline:
                    waited = f" (waited {wait:g} s)" if wait else ""
                    raise IndexBusy(f"an index run is already in progress{waited}: wait for it to finish and "
                                    "retry") from exc
                time.sleep(LOCK_POLL_SECONDS)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def index_notes(
    corpus_dir: Path,
    store: ChromaStore,
    embedder: Embedder,
    budget: Budget,
    paths: Sequence[Path] = (),
    rebuild: bool = False,
    progress: Progress | None = None,
    allow_empty: bool = False,
    max_note_bytes: int | None = None,
    stages: Stages | None = None,
) -> IndexReport:
    """Bring the store in line with the notes on disk; a re-run after a crash converges.

    An empty corpus folder would remove every indexed note: refused unless `allow_empty` (a deliberate delete).
    A note with more text than `max_note_bytes` is skipped, its indexed version (if any) kept. `stages` gets the
    seconds each stage took (read, chunk, embed, store).
    """
    stages = stages or Stages()
    started = time.perf_counter()
    if rebuild and paths:
        raise InvalidInput("--rebuild re-indexes the whole corpus folder: leave out the paths")
    scan = scan_corpus(corpus_dir, paths)
    serving = store
    serving.remove_abandoned()  # what a rebuild that was killed left behind
    if rebuild:  # into a new collection while the current one serves; switched to only when complete
        store = serving.begin_rebuild()
    else:
        store.check_embedder(embedder.id)
    try:
        report = index_files(corpus_dir, scan, store, embedder, budget, paths, rebuild, progress, allow_empty,
                             max_note_bytes, stages)
    except BaseException:
        if rebuild:
            store.abandon()
        raise
    if rebuild:
        finish_rebuild(serving, store, report)
    return replace(report, seconds=round(time.perf_counter() - started, 3))


def finish_rebuild(serving: ChromaStore, rebuilt: ChromaStore, report: IndexReport) -> None:
    """Put the rebuilt collection in service, or drop it if a note failed (the serving one stays)."""
    failed = [f for f in report.files if f.status == "failed"]
    if failed:
        rebuilt.abandon()
        raise IndexFailed(f"the rebuild failed for {', '.join(f.source for f in failed)} ({failed[0].reason}); "
                          "the previous index is still in service: fix the note or retry `rag index --rebuild`")
    serving.switch_to(rebuilt)


def index_files(corpus_dir: Path, scan: CorpusScan, store: ChromaStore, embedder: Embedder, budget: Budget,
                paths: Sequence[Path], rebuild: bool, progress: Progress | None, allow_empty: bool,
                max_note_bytes: int | None, stages: Stages) -> IndexReport:
    """Diff the scanned notes against the store and write what changed (see `index_notes`)."""
    started = time.perf_counter()
    indexed_at = datetime.now(UTC).isoformat(timespec="seconds")
    by_source: dict[str, dict[str, StoredChunk]] = defaultdict(dict)
    with stages.timed("store"):
        for row in store.rows(with_text=False):
            by_source[row.source][row.id] = row
    recut = bool(by_source) and store.chunker_id() != budget.id  # chunking changed: diff every note

    kept_skipped = any(s.source in by_source for s in scan.skipped)
    if not scan.notes and not kept_skipped and by_source and not paths and not rebuild and not allow_empty:
        raise InvalidInput(
            f"the corpus folder {corpus_dir} has no notes, so indexing it would remove all {len(by_source)} "
            "indexed notes; check the folder (RAG_CORPUS_DIR), or run `rag index --rebuild` to empty the index"
        )
    reports = [FileReport(s.source, "skipped", s.reason + (KEPT if s.source in by_source else ""),
                          len(by_source.get(s.source, {}))) for s in scan.skipped]
    on_disk: set[str] = {s.source for s in scan.skipped}  # a note that became a link out keeps its chunks
    plans = plan_notes(scan.notes, corpus_dir, by_source, recut, budget, indexed_at, max_note_bytes, stages,
                       reports, on_disk)

    reports += apply_plans(plans, store, embedder, progress, stages)
    if not paths:
        for source in sorted(set(by_source) - on_disk):
            store.delete(list(by_source[source]))
            reports.append(FileReport(source, "removed", "the file is gone from the corpus folder"))
    if plans or rebuild or recut or any(r.status == "removed" for r in reports) or store.embedder_id() is None:
        store.mark_written(embedder.id, budget.id if not any(r.status == "failed" for r in reports) else None)
    return summarize(sorted(reports, key=lambda r: r.source), store.count(), time.perf_counter() - started)


def plan_notes(files: Sequence[Path], corpus_dir: Path, by_source: dict[str, dict[str, StoredChunk]], recut: bool,
               budget: Budget, indexed_at: str, max_note_bytes: int | None, stages: Stages,
               reports: list[FileReport], on_disk: set[str]) -> list[FilePlan]:
    """Read and chunk each note that changed into the plan of its writes; the others are reported as they are
    (`reports`), and every note read is counted as on disk (`on_disk`)."""
    plans: list[FilePlan] = []
    for path in files:
        source = source_name(path, corpus_dir)
        on_disk.add(source)
        existing = by_source.get(source, {})
        with stages.timed("read"):
            raw = read_raw(path, source)
            known = not isinstance(raw, Skipped) and {r.file_sha256 for r in existing.values()} == {raw_sha256(raw)}
            if known and not recut:  # the same bytes: not loaded again (a PDF or notebook costs its parse)
                reports.append(FileReport(source, "unchanged", "", len(existing)))
                continue
            note = raw if isinstance(raw, Skipped) else load_note(raw, source, max_note_bytes)
        if isinstance(note, Skipped):
            reports.append(FileReport(source, "skipped", note.reason + (KEPT if existing else ""), len(existing)))
        else:
            try:
                with stages.timed("chunk"):
                    plans.append(plan_file(note, budget, existing, indexed_at))
            except Exception as exc:  # one note the chunker chokes on must not stop the others
                log.exception("chunking %s failed", source)
                reports.append(FileReport(source, "failed", f"could not be chunked: {exc}"))
    return plans


def apply_plans(plans: list[FilePlan], store: ChromaStore, embedder: Embedder,
                progress: Progress | None, stages: Stages) -> list[FileReport]:
    """Embed and write each file's changes; a file is written new rows first (pending until all are in, then
    labelled with the file's hash), stale rows last. A run killed at any point leaves a note the next run sees
    as changed: its stored rows are kept, the rest embedded."""
    total = sum(len(p.to_embed) for p in plans)
    done = 0
    reports = []
    for plan in plans:
        try:
            for start in range(0, len(plan.to_embed), EMBED_BATCH):
                batch = plan.to_embed[start : start + EMBED_BATCH]
                with stages.timed("embed"):
                    vectors = embedder.embed([embed_text(r) for r in batch])
                with stages.timed("store"):
                    store.upsert([r.pending() for r in batch], vectors)
                done += len(batch)
                if progress:
                    progress(done, total)
            with stages.timed("store"):
                store.update_metadata(plan.to_embed + plan.to_relabel)
                store.delete(plan.to_delete)
        except (StoreUnavailable, IndexMismatch):
            raise
        except Exception as exc:  # the next run re-diffs this file against the store and converges
            log.exception("indexing %s failed", plan.source)
            reports.append(FileReport(plan.source, "failed", f"{type(exc).__name__}: {exc}; run `rag index` again"))
            continue
        reports.append(FileReport(plan.source, plan.status, "", plan.chunks, len(plan.to_embed)))
    return reports


def embed_text(row: StoredChunk) -> str:
    """What the embedder sees for a stored row (the same view the chunker budgeted)."""
    return embed_view(row.heading, row.text)


def summarize(files: list[FileReport], chunks: int, seconds: float) -> IndexReport:
    """Count the per-file outcomes into the INTERFACE.md summary."""
    counts = Counter(f.status for f in files)
    return IndexReport(
        added=counts["added"], updated=counts["updated"], removed=counts["removed"],
        unchanged=counts["unchanged"], chunks=chunks, seconds=round(seconds, 3),
        embedded=sum(f.embedded for f in files), files=files,
    )
