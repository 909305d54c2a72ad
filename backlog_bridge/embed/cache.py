"""Embeddings cached in the store, keyed by (model, hash of the normalised text): embed once, ever."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from backlog_bridge.cluster.prepare import normalise_text
from backlog_bridge.embed.embedder import Embedder
from backlog_bridge.store.tables import EmbeddingCache

_CHUNK = 500


def text_key(text: str) -> str:
    """Cache key of a comment: identical after normalisation means embedded once."""
    return hashlib.sha256(normalise_text(text).encode("utf-8")).hexdigest()


class CachedEmbedder:
    """An `Embedder` that asks the wrapped model only for texts the store has not seen.

    Attributes:
        computed: texts actually sent to the model over this object's life (for run summaries).
    """

    def __init__(self, embedder: Embedder, engine: Engine) -> None:
        """Wrap `embedder`; vectors are read from and written to `engine`'s embedding_cache."""
        self.inner = embedder
        self.engine = engine
        self.name = embedder.name
        self.dim = embedder.dim
        self.computed = 0

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Vectors for `texts` in order, from the cache where possible."""
        keys = [text_key(text) for text in texts]
        found = self._lookup(sorted(set(keys)))
        missing: dict[str, str] = {}
        for key, text in zip(keys, texts, strict=True):
            if key not in found and key not in missing:
                missing[key] = text
        if missing:
            vectors = self.inner.encode(list(missing.values()))
            self.computed += len(missing)
            fresh = dict(zip(missing, vectors, strict=True))
            self._store(fresh)
            found.update(fresh)
        if not keys:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([found[key] for key in keys]).astype(np.float32)

    def _lookup(self, keys: Sequence[str]) -> dict[str, npt.NDArray[np.float32]]:
        found: dict[str, npt.NDArray[np.float32]] = {}
        with Session(self.engine) as session:
            for start in range(0, len(keys), _CHUNK):
                query = select(EmbeddingCache).where(
                    col(EmbeddingCache.model) == self.name,
                    col(EmbeddingCache.text_hash).in_(keys[start : start + _CHUNK]),
                )
                for row in session.exec(query):
                    if row.dim == self.dim:
                        found[row.text_hash] = np.frombuffer(row.vector, dtype=np.float32).copy()
        return found

    def _store(self, vectors: dict[str, npt.NDArray[np.float32]]) -> None:
        with Session(self.engine) as session:
            for key, vector in vectors.items():
                row = EmbeddingCache(
                    model=self.name,
                    text_hash=key,
                    dim=self.dim,
                    vector=np.asarray(vector, np.float32).tobytes(),
                )
                session.merge(row)
            session.commit()
