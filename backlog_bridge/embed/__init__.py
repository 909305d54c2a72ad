"""Embedding step: texts to normalised vectors (`Embedder` protocol and its adapters).

The sentence-transformers adapter is imported lazily so that importing this package stays cheap.
"""

from backlog_bridge.embed.embedder import Embedder

__all__ = ["Embedder"]
