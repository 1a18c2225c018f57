"""The Chroma stores: the chunks, the answer units' vectors, and the pointer to the collection in service."""
