"""ChromaStore: the passages and their vectors in ChromaDB (embedded or a server)."""

from __future__ import annotations

import json
import logging
import re
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import astuple, dataclass, replace
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar
from urllib.parse import urlparse

import numpy as np

from rag.errors import IndexMismatch, StoreUnavailable
from rag.models import Passage, Segment

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")
GET_PAGE = 5000  # rows per `get` call when reading the whole store
# chromadb's HTTP client never times out: a hung server would hold every request thread forever.
HTTP_TIMEOUT = 30.0  # seconds for one call to a Chroma server (a full read of 100k rows takes a few)
CONNECT_TIMEOUT = 3.0  # seconds to reach a Chroma server at all
POINTER_SUFFIX = ".active"  # the collection whose metadata names the chunk collection in service
REBUILD_INFIX = "-rebuild-"  # rebuilt collections are named <collection>-rebuild-<12 hex digits>
USER_ERRORS = ("InvalidArgumentError", "DuplicateIDError")
# A note's rows are stored in batches: until its last batch is in, they carry this before the file's hash, so no
# search takes half a note for the note and the next index run (after a kill) sees the note is not complete.
PENDING = "pending:"  # chromadb's names for a bad request, not an outage


@dataclass(frozen=True)
class StoredChunk:
    """One row of the store: a chunk, where it is, and which file version it came from."""

    id: str
    source: str
    start_line: int
    end_line: int
    heading: str
    text: str
    ordinal: int  # position of the chunk in its note
    file_sha256: str
    indexed_at: str
    kind: str = "text"  # the note's loader: text, notebook, pdf, html, docx
    segments: tuple[Segment, ...] = ()  # the note's pages or cells these lines overlap
    tags: tuple[str, ...] = ()  # the note's, on every one of its rows
    aliases: tuple[str, ...] = ()

    def metadata(self) -> dict[str, str | int]:
        meta: dict[str, str | int] = {
            "source": self.source,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "heading": self.heading,
            "ordinal": self.ordinal,
            "file_sha256": self.file_sha256,
            "indexed_at": self.indexed_at,
            "kind": self.kind,
        }
        # Chroma's metadata values are scalars: lists go in as JSON, and only when there is something.
        for key, value in (("segments", [astuple(s) for s in self.segments]), ("tags", list(self.tags)),
                           ("aliases", list(self.aliases))):
            if value:
                meta[key] = json.dumps(value)
        return meta

    @property
    def complete(self) -> bool:
        """False for a row of a note whose write has not finished (see PENDING)."""
        return not self.file_sha256.startswith(PENDING)

    def pending(self) -> StoredChunk:
        """This row as written before the rest of its note is in."""
        return replace(self, file_sha256=PENDING + self.file_sha256)

    def to_passage(self, score: float = 0.0, scores: dict[str, float] | None = None) -> Passage:
        return Passage(self.id, self.source, self.start_line, self.end_line, self.heading, self.text,
                       score, scores or {}, self.segments)


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


class ChromaStore:
    """The chunks' Chroma collection; the client is created on first use.

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
        from chromadb.errors import NotFoundError

        try:
            pointer = client.get_collection(self._base + POINTER_SUFFIX, embedding_function=None)
        except NotFoundError:
            return self._base
        return str((pointer.metadata or {}).get("active") or self._base)

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
    def upsert(self, rows: Sequence[StoredChunk], vectors: np.ndarray) -> None:
        if rows:
            self._run(lambda c: c.upsert(
                ids=[r.id for r in rows],
                embeddings=vectors.astype(np.float32),
                documents=[r.text for r in rows],
                metadatas=[r.metadata() for r in rows],  # type: ignore[misc]
            ))

    @wrap_store_errors
    def update_metadata(self, rows: Sequence[StoredChunk]) -> None:
        if rows:
            self._run(lambda c: c.update(ids=[r.id for r in rows], metadatas=[r.metadata() for r in rows]))  # type: ignore[misc]

    @wrap_store_errors
    def delete(self, ids: Sequence[str]) -> None:
        if ids:
            self._run(lambda c: c.delete(ids=list(ids)))

    @wrap_store_errors
    def rows(self, source: str | None = None, with_text: bool = True) -> list[StoredChunk]:
        """Every stored chunk (of one source, if given), read page by page."""
        where: Any = {"source": source} if source else None
        include: Any = ["metadatas", "documents"] if with_text else ["metadatas"]

        def read_all(collection: Collection) -> list[StoredChunk]:
            out: list[StoredChunk] = []
            offset = 0
            while True:
                page = collection.get(where=where, include=include, limit=GET_PAGE, offset=offset)
                docs = page.get("documents") or [""] * len(page["ids"])
                out.extend(row_from(i, m, d) for i, m, d in zip(page["ids"], page["metadatas"] or [], docs))
                if len(page["ids"]) < GET_PAGE:
                    return out
                offset += GET_PAGE

        return self._run(read_all)

    @wrap_store_errors
    def query(self, vector: np.ndarray, k: int, sources: Sequence[str] = ()) -> list[tuple[StoredChunk, float]]:
        """The k nearest chunks, text and metadata included, with their cosine similarity."""
        res = self._run(lambda c: c.query(query_embeddings=[vector.astype(np.float32)],  # type: ignore[arg-type]
                                          n_results=k, where=source_filter(sources),
                                          include=["metadatas", "documents", "distances"]))
        ids, metas = res["ids"][0], (res["metadatas"] or [[]])[0]
        docs, dists = (res["documents"] or [[]])[0], (res["distances"] or [[]])[0]
        return [(row_from(i, m, d), 1.0 - float(dist)) for i, m, d, dist in zip(ids, metas, docs, dists)]

    @wrap_store_errors
    def nearest(self, vector: np.ndarray, k: int, sources: Sequence[str] = ()) -> list[tuple[str, float]]:
        """The ids of the k nearest chunks with their cosine similarity (no text: the cheapest lookup)."""
        res = self._run(lambda c: c.query(query_embeddings=[vector.astype(np.float32)],  # type: ignore[arg-type]
                                          n_results=k, where=source_filter(sources), include=["distances"]))
        return [(i, 1.0 - float(d)) for i, d in zip(res["ids"][0], (res["distances"] or [[]])[0])]

    @wrap_store_errors
    def get(self, ids: Sequence[str]) -> list[StoredChunk]:
        """The stored chunks with these ids (those that exist)."""
        if not ids:
            return []
        page = self._run(lambda c: c.get(ids=list(ids), include=["metadatas", "documents"]))
        docs = page.get("documents") or [""] * len(page["ids"])
        return [row_from(i, m, d) for i, m, d in zip(page["ids"], page["metadatas"] or [], docs)]

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
    def begin_rebuild(self) -> ChromaStore:
        """A new, empty collection of the family to rebuild into while this one serves.

        Collections left by a rebuild that died (killed, failed) are deleted first. The new one's generation
        starts past the serving one's, so a reader that switches to it always re-reads its rows.
        """
        generation = self.generation()
        self.remove_abandoned()
        with self._lock:
            assert self._client is not None
            name = f"{self._base}{REBUILD_INFIX}{uuid.uuid4().hex[:12]}"
            self._client.create_collection(name, configuration={"hnsw": {"space": "cosine"}},
                                           metadata={"generation": generation + 1}, embedding_function=None)
        return ChromaStore(self._data_dir, name, self._url, self._timeout, pinned=True)

    @wrap_store_errors
    def remove_abandoned(self) -> None:
        """Delete the rebuilt collections of the family that are not in service (left by a rebuild that died)."""
        self._run(lambda c: None, fresh=True)  # the pointer read now: a collection just switched to is kept
        with self._lock:
            assert self._client is not None
            for collection in self._client.list_collections():
                if self.is_rebuild_of_family(collection.name) and collection.name != self._name:
                    log.info("deleting %s, left by a rebuild that did not finish", collection.name)
                    self._client.delete_collection(collection.name)

    def is_rebuild_of_family(self, name: str) -> bool:
        """True for a collection a rebuild of this family made (and no other family's, on a shared server)."""
        return re.fullmatch(rf"{re.escape(self._base + REBUILD_INFIX)}[0-9a-f]{{12}}", name) is not None

    @wrap_store_errors
    def switch_to(self, rebuilt: ChromaStore) -> None:
        """Put a rebuilt collection in service in one call (the pointer), then delete the one it replaces."""
        self._run(lambda c: None)
        with self._lock:
            assert self._client is not None
            old = self._active_name(self._client)
            pointer = self._client.get_or_create_collection(self._base + POINTER_SUFFIX, embedding_function=None)
            pointer.modify(metadata={"active": rebuilt._base})
            self._client.delete_collection(old)
            self._cached = None

    @wrap_store_errors
    def abandon(self) -> None:
        """Delete a pinned collection that will not be put in service (a rebuild that failed)."""
        with self._lock:
            if self._client is None:
                self._client = self._connect()
            self._client.delete_collection(self._base)
            self._cached = None


class UnitVectorStore(ChromaStore):
    """The vectors of the answer stage's units (sentences, list items, formulas...) in a collection beside the
    chunks: embedded when a note is indexed, so a question's first answer embeds nothing but the question.

    Rows are keyed by the caller (a digest of the embedder, the note and the unit's text) and carry their note,
    so a note's stale rows can be dropped; a missing row only costs an embedding at answer time.
    """

    @wrap_store_errors
    def vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors of those ids that exist."""
        if not ids:
            return {}
        page = self._run(lambda c: c.get(ids=list(ids), include=["embeddings"]))
        found = page.get("embeddings")
        return {} if found is None else {i: np.asarray(v, np.float32) for i, v in zip(page["ids"], found)}

    @wrap_store_errors
    def ids_of(self, source: str) -> set[str]:
        """The ids stored for one note."""
        return set(self._run(lambda c: c.get(where={"source": source}, include=[]))["ids"])

    @wrap_store_errors
    def put(self, ids: Sequence[str], vectors: np.ndarray, source: str) -> None:
        if ids:
            self._run(lambda c: c.upsert(ids=list(ids), embeddings=vectors.astype(np.float32),
                                         metadatas=[{"source": source}] * len(ids)))

    @wrap_store_errors
    def forget(self, source: str) -> None:
        """Delete one note's rows."""
        self._run(lambda c: c.delete(where={"source": source}))


def set_http_timeout(client: ClientAPI, seconds: float) -> None:
    """Bound every request of chromadb's HTTP client (it has no setting for this; its session is an httpx.Client)."""
    import httpx

    session = getattr(getattr(client, "_server", None), "_session", None)
    if isinstance(session, httpx.Client):
        session.timeout = httpx.Timeout(seconds, connect=CONNECT_TIMEOUT)


def row_from(id_: str, meta: Any, text: str | None) -> StoredChunk:
    """A StoredChunk from Chroma's id, metadata and document."""
    return StoredChunk(
        id=id_, source=str(meta["source"]), start_line=int(meta["start_line"]), end_line=int(meta["end_line"]),
        heading=str(meta.get("heading", "")), text=text or "", ordinal=int(meta.get("ordinal", 0)),
        file_sha256=str(meta.get("file_sha256", "")), indexed_at=str(meta.get("indexed_at", "")),
        kind=str(meta.get("kind", "text")), segments=tuple(Segment(*s) for s in json_list(meta, "segments")),
        tags=tuple(json_list(meta, "tags")), aliases=tuple(json_list(meta, "aliases")),
    )


def json_list(meta: Any, key: str) -> list[Any]:
    """A list stored as JSON in a metadata value ([] when absent)."""
    value = meta.get(key)
    return json.loads(value) if isinstance(value, str) and value else []


def source_filter(sources: Sequence[str]) -> Any:
    """A Chroma `where` that keeps only these notes (None: all)."""
    if not sources:
        return None
    return {"source": sources[0]} if len(sources) == 1 else {"source": {"$in": list(sources)}}
