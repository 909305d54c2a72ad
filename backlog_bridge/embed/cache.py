"""Embeddings cached in the store, keyed by (model, hash of the normalised text): embed once, ever."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from sqlalchemy import Engine
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from backlog_bridge.cluster.prepare import normalise_text
from backlog_bridge.embed.embedder import Embedder
from backlog_bridge.store.tables import EmbeddingCache, utcnow

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
            # Encode in cache-key order: the model batches by position, and float results depend
            # slightly on the batch, so a fixed order makes the same texts give the same vectors.
            order = sorted(missing)
            vectors = self.inner.encode([missing[key] for key in order])
            self.computed += len(missing)
            fresh = dict(zip(order, vectors, strict=True))
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
        """Insert new vectors in bulk; a row another process stored meanwhile is kept (same content)."""
        now = utcnow()
        rows = [
            {"model": self.name, "text_hash": key, "dim": self.dim, "created_at": now,
             "vector": np.asarray(vector, np.float32).tobytes()}
            for key, vector in vectors.items()
        ]  # fmt: skip
        insert = pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        with self.engine.begin() as connection:
            for start in range(0, len(rows), _CHUNK):
                statement = insert(EmbeddingCache).values(rows[start : start + _CHUNK]).on_conflict_do_nothing()
                connection.execute(statement)
