"""Embedding: the Embedder protocol, the ONNX runtime and its export, the reference back-end, the vector cache."""
