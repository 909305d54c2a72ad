"""The `Clusterer` contract and the result every clusterer returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

UNTHEMED = -1
"""Label of a comment that belongs to no theme (noise, off-topic, or a theme too small to report)."""

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class ClusterResult:
    """Themes found in a set of vectors.

    Attributes:
        labels: theme index per input row, in input order; `UNTHEMED` (-1) for none.
            Themes are numbered 0..k-1 by decreasing size, so the numbering is reproducible.
        centroids: (k, dim) float32, L2-normalised mean of each theme's vectors, in the
            embedding space (not any reduced space), so new comments can be assigned later.
    """

    labels: IntArray
    centroids: FloatArray

    @property
    def n_themes(self) -> int:
        """Number of themes found."""
        return int(self.centroids.shape[0])

    @property
    def unthemed_share(self) -> float:
        """Share of rows left unthemed (0.0 for an empty input)."""
        return float(np.mean(self.labels == UNTHEMED)) if self.labels.size else 0.0


class Clusterer(Protocol):
    """Groups L2-normalised vectors into themes whose number it discovers.

    Implementations must be deterministic and independent of row order: the same set of vectors
    in any order gives the same themes, so runs over re-fetched data stay comparable.
    """

    def fit(self, vectors: FloatArray) -> ClusterResult:
        """Find themes in `vectors` (n, dim), rows L2-normalised."""
        ...


def assign_to_centroids(vectors: FloatArray, centroids: FloatArray, min_similarity: float) -> IntArray:
    """Give each vector the theme of its most similar centroid, or `UNTHEMED` if none is close enough.

    Used for new comments between full re-clusterings, and inside clusterers to place outliers.

    Args:
        vectors: (n, dim) L2-normalised rows.
        centroids: (k, dim) L2-normalised rows; k may be 0.
        min_similarity: cosine similarity a vector needs with its best centroid to join it.

    Returns:
        (n,) int64 theme indices into `centroids`, `UNTHEMED` where below `min_similarity`.
    """
    n = vectors.shape[0]
    if n == 0 or centroids.shape[0] == 0:
        return np.full(n, UNTHEMED, dtype=np.int64)
    if vectors.shape[1] != centroids.shape[1]:
        raise ValueError(f"vectors are {vectors.shape[1]}-d but centroids are {centroids.shape[1]}-d")
    labels = np.empty(n, dtype=np.int64)
    # Blocks bound the similarity matrix's memory at 100k+ comments.
    for start in range(0, n, 8192):
        sims = vectors[start : start + 8192] @ centroids.T
        best = np.argmax(sims, axis=1)
        best_sim = sims[np.arange(sims.shape[0]), best]
        labels[start : start + 8192] = np.where(best_sim >= min_similarity, best, UNTHEMED)
    return labels
