"""Folder watching: re-index the corpus folder a moment after its notes stop changing (`rag serve --watch`)."""

from __future__ import annotations

import logging
import os
import threading
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import watchfiles
from watchfiles import Change, DefaultFilter

from rag.errors import IndexBusy, NotFound, RagError, StoreUnavailable
from rag.ingest import NOTE_SUFFIXES

if TYPE_CHECKING:
    from rag.index.run import Progress
    from rag.models import IndexReport
    from rag.settings import Settings

log = logging.getLogger(__name__)
QUIET_SECONDS = 0.5  # saves closer together than this (an editor's burst, a copy) make one run
MAX_DELAY_SECONDS = 10.0  # a folder that never stops changing (a sync in progress) is still indexed this often
BUSY_RETRY_SECONDS = 1.0  # another run holds the index lock: look again this much later
STORE_RETRY_SECONDS = (2.0, 60.0)  # the store is down: first retry, doubling up to the second
STEP_MS = 50  # how often watchfiles collects events and looks at the stop flag
STOP_SECONDS = 30.0  # how long `stop` waits for the thread


class Stopping(BaseException):
    """Raised from a run's progress callback to cut it short when the watcher stops.

    A BaseException because the indexer records a note's Exception and goes on to the next note.
    """


def watch_root(settings: Settings) -> Path:
    """The corpus folder to watch, resolved; NotFound if it isn't there."""
    root = settings.corpus_dir.resolve()
    if not root.is_dir():
        raise NotFound(f"corpus folder {settings.corpus_dir} does not exist, so it cannot be watched: "
                       "create it or set RAG_CORPUS_DIR")
    return root


class NoteChanges(DefaultFilter):
    """The changes that can alter the index: note files, and folders (a moved folder is reported alone,
    not the notes in it). The data folder (when it sits inside the corpus) and editors' swap, backup and
    VCS files are ignored."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__()
        self.data_dir = str(data_dir.resolve())

    def __call__(self, change: Change, path: str) -> bool:
        if not super().__call__(change, path) or path == self.data_dir or path.startswith(self.data_dir + os.sep):
            return False
        entry = Path(path)
        if entry.suffix.lower() in NOTE_SUFFIXES:
            return True
        if change == Change.added:
            return entry.is_dir()
        # Gone, so it can't be asked whether it was a folder: one with no suffix is taken to be.
        return change == Change.deleted and not entry.suffix and not entry.exists()


@dataclass
class Schedule:
    """When the next run is due: `quiet` seconds after the last change, at most `max_delay` after the first."""

    quiet: float
    max_delay: float
    first: float | None = None  # when the oldest change no run has seen yet came in
    due: float | None = None
    not_before: float = 0.0  # a failed attempt's retry time

    def changed(self, now: float) -> None:
        if self.first is None:
            self.first = now
        self.due = min(now + self.quiet, self.first + self.max_delay)

    def is_due(self, now: float) -> bool:
        return self.due is not None and now >= max(self.due, self.not_before)

    def retry(self, at: float) -> None:
        """Keep the pending changes; try no earlier than `at`."""
        self.not_before = at

    def clear(self) -> None:
        """A run has seen every change so far."""
        self.first = self.due = None
        self.not_before = 0.0


class Indexer(Protocol):
    """What the watcher runs: `Rag` (its settings name the folder; `index` brings the index in line with it)."""

    settings: Settings

    def index(self, *, progress: Progress | None, background: bool) -> IndexReport: ...


class Watcher:
    """A thread that watches the corpus folder and runs `Rag.index` once its notes stop changing.

    One run at a time: a run already going (the API's, another process's) is waited for, and the changes made
    meanwhile go into the next run. A failed run is logged; the watching goes on.
    """

    def __init__(self, rag: Indexer, quiet: float = QUIET_SECONDS, max_delay: float = MAX_DELAY_SECONDS) -> None:
        self.rag = rag
        self.quiet, self.max_delay = quiet, max_delay
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._store_wait = 0.0

    def start(self) -> None:
        """Start watching; the first run (after `quiet`) catches up with changes made while nobody watched."""
        if self._thread is not None:
            raise RuntimeError("this watcher has already been started")
        root = watch_root(self.rag.settings)
        self._thread = threading.Thread(target=self._watch, args=(root,), name="rag-watch", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = STOP_SECONDS) -> None:
        """Stop watching; a run in progress stops at its next batch (the next run converges)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("the folder watcher did not stop within %.0f s", timeout)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def __enter__(self) -> Watcher:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _watch(self, root: Path) -> None:
        schedule = Schedule(self.quiet, self.max_delay)
        schedule.changed(time.monotonic())
        changes = watchfiles.watch(
            root, watch_filter=NoteChanges(self.rag.settings.data_dir), stop_event=self._stop, step=STEP_MS,
            # Wake up between events too, to run once the folder has been quiet.
            rust_timeout=max(int(self.quiet * 500), STEP_MS), yield_on_timeout=True,
        )
        log.info("watching %s for changed notes", root)
        try:
            with closing(changes):
                for batch in changes:
                    now = time.monotonic()
                    if batch:
                        schedule.changed(now)
                    if schedule.is_due(now) and not self._stop.is_set():
                        self._run(schedule)
        except Stopping:
            pass
        except Exception:  # watching itself broke (e.g. the OS watch limit): say so, the server goes on
            log.exception("watching %s stopped", root)

    def _run(self, schedule: Schedule) -> None:
        """One index run; a busy index or a store that is down is tried again, other failures wait for a change."""
        try:
            report = self.rag.index(progress=self._check_stop, background=True)
        except IndexBusy:
            schedule.retry(time.monotonic() + BUSY_RETRY_SECONDS)
            return
        except StoreUnavailable as exc:
            first, cap = STORE_RETRY_SECONDS
            self._store_wait = min(cap, self._store_wait * 2 or first)
            log.warning("index run of the watched folder failed: %s; trying again in %.0f s", exc, self._store_wait)
            schedule.retry(time.monotonic() + self._store_wait)
            return
        except Exception as exc:  # e.g. an emptied corpus folder, which would remove every note
            log.error("index run of the watched folder failed: %s", exc, exc_info=not isinstance(exc, RagError))
            schedule.clear()
            return
        self._store_wait = 0.0
        schedule.clear()
        log.log(logging.INFO if changed(report) else logging.DEBUG, "watched folder indexed: %s",
                summary(report))

    def _check_stop(self, done: int, total: int) -> None:
        if self._stop.is_set():
            raise Stopping("the folder watcher is stopping")


def changed(report: IndexReport) -> bool:
    return bool(report.added or report.updated or report.removed)


def summary(report: IndexReport) -> str:
    return (f"{report.added} added, {report.updated} updated, {report.removed} removed, "
            f"{report.unchanged} unchanged ({report.seconds:.2f} s)")
