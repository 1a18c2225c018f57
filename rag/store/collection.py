"""A Chroma collection and its connection (embedded or a server): reads retried once, failures wrapped."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, ParamSpec, TypeVar
from urllib.parse import urlparse

from rag.errors import IndexMismatch, StoreUnavailable
from rag.store.pointer import active_name

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

P = ParamSpec("P")
T = TypeVar("T")
# chromadb's HTTP client never times out: a hung server would hold every request thread forever.
HTTP_TIMEOUT = 30.0  # seconds for one call to a Chroma server (a full read of 100k rows takes a few)
CONNECT_TIMEOUT = 3.0  # seconds to reach a Chroma server at all
USER_ERRORS = ("InvalidArgumentError", "DuplicateIDError")  # chromadb's names for a bad request, not an outage


def wrap_store_errors(func: Callable[P, T]) -> Callable[P, T]:
    """Chroma's and the network's exceptions become StoreUnavailable, with what to do."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return func(*args, **kwargs)
        except (IndexMismatch, StoreUnavailable):
            raise
        except Exception as exc:  # chromadb raises many unrelated types for one failure
            if type(exc).__name__ in USER_ERRORS:
                raise
            raise StoreUnavailable(
                f"the vector store is unreachable ({type(exc).__name__}: {exc}); "
                "check that Chroma is running (RAG_CHROMA_URL) and retry"
            ) from exc

    return wrapper


class ChromaCollection:
    """One Chroma collection of a family, its metadata and its connection; the client is created on first use.

    `collection` names a family: the collection in service is the one a small pointer collection
    (`<collection>.active`) names, or `<collection>` itself until the first rebuild. A rebuild fills a new
    collection while the old one serves, then moves the pointer in one call; every process re-reads the
    pointer with the generation, so all switch within a second. A `pinned` store is one fixed collection.
    """

    def __init__(self, data_dir: Path, collection: str, chroma_url: str | None = None,
                 timeout: float = HTTP_TIMEOUT, pinned: bool = False) -> None:
        self._data_dir = data_dir
        self._base = collection
        self._name = collection  # the collection in service, as last read from the pointer
        self._pinned = pinned
        self._url = chroma_url
        self._timeout = timeout
        self._lock = threading.Lock()
        self._client: ClientAPI | None = None
        self._cached: Collection | None = None

    @property
    def location(self) -> str:
        return self._url or str(self._data_dir / "chroma")

    def _connect(self) -> ClientAPI:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        if self._url:
            self._check_heartbeat()  # HttpClient's own check below has no timeout
            url = urlparse(self._url)
            client = chromadb.HttpClient(host=url.hostname or "127.0.0.1", port=url.port or 8000,
                                         ssl=url.scheme == "https", settings=chroma_settings)
            set_http_timeout(client, self._timeout)
            return client
        self._data_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(self._data_dir / "chroma"), settings=chroma_settings)

    def _check_heartbeat(self) -> None:
        """Fail fast, with a bounded wait, when the server is down or hung."""
        import httpx

        url = f"{self._url.rstrip('/')}/api/v2/heartbeat" if self._url else ""
        try:
            httpx.get(url, timeout=httpx.Timeout(self._timeout, connect=CONNECT_TIMEOUT)).raise_for_status()
        except httpx.HTTPError as exc:
            raise StoreUnavailable(
                f"the Chroma server at {self._url} is unreachable ({type(exc).__name__}: {exc}); "
                "start it or fix RAG_CHROMA_URL, then retry"
            ) from exc

    def _collection(self, fresh: bool = False) -> Collection:
        """The collection handle, created once; `fresh` re-reads the pointer and the collection (metadata
        written by other processes)."""
        with self._lock:
            if self._client is None:
                self._client = self._connect()
            if fresh or self._cached is None:
                name = self._base if self._pinned else self._active_name(self._client)
                if name == self._base:  # before any rebuild: created on first use, as an empty index
                    self._cached = self._client.get_or_create_collection(
                        name, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None)
                else:  # a rebuilt one is never re-created empty by a reader that read an old pointer
                    self._cached = self._client.get_collection(name, embedding_function=None)
                self._name = name
            return self._cached

    def _active_name(self, client: ClientAPI) -> str:
        """The collection the pointer names (the family's own name before the first rebuild)."""
        return active_name(client, self._base)

    def _reset_client(self) -> None:
        """Forget the connection so the next call reconnects (the server may be back)."""
        with self._lock:
            self._client = None
            self._cached = None

    def _run(self, op: Callable[[Collection], T], fresh: bool = False) -> T:
        """Run `op` on the collection; on a failure reconnect and try once more.

        The retry covers a server that restarted and a collection another process re-created (`--rebuild`):
        the cached handle is stale, a fresh one works. A timeout is not retried: the caller has waited enough.
        """
        try:
            return op(self._collection(fresh))
        except StoreUnavailable:
            raise
        except Exception as exc:
            if type(exc).__name__ in USER_ERRORS:
                raise
            self._reset_client()
            if "Timeout" in type(exc).__name__:
                raise
        return op(self._collection(fresh=True))

    @wrap_store_errors
    def embedder_id(self) -> str | None:
        """The embedder that built the index, or None for an empty store."""
        meta = self._run(lambda c: c.metadata or {}, fresh=True)
        return meta.get("embedder")

    @wrap_store_errors
    def chunker_id(self) -> str | None:
        """The chunker settings the stored chunks were cut with."""
        meta = self._run(lambda c: c.metadata or {}, fresh=True)
        return meta.get("chunker")

    @wrap_store_errors
    def generation(self) -> int:
        """A counter bumped by every index change: readers use it to see writes of other processes."""
        meta = self._run(lambda c: c.metadata or {}, fresh=True)
        return int(meta.get("generation", 0))

    @wrap_store_errors
    def mark_written(self, embedder_id: str, chunker_id: str | None = None) -> None:
        """Record the embedder (and chunker) and bump the generation after a write."""

        def bump(collection: Collection) -> None:
            meta = dict(collection.metadata or {})
            meta.update(embedder=embedder_id, generation=int(meta.get("generation", 0)) + 1)
            if chunker_id:
                meta["chunker"] = chunker_id
            collection.modify(metadata=meta)

        self._run(bump, fresh=True)

    def check_embedder(self, embedder_id: str) -> None:
        """Refuse to mix vectors from two embedders."""
        built_by = self.embedder_id()
        if built_by and built_by != embedder_id:
            raise IndexMismatch(
                f"the index was built with {built_by} but the configured embedder is {embedder_id}: "
                "run `rag index --rebuild` (or set RAG_EMBED_MODEL / RAG_EMBED_PRECISION back)"
            )

    @wrap_store_errors
    def count(self) -> int:
        return self._run(lambda c: int(c.count()))

    @wrap_store_errors
    def delete(self, ids: Sequence[str]) -> None:
        if ids:
            self._run(lambda c: c.delete(ids=list(ids)))

    @wrap_store_errors
    def drop(self) -> None:
        """Delete the whole collection (a pinned store's: the unit vectors), keeping its generation counting up.

        A reader that saw generation n before the drop must not take the re-created collection's count for n.
        """
        generation = self.generation()
        self._run(lambda c: None)  # connected, and the collection exists, so deleting it cannot fail on absence
        with self._lock:
            assert self._client is not None
            self._client.delete_collection(self._name)
            self._cached = None
        self._run(lambda c: c.modify(metadata={"generation": generation + 1}), fresh=True)

    @wrap_store_errors
    def abandon(self) -> None:
        """Delete a pinned collection that will not be put in service (a rebuild that failed)."""
        with self._lock:
            if self._client is None:
                self._client = self._connect()
            self._client.delete_collection(self._base)
            self._cached = None


def set_http_timeout(client: ClientAPI, seconds: float) -> None:
    """Bound every request of chromadb's HTTP client (it has no setting for this; its session is an httpx.Client)."""
    import httpx

    session = getattr(getattr(client, "_server", None), "_session", None)
    if isinstance(session, httpx.Client):
        session.timeout = httpx.Timeout(seconds, connect=CONNECT_TIMEOUT)
