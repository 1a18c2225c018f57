"""Rag: the one container of live parts (settings, embedder, store, retriever), built lazily."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from rag.errors import InvalidInput, NotFound, TooLarge
from rag.index.timing import Stages
from rag.models import Answer, IndexReport, IndexStatus, Passage, SourceInfo
from rag.settings import Settings, load_settings
from rag.store.chunks import ChromaStore
from rag.store.units import UnitVectorStore

if TYPE_CHECKING:
    from rag.answer import Answerer
    from rag.embed.base import Embedder
    from rag.index.run import Progress
    from rag.index.trash import Trash
    from rag.ingest.chunk import Budget
    from rag.quiz import Quiz
    from rag.retrieve.hybrid import Mode, Retriever

log = logging.getLogger(__name__)
MAX_K = 50
QUIZ_FILE = "quiz.sqlite3"  # study mode's cards and reviews, in the data folder
UNITS_SUFFIX = "-units"  # the collection of the answer stage's unit vectors, beside the chunks'
# How long a write from the API or the web UI waits for an index run in progress (the folder watcher's, another
# request's) before it is refused with 409: long enough for an incremental run, short of a client's timeout.
WRITE_WAIT_SECONDS = 30.0


class Rag:
    """Everything the CLI, the API and the UI call; each part is created on first use."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self._index_runs = 0  # index runs in progress in this process (the API runs them in threads)
        self._status: IndexStatus | None = None
        if embedder is not None:  # tests share one loaded model between containers
            self.__dict__["embedder"] = embedder

    @property
    def status(self) -> IndexStatus:
        """The index run in progress, or how the last one ended: at first the one recorded in the data folder,
        which may be another process's (`rag index` before `rag serve`)."""
        if self._status is None:
            from rag.index.last_run import load_last_run

            self._status = load_last_run(self.settings.data_dir)
        return self._status

    @status.setter
    def status(self, status: IndexStatus) -> None:
        self._status = status

    @cached_property
    def embedder(self) -> Embedder:
        from rag.embed import build_embedder

        return build_embedder(self.settings)

    @cached_property
    def answerer(self) -> Answerer:
        from rag.answer import Answerer

        return Answerer(self.settings, self.retriever, self.answer_embedder, self.unit_store)

    @cached_property
    def answer_embedder(self) -> Embedder:
        """The answer stage's embedder: the search's ONNX model at RAG_ANSWER_PRECISION; any other, the search's."""
        from rag.embed.onnx import OnnxEmbedder

        embedder = self.embedder
        return embedder.at_precision(self.settings.answer_precision) if isinstance(embedder, OnnxEmbedder) else embedder

    @cached_property
    def store(self) -> ChromaStore:
        s = self.settings
        return ChromaStore(s.data_dir, s.collection, s.chroma_url)

    @cached_property
    def unit_store(self) -> UnitVectorStore:
        s = self.settings
        return UnitVectorStore(s.data_dir, f"{s.collection}{UNITS_SUFFIX}", s.chroma_url, pinned=True)

    @cached_property
    def retriever(self) -> Retriever:
        from rag.retrieve.hybrid import Retriever

        return Retriever(self.store, self.embedder)

    @cached_property
    def quiz(self) -> Quiz:
        """Study mode: cards from the indexed notes, graded against them, scheduled in the data folder."""
        from rag.quiz import NoteFeed, Quiz, Schedule

        answerer = self.answerer
        feed = NoteFeed(
            snapshot=self.retriever.refresh,
            versions=lambda: {s.source: s.sha256 for s in self.sources()},
            view=answerer.view,
            search=lambda topic, sources: self.search(topic, 10, sources),
        )
        phrase = None
        if self.settings.llm_base_url:  # the LLM may word the questions better; their answers stay the notes'
            from functools import partial

            from rag.quiz.phrase import phrase_question

            phrase = partial(phrase_question, self.settings)
        return Quiz(Schedule(self.settings.data_dir / QUIZ_FILE), feed, answerer.vectors.embed,
                    self.settings.quiz_new_per_day, phrase)

    @cached_property
    def budget(self) -> Budget:
        from rag.ingest.chunk import Budget
        from rag.tokens import count_budget_tokens

        embedder = self.embedder

        @lru_cache(maxsize=4096)  # the chunker asks about the same growing spans repeatedly
        def fits_model(text: str) -> bool:
            return embedder.count_tokens(text) <= embedder.max_tokens

        return Budget(
            max_tokens=self.settings.chunk_tokens,
            overlap_tokens=self.settings.overlap_tokens,
            count=lru_cache(maxsize=4096)(count_budget_tokens),
            fits_model=fits_model,
        )

    def warm_up(self) -> None:
        """Load the model and open the store side by side (ONNX Runtime loads without the GIL)."""
        from concurrent.futures import ThreadPoolExecutor

        embedder, answers, retriever = self.embedder, self.answer_embedder, self.retriever  # not raced in threads
        with ThreadPoolExecutor(2) as pool:
            model = pool.submit(lambda: [e.embed(["warm up"]) for e in dict.fromkeys([embedder, answers])])
            lexical = pool.submit(retriever.refresh, True)
            model.result()
            lexical.result()

    def index(self, paths: Sequence[Path] = (), rebuild: bool = False, progress: Progress | None = None,
              allow_empty: bool = False, wait: float = 0.0, background: bool = False) -> IndexReport:
        """Bring the index in line with the corpus folder (or the given paths); see `index_notes`.

        A run in progress (the folder watcher's, another request's) is waited for up to `wait` seconds, then
        IndexBusy. A `background` run (the folder watcher's) that changes nothing leaves `status` saying what
        the run before it did.
        """
        from rag.index.run import index_lock

        with index_lock(self.settings.data_dir, wait):
            return self._tracked_run(paths, rebuild, progress, allow_empty, background)

    def _tracked_run(self, paths: Sequence[Path], rebuild: bool, progress: Progress | None,
                     allow_empty: bool, background: bool = False) -> IndexReport:
        """One index run, under the lock, shown in `status` as it goes and recorded in the data folder."""
        from rag.index.last_run import save_last_run

        self._index_runs += 1
        before = self.status
        self.status = IndexStatus(True, started_at=now(), finished_at=before.finished_at, last=before.last,
                                  stage="chunks")

        def tracked(done: int, total: int) -> None:
            self.status = replace(self.status, done=done, total=total)
            if progress:
                progress(done, total)

        try:
            report = self._index(paths, rebuild, tracked, allow_empty)
        except BaseException as exc:
            self.status = replace(self.status, running=False, finished_at=now(), error=str(exc) or repr(exc), stage="")
            if isinstance(exc, Exception):  # not a run cut short by Ctrl-C or a watcher that is stopping
                save_last_run(self.settings.data_dir, self.status)
            raise
        finally:
            self._index_runs -= 1
        if background and not (report.added or report.updated or report.removed) and before.finished_at \
                and before.error is None:
            # e.g. the watcher seeing an upload that its own run has indexed already: that run is the news
            self.status = before
            return report
        self.status = replace(self.status, running=False, finished_at=now(), last=report, error=None, stage="")
        save_last_run(self.settings.data_dir, self.status)
        return report

    def _index(self, paths: Sequence[Path], rebuild: bool, progress: Progress, allow_empty: bool) -> IndexReport:
        """One index run, under the lock: the chunks, then the answer units of the notes that changed."""
        from rag.index.run import index_notes

        seen = [0]  # the chunks' total: the units' progress goes on from there

        def chunk_progress(done: int, total: int) -> None:
            seen[0] = total
            progress(done, total)

        stages = Stages()
        report = index_notes(self.settings.corpus_dir, self.store, self.embedder, self.budget,
                             paths, rebuild, chunk_progress, allow_empty, self.settings.max_note_bytes, stages)
        with stages.timed("bm25"):  # rebuilt when the run wrote; else the next search finds it as it was
            if any(f.status in ("added", "updated", "removed") for f in report.files):
                self.retriever.refresh(force=True)
        self.status = replace(self.status, stage="units")  # searchable from here on
        with stages.timed("units"):
            report = self.prepare_answers(report, seen[0], progress)
        return replace(report, stages=stages.rounded())

    def prepare_answers(self, report: IndexReport, chunks: int, progress: Progress | None) -> IndexReport:
        """Store the unit vectors of the notes just (re)indexed, and of any indexed note that has none yet;
        drop those of removed notes. The run's seconds include this."""
        import time

        started = time.perf_counter()
        changed = {f.source for f in report.files if f.status in ("added", "updated")}
        removed = [f.source for f in report.files if f.status == "removed"]
        # Units stored by another answer embedder (RAG_ANSWER_PRECISION changed) are embedded again, every note's.
        other = self.unit_store.embedder_id() != self.answer_embedder.id and self.unit_store.count() > 0
        unstored = {f.source for f in report.files
                    if f.status == "unchanged" and (other or not self.unit_store.ids_of(f.source))}
        self.answerer.forget(removed)

        def unit_progress(done: int, total: int) -> None:
            if progress:
                progress(chunks + done, chunks + total)

        units = self.answerer.prepare(sorted(changed | unstored), unit_progress)
        self.unit_store.mark_written(self.answer_embedder.id)
        log.info("stored the vectors of %d answer units", units)
        return replace(report, seconds=round(report.seconds + time.perf_counter() - started, 3), units=units)

    def add_notes(self, notes: Sequence[tuple[str, bytes]], overwrite: bool = False,
                  progress: Progress | None = None, wait: float = 0.0) -> IndexReport:
        """Save (name, bytes) notes into the corpus folder and index them in one run.

        Every name and content is checked before anything is written; the notes are saved only once the index
        lock is held (waiting up to `wait` seconds for a run in progress), so no other run sees them half-way;
        if saving or indexing fails, the folder is put back as it was.
        """
        from rag.index.run import index_lock
        from rag.index.uploads import check_note_bytes, note_name, restore, save_note
        from rag.ingest import check_corpus_dir

        check_corpus_dir(self.settings.corpus_dir)
        checked = [(note_name(name), data) for name, data in notes]
        for name, data in checked:
            check_note_bytes(data, name, self.settings.max_upload_bytes, self.settings.max_note_bytes)
        with index_lock(self.settings.data_dir, wait):
            saved: list[tuple[Path, bytes | None]] = []
            try:
                for name, data in checked:
                    saved.append(save_note(self.settings.corpus_dir, name, data, overwrite))
                return self._tracked_run([path for path, _ in saved], False, progress, False)
            except BaseException:
                for path, previous in reversed(saved):
                    restore(path, previous)
                raise

    def remove_note(self, source: str, progress: Progress | None = None, wait: float = 0.0) -> IndexReport:
        """Move a note's file to the trash and its chunks out of the index (waiting up to `wait` seconds for a run
        in progress); the file comes back if the index run fails. `restore_note` undoes it."""
        from rag.index.run import index_lock
        from rag.index.uploads import note_path
        from rag.ingest import check_corpus_dir

        check_corpus_dir(self.settings.corpus_dir)
        path = note_path(self.settings.corpus_dir, source)
        with index_lock(self.settings.data_dir, wait):
            if not path.is_file() and source not in {s.source for s in self.sources()}:
                raise NotFound(f"no note named {source}: `rag sources` (GET /v1/sources) lists them")
            trashed = self.trash.put(path, source) if path.is_file() else None
            try:
                report = self._tracked_run((), False, progress, True)  # deleting the last note is deliberate
            except BaseException:
                if trashed is not None:
                    self.trash.put_back(trashed, self.settings.corpus_dir)
                raise
        return replace(report, trash=str(trashed.path) if trashed else "")

    def restore_note(self, source: str, progress: Progress | None = None, wait: float = 0.0) -> IndexReport:
        """Bring the newest deleted copy of a note back into the corpus folder and index it."""
        from rag.index.run import index_lock
        from rag.index.uploads import note_path
        from rag.ingest import check_corpus_dir

        check_corpus_dir(self.settings.corpus_dir)
        note_path(self.settings.corpus_dir, source)  # a name, not a way out of the folder
        with index_lock(self.settings.data_dir, wait):
            return self._tracked_run([self.trash.take(source, self.settings.corpus_dir)], False, progress, False)

    @cached_property
    def trash(self) -> Trash:
        from rag.index.trash import Trash

        return Trash(self.settings.data_dir, self.settings.trash_days)

    def search(self, query: str, k: int = 5, sources: Sequence[str] = (), mode: Mode = "hybrid",
               tags: Sequence[str] = ()) -> list[Passage]:
        """The k best passages for a query (from `sources` and notes tagged with any of `tags` only, if given)."""
        query = self.check_query(query)
        self.check_k(k)
        self.check_sources(sources)
        return self.retriever.search(query, k, self.tagged(sources, tags), mode)

    def search_cannot_wait(self) -> bool:
        """True if a search now is pure CPU work: embedded store, current BM25 snapshot, no index run.

        The API runs such a search on its event loop (a few ms) instead of handing it to a thread; a search
        that may wait on a Chroma server, a BM25 rebuild or an index run's writes must not block the loop.
        """
        return not self.settings.chroma_url and not self._index_runs and self.retriever.is_fresh()

    def ask(self, question: str, k: int = 5, history: Sequence[tuple[str, str]] = (),
            mode: str | None = None, sources: Sequence[str] = (), tags: Sequence[str] = ()) -> Answer:
        """A short answer to the question, every sentence cited to its passage (from `sources` and notes tagged
        with any of `tags` only, if given)."""
        question = self.check_query(question)
        self.check_k(k)
        self.check_sources(sources)
        return self.answerer.ask(question, k, history, mode, self.tagged(sources, tags))

    def sources(self) -> list[SourceInfo]:
        """The indexed notes with their chunk counts, hashes and index times."""
        grouped = defaultdict(list)
        for row in self.store.rows(with_text=False):
            grouped[row.source].append(row)
        return [
            SourceInfo(source, len(rows), rows[0].file_sha256, max(r.indexed_at for r in rows), rows[0].kind,
                       rows[0].tags, rows[0].aliases)
            for source, rows in sorted(grouped.items())
        ]

    def tagged(self, sources: Sequence[str], tags: Sequence[str]) -> Sequence[str]:
        """The notes to read: those given (all, if none) that carry any of the tags (`#ml` or `ml`)."""
        if not tags:
            return sources
        wanted = {tag.lstrip("#").casefold() for tag in tags}
        notes = [info.source for info in self.sources()
                 if wanted & {t.casefold() for t in info.tags} and (not sources or info.source in sources)]
        if not notes:
            raise NotFound(f"no indexed note{' of those given' if sources else ''} is tagged "
                           f"{' or '.join(sorted(wanted))}: `rag sources` lists the notes' tags")
        return notes

    def check_query(self, query: str) -> str:
        return check_query(query, self.settings.max_query_chars)

    @staticmethod
    def check_k(k: int) -> None:
        check_k(k)

    def check_sources(self, sources: Sequence[str]) -> None:
        if not sources:
            return
        known = self.retriever.refresh().sources
        unknown = sorted(set(sources) - known)
        if unknown:
            raise NotFound(f"unknown source(s): {', '.join(unknown)}; `rag sources` lists the indexed notes")


def check_query(query: str, max_chars: int) -> str:
    """The query stripped; InvalidInput if empty, TooLarge if over `max_chars` (RAG_MAX_QUERY_CHARS)."""
    query = (query or "").strip()
    if not query:
        raise InvalidInput("the query is empty: type a question")
    if len(query) > max_chars:
        raise TooLarge(f"the query is {len(query)} characters; the limit is {max_chars}: shorten it")
    return query


def check_k(k: int) -> None:
    if not 1 <= k <= MAX_K:
        raise InvalidInput(f"k must be between 1 and {MAX_K}, got {k}")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def build(settings: Settings | None = None, **overrides: object) -> Rag:
    """The container for these settings (from the environment when not given)."""
    return Rag(settings or load_settings(**overrides))
