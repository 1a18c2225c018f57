"""Embedding: the Embedder protocol, the ONNX runtime and its export, the reference back-end, the vector cache."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rag.embed.base import Embedder
    from rag.settings import Settings


def build_embedder(settings: Settings) -> Embedder:
    """The embedder the settings ask for; ONNX Runtime for the packaged model by default."""
    from rag.embed.base import packaged_model_path
    from rag.embed.reference import SentenceTransformerEmbedder

    if not settings.embed_model:
        path = packaged_model_path()
        if settings.embed_backend in ("auto", "onnx"):
            from rag.embed.onnx import OnnxEmbedder

            return OnnxEmbedder(path, settings.data_dir / "onnx", settings.embed_precision)
        return SentenceTransformerEmbedder(str(path))
    return SentenceTransformerEmbedder(settings.embed_model)
