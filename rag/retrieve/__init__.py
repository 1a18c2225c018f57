"""Retrieval: hybrid search (dense + BM25), the lexical index, and the intents a query asks for."""
