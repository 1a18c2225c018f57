"""Deleted notes kept in the data folder for a while, so a delete can be undone (I/O).

A delete moves the note's file to `RAG_DATA_DIR/trash/<time>-<id>/<its name in the corpus>`, beside a small
record of what it was; a restore moves the newest copy of a name back. Copies older than the kept days go
at the next delete.
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rag.errors import NotFound, SourceExists

RECORD = "deleted.json"


@dataclass(frozen=True)
class Trashed:
    """A deleted note: its name in the corpus folder, where its file is now and when it was deleted."""

    source: str
    path: Path
    deleted_at: str


class Trash:
    """The data folder's trash: `put` a note's file in, `take` the newest copy of a name back out."""

    def __init__(self, data_dir: Path, keep_days: float) -> None:
        self.root = data_dir / "trash"
        self.keep_days = keep_days

    def put(self, file: Path, source: str) -> Trashed:
        """Move a note's file into the trash (emptying copies past their days first)."""
        self.empty_expired()
        now = datetime.now(UTC)
        folder = self.root / f"{now.strftime('%Y%m%dT%H%M%S%f')}-{uuid.uuid4().hex[:8]}"  # in order of deletion
        target = folder / source
        target.parent.mkdir(parents=True, exist_ok=True)
        deleted_at = now.isoformat(timespec="seconds")
        (folder / RECORD).write_text(json.dumps({"source": source, "deleted_at": deleted_at}), encoding="utf-8")
        shutil.move(file, target)  # a rename when the data folder is on the corpus folder's disk
        return Trashed(source, target, deleted_at)

    def take(self, source: str, corpus_dir: Path) -> Path:
        """Move the newest deleted copy of `source` back to its place in the corpus folder."""
        copies = [t for t in self.list() if t.source == source]
        if not copies:
            raise NotFound(f"no deleted note named {source} in the trash ({self.root}): `rag trash` lists them")
        place = corpus_dir / source
        if place.exists():
            raise SourceExists(f"{source} exists again in the corpus folder: rename or delete it, then restore")
        newest = copies[-1]
        place.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(newest.path, place)
        shutil.rmtree(self.folder_of(newest), ignore_errors=True)
        return place

    def put_back(self, trashed: Trashed, corpus_dir: Path) -> None:
        """Undo `put` (the index run after a delete failed)."""
        shutil.move(trashed.path, corpus_dir / trashed.source)
        shutil.rmtree(self.folder_of(trashed), ignore_errors=True)

    def list(self) -> list[Trashed]:
        """The deleted notes still kept, oldest first."""
        found = []
        for record in sorted(self.root.glob(f"*/{RECORD}")):
            try:
                meta = json.loads(record.read_text(encoding="utf-8"))
                path = record.parent / meta["source"]
            except (OSError, ValueError, KeyError, TypeError):
                continue  # a folder someone edited by hand: not a copy we can restore
            if path.is_file():
                found.append(Trashed(meta["source"], path, meta.get("deleted_at", "")))
        return found

    def empty_expired(self) -> None:
        """Delete the copies kept longer than `keep_days`."""
        cutoff = time.time() - self.keep_days * 86_400
        for record in self.root.glob(f"*/{RECORD}"):
            if record.stat().st_mtime < cutoff:
                shutil.rmtree(record.parent, ignore_errors=True)

    def folder_of(self, trashed: Trashed) -> Path:
        """The folder one deleted copy sits in."""
        return self.root / trashed.path.relative_to(self.root).parts[0]
