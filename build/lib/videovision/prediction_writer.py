"""Old home of :class:`videovision.callbacks.EmbeddingWriter`; kept so configs naming it here run until 0.3."""

from .callbacks.embedding_writer import EmbeddingWriter

__all__ = ["EmbeddingWriter"]
