"""scikit-learn clusterer: PCA, KMeans micro-clusters, weighted Ward merge, outlier pass.

Chosen by measurement on CLINC150 (see `benchmarks/theme_quality.py`): Ward linkage on PCA-reduced,
re-normalised vectors beat cosine average linkage, HDBSCAN and KMeans told the true k. Full Ward
needs an n x n distance matrix, so it runs on KMeans micro-clusters (about five comments each) with
each micro-cluster weighted by its size: that is exactly Ward started from the micro-partition, at
O(n * m) for KMeans plus O(m^2) for the merge instead of O(n^2).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA

from backlog_bridge.cluster.clusterer import (
    UNTHEMED,
    ClusterResult,
    FloatArray,
    IntArray,
    assign_to_centroids,
)


@dataclass(frozen=True)
class ClusterParams:
    """Knobs of `SklearnClusterer`; defaults were tuned on CLINC150 with all-MiniLM-L6-v2.

    Attributes:
        pca_dims: dimensions kept before clustering; dropping the noisy tail sharpens themes.
        points_per_micro: average comments per KMeans micro-cluster (smooths single comments).
        max_micro_clusters: cap on micro-clusters so KMeans and the merge stay fast at 100k comments.
        merge_threshold: Ward distance (in the reduced, normalised space) above which themes stay apart;
            higher gives fewer, broader themes.
        min_theme_size: smaller groups are dissolved; their comments may join a nearby theme.
        min_similarity: cosine similarity to a theme centroid a comment needs to stay in or join it;
            below it the comment is unthemed (off-topic, too vague).
        centre_similarity: themes whose centroids (full embedding space) are at least this similar are
            joined: one problem worded two ways. 1.0 disables it.
        seed: random state for PCA and KMeans; with content-sorted input this makes runs reproducible.
        kmeans_max_iter: Lloyd iterations for the micro-clusters.
    """

    pca_dims: int = 75
    points_per_micro: int = 5
    max_micro_clusters: int = 3000
    merge_threshold: float = 2.5
    min_theme_size: int = 5
    min_similarity: float = 0.4
    centre_similarity: float = 0.83
    seed: int = 0
    kmeans_max_iter: int = 50

    def __post_init__(self) -> None:
        if self.pca_dims < 1 or self.points_per_micro < 1 or self.max_micro_clusters < 1:
            raise ValueError("pca_dims, points_per_micro and max_micro_clusters must be >= 1")
        if self.min_theme_size < 1 or self.merge_threshold <= 0:
            raise ValueError("min_theme_size must be >= 1 and merge_threshold > 0")
        if not -1.0 <= self.centre_similarity <= 1.0:
            raise ValueError(f"centre_similarity is a cosine, got {self.centre_similarity}")
        if not -1.0 <= self.min_similarity <= 1.0:
            raise ValueError(f"min_similarity is a cosine, got {self.min_similarity}")


class SklearnClusterer:
    """Finds themes without being told how many.

    Example:
        >>> result = SklearnClusterer().fit(vectors)  # vectors: (n, dim) L2-normalised
        >>> result.labels[:3], result.n_themes
    """

    def __init__(self, params: ClusterParams | None = None) -> None:
        """Keep the parameters; fitting is stateless so one instance can serve many runs."""
        self.params = params or ClusterParams()

    def fit(self, vectors: FloatArray) -> ClusterResult:
        """Cluster `vectors` (rows L2-normalised); deterministic and independent of row order."""
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2:
            raise ValueError(f"expected a 2-d array of vectors, got shape {vectors.shape}")
        n, dim = vectors.shape
        if n < max(2, self.params.min_theme_size):
            return ClusterResult(np.full(n, UNTHEMED, dtype=np.int64), np.zeros((0, dim), np.float32))
        # Order-dependent steps (PCA solver, KMeans init) see rows sorted by content, never input order.
        order = content_order(vectors)
        sorted_vectors = vectors[order]
        groups = self._group(sorted_vectors)
        labels_sorted, centroids = _finalise(sorted_vectors, groups, self.params)
        labels = np.empty(n, dtype=np.int64)
        labels[order] = labels_sorted
        return ClusterResult(labels=labels, centroids=centroids)

    def _group(self, vectors: FloatArray) -> IntArray:
        p = self.params
        reduced = _reduce(vectors, p.pca_dims, p.seed)
        n_micro = max(1, min(p.max_micro_clusters, vectors.shape[0] // p.points_per_micro))
        kmeans = KMeans(n_clusters=n_micro, n_init=1, max_iter=p.kmeans_max_iter, random_state=p.seed)
        micro: IntArray = np.asarray(kmeans.fit_predict(reduced), dtype=np.int64)
        sizes = np.bincount(micro, minlength=n_micro).astype(np.float64)
        merged = ward_merge(kmeans.cluster_centers_, sizes, p.merge_threshold)
        return merged[micro]


def content_order(vectors: FloatArray) -> IntArray:
    """Permutation sorting rows by a hash of their bytes: the same set gives the same order."""
    digests = np.array([hashlib.blake2b(row.tobytes(), digest_size=16).digest() for row in vectors])
    order: IntArray = np.argsort(digests, kind="stable").astype(np.int64)
    return order


def _reduce(vectors: FloatArray, dims: int, seed: int) -> npt.NDArray[np.float64]:
    dims = min(dims, vectors.shape[0] - 1, vectors.shape[1])
    reduced = PCA(n_components=dims, random_state=seed).fit_transform(vectors.astype(np.float64))
    norms = np.linalg.norm(reduced, axis=1, keepdims=True)
    return np.asarray(reduced / np.maximum(norms, 1e-12), dtype=np.float64)


def ward_merge(centroids: npt.NDArray[np.float64], sizes: npt.NDArray[np.float64], threshold: float) -> IntArray:
    """Ward clustering of weighted points, cut where the merge distance exceeds `threshold`.

    Nearest-neighbour-chain algorithm: O(m^2) time, O(m) extra memory. Ward is reducible, so a
    reciprocal pair further apart than `threshold` can never merge later and both are final.
    The distance follows scipy: sqrt(2 * na * nb / (na + nb)) * ||ca - cb||.

    Returns:
        (m,) group index per input point, groups numbered 0..g-1.
    """
    cent = np.array(centroids, dtype=np.float64)
    weight = np.array(sizes, dtype=np.float64)
    m = cent.shape[0]
    active = np.ones(m, dtype=bool)
    parent = np.arange(m)
    chain: list[int] = []
    limit = threshold * threshold
    while int(active.sum()) > 1:
        if not chain:
            chain.append(int(np.flatnonzero(active)[0]))
        a = chain[-1]
        diff = cent - cent[a]
        dist = np.einsum("ij,ij->i", diff, diff) * (2.0 * weight * weight[a] / (weight + weight[a]))
        dist[~active] = np.inf
        dist[a] = np.inf
        b = int(np.argmin(dist))
        # Ties go to the previous chain element, which guarantees the chain ends in a reciprocal pair.
        if len(chain) > 1 and dist[chain[-2]] <= dist[b]:
            b = chain[-2]
        if len(chain) > 1 and b == chain[-2]:
            del chain[-2:]
            if dist[b] > limit:
                active[a] = active[b] = False
                continue
            keep, gone = min(a, b), max(a, b)
            cent[keep] = (weight[a] * cent[a] + weight[b] * cent[b]) / (weight[a] + weight[b])
            weight[keep] = weight[a] + weight[b]
            active[gone] = False
            parent[gone] = keep
        else:
            chain.append(b)
    return _roots(parent)


def _roots(parent: IntArray) -> IntArray:
    root = parent.copy()
    while True:
        nxt = root[root]
        if np.array_equal(nxt, root):
            break
        root = nxt
    _, groups = np.unique(root, return_inverse=True)
    return groups.astype(np.int64)


def _finalise(vectors: FloatArray, groups: IntArray, p: ClusterParams) -> tuple[IntArray, FloatArray]:
    """Drop small groups, unthem far comments, re-attach close ones, number themes by size."""
    sizes = np.bincount(groups)
    kept = np.flatnonzero(sizes >= p.min_theme_size)
    if kept.size == 0:
        return np.full(len(vectors), UNTHEMED, dtype=np.int64), np.zeros((0, vectors.shape[1]), np.float32)
    index = np.full(sizes.size, UNTHEMED, dtype=np.int64)
    index[kept] = np.arange(kept.size)
    own = index[groups]
    centroids = _centroids(vectors, own, kept.size)
    own_sim = np.einsum("ij,ij->i", vectors, centroids[np.maximum(own, 0)])
    labels = np.where((own != UNTHEMED) & (own_sim >= p.min_similarity), own, UNTHEMED)
    # Members of dissolved groups and comments far from their own theme get a second chance.
    loose = labels == UNTHEMED
    labels[loose] = assign_to_centroids(vectors[loose], centroids, p.min_similarity)
    labels, centroids = _renumber(vectors, labels, p.min_theme_size)
    return _join_close(vectors, labels, centroids, p)


def _join_close(
    vectors: FloatArray, labels: IntArray, centroids: FloatArray, p: ClusterParams
) -> tuple[IntArray, FloatArray]:
    """Join themes whose centres are nearly the same direction (one problem worded two ways).

    Ward in the reduced space keeps apart groups that differ in wording ("app crashes" vs "android
    app keeps crashing"); in the full embedding space their centres are almost parallel.
    """
    k = centroids.shape[0]
    if k < 2 or p.centre_similarity >= 1.0:
        return labels, centroids
    sims = centroids @ centroids.T
    parent = np.arange(k)

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = int(parent[x])
        return x

    for a, b in zip(*np.nonzero(np.triu(sims >= p.centre_similarity, 1)), strict=True):
        ra, rb = root(int(a)), root(int(b))
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)  # the larger theme (lower number) absorbs
    roots = np.array([root(i) for i in range(k)], dtype=np.int64)
    if np.all(roots == np.arange(k)):
        return labels, centroids
    joined = np.where(labels == UNTHEMED, UNTHEMED, roots[np.maximum(labels, 0)])
    return _renumber(vectors, joined.astype(np.int64), p.min_theme_size)


def _centroids(vectors: FloatArray, labels: IntArray, k: int) -> FloatArray:
    sums = np.zeros((k, vectors.shape[1]), dtype=np.float64)
    member = labels != UNTHEMED
    np.add.at(sums, labels[member], vectors[member])
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    return np.asarray(sums / np.maximum(norms, 1e-12), dtype=np.float32)


def _renumber(vectors: FloatArray, labels: IntArray, min_size: int) -> tuple[IntArray, FloatArray]:
    # Pruning can shrink a theme below min_size; dissolve those rather than report a tiny theme.
    counts = np.bincount(labels[labels != UNTHEMED], minlength=0)
    labels = np.where((labels != UNTHEMED) & (counts[np.maximum(labels, 0)] >= min_size), labels, UNTHEMED)
    present = np.unique(labels[labels != UNTHEMED])
    if present.size == 0:
        return labels, np.zeros((0, vectors.shape[1]), np.float32)
    sizes = np.bincount(labels[labels != UNTHEMED])[present]
    first = np.array([np.flatnonzero(labels == t)[0] for t in present])
    # Largest theme first; ties by first member in content order, which is input-order independent.
    rank = np.lexsort((first, -sizes))
    new_index = np.full(int(present.max()) + 1, UNTHEMED, dtype=np.int64)
    new_index[present[rank]] = np.arange(present.size)
    relabelled = np.where(labels == UNTHEMED, UNTHEMED, new_index[np.maximum(labels, 0)])
    return relabelled.astype(np.int64), _centroids(vectors, relabelled, present.size)
