"""The last index run's outcome, kept in the data folder: a server started after `rag index` says what it did."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict
from pathlib import Path

from rag.models import FileReport, IndexReport, IndexStatus

log = logging.getLogger(__name__)
LAST_RUN_FILE = "last-index-run.json"


def save_last_run(data_dir: Path, status: IndexStatus) -> None:
    """Record how the run that just ended went; a folder that can't be written only loses the record."""
    record = {
        "finished_at": status.finished_at,
        "error": status.error,
        "last": asdict(status.last) if status.last else None,
    }
    path = data_dir / LAST_RUN_FILE
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        part = path.with_suffix(".part")
        part.write_text(json.dumps(record), encoding="utf-8")
        os.replace(part, path)  # a reader never sees half a record
    except OSError as exc:
        log.warning("could not record the index run in %s: %s", path, exc)


def load_last_run(data_dir: Path) -> IndexStatus:
    """How the last recorded run ended (by this process or another one), or no run when none is recorded."""
    path = data_dir / LAST_RUN_FILE
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        last = record["last"]
        report = IndexReport(**{**last, "files": [FileReport(**f) for f in last["files"]]}) if last else None
        return IndexStatus(False, finished_at=record["finished_at"], last=report, error=record["error"])
    except FileNotFoundError:
        return IndexStatus(False)
    except (OSError, ValueError, TypeError, KeyError) as exc:  # damaged, or written by another version
        log.warning("ignoring the index run record %s: %s", path, exc)
        return IndexStatus(False)
