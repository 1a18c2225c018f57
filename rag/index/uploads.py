"""Notes written into or removed from the corpus folder through the API: names and bytes checked first (I/O)."""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path
from urllib.parse import unquote

from rag.errors import InvalidInput, NotFound, SourceExists, TooLarge
from rag.ingest import MAX_NAME_BYTES, MAX_PATH_BYTES, NOTE_SUFFIXES, Skipped, load_note


def note_name(filename: str | None) -> str:
    """The uploaded file's name if it is a plain, safe note name; InvalidInput saying why not otherwise."""
    name = (filename or "").strip()
    if not name:
        raise InvalidInput("the upload has no file name: send the note as the multipart field `file` with a name")
    # Clients percent-encode odd characters in multipart file names: "x%00.md" is a NUL in disguise.
    for form in (name, unquote(name)):
        if any(ord(c) < 32 or ord(c) == 127 for c in form):
            raise InvalidInput("the file name contains control characters (e.g. NUL): rename the file")
        if "/" in form or "\\" in form or form.startswith(".") or ".." in form:
            raise InvalidInput(f"{name!r} is not a plain file name: no folders, no '..', no leading dot")
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise InvalidInput(f"the file name is over {MAX_NAME_BYTES} bytes: shorten it")
    if Path(name).suffix.lower() not in NOTE_SUFFIXES:
        raise InvalidInput(f"{name!r} is not a kind of note that is indexed: upload one of {', '.join(NOTE_SUFFIXES)}")
    return name


def check_note_bytes(data: bytes, name: str, limit: int, max_text: int | None = None) -> None:
    """Refuse content over the size limit, or that its loader can't read (binary text, not UTF-8, a corrupt
    PDF...), finds empty or finds more text in than `max_text` (RAG_MAX_NOTE_BYTES), before anything is written."""
    if len(data) > limit:
        raise TooLarge(f"{name} is over the upload limit of {limit} bytes (RAG_MAX_UPLOAD_BYTES): split the note")
    note = load_note(data, name, max_text)
    if isinstance(note, Skipped):
        raise InvalidInput(f"{name} cannot be indexed: {note.reason}")


def save_note(corpus_dir: Path, name: str, data: bytes, overwrite: bool) -> tuple[Path, bytes | None]:
    """Write the note atomically; returns its path and the bytes it replaced (for `restore`).

    A new note gets the mode any file the user makes gets (0666 less the umask, as an editor saves it); a
    replaced one keeps its mode.
    """
    target = corpus_dir / name
    previous = target.read_bytes() if target.is_file() else None
    if target.exists() and not overwrite:
        raise SourceExists(f"{name} already exists: upload with ?overwrite=true to replace it, or rename the file")
    mode = stat.S_IMODE(target.stat().st_mode) if previous is not None else 0o666
    fd, tmp = new_file(corpus_dir, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            if previous is not None:
                os.fchmod(handle.fileno(), mode)  # exactly the old mode, whatever the umask
            handle.write(data)
        if overwrite:
            os.replace(tmp, target)
        else:
            os.link(tmp, target)  # fails if another upload took the name meanwhile: never overwrites
    except FileExistsError as exc:
        raise SourceExists(f"{name} already exists: upload with ?overwrite=true to replace it") from exc
    finally:
        Path(tmp).unlink(missing_ok=True)
    return target, previous


def new_file(folder: Path, mode: int) -> tuple[int, str]:
    """A new hidden temp file in `folder`, opened for writing with `mode` less the umask (`tempfile.mkstemp`
    makes it 0600 whatever the umask, and reading the umask means setting it for every thread at once)."""
    for _ in range(100):
        path = folder / f".upload-{secrets.token_hex(8)}.part"
        try:
            return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode), str(path)
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name in {folder}")


def restore(path: Path, previous: bytes | None) -> None:
    """Undo `save_note` or a removal: put the old bytes back, or remove a file that was new."""
    if previous is None:
        path.unlink(missing_ok=True)
    else:
        path.write_bytes(previous)


def note_path(corpus_dir: Path, source: str) -> Path:
    """The file of an indexed note name, refusing anything that would leave the corpus folder."""
    if not source or "\x00" in source or source.startswith(("/", "\\")) or ".." in Path(source).parts:
        raise InvalidInput(f"{source!r} is not a note name: use a name as GET /v1/sources lists it")
    parts = Path(source).parts
    if len(source.encode("utf-8")) > MAX_PATH_BYTES or any(len(p.encode("utf-8")) > MAX_NAME_BYTES for p in parts):
        raise InvalidInput(f"{source[:60]!r}... is too long to be a note name: GET /v1/sources lists them")
    root = corpus_dir.resolve()
    path = (root / source).resolve()
    if not path.is_relative_to(root) or path == root:
        raise InvalidInput(f"{source!r} is outside the corpus folder")
    if path.suffix.lower() not in NOTE_SUFFIXES:
        raise NotFound(f"{source} is not a note: GET /v1/sources lists the notes")
    return path
