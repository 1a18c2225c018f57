"""The exception tree: every error a user can cause or meet, with what to do."""

from __future__ import annotations

ERROR_HEADER = "X-Rag-Error"  # the API names the class of the error it answers with, for rag/cli/remote.py


class RagError(Exception):
    """Base of every notes-rag error; the message says what to do."""


class InvalidInput(RagError):
    """A query, parameter or file that cannot be used as given."""


class TooLarge(RagError):
    """A query or upload over its size limit."""


class NotFound(RagError):
    """A source or path that does not exist."""


class AuthError(RagError):
    """A missing or wrong API key on a write."""


class SourceExists(RagError):
    """An upload would replace another note without `overwrite=true`."""


class IndexBusy(RagError):
    """Another index run is in progress."""


class IndexFailed(RagError):
    """An index run that could not finish; what was in service stays in service."""


class StoreUnavailable(RagError):
    """The vector store cannot be reached."""


class IndexMismatch(RagError):
    """The index was built by a different embedder than the one configured."""


class LLMError(RagError):
    """The optional LLM endpoint failed."""


class ServerRunning(RagError):
    """A `rag serve` holds the data folder, so this command cannot open it (a second server, `rag eval`)."""


class ServerUnreachable(RagError):
    """The `rag serve` holding the data folder does not answer."""


class NothingToStudy(NotFound):
    """Study mode has no card due and no new card left for today (with the filters given)."""
