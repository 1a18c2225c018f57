"""The `rag` command: its verbs, the client of a running server, the quiz loop."""

from rag.cli.commands import main

__all__ = ["main"]
