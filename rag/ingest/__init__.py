"""Notes of every kind read from the corpus folder: one loader module per format, registered by suffix."""

from rag.ingest.corpus import (
    MAX_NAME_BYTES,
    MAX_PATH_BYTES,
    CorpusScan,
    check_corpus_dir,
    corpus_names,
    corpus_path,
    scan_corpus,
    source_name,
)
from rag.ingest.registry import NOTE_SUFFIXES, Skipped, load_note, read_note

__all__ = [
    "MAX_NAME_BYTES",
    "MAX_PATH_BYTES",
    "NOTE_SUFFIXES",
    "CorpusScan",
    "Skipped",
    "check_corpus_dir",
    "corpus_names",
    "corpus_path",
    "load_note",
    "read_note",
    "scan_corpus",
    "source_name",
]
