"""Indexing: the index run, watching the corpus folder, the one-writer presence record, uploads and the trash."""
