"""Read notes from the corpus folder (I/O only)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rag.errors import InvalidInput, NotFound
from rag.models import Note

NOTE_SUFFIXES = (".md", ".markdown", ".txt")
MAX_NAME_BYTES = 255  # what most file systems allow for one name
MAX_PATH_BYTES = 1024  # far below PATH_MAX, so stat() never fails with ENAMETOOLONG


@dataclass(frozen=True)
class Skipped:
    """A note file that could not be used, and why."""

    source: str
    reason: str


def find_note_files(corpus_dir: Path, paths: Iterable[Path] = ()) -> list[Path]:
    """The note files under the corpus folder (or under the given paths), sorted."""
    if not corpus_dir.is_dir():
        raise NotFound(f"corpus folder {corpus_dir} does not exist: create it or set RAG_CORPUS_DIR")
    roots = list(paths) or [corpus_dir]
    found: set[Path] = set()
    for root in roots:
        check_exists(root, corpus_dir)
        candidates = [root] if root.is_file() else root.rglob("*")
        found.update(p for p in candidates if p.is_file() and p.suffix.lower() in NOTE_SUFFIXES)
    return sorted(found)


def check_exists(root: Path, corpus_dir: Path) -> None:
    if not root.exists():
        raise NotFound(f"{root} does not exist: give a file or folder inside {corpus_dir}")


def corpus_names(corpus_dir: Path, paths: Iterable[Path]) -> list[str]:
    """Files or folders as names relative to the corpus folder (what POST /v1/index takes), checked as
    `find_note_files` and `source_name` check them, so the errors read the same."""
    names = []
    for root in paths:
        check_exists(root, corpus_dir)
        names.append(source_name(root, corpus_dir))
    return names


def corpus_path(corpus_dir: Path, name: str) -> Path:
    """A file or folder named relative to the corpus folder; InvalidInput for any name that would leave it."""
    if not usable_path(name):
        raise InvalidInput(f"{name[:60]!r} is not a path inside the corpus folder: give one relative to it")
    root = corpus_dir.resolve()
    if not (root / name).resolve().is_relative_to(root):  # `..`, or a link that points out of the folder
        raise InvalidInput(f"{name!r} is outside the corpus folder: give a path inside it")
    return corpus_dir / name


def usable_path(name: str) -> bool:
    """Relative, no NUL, UTF-8, and short enough that stat() never fails with ENAMETOOLONG."""
    try:
        parts = [part.encode("utf-8") for part in Path(name).parts]
    except UnicodeEncodeError:  # a lone surrogate, which JSON can carry
        return False
    return bool(name) and "\x00" not in name and not Path(name).is_absolute() \
        and sum(map(len, parts)) <= MAX_PATH_BYTES and all(len(part) <= MAX_NAME_BYTES for part in parts)


def source_name(path: Path, corpus_dir: Path) -> str:
    """The note's name as stored: its path relative to the corpus folder."""
    try:
        return path.resolve().relative_to(corpus_dir.resolve()).as_posix()
    except ValueError as exc:
        raise NotFound(f"{path} is outside the corpus folder {corpus_dir}: copy it there first") from exc


def read_note(path: Path, source: str) -> Note | Skipped:
    """Decode one note; binary, non-UTF-8 or empty files come back as Skipped."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return Skipped(source, f"cannot read file: {exc.strerror}")
    return decode_note(raw, source)


def decode_note(raw: bytes, source: str) -> Note | Skipped:
    """Turn a note's bytes into a Note, or say why they can't be one."""
    if b"\x00" in raw:
        return Skipped(source, "binary file (contains NUL bytes)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return Skipped(source, f"not valid UTF-8 (byte {exc.start}): re-save the file as UTF-8")
    if not text.strip():
        return Skipped(source, "empty note")
    # Normalise CR/CRLF so line numbers match what an editor shows.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return Note(source=source, text=text, sha256=hashlib.sha256(raw).hexdigest())
