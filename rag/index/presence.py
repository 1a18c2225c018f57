"""Who works on a data folder: `rag serve` holds it and leaves its address in server.json; other commands find it.

The proof of life is a file lock, not the record: the kernel drops a lock when its process dies (even on
`kill -9`), so a record left behind, or a pid since reused by another program, can never pass for a server.
`rag serve` holds the lock exclusively for its lifetime; a command working on the folder directly holds it
shared, so no server opens the embedded store while that command has it open, and the other way round.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING

from rag.errors import InvalidInput, ServerRunning, ServerUnreachable

if TYPE_CHECKING:
    from rag.settings import Settings

LOCK_NAME = "serve.lock"  # holds the serving process's pid while it runs
RECORD_NAME = "server.json"
START_WAIT = 120.0  # seconds a command waits for a server that holds the folder but is not listening yet
SERVE_WAIT = 10.0  # seconds `rag serve` waits for commands working on the folder directly to finish
POLL = 0.1


@dataclass(frozen=True)
class ServerRecord:
    """Where the `rag serve` holding a data folder answers (RAG_DATA_DIR/server.json)."""

    url: str
    pid: int
    needs_key: bool  # writes need `Authorization: Bearer <RAG_API_KEY>`
    corpus_dir: str  # absolute: the folder `rag index` indexes through this server
    version: str
    started_at: str


def base_url(host: str, port: int) -> str:
    return f"http://{host if ':' not in host else f'[{host}]'}:{port}"


def server_record(settings: Settings, host: str, port: int, version: str) -> ServerRecord:
    """This process's record, for a server listening on `host`:`port`."""
    # Commands on this machine reach a server listening on every interface through loopback.
    reach = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1", "localhost": "127.0.0.1"}.get(host, host)
    return ServerRecord(url=base_url(reach, port), pid=os.getpid(), needs_key=bool(settings.api_key),
                        corpus_dir=str(settings.corpus_dir.resolve()), version=version,
                        started_at=datetime.now(UTC).isoformat(timespec="seconds"))


def open_lock(data_dir: Path) -> IO[str]:
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        return open(data_dir / LOCK_NAME, "a+")  # "a+": opening must not wipe the holder's pid
    except OSError as exc:
        raise InvalidInput(f"cannot use the data folder {data_dir}: {exc.strerror}; check RAG_DATA_DIR") from exc


def try_lock(handle: IO[str], mode: int) -> bool:
    try:
        fcntl.flock(handle, mode | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def holder_pid(data_dir: Path) -> int | None:
    """The pid `rag serve` wrote into the lock file when it took the lock."""
    try:
        return int((data_dir / LOCK_NAME).read_text().strip())
    except (OSError, ValueError):
        return None


def read_record(data_dir: Path) -> ServerRecord | None:
    try:
        data = json.loads((data_dir / RECORD_NAME).read_text())
        return ServerRecord(**{f.name: data[f.name] for f in fields(ServerRecord)})  # later keys are ignored
    except (OSError, ValueError, TypeError, KeyError):
        return None


def write_record(data_dir: Path, record: ServerRecord) -> None:
    """Replace server.json in one step, so a reader never sees half a record."""
    fd, tmp = tempfile.mkstemp(dir=data_dir, prefix=".server-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(asdict(record), handle, indent=2)
        os.replace(tmp, data_dir / RECORD_NAME)
    finally:
        Path(tmp).unlink(missing_ok=True)


def remove_record(data_dir: Path, pid: int) -> None:
    """Remove server.json if it is this process's (a later server's record is not ours to remove)."""
    record = read_record(data_dir)
    if record is not None and record.pid == pid:
        (data_dir / RECORD_NAME).unlink(missing_ok=True)


def live_record(data_dir: Path) -> ServerRecord | None:
    """The record of the process holding the lock right now, if it has written one yet."""
    record = read_record(data_dir)
    return record if record is not None and record.pid == holder_pid(data_dir) else None


@contextlib.contextmanager
def hold_for_serving(data_dir: Path, wait: float = SERVE_WAIT) -> Iterator[None]:
    """Hold the data folder for `rag serve`; ServerRunning if another server has it, or a command keeps it."""
    with open_lock(data_dir) as handle:
        deadline = time.monotonic() + wait
        while not try_lock(handle, fcntl.LOCK_EX):
            if not try_lock(handle, fcntl.LOCK_SH):  # another exclusive holder: a server, running or starting
                raise ServerRunning(already_serving(data_dir))
            fcntl.flock(handle, fcntl.LOCK_UN)  # only commands share it: they end soon, or `wait` runs out
            if time.monotonic() >= deadline:
                raise ServerRunning(f"another `rag` command is working on the data folder {data_dir} (an index "
                                    "run?): wait for it to finish, then start the server again")
            time.sleep(POLL)
        handle.truncate(0)
        handle.write(str(os.getpid()))
        handle.flush()
        (data_dir / RECORD_NAME).unlink(missing_ok=True)  # a killed server's: nobody else can hold the lock
        yield


def already_serving(data_dir: Path) -> str:
    record = live_record(data_dir)
    if record is None:
        return (f"a notes-rag server (pid {holder_pid(data_dir)}) is starting on the data folder {data_dir}: "
                "use it once it is up, or stop it first")
    return (f"a notes-rag server is already running on the data folder {data_dir} at {record.url} "
            f"(pid {record.pid}): use it (the `rag` commands go through it), or stop it first")


@contextlib.contextmanager
def announce(data_dir: Path, record: ServerRecord) -> Iterator[None]:
    """server.json for as long as the server runs (the caller holds the folder via `hold_for_serving`)."""
    write_record(data_dir, record)
    try:
        yield
    finally:
        remove_record(data_dir, record.pid)


@contextlib.contextmanager
def find_server(data_dir: Path, wait: float = START_WAIT) -> Iterator[ServerRecord | None]:
    """The server holding the data folder, or None with the folder held (shared) until the block ends.

    A server that holds the folder but is still starting (loading the model) is waited for, up to `wait`.
    """
    with open_lock(data_dir) as handle:
        deadline = time.monotonic() + wait
        while not try_lock(handle, fcntl.LOCK_SH):
            record = live_record(data_dir)
            if record is not None:
                yield record
                return
            if time.monotonic() >= deadline:
                raise ServerUnreachable(
                    f"a notes-rag server (pid {holder_pid(data_dir)}) holds the data folder {data_dir} but has "
                    f"not started listening within {wait:.0f} s: wait for it, or stop it")
            time.sleep(POLL)
        if read_record(data_dir) is not None:  # left by a server that was killed: its lock went with it
            (data_dir / RECORD_NAME).unlink(missing_ok=True)
        yield None
