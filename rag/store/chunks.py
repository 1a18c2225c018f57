"""ChromaStore: the passages and their vectors in ChromaDB (embedded or a server)."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import astuple, dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.models import Passage, Segment
from rag.store.collection import ChromaCollection, wrap_store_errors
from rag.store.pointer import is_rebuild_name, point_to, rebuild_name

if TYPE_CHECKING:
    from chromadb.api.models.Collection import Collection

log = logging.getLogger(__name__)
GET_PAGE = 5000  # rows per `get` call when reading the whole store
# A note's rows are stored in batches: until its last batch is in, they carry this before the file's hash, so no
# search takes half a note for the note and the next index run (after a kill) sees the note is not complete.
PENDING = "pending:"


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


class ChromaStore(ChromaCollection):
    """The chunks' Chroma collection: rows written, read and searched, and rebuilt into a new collection.

    `collection` names a family: the collection in service is the one a small pointer collection
    (`<collection>.active`) names, or `<collection>` itself until the first rebuild. A rebuild fills a new
    collection while the old one serves, then moves the pointer in one call; every process re-reads the
    pointer with the generation, so all switch within a second. A `pinned` store is one fixed collection.
    """

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
    def begin_rebuild(self) -> ChromaStore:
        """A new, empty collection of the family to rebuild into while this one serves.

        Collections left by a rebuild that died (killed, failed) are deleted first. The new one's generation
        starts past the serving one's, so a reader that switches to it always re-reads its rows.
        """
        generation = self.generation()
        self.remove_abandoned()
        with self._lock:
            assert self._client is not None
            name = rebuild_name(self._base)
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
        return is_rebuild_name(self._base, name)

    @wrap_store_errors
    def switch_to(self, rebuilt: ChromaStore) -> None:
        """Put a rebuilt collection in service in one call (the pointer), then delete the one it replaces."""
        self._run(lambda c: None)
        with self._lock:
            assert self._client is not None
            old = self._active_name(self._client)
            point_to(self._client, self._base, rebuilt._base)
            self._client.delete_collection(old)
            self._cached = None


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
