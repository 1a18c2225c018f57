"""The trash deleted notes go to: kept, restored newest first, emptied after its days."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from rag.errors import NotFound, SourceExists
from rag.index.trash import RECORD, Trash


def test_the_newest_copy_comes_back_to_its_place_and_old_copies_expire(tmp_path: Path) -> None:
    corpus, trash = tmp_path / "corpus", Trash(tmp_path / "data", keep_days=30)
    (corpus / "ml").mkdir(parents=True)
    note = corpus / "ml" / "svm.md"
    note.write_text("first")
    first = trash.put(note, "ml/svm.md")
    note.write_text("second")
    trash.put(note, "ml/svm.md")
    assert not note.exists() and [t.source for t in trash.list()] == ["ml/svm.md", "ml/svm.md"]

    assert trash.take("ml/svm.md", corpus).read_text() == "second"
    with pytest.raises(SourceExists):  # never over a note that is back in its place
        trash.take("ml/svm.md", corpus)
    note.unlink()
    old = time.time() - 31 * 86_400
    os.utime(first.path.parent.parent / RECORD, (old, old))
    other = corpus / "other.md"
    other.write_text("x")
    trash.put(other, "other.md")  # a delete empties what is past its days
    assert [t.source for t in trash.list()] == ["other.md"]
    with pytest.raises(NotFound, match="rag trash"):
        trash.take("ml/svm.md", corpus)
