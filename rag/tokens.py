"""tiktoken offline: seed its cache from the BPE files shipped in the bpe-openai wheel."""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import tiktoken

BUDGET_ENCODING = "cl100k_base"
_BPE_URL = "https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"


def seed_tiktoken_cache(name: str = BUDGET_ENCODING) -> Path:
    """Write the BPE file where tiktoken looks for it, so it never downloads."""
    cache_dir = Path(os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(_default_cache_dir())))
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / hashlib.sha1(_BPE_URL.format(name=name).encode()).hexdigest()
    if not target.exists():
        packed = resources.files("bpe_openai") / "data" / f"{name}.tiktoken.gz"
        data = gzip.decompress(packed.read_bytes())
        # Write then rename: a concurrent reader never sees half a file.
        with tempfile.NamedTemporaryFile(dir=cache_dir, delete=False) as tmp:
            tmp.write(data)
        os.replace(tmp.name, target)
    return target


def _default_cache_dir() -> Path:
    return Path(tempfile.gettempdir()) / "notes-rag-tiktoken"


@cache
def budget_encoding() -> tiktoken.Encoding:
    """The tiktoken encoding chunk budgets are counted in."""
    import tiktoken

    seed_tiktoken_cache(BUDGET_ENCODING)
    return tiktoken.get_encoding(BUDGET_ENCODING)


def count_budget_tokens(text: str) -> int:
    """Length of `text` in budget tokens."""
    return len(budget_encoding().encode(text, disallowed_special=()))
