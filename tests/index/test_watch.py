"""Folder watching: the debounce and the filter, then uvicorn with the watcher on a real corpus, Chroma and model."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import nbformat
import pytest
from nbformat import v4
from watchfiles import Change

from rag.app import Rag
from rag.embed.base import Embedder
from rag.errors import IndexBusy, NotFound, StoreUnavailable
from rag.index.run import Progress, index_lock
from rag.index.watch import MAX_DELAY_SECONDS, QUIET_SECONDS, NoteChanges, Schedule, Watcher, watch_root
from rag.models import IndexReport
from rag.serve.app import create_app
from rag.serve.server import describe_service
from rag.settings import load_settings
from tests.conftest import free_port, make_settings
from tests.llm_standin import running

WAIT = 30.0  # seconds: every wait on the watcher is bounded by this
SOURDOUGH = """# Sourdough starter

A sourdough starter is fed equal weights of rye flour and water every twelve hours.
A healthy starter doubles in size within six hours of a feeding.
"""
QUOKKA = """# Quokka facts

The quokka is a small marsupial that lives on Rottnest Island near Perth.
Quokkas are nocturnal herbivores that eat grasses, leaves and stems.
"""
QUOKKA_EDITED = """# Quokka facts

Quokkas also live on Bald Island, where they shelter under dense acacia thickets.
"""


def wait_for(condition: Callable[[], object], what: str, timeout: float = WAIT) -> None:
    """Poll `condition` until it holds; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.05)


def watcher_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "rag-watch"]


# --- the debounce and the filter, no thread -----------------------------------------------------------


def test_a_run_is_due_once_the_folder_has_been_quiet_for_half_a_second() -> None:
    schedule = Schedule(QUIET_SECONDS, MAX_DELAY_SECONDS)
    assert not schedule.is_due(0.0)
    schedule.changed(1.0)
    assert not schedule.is_due(1.49) and schedule.is_due(1.5)
    schedule.changed(1.4)  # another save pushes the run back
    assert not schedule.is_due(1.89) and schedule.is_due(1.9)
    schedule.clear()
    assert not schedule.is_due(100.0)


def test_a_folder_that_never_stops_changing_is_still_indexed_every_10_seconds() -> None:
    schedule = Schedule(QUIET_SECONDS, MAX_DELAY_SECONDS)
    now = 0.0
    while not schedule.is_due(now):
        schedule.changed(now)
        now += 0.1
    assert 10.0 <= now <= 10.2


def test_a_retry_keeps_the_changes_and_waits() -> None:
    schedule = Schedule(quiet=0.5, max_delay=10.0)
    schedule.changed(0.0)
    schedule.retry(3.0)
    assert not schedule.is_due(2.9) and schedule.is_due(3.0)
    schedule.changed(3.1)
    assert schedule.is_due(3.6)


def test_only_changes_to_notes_and_folders_count(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "sub").mkdir(parents=True)
    data = corpus / ".rag"
    (data / "chroma").mkdir(parents=True)
    counts = NoteChanges(data)
    assert counts(Change.added, str(corpus / "new.md"))
    assert counts(Change.modified, str(corpus / "sub" / "notes.TXT"))
    assert counts(Change.deleted, str(corpus / "old.markdown"))
    for kind in ("lab.ipynb", "slides.PDF", "page.html", "saved.htm", "essay.docx"):
        assert counts(Change.added, str(corpus / kind)), kind
    assert counts(Change.added, str(corpus / "sub"))  # a folder moved in: its notes are not reported one by one
    assert counts(Change.deleted, str(corpus / "moved-away"))  # a folder moved out
    assert not counts(Change.modified, str(corpus / "sub"))
    assert not counts(Change.added, str(corpus / "photo.png"))
    assert not counts(Change.deleted, str(corpus / "photo.png"))
    assert not counts(Change.added, str(corpus / ".new.md.swp"))
    assert not counts(Change.added, str(corpus / "new.md~"))
    assert not counts(Change.added, str(corpus / ".git" / "notes.md"))
    assert not counts(Change.added, str(data / "chroma"))  # the index's own writes, when it sits in the corpus
    assert not counts(Change.modified, str(data / "chroma" / "notes.md"))


def test_rag_watch_is_a_setting_and_serve_says_it_watches(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RAG_WATCH", "1")
    settings = load_settings(corpus_dir=tmp_path)
    assert settings.watch
    assert f"watching {tmp_path}" in describe_service(Rag(settings), "127.0.0.1")
    monkeypatch.delenv("RAG_WATCH")
    assert "watching" not in describe_service(Rag(load_settings(corpus_dir=tmp_path)), "127.0.0.1")
    with pytest.raises(NotFound, match="cannot be watched"):
        watch_root(load_settings(corpus_dir=tmp_path / "missing"))


# --- the watcher on a live server ----------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """One index call that got the lock: what it did, or how it failed."""

    started: float
    ended: float
    report: IndexReport | None
    error: BaseException | None

    def status_of(self, source: str) -> str | None:
        assert self.report is not None
        return next((f.status for f in self.report.files if f.source == source), None)


class RecordingRag(Rag):
    """The real Rag, recording each index call; `hold` keeps a run at its first batch until `release`.

    `fail_next` makes the next call raise that error before it starts: a stand-in for a store that is down or
    a bug, which a real store can't be made to do on cue.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.runs: list[Run] = []
        self.busy = 0  # calls refused because another run held the lock
        self.holding = threading.Event()  # a run is being held
        self._gate = threading.Event()
        self._gate.set()
        self.fail_next: Exception | None = None
        self.api_calls = 0  # index and add_notes calls from other threads than the watcher's

    def hold(self) -> None:
        self._gate.clear()

    def release(self) -> None:
        self._gate.set()

    def add_notes(self, notes: Sequence[tuple[str, bytes]], overwrite: bool = False,
                  progress: Progress | None = None, wait: float = 0.0) -> IndexReport:
        self.api_calls += 1
        return super().add_notes(notes, overwrite, progress, wait)

    def index(self, paths: Sequence[Path] = (), rebuild: bool = False, progress: Progress | None = None,
              allow_empty: bool = False, wait: float = 0.0, background: bool = False) -> IndexReport:
        if threading.current_thread().name != "rag-watch":
            self.api_calls += 1
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error

        def held(done: int, total: int) -> None:
            if not self._gate.is_set():
                self.holding.set()
                self._gate.wait(WAIT * 2)
            if progress:
                progress(done, total)

        started = time.monotonic()
        try:
            report = super().index(paths, rebuild, held, allow_empty, wait, background)
        except IndexBusy:
            self.busy += 1
            raise
        except BaseException as exc:
            self.runs.append(Run(started, time.monotonic(), None, exc))
            raise
        self.runs.append(Run(started, time.monotonic(), report, None))
        return report


@dataclass
class Watched:
    rag: RecordingRag
    corpus: Path
    client: httpx.Client

    def sources_found(self, query: str) -> list[str]:
        response = self.client.post("/v1/search", json={"query": query, "k": 5})
        assert response.status_code == 200, response.text
        return [r["source"] for r in response.json()["results"]]

    def top_text(self, query: str) -> str:
        return str(self.client.post("/v1/search", json={"query": query, "k": 1}).json()["results"][0]["text"])

    def indexed(self) -> set[str]:
        return {s["source"] for s in self.client.get("/v1/sources").json()["sources"]}

    def run_where(self, source: str, status: str) -> Run:
        """Wait for the run that reported `source` with `status`, and return it."""
        def match() -> Run | None:
            return next((r for r in self.rag.runs if r.report and r.status_of(source) == status), None)

        wait_for(match, f"a run with {source} {status}")
        found = match()
        assert found is not None
        return found

    def settled(self, runs: int) -> None:
        """Wait until `runs` index runs have ended and none is going."""
        wait_for(lambda: len(self.rag.runs) >= runs and not self.rag.status.running, f"{runs} index run(s)")


@pytest.fixture
def watched(tmp_path: Path, embedder: Embedder) -> Iterator[Watched]:
    """uvicorn serving the API with watching on, over a one-note corpus whose data folder sits inside it."""
    corpus = tmp_path / "corpus"
    settings = make_settings(tmp_path, watch=True, data_dir=corpus / ".rag")
    (corpus / "sourdough.md").write_text(SOURDOUGH, encoding="utf-8")
    rag = RecordingRag(settings, embedder=embedder)
    with running(create_app(rag, with_ui=False), lifespan="on") as url, httpx.Client(base_url=url, timeout=60) as c:
        watched = Watched(rag, corpus, c)
        watched.settled(1)  # the catch-up run at start
        assert watched.rag.runs[0].status_of("sourdough.md") == "added"
        yield watched
    assert not watcher_threads(), "the watcher outlived the server"


def test_new_edited_moved_and_deleted_notes_are_followed(watched: Watched) -> None:
    note = watched.corpus / "quokka.md"
    note.write_text(QUOKKA, encoding="utf-8")
    wait_for(lambda: watched.sources_found("where do quokkas live?")[0] == "quokka.md", "the new note is searchable")

    note.write_text(QUOKKA_EDITED, encoding="utf-8")
    wait_for(lambda: "Bald Island" in watched.top_text("quokkas acacia thickets island"), "the edit is searchable")

    (watched.corpus / "animals").mkdir()
    note.rename(watched.corpus / "animals" / "quokka.md")
    wait_for(lambda: watched.sources_found("quokkas acacia thickets island")[0] == "animals/quokka.md",
             "the renamed note is searchable under its new name")
    (watched.corpus / "animals").rename(watched.corpus / "marsupials")  # a folder move is reported alone
    wait_for(lambda: watched.sources_found("quokkas acacia thickets island")[0] == "marsupials/quokka.md",
             "the moved folder's note is searchable under its new path")

    (watched.corpus / "marsupials" / "quokka.md").unlink()
    wait_for(lambda: watched.sources_found("quokkas acacia thickets island") == ["sourdough.md"],
             "the deleted note is gone from the results")
    assert watched.indexed() == {"sourdough.md"}
    assert all(run.error is None for run in watched.rag.runs)


def test_a_notebook_saved_into_the_folder_is_followed_with_its_cells(watched: Watched) -> None:
    cells = [v4.new_markdown_cell("# Wombats\n\nWombats produce cube-shaped droppings."),
             v4.new_code_cell("print('dig')", execution_count=3)]
    nb = v4.new_notebook()
    nb.cells = cells
    (watched.corpus / "wombat.ipynb").write_text(nbformat.writes(nb), encoding="utf-8")
    wait_for(lambda: watched.sources_found("cube-shaped droppings")[0] == "wombat.ipynb", "the notebook is searchable")
    top = watched.client.post("/v1/search", json={"query": "cube-shaped droppings", "k": 1}).json()["results"][0]
    assert top["location"]["cell"] == 1
    (watched.corpus / "wombat.ipynb").unlink()
    wait_for(lambda: "wombat.ipynb" not in watched.indexed(), "the deleted notebook is gone")


def test_a_burst_of_saves_is_one_run(watched: Watched) -> None:
    note = watched.corpus / "burst.md"
    for n in range(20):  # an editor saving as you type: 20 saves within a second
        note.write_text(f"# Burst\n\nThe burst note was saved {n + 1} times; the last version counts.\n")
        time.sleep(0.03)
    final = "saved 20 times"
    wait_for(lambda: final in watched.top_text("how many times was the burst note saved?"), "the last save indexed")
    watched.settled(2)
    assert len(watched.rag.runs) == 2 and watched.rag.runs[1].status_of("burst.md") == "added"

    # Nothing else is pending: the next change makes exactly one more run, in which the burst note is unchanged.
    (watched.corpus / "quokka.md").write_text(QUOKKA, encoding="utf-8")
    watched.run_where("quokka.md", "added")
    watched.settled(3)
    assert len(watched.rag.runs) == 3 and watched.rag.runs[2].status_of("burst.md") == "unchanged"


def test_a_change_made_during_a_run_goes_into_the_next_run(watched: Watched) -> None:
    rag = watched.rag
    rag.hold()
    (watched.corpus / "quokka.md").write_text(QUOKKA, encoding="utf-8")
    wait_for(rag.holding.is_set, "the watcher's run starts")
    (watched.corpus / "burst.md").write_text("# Burst\n\nA note saved while the index run was going.\n")
    assert rag.status.running
    rag.release()
    wait_for(lambda: watched.sources_found("which note was saved while the run was going?")[0] == "burst.md",
             "the note saved during the run is searchable")
    watched.settled(3)
    during, after = rag.runs[1], rag.runs[2]
    assert during.status_of("quokka.md") == "added" and during.status_of("burst.md") is None
    assert after.status_of("burst.md") == "added" and during.ended <= after.started


def test_writes_during_a_watcher_run_wait_for_it_then_are_saved_and_indexed(watched: Watched) -> None:
    rag = watched.rag
    rag.hold()
    (watched.corpus / "quokka.md").write_text(QUOKKA, encoding="utf-8")
    wait_for(rag.holding.is_set, "the watcher's run starts")
    note = b"# Burst\n\nA note uploaded while the watcher was indexing.\n"
    with ThreadPoolExecutor(2) as pool:
        upload = pool.submit(watched.client.post, "/v1/sources", files={"file": ("burst.md", note)})
        wait_for(lambda: rag.api_calls >= 1, "the upload reaches the server")
        reindex = pool.submit(watched.client.post, "/v1/index", json={})
        wait_for(lambda: rag.api_calls >= 2, "the index request reaches the server")
        assert not (watched.corpus / "burst.md").exists()  # saved only once the watcher's run is over
        rag.release()
        uploaded, indexed = upload.result(WAIT), reindex.result(WAIT)
    assert uploaded.status_code == 201 and uploaded.json()["added"] == 1, uploaded.text
    assert indexed.status_code == 200, indexed.text  # it waited too, then ran (after or before the upload)
    assert (watched.corpus / "burst.md").read_bytes() == note
    assert watched.sources_found("which note was uploaded while the watcher was indexing?")[0] == "burst.md"
    assert rag.runs[1].status_of("quokka.md") == "added" and rag.runs[1].status_of("burst.md") is None


def test_the_watcher_waits_for_another_run_and_then_runs(watched: Watched) -> None:
    with index_lock(watched.rag.settings.data_dir):  # what another process's `rag index` holds
        (watched.corpus / "quokka.md").write_text(QUOKKA, encoding="utf-8")
        wait_for(lambda: watched.rag.busy >= 2, "the watcher tries, finds the index busy, and tries again")
        assert len(watched.rag.runs) == 1 and watched.rag.status.error is None
    wait_for(lambda: watched.sources_found("where do quokkas live?")[0] == "quokka.md",
             "the note is searchable once the lock is free")


def test_a_failing_run_is_logged_and_watching_goes_on(watched: Watched, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="rag.index.watch")
    corpus = watched.corpus
    (corpus / "sourdough.md").unlink()  # an empty folder would remove every note: the run refuses
    watched.settled(2)
    assert "has no notes" in str(watched.rag.runs[1].error) and "watched folder failed" in caplog.text
    assert watched.rag.status.error and watched.indexed() == {"sourdough.md"}

    (corpus / "garbled.md").write_bytes(b"\x00\xff not a note")  # skipped and reported, not a failed run
    (corpus / "quokka.md").write_text(QUOKKA, encoding="utf-8")
    run = watched.run_where("quokka.md", "added")
    assert run.status_of("garbled.md") == "skipped" and run.status_of("sourdough.md") == "removed"

    watched.rag.fail_next = RuntimeError("a bug in a run")
    (corpus / "quokka.md").write_text(QUOKKA_EDITED, encoding="utf-8")
    wait_for(lambda: "a bug in a run" in caplog.text, "the unexpected error is logged")
    (corpus / "burst.md").write_text("# Burst\n\nWritten after the failed run.\n")
    wait_for(lambda: watched.sources_found("when was the burst note written?")[0] == "burst.md",
             "the watcher keeps going after an unexpected error")
    # the failed run's change too: in the same run as burst.md or the next, so it is waited for (burst.md is
    # written first, and searchable before quokka.md is)
    wait_for(lambda: "Bald Island" in watched.top_text("quokkas acacia thickets island"),
             "the failed run's change is indexed by a later run")


def test_a_run_the_store_refused_is_tried_again_without_another_change(watched: Watched) -> None:
    runs = len(watched.rag.runs)
    watched.rag.fail_next = StoreUnavailable("the Chroma server at http://127.0.0.1:1 is unreachable")
    (watched.corpus / "quokka.md").write_text(QUOKKA, encoding="utf-8")
    watched.run_where("quokka.md", "added")
    assert len(watched.rag.runs) == runs + 1 and watched.rag.fail_next is None


def test_stopping_cuts_a_run_short_and_ends_the_thread(make_rag, embedder: Embedder) -> None:  # type: ignore[no-untyped-def]
    rag = RecordingRag(make_rag().settings, embedder=embedder)
    (rag.settings.corpus_dir / "quokka.md").write_text(QUOKKA, encoding="utf-8")
    rag.hold()
    watcher = Watcher(rag)
    watcher.start()
    wait_for(rag.holding.is_set, "the catch-up run starts")
    stopping = threading.Thread(target=watcher.stop)
    stopping.start()
    wait_for(lambda: watcher.stopping, "stop is asked for")
    rag.release()
    stopping.join(WAIT)
    assert not stopping.is_alive() and not watcher.alive and not watcher_threads()
    assert "stopping" in str(rag.runs[-1].error)
    rag.index()  # the lock is free, and the next run converges
    assert [s.source for s in rag.sources()] == ["quokka.md"] and rag.status.error is None


def test_rag_serve_watch_follows_the_folder(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "sourdough.md").write_text(SOURDOUGH, encoding="utf-8")
    port = free_port()
    env = {**os.environ, "RAG_CORPUS_DIR": str(corpus), "RAG_DATA_DIR": str(tmp_path / "data"),
           "RAG_EMBED_BACKEND": "torch"}
    env.pop("RAG_WATCH", None)
    rag_bin = Path(sys.executable).parent / "rag"
    log_path = tmp_path / "serve.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([str(rag_bin), "serve", "--port", str(port), "--watch"],
                                env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"

    def found(query: str) -> list[str]:
        try:
            response = httpx.post(f"{base}/v1/search", json={"query": query, "k": 3}, timeout=10)
        except httpx.TransportError:
            return []
        return [r["source"] for r in response.json().get("results", [])] if response.status_code == 200 else []

    try:
        wait_for(lambda: found("how often is a starter fed?")[:1] == ["sourdough.md"], "the catch-up run", 120)
        (corpus / "quokka.md").write_text(QUOKKA, encoding="utf-8")
        wait_for(lambda: found("where do quokkas live?")[:1] == ["quokka.md"], "the new note is searchable")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=WAIT)
    output = log_path.read_text()
    assert f"watching {corpus}: notes are re-indexed" in output and "watched folder indexed: 1 added" in output


def test_rag_serve_watch_needs_the_folder(tmp_path: Path) -> None:
    env = {**os.environ, "RAG_CORPUS_DIR": str(tmp_path / "missing"), "RAG_DATA_DIR": str(tmp_path / "data")}
    result = subprocess.run([str(Path(sys.executable).parent / "rag"), "serve", "--watch", "--port", str(free_port())],
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "cannot be watched" in result.stderr
