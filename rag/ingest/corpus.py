"""The corpus folder: which files in it are notes, and names that stay inside it (I/O only)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rag.errors import InvalidInput, NotFound
from rag.ingest.registry import NOTE_SUFFIXES, Skipped

MAX_NAME_BYTES = 255  # what most file systems allow for one name
MAX_PATH_BYTES = 1024  # far below PATH_MAX, so stat() never fails with ENAMETOOLONG


@dataclass(frozen=True)
class CorpusScan:
    """The note files found, and the other files of the folder that are not indexed, with why."""

    notes: list[Path]
    skipped: list[Skipped]


def scan_corpus(corpus_dir: Path, paths: Iterable[Path] = ()) -> CorpusScan:
    """The note files under the corpus folder (or under the given paths), sorted; other kinds of file and
    links that lead out of the folder are reported, hidden files and folders (`.git`) are passed over."""
    check_corpus_dir(corpus_dir)
    notes: set[Path] = set()
    skipped: dict[str, Skipped] = {}
    for root in list(paths) or [corpus_dir]:
        if not root.is_symlink():
            check_exists(root, corpus_dir)
        candidates = [root] if not root.is_dir() or root.is_symlink() else sorted(root.rglob("*"))
        for path in candidates:
            source = source_name(path, corpus_dir)
            if any(part.startswith(".") for part in Path(source).parts):
                continue
            reason = why_not_a_note(path, corpus_dir)
            if reason:
                skipped[source] = Skipped(source, reason)
            elif path.is_file():
                notes.add(path)
    return CorpusScan(sorted(notes), sorted(skipped.values(), key=lambda s: s.source))


def check_corpus_dir(corpus_dir: Path) -> None:
    """NotFound, saying what to do, if the corpus folder is not there (`rag index`, `rag serve`, uploads)."""
    if not corpus_dir.is_dir():
        raise NotFound(f"corpus folder {corpus_dir} does not exist: create it or set RAG_CORPUS_DIR")


def why_not_a_note(path: Path, corpus_dir: Path) -> str:
    """Why a file or link of the corpus folder is not indexed ("" for a note, and for a plain folder)."""
    if path.is_symlink():
        target = path.resolve()
        try:
            inside = target.relative_to(corpus_dir.resolve()).as_posix()
        except ValueError:
            return f"a link to {target}, outside the corpus folder: copy the note into {corpus_dir} instead"
        return f"a link to {inside}, which is indexed under its own name" if target.exists() else "a broken link"
    if path.is_file() and path.suffix.lower() not in NOTE_SUFFIXES:
        return f"not a kind of note that is indexed ({', '.join(NOTE_SUFFIXES)})"
    return ""


def check_exists(root: Path, corpus_dir: Path) -> None:
    if not root.exists():
        raise NotFound(f"{root} does not exist: give a file or folder inside {corpus_dir}")


def corpus_names(corpus_dir: Path, paths: Iterable[Path]) -> list[str]:
    """Files or folders as names relative to the corpus folder (what POST /v1/index takes), checked as
    `scan_corpus` and `source_name` check them, so the errors read the same."""
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
    """The note's name as stored: its path relative to the corpus folder (a link keeps its own name)."""
    for inner, outer in ((os.path.abspath(path), os.path.abspath(corpus_dir)),  # the link's own place
                         (os.path.realpath(path), os.path.realpath(corpus_dir))):  # a file given by its real path
        relative = Path(os.path.relpath(inner, outer))
        if not relative.parts or relative.parts[0] != "..":
            return relative.as_posix()
    raise NotFound(f"{path} is outside the corpus folder {corpus_dir}: copy it there first")
