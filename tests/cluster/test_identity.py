"""Theme identity over runs, on hand-made vectors with known answers."""

import numpy as np
from sklearn.datasets import make_blobs

from backlog_bridge.cluster.identity import IdentityParams, KnownTheme, update_identity
from backlog_bridge.cluster.sklearn import ClusterParams, SklearnClusterer

CLUSTERER = SklearnClusterer(ClusterParams(pca_dims=8, min_theme_size=5))


def blobs(n_per: int, centers: np.ndarray, seed: int = 42) -> tuple[np.ndarray, np.ndarray]:
    vectors, labels = make_blobs(n_samples=[n_per] * len(centers), centers=centers, cluster_std=0.05, random_state=seed)
    vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors.astype(np.float32), labels


def unit_centers(k: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    eye = np.eye(dim)[:k]  # orthogonal directions: clearly separate themes
    return eye * 1.0


def first_run(vectors):
    items = list(range(1, len(vectors) + 1))
    return items, update_identity(items, vectors, {}, [], CLUSTERER)


def known_from(update, id_of):
    return [KnownTheme(id_of[ref], update.centroids[ref], update.sizes[ref]) for ref in update.centroids]


def test_cold_run_finds_each_blob_as_a_theme():
    vectors, truth = blobs(20, unit_centers(3))
    items, update = first_run(vectors)
    assert len(update.born) == 3 and not update.merged and not update.retired
    by_theme = {}
    for item, label in zip(items, truth, strict=True):
        by_theme.setdefault(update.assignments[item], set()).add(label)
    assert all(len(labels) == 1 for labels in by_theme.values())


def test_rerun_keeps_every_member_and_creates_nothing():
    vectors, _ = blobs(20, unit_centers(3))
    items, update = first_run(vectors)
    id_of = {ref: 100 + i for i, ref in enumerate(update.born)}
    previous = {item: id_of[ref] for item, ref in update.assignments.items() if ref is not None}
    again = update_identity(items, vectors, previous, known_from(update, id_of), CLUSTERER)
    assert again.born == [] and again.merged == [] and again.retired == []
    assert all(again.assignments[i] == previous[i] for i in previous)


def test_new_comments_join_known_themes_and_a_new_blob_is_born():
    centers = unit_centers(4)
    vectors, _ = blobs(20, centers[:3])
    _, update = first_run(vectors)
    id_of = {ref: 100 + i for i, ref in enumerate(update.born)}
    previous = {item: id_of[ref] for item, ref in update.assignments.items() if ref is not None}
    extra_known, _ = blobs(5, centers[:3], seed=7)
    extra_new, _ = blobs(12, centers[3:], seed=8)
    all_vectors = np.vstack([vectors, extra_known, extra_new])
    all_items = list(range(1, len(all_vectors) + 1))
    again = update_identity(all_items, all_vectors, previous, known_from(update, id_of), CLUSTERER)
    assert len(again.born) == 1
    new_rows = all_items[len(vectors) + len(extra_known) :]
    assert {again.assignments[i] for i in new_rows} == {again.born[0]}
    joined = all_items[len(vectors) : len(vectors) + len(extra_known)]
    assert {again.assignments[i] for i in joined} <= set(id_of.values())
    assert sorted(again.grew) == [(theme, 20, 25) for theme in sorted(id_of.values())]  # +25% each


def test_empty_theme_is_retired_and_growth_recorded():
    vectors, truth = blobs(20, unit_centers(2))
    items, update = first_run(vectors)
    id_of = {ref: 100 + i for i, ref in enumerate(update.born)}
    previous = {item: id_of[ref] for item, ref in update.assignments.items() if ref is not None}
    keep = [i for i, label in zip(items, truth, strict=True) if label == 0]
    grown, _ = blobs(20, unit_centers(2)[:1], seed=3)
    vectors2 = np.vstack([vectors[[i - 1 for i in keep]], grown])
    items2 = keep + list(range(1000, 1000 + len(grown)))
    again = update_identity(items2, vectors2, previous, known_from(update, id_of), CLUSTERER)
    survivor = previous[keep[0]]
    assert again.retired == [next(v for v in id_of.values() if v != survivor)]
    assert again.grew == [(survivor, 20, 40)]


def test_converged_themes_merge_unless_kept_apart():
    # Themes 1 and 2 hold two halves of one blob (same centre); themes 3 and 4 are other problems.
    vectors, truth = blobs(20, unit_centers(3))
    items = list(range(1, len(vectors) + 1))
    first_half = np.zeros(len(vectors), bool)
    first_half[np.flatnonzero(truth == 0)[:10]] = True
    theme_of = np.where(truth == 0, np.where(first_half, 1, 2), truth + 2)
    previous = {item: int(theme) for item, theme in zip(items, theme_of, strict=True)}

    def centre(rows):
        mean = vectors[rows].mean(axis=0)
        return mean / np.linalg.norm(mean)

    others = [KnownTheme(t, centre(theme_of == t), 20) for t in (3, 4)]
    c1 = centre(truth == 0)
    known = [KnownTheme(1, c1, 10), KnownTheme(2, c1, 10), *others]
    merged = update_identity(items, vectors, previous, known, CLUSTERER)
    assert merged.merged == [(2, 1)]
    assert {merged.assignments[i] for i, t in zip(items, truth, strict=True) if t == 0} == {1}
    apart = [KnownTheme(1, c1, 10, frozenset({2})), KnownTheme(2, c1, 10, frozenset({1})), *others]
    kept = update_identity(items, vectors, previous, apart, CLUSTERER)
    assert kept.merged == [] and set(kept.assignments.values()) == {1, 2, 3, 4}


def test_themes_of_one_product_are_not_merged_for_sharing_its_vocabulary():
    # Four problems that all share a strong common direction (one product): raw centroid cosines are
    # ~0.9, above merge_similarity, but once the shared direction is removed they are distinct.
    common = np.zeros(16)
    common[0] = 3.0
    centers = np.vstack([common + np.eye(16)[i + 1] for i in range(4)])
    vectors, truth = blobs(20, centers)
    raw = np.array([vectors[truth == t].mean(axis=0) for t in range(4)])
    raw /= np.linalg.norm(raw, axis=1, keepdims=True)
    assert (raw @ raw.T)[np.triu_indices(4, 1)].min() > IdentityParams().merge_similarity
    items = list(range(1, len(vectors) + 1))
    previous = {item: int(t) + 1 for item, t in zip(items, truth, strict=True)}
    known = [KnownTheme(t + 1, raw[t], 20) for t in range(4)]
    update = update_identity(items, vectors, previous, known, CLUSTERER)
    assert update.merged == [] and sorted(update.sizes.values()) == [20, 20, 20, 20]


def test_older_rows_are_assigned_but_never_found_themes():
    centers = unit_centers(2)
    current, _ = blobs(20, centers[:1])
    older, _ = blobs(20, centers[1:], seed=5)
    vectors = np.vstack([current, older])
    items = list(range(1, 41))
    in_window = np.array([True] * 20 + [False] * 20)
    update = update_identity(items, vectors, {}, [], CLUSTERER, IdentityParams(), in_window)
    assert len(update.born) == 1
    assert all(update.assignments[i] is None for i in items[20:])
    assert update.sizes[update.born[0]] == 20


def test_first_run_measures_older_rows_against_the_new_themes():
    centers = unit_centers(2)
    current, _ = blobs(20, centers[:1])
    older_same, _ = blobs(10, centers[:1], seed=9)
    older_other, _ = blobs(10, centers[1:], seed=10)
    vectors = np.vstack([current, older_same, older_other])
    items = list(range(1, 41))
    in_window = np.array([True] * 20 + [False] * 20)
    update = update_identity(items, vectors, {}, [], CLUSTERER, IdentityParams(), in_window)
    (theme,) = update.born
    assert all(update.assignments[i] == theme for i in items[20:30])  # same problem, earlier: counted
    assert all(update.assignments[i] is None for i in items[30:])  # another problem: no theme
    assert update.sizes[theme] == 20  # sizes stay those of the current window
