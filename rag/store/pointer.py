"""The rebuild switch: a small pointer collection (`<collection>.active`) names the chunk collection in service."""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chromadb.api import ClientAPI

POINTER_SUFFIX = ".active"  # the collection whose metadata names the chunk collection in service
REBUILD_INFIX = "-rebuild-"  # rebuilt collections are named <collection>-rebuild-<12 hex digits>


def active_name(client: ClientAPI, base: str) -> str:
    """The collection the pointer names (the family's own name before the first rebuild)."""
    from chromadb.errors import NotFoundError

    try:
        pointer = client.get_collection(base + POINTER_SUFFIX, embedding_function=None)
    except NotFoundError:
        return base
    return str((pointer.metadata or {}).get("active") or base)


def point_to(client: ClientAPI, base: str, name: str) -> None:
    """Put the collection `name` in service for the family `base`, in one call."""
    pointer = client.get_or_create_collection(base + POINTER_SUFFIX, embedding_function=None)
    pointer.modify(metadata={"active": name})


def rebuild_name(base: str) -> str:
    """A fresh name for a collection to rebuild the family `base` into."""
    return f"{base}{REBUILD_INFIX}{uuid.uuid4().hex[:12]}"


def is_rebuild_name(base: str, name: str) -> bool:
    """True for a collection a rebuild of the family `base` made (and no other family's, on a shared server)."""
    return re.fullmatch(rf"{re.escape(base + REBUILD_INFIX)}[0-9a-f]{{12}}", name) is not None
