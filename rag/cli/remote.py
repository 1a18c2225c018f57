"""The REST API of the `rag serve` holding a data folder, as the CLI uses it: the calls return the same
dataclasses `Rag` does, and errors come back as the same typed exceptions."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from rag import errors
from rag.app import check_k, check_query
from rag.errors import AuthError, InvalidInput, NotFound, RagError, ServerUnreachable, StoreUnavailable, TooLarge
from rag.index.presence import ServerRecord
from rag.ingest import corpus_names
from rag.models import Answer, FileReport, IndexReport, Passage, SourceInfo
from rag.serve.models import (
    AskResponse,
    IndexStatusOut,
    IndexSummary,
    SearchResponse,
    SourcesResponse,
    citation_from,
    passage_from,
)
from rag.settings import Settings

if TYPE_CHECKING:
    from rag.index.run import Progress
    from rag.serve.quiz import AnswerOut, CardOut, StatsOut

CONNECT_TIMEOUT = 3.0  # the server is on this machine: it connects at once or not at all
READ_TIMEOUT = 120.0  # a search or an answer, even while an index run keeps the server busy
INDEX_TIMEOUT = 3600.0  # a whole index run (a large corpus rebuilt on a slow machine)
POLL = 0.25  # seconds between two looks at the run's progress
STATUS_TIMEOUT = 10.0
# For answers that do not name their class (a request the API's validation refused, an unknown route).
STATUS_ERRORS: dict[int, type[RagError]] = {
    401: AuthError, 404: NotFound, 413: TooLarge, 422: InvalidInput, 503: StoreUnavailable,
}


class RemoteRag:
    """The verbs of `Rag` the CLI uses (index, search, ask, sources), done by the server in `record`."""

    def __init__(self, record: ServerRecord, settings: Settings) -> None:
        self.record, self.settings = record, settings
        headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
        # trust_env=False: a proxy set for the outside world must not stand between two local processes.
        self._client = httpx.Client(base_url=record.url, headers=headers, trust_env=False,
                                    timeout=httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT))

    def __enter__(self) -> RemoteRag:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._client.close()

    def warm_up(self) -> None:
        """Nothing to load in this process: the server is warm."""

    def index(self, paths: Sequence[Path] = (), rebuild: bool = False,
              progress: Progress | None = None) -> IndexReport:
        """The server's index run over its corpus folder (or the given paths in it), fed to `progress`."""
        corpus = Path(self.record.corpus_dir)
        if corpus != self.settings.corpus_dir.resolve():
            raise InvalidInput(
                f"the notes-rag server at {self.record.url} indexes {corpus} into this data folder, not "
                f"{self.settings.corpus_dir}: index that folder, or stop the server to index another one")
        if self.record.needs_key and not self.settings.api_key:
            raise self.key_error()
        body = {"rebuild": rebuild, "paths": corpus_names(corpus, paths)}
        if progress is None:
            return report_from(self.call("POST", "/v1/index", json=body, timeout=INDEX_TIMEOUT))
        # The run waits in this thread (Ctrl-C still interrupts it); a daemon thread follows its progress.
        done = threading.Event()
        follower = threading.Thread(target=self.follow, args=(progress, done), daemon=True)
        follower.start()
        try:
            report = report_from(self.call("POST", "/v1/index", json=body, timeout=INDEX_TIMEOUT))
        finally:
            done.set()
        follower.join(timeout=STATUS_TIMEOUT + POLL)
        self.show_progress(progress, running=False)  # the run's final count, so the bar ends where it did
        return report

    def follow(self, progress: Progress, done: threading.Event) -> None:
        while not done.wait(POLL):
            self.show_progress(progress, running=True)

    def show_progress(self, progress: Progress, running: bool) -> None:
        try:
            status = IndexStatusOut.model_validate(self.call("GET", "/v1/index/status", timeout=STATUS_TIMEOUT))
        except RagError:  # the bar stalls for a moment; the run's own answer decides how it ended
            return
        if status.running == running and status.total:  # not a run that ended before this one began
            progress(status.done, status.total)

    def search(self, query: str, k: int = 5, sources: Sequence[str] = (), tags: Sequence[str] = ()) -> list[Passage]:
        """The k best passages for a query."""
        self.check(query, k)
        body = {"query": query, "k": k, "sources": list(sources), "tags": list(tags)}
        data = self.call("POST", "/v1/search", json=body)
        return [passage_from(p) for p in SearchResponse.model_validate(data).results]

    def ask(self, question: str, k: int = 5, sources: Sequence[str] = (), tags: Sequence[str] = (),
            history: Sequence[tuple[str, str]] = ()) -> Answer:
        """A short answer to the question (a follow-up of `history`'s turns), every sentence cited to its passage."""
        self.check(question, k)
        body = {"question": question, "k": k, "sources": list(sources), "tags": list(tags),
                "history": [{"role": role, "content": content} for role, content in history]}
        out = AskResponse.model_validate(self.call("POST", "/v1/ask", json=body))
        citations = [citation_from(c) for c in out.citations]
        return Answer(out.question, out.search_query, out.answer, out.answered, out.mode, citations, out.note)

    def remove_note(self, source: str) -> IndexReport:
        """The server moves the note to its trash and re-indexes."""
        return report_from(self.call("DELETE", f"/v1/sources/{quote(source)}", timeout=INDEX_TIMEOUT))

    def restore_note(self, source: str) -> IndexReport:
        """The server brings the note back from its trash and indexes it."""
        return report_from(self.call("POST", f"/v1/sources/{quote(source)}/restore", timeout=INDEX_TIMEOUT))

    def sources(self) -> list[SourceInfo]:
        """The indexed notes with their chunk counts, hashes and index times."""
        listed = SourcesResponse.model_validate(self.call("GET", "/v1/sources")).sources
        return [SourceInfo(s.source, s.chunks, s.sha256, s.indexed_at, s.kind, tuple(s.tags), tuple(s.aliases))
                for s in listed]

    def quiz_client(self) -> RemoteQuiz:
        """Study mode through the server's /v1/quiz routes."""
        return RemoteQuiz(self)

    def check(self, query: str, k: int) -> None:
        # The checks `Rag` makes, made here first: the API's own validation words some of them differently.
        check_query(query, self.settings.max_query_chars)
        check_k(k)

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One request; the server's error as the exception it met, a silent server as ServerUnreachable."""
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise ServerUnreachable(
                f"the notes-rag server at {self.record.url} (pid {self.record.pid}) did not answer "
                f"{method} {path} ({type(exc).__name__}): check it, or stop it to work on the folder directly"
            ) from exc
        if response.is_success:
            return response.json()
        raise self.error(response)

    def error(self, response: httpx.Response) -> RagError:
        try:
            detail = str(response.json()["detail"])
        except (ValueError, KeyError, TypeError):
            detail = f"HTTP {response.status_code}"
        if response.status_code == 401:
            return self.key_error()
        named = getattr(errors, response.headers.get(errors.ERROR_HEADER, ""), None)
        if isinstance(named, type) and issubclass(named, RagError):
            return named(detail)
        cls = STATUS_ERRORS.get(response.status_code, RagError)
        return cls(detail if cls is not RagError else f"the notes-rag server at {self.record.url} failed: {detail}")


    def key_error(self) -> AuthError:
        wrong = "refused the key in RAG_API_KEY" if self.settings.api_key else "needs its key to index"
        return AuthError(f"the notes-rag server at {self.record.url} {wrong}: set RAG_API_KEY to the key it was "
                         "started with")


class RemoteQuiz:
    """`rag quiz`'s calls (rag.serve.quiz.QuizClient) done by the server: the same shapes, the same exceptions."""

    def __init__(self, remote: RemoteRag) -> None:
        self.remote = remote

    def next(self, source: str | None, topic: str | None) -> CardOut:
        from rag.serve.quiz import CardOut

        params = {k: v for k, v in (("source", source), ("topic", topic)) if v}
        return CardOut.model_validate(self.remote.call("GET", "/v1/quiz/next", params=params))

    def check(self, card_id: str, answer: str) -> AnswerOut:
        from rag.serve.quiz import AnswerOut

        return AnswerOut.model_validate(self.remote.call("POST", f"/v1/quiz/{card_id}/check", json={"answer": answer}))

    def answer(self, card_id: str, answer: str, grade: str | None) -> AnswerOut:
        from rag.serve.quiz import AnswerOut

        body = {"answer": answer, "grade": grade}
        return AnswerOut.model_validate(self.remote.call("POST", f"/v1/quiz/{card_id}/answer", json=body))

    def stats(self) -> StatsOut:
        from rag.serve.quiz import StatsOut

        return StatsOut.model_validate(self.remote.call("GET", "/v1/quiz/stats"))


def report_from(data: Any) -> IndexReport:
    summary = IndexSummary.model_validate(data)
    return IndexReport(**{**summary.model_dump(), "files": [FileReport(**f.model_dump()) for f in summary.files]})
