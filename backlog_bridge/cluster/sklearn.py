"""scikit-learn clusterer: PCA, KMeans micro-clusters, a Ward tree cut where merges stop looking like noise.

Full Ward needs an n x n distance matrix, so it runs on KMeans micro-clusters (about five comments
each) weighted by their size: Ward started from the micro-partition, O(n * m) for KMeans plus
O(m^2) for the tree. Where to cut is measured, not fixed: the same comments with their structure
shuffled away give the cost of merges that join nothing real, and merging stops at the first merge
clearly costlier than that, at any data volume. A few Lloyd iterations then fix borders, groups
pointing the same way once the shared direction is removed are joined (one problem in two wordings),
and a group far larger and looser than the rest is split. Chosen on every set in `benchmarks/`.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.cluster import KMeans, kmeans_plusplus
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning

from backlog_bridge.cluster.clusterer import (
    UNTHEMED,
    ClusterResult,
    FloatArray,
    IntArray,
    assign_to_centroids,
)


@dataclass(frozen=True)
class ClusterParams:
    """Knobs of `SklearnClusterer`; defaults were chosen on every development set in `benchmarks/`.

    Attributes:
        pca_dims: dimensions kept before clustering; dropping the noisy tail sharpens themes.
        points_per_micro: average comments per KMeans micro-cluster (smooths single comments).
        max_micro_clusters: cap on micro-clusters so KMeans and the merge stay fast at 100k comments.
        merge_threshold: fixed Ward distance (in the reduced, normalised space) above which themes stay
            apart; higher gives fewer, broader themes. None (the default): chosen from the data (see
            `null_ratio`).
        null_ratio: with `merge_threshold` None, Ward merging stops at the first merge that costs this
            many times more than the merge leaving as many groups in the same comments with their
            structure destroyed (each reduced dimension shuffled on its own): below it, a merge only
            joins what noise would join too.
        refine_iterations: Lloyd (KMeans) iterations started from the cut's themes, which moves
            comments the greedy merge put on the wrong side of a border; 0 disables it.
        min_theme_size: smaller groups are dissolved; their comments may join a nearby theme.
        min_similarity: cosine similarity to a theme centroid a comment needs to stay in or join it;
            below it the comment is unthemed (off-topic, too vague).
        centre_similarity: themes whose centres point the same way once the direction all comments
            share is removed (cosine in the centred, reduced space) are one problem worded two ways and
            are joined, closest pair first with centres recomputed, so joins never chain. 1.0 disables it.
        catch_all_ratio: a theme more than this many times the size of the next one, and less coherent
            than the median theme, is a catch-all and is split in two (repeatedly).
        seed: random state for PCA and KMeans; with content-sorted input this makes runs reproducible.
        kmeans_max_iter: Lloyd iterations for the micro-clusters.
    """

    pca_dims: int = 75
    points_per_micro: int = 5
    max_micro_clusters: int = 3000
    merge_threshold: float | None = None
    null_ratio: float = 1.3
    refine_iterations: int = 3
    min_theme_size: int = 5
    min_similarity: float = 0.4
    centre_similarity: float = 0.7
    catch_all_ratio: float = 3.0
    seed: int = 0
    kmeans_max_iter: int = 50

    def __post_init__(self) -> None:
        if self.pca_dims < 1 or self.points_per_micro < 1 or self.max_micro_clusters < 1:
            raise ValueError("pca_dims, points_per_micro and max_micro_clusters must be >= 1")
        if self.min_theme_size < 1 or (self.merge_threshold is not None and self.merge_threshold <= 0):
            raise ValueError("min_theme_size must be >= 1 and merge_threshold > 0")
        if self.null_ratio <= 1.0 or self.catch_all_ratio <= 1.0 or self.refine_iterations < 0:
            raise ValueError("null_ratio and catch_all_ratio must be > 1, refine_iterations >= 0")
        if not -1.0 <= self.centre_similarity <= 1.0:
            raise ValueError(f"centre_similarity is a cosine, got {self.centre_similarity}")
        if not -1.0 <= self.min_similarity <= 1.0:
            raise ValueError(f"min_similarity is a cosine, got {self.min_similarity}")


_MIN_GROUPS_FOR_NULL = 20
"""Below this many non-empty micro-clusters (~100 distinct comments) the noise reference is too thin."""
_SMALL_DATA_THRESHOLD = 2.5
"""Ward distance used then: the fixed cut measured on CLINC150 before the automatic one."""


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
        micro, centres, sizes = _micro_clusters(reduced, p)
        pairs, heights = ward_tree(centres, sizes)
        threshold = p.merge_threshold
        non_empty = int(np.sum(sizes > 0))
        if threshold is None and non_empty < _MIN_GROUPS_FOR_NULL:
            threshold = _SMALL_DATA_THRESHOLD  # too few distinct groups to measure what noise does
        if threshold is not None:
            n_merges = int(np.sum(heights <= threshold))
        else:
            n_merges = _merges_above_noise(reduced, heights, non_empty, p)
        groups = _compact(cut_tree(sizes.size, pairs, n_merges)[micro])
        groups = _refine(reduced, groups, p.refine_iterations, p.seed)
        groups = join_same_direction(reduced, groups, p.centre_similarity)
        return split_catch_all(reduced, groups, p.catch_all_ratio, p.seed)


def _micro_clusters(
    reduced: npt.NDArray[np.float64], p: ClusterParams, seeding_trials: int | None = None
) -> tuple[IntArray, npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    n_micro = max(1, min(p.max_micro_clusters, reduced.shape[0] // p.points_per_micro))
    with warnings.catch_warnings():
        # Verbatim repeats leave fewer distinct points than micro-clusters; that is expected here.
        warnings.simplefilter("ignore", ConvergenceWarning)
        seeds, _ = kmeans_plusplus(reduced, n_micro, random_state=p.seed, n_local_trials=seeding_trials)
        kmeans = KMeans(n_clusters=n_micro, init=seeds, n_init=1, max_iter=p.kmeans_max_iter, random_state=p.seed)
        micro: IntArray = np.asarray(kmeans.fit_predict(reduced), dtype=np.int64)
    # Verbatim repeats can leave micro-clusters empty: they carry weight 0 and never merge.
    sizes = np.bincount(micro, minlength=n_micro).astype(np.float64)
    return micro, np.asarray(kmeans.cluster_centers_, dtype=np.float64), sizes


def _merges_above_noise(
    reduced: npt.NDArray[np.float64], heights: npt.NDArray[np.float64], groups: int, p: ClusterParams
) -> int:
    """How many Ward merges to keep: up to the first that costs `null_ratio` times what noise pays.

    The reference is the same comments with each reduced dimension shuffled independently: the
    spread per dimension stays, the grouping goes. Merges that noise matches only join parts of one
    theme; the first clearly costlier merge would join two themes. Both trees come from the same
    number of comments, so the cut does not drift with data volume.
    """
    rng = np.random.default_rng(p.seed)
    shuffled = np.column_stack([rng.permutation(column) for column in reduced.T])
    shuffled /= np.maximum(np.linalg.norm(shuffled, axis=1, keepdims=True), 1e-12)
    # One seeding candidate per step (not 2 + log k): the reference only needs noise's typical merge
    # costs, and seeding was most of the clustering time.
    _, null_centres, null_sizes = _micro_clusters(shuffled, p, seeding_trials=1)
    _, null_heights = ward_tree(null_centres, null_sizes)
    null_groups = int(np.sum(null_sizes > 0))
    for i, height in enumerate(heights):
        left = groups - 1 - i  # groups remaining after merge i
        j = null_groups - 1 - left
        if 0 <= j < null_heights.size and height >= p.null_ratio * null_heights[j]:
            return i
    return int(heights.size)


def _refine(reduced: npt.NDArray[np.float64], groups: IntArray, iterations: int, seed: int) -> IntArray:
    k = int(groups.max()) + 1 if groups.size else 0
    if iterations == 0 or k < 2:
        return groups
    centres = _group_means(reduced, groups, k)
    kmeans = KMeans(n_clusters=k, init=centres, n_init=1, max_iter=iterations, random_state=seed)
    return _compact(np.asarray(kmeans.fit_predict(reduced), dtype=np.int64))


def join_same_direction(reduced: npt.NDArray[np.float64], groups: IntArray, similarity: float) -> IntArray:
    """Join groups whose centres (centred space) have cosine >= `similarity`, closest pair first.

    Centroid linkage: after each join the joined centre is recomputed and only it is compared again,
    so A~B and B~C never pull in C unless C is close to A and B together (no chaining).
    """
    k = int(groups.max()) + 1 if groups.size else 0
    if k < 2 or similarity >= 1.0:
        return groups
    sums = np.zeros((k, reduced.shape[1]))
    np.add.at(sums, groups, reduced)
    alive = np.ones(k, dtype=bool)
    parent = np.arange(k)
    unit = sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
    sims = unit @ unit.T
    np.fill_diagonal(sims, -np.inf)
    while True:
        best = int(np.argmax(sims))
        a, b = divmod(best, k)
        if sims[a, b] < similarity:
            break
        keep, gone = min(a, b), max(a, b)
        sums[keep] += sums[gone]
        alive[gone] = False
        parent[parent == gone] = keep
        sims[gone, :] = sims[:, gone] = -np.inf
        row = sums[keep] / max(float(np.linalg.norm(sums[keep])), 1e-12)
        sims[keep, :] = np.where(alive, unit @ row, -np.inf)
        sims[keep, keep] = -np.inf
        sims[:, keep] = sims[keep, :]
        unit[keep] = row
    return _compact(parent[groups])


def split_catch_all(reduced: npt.NDArray[np.float64], groups: IntArray, ratio: float, seed: int) -> IntArray:
    """Split, repeatedly, a group far larger than the next and less coherent than the median group.

    Such a group holds several problems that merged through their common ground; two halves by
    KMeans are each more coherent. Bounded: a group is split at most ten times in all.
    """
    for _ in range(10):
        k = int(groups.max()) + 1 if groups.size else 0
        if k < 2:
            return groups
        sizes = np.bincount(groups, minlength=k)
        largest, runner_up = np.argsort(-sizes, kind="stable")[:2]
        cohesion = np.linalg.norm(_group_means(reduced, groups, k), axis=1)
        if sizes[largest] <= ratio * sizes[runner_up] or cohesion[largest] >= np.median(cohesion):
            return groups
        members = np.flatnonzero(groups == largest)
        halves = KMeans(n_clusters=2, n_init=1, random_state=seed).fit_predict(reduced[members])
        groups = groups.copy()
        groups[members[halves == 1]] = k
    return groups


def _group_means(reduced: npt.NDArray[np.float64], groups: IntArray, k: int) -> npt.NDArray[np.float64]:
    sums = np.zeros((k, reduced.shape[1]))
    np.add.at(sums, groups, reduced)
    counts = np.bincount(groups, minlength=k).astype(np.float64)
    return sums / np.maximum(counts, 1.0)[:, None]


def _compact(groups: IntArray) -> IntArray:
    _, compact = np.unique(groups, return_inverse=True)
    return compact.astype(np.int64)


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

    Returns:
        (m,) group index per input point, groups numbered 0..g-1.
    """
    pairs, heights = ward_tree(centroids, sizes)
    return cut_tree(len(sizes), pairs, int(np.sum(heights <= threshold)))


def ward_tree(
    centroids: npt.NDArray[np.float64], sizes: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """The full Ward tree of weighted points: merges (a, b) and their distances, in rising order.

    Nearest-neighbour-chain algorithm: O(m^2) time, O(m) extra memory; Ward is reducible, so the
    merges sorted by distance are a valid dendrogram. The distance follows scipy:
    sqrt(2 * na * nb / (na + nb)) * ||ca - cb||. Points of weight 0 (empty micro-clusters) take no
    part: merging two of them would divide by zero and poison every later distance.
    """
    cent = np.array(centroids, dtype=np.float64)
    weight = np.array(sizes, dtype=np.float64)
    active = weight > 0
    chain: list[int] = []
    pairs: list[tuple[int, int]] = []
    heights: list[float] = []
    while int(active.sum()) > 1:
        if not chain:
            chain.append(int(np.flatnonzero(active)[0]))
        a = chain[-1]
        diff = cent - cent[a]
        with np.errstate(invalid="ignore", divide="ignore"):
            dist = np.einsum("ij,ij->i", diff, diff) * (2.0 * weight * weight[a] / (weight + weight[a]))
        dist[~active] = np.inf
        dist[a] = np.inf
        b = int(np.argmin(dist))
        # Ties go to the previous chain element, which guarantees the chain ends in a reciprocal pair.
        if len(chain) > 1 and dist[chain[-2]] <= dist[b]:
            b = chain[-2]
        if len(chain) > 1 and b == chain[-2]:
            del chain[-2:]
            keep, gone = min(a, b), max(a, b)
            pairs.append((keep, gone))
            heights.append(float(np.sqrt(dist[b])))
            cent[keep] = (weight[a] * cent[a] + weight[b] * cent[b]) / (weight[a] + weight[b])
            weight[keep] = weight[a] + weight[b]
            active[gone] = False
        else:
            chain.append(b)
    order = np.argsort(np.array(heights), kind="stable")
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)[order], np.array(heights, dtype=np.float64)[order]


def cut_tree(m: int, pairs: npt.NDArray[np.int64], n_merges: int) -> IntArray:
    """Groups of `m` points after the first `n_merges` merges of a tree from `ward_tree`."""
    parent = np.arange(m)
    for a, b in pairs[:n_merges]:
        ra, rb = _find(parent, int(a)), _find(parent, int(b))
        parent[max(ra, rb)] = min(ra, rb)
    return _roots(parent)


def _find(parent: IntArray, x: int) -> int:
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = int(parent[x])
    return x


def _roots(parent: IntArray) -> IntArray:
    root = parent.copy()
    while True:
        nxt = root[root]
        if np.array_equal(nxt, root):
            break
        root = nxt
    return _compact(root)


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
    return _renumber(vectors, labels, p.min_theme_size)


def _centroids(vectors: FloatArray, labels: IntArray, k: int) -> FloatArray:
    sums = np.zeros((k, vectors.shape[1]), dtype=np.float64)
    member = labels != UNTHEMED
    np.add.at(sums, labels[member], vectors[member])
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    return np.asarray(sums / np.maximum(norms, 1e-12), dtype=np.float32)


def _renumber(vectors: FloatArray, labels: IntArray, min_size: int) -> tuple[IntArray, FloatArray]:
    # Pruning can shrink a theme below min_size; dissolve those rather than report a tiny theme.
    if not np.any(labels != UNTHEMED):  # every comment too far from every theme: no themes at all
        return labels, np.zeros((0, vectors.shape[1]), np.float32)
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
