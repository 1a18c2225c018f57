"""The notes tab's handlers: list, upload, delete and re-index notes through the Rag container."""

from __future__ import annotations

import hmac
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr

from rag.app import WRITE_WAIT_SECONDS
from rag.errors import AuthError, InvalidInput, RagError
from rag.ingest import NOTE_SUFFIXES
from ui.render import render_report, render_sources, render_status

if TYPE_CHECKING:
    from rag.app import Rag
    from rag.models import IndexReport, IndexStatus
    from rag.settings import Settings

NotesOutput = tuple[str, Any, Any]  # notes table HTML, delete dropdown, "restrict to" dropdown
UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(filename: str) -> str:
    """The uploaded file's base name reduced to [A-Za-z0-9._-], keeping a note suffix."""
    base = Path(filename.replace("\\", "/")).name
    stem, suffix = os.path.splitext(base)
    if suffix.lower() not in NOTE_SUFFIXES:
        raise InvalidInput(f"{base}: not a kind of note that is indexed ({', '.join(NOTE_SUFFIXES)})")
    stem = UNSAFE.sub("-", stem).strip("-._")[:100] or "note"
    return stem + suffix.lower()


def check_key(settings: Settings, key: str | None) -> None:
    """Changes to the notes need the API key when one is configured, as the REST writes do."""
    if settings.api_key and not hmac.compare_digest((key or "").encode(), settings.api_key.encode()):
        raise AuthError("enter the API key (RAG_API_KEY) above to change the notes")


def index_progress(progress: gr.Progress) -> Callable[[int, int], None]:
    """Feed the indexer's (done, total) chunk counts to a Gradio progress bar."""

    def update(done: int, total: int) -> None:
        progress((done, total or None), desc="Embedding", unit="texts")

    return update


def notes_view(rag: Rag) -> NotesOutput:
    """The notes table and the two dropdowns that list note names."""
    sources = rag.sources()
    names = [s.source for s in sources]
    return render_sources(sources), gr.update(choices=names, value=None), gr.update(choices=names, value=[])


def refresh(rag: Rag) -> NotesOutput:
    """The notes panel as it is now; a store error becomes a message, not a trace."""
    try:
        return notes_view(rag)
    except RagError as exc:
        gr.Warning(str(exc))
        return '<div class="notes-empty">The notes could not be listed.</div>', gr.update(), gr.update()


def status_line(rag: Rag) -> str:
    """The index status line, naming the folder when it is watched (RAG_WATCH)."""
    watching = f"{rag.settings.corpus_dir.as_posix().rstrip('/')}/" if rag.settings.watch else None
    return render_status(rag.status, watching)


Seen = tuple["IndexStatus", tuple[str, ...]]  # the status and the note names a page last showed
FollowOutput = tuple[str, "Seen | None", Any, Any, Any]  # status line, what the page shows now, NotesOutput


def seen_now(rag: Rag) -> Seen | None:
    """What a page that has just listed the notes shows (after its own upload, delete or re-index)."""
    try:
        return rag.status, tuple(s.source for s in rag.sources())
    except RagError:
        return None


def follow(rag: Rag, seen: Seen | None, victim: str | None, restricted: Sequence[str] | None) -> FollowOutput:
    """The status line, and the notes list too once a run has ended since this page last looked (the folder
    watcher indexes behind the page's back). No store access while nothing has changed; the dropdowns are
    only touched when the names changed, and keep what was picked."""
    status = rag.status
    unchanged = gr.update(), gr.update(), gr.update()
    if (seen is not None and status == seen[0]) or status.running:
        return (status_line(rag), seen, *unchanged)
    try:
        sources = rag.sources()
    except RagError:  # the store is away: try again on the next tick, without a warning every time
        return (status_line(rag), seen, *unchanged)
    names = tuple(s.source for s in sources)
    table = render_sources(sources)
    if seen is not None and names == seen[1]:
        return status_line(rag), (status, names), table, gr.update(), gr.update()
    kept = [name for name in restricted or [] if name in names]
    return (status_line(rag), (status, names), table,
            gr.update(choices=list(names), value=victim if victim in names else None),
            gr.update(choices=list(names), value=kept))


def run_write(rag: Rag, key: str | None, action: Callable[[], IndexReport]) -> tuple[str, str, Any, Any]:
    """Check the key, run one change plus its index run, and show the report and the new list."""
    try:
        check_key(rag.settings, key)
        report = action()
        return (render_report(report), *notes_view(rag))
    except RagError as exc:
        raise gr.Error(str(exc), print_exception=False) from exc


def upload(rag: Rag, files: Sequence[str] | None, key: str | None, progress: gr.Progress) -> tuple[str, str, Any, Any]:
    """Save the uploaded notes into the corpus folder and index just those files."""
    if not files:
        raise gr.Error("Choose one or more notes first.", print_exception=False)

    def action() -> IndexReport:
        # A browser upload keeps its name made safe, and replaces a same-named note (as a file manager would).
        notes = [(safe_name(Path(f).name), Path(f).read_bytes()) for f in files]
        return rag.add_notes(notes, overwrite=True, progress=index_progress(progress), wait=WRITE_WAIT_SECONDS)

    return run_write(rag, key, action)


def delete(rag: Rag, source: str | None, key: str | None, progress: gr.Progress) -> tuple[str, str, Any, Any]:
    """Move a note's file to the trash, then re-index so its chunks leave the store."""
    if not source:
        raise gr.Error("Pick a note to delete first.", print_exception=False)

    def action() -> IndexReport:
        return rag.remove_note(source, progress=index_progress(progress), wait=WRITE_WAIT_SECONDS)

    return run_write(rag, key, action)


def restore(rag: Rag, source: str | None, key: str | None, progress: gr.Progress) -> tuple[str, str, Any, Any]:
    """Bring the note deleted last back from the trash and index it."""
    if not source:
        raise gr.Error("There is no deleted note to restore.", print_exception=False)
    return run_write(rag, key, lambda: rag.restore_note(source, progress=index_progress(progress),
                                                        wait=WRITE_WAIT_SECONDS))


def reindex(rag: Rag, rebuild: bool, key: str | None, progress: gr.Progress) -> tuple[str, str, Any, Any]:
    """Bring the index in line with the corpus folder (from scratch when `rebuild`)."""
    return run_write(rag, key, lambda: rag.index(rebuild=bool(rebuild), progress=index_progress(progress),
                                                      wait=WRITE_WAIT_SECONDS))
