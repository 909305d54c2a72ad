import numpy as np
import pytest
from scipy.cluster.hierarchy import fcluster, linkage
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from backlog_bridge.cluster import UNTHEMED, ClusterParams, SklearnClusterer, assign_to_centroids
from backlog_bridge.cluster.sklearn import ward_merge


def unit(x):
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def blobs():
    x, y = make_blobs(n_samples=600, centers=6, n_features=32, cluster_std=1.0, random_state=42)
    return unit(x), y


def test_finds_the_number_of_blobs_without_being_told(blobs):
    x, y = blobs
    result = SklearnClusterer().fit(x)
    assert result.n_themes == 6
    assert adjusted_rand_score(y, result.labels) > 0.95
    assert result.unthemed_share < 0.05


def test_centroids_are_normalised_and_numbered_by_size(blobs):
    x, _ = blobs
    result = SklearnClusterer().fit(x)
    assert result.centroids.shape == (result.n_themes, 32)
    assert result.centroids.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(result.centroids, axis=1), 1.0, atol=1e-5)
    sizes = np.bincount(result.labels[result.labels != UNTHEMED])
    assert list(sizes) == sorted(sizes, reverse=True)


def test_same_vectors_in_any_order_give_the_same_themes(blobs):
    x, _ = blobs
    first = SklearnClusterer().fit(x)
    perm = np.random.default_rng(7).permutation(len(x))
    second = SklearnClusterer().fit(x[perm])
    # Identical, not merely similar: numbering is by size and content, never input order.
    np.testing.assert_array_equal(first.labels[perm], second.labels)
    np.testing.assert_allclose(first.centroids, second.centroids, atol=1e-6)


def test_scattered_noise_is_left_unthemed(blobs):
    x, _ = blobs
    noise = unit(np.random.default_rng(3).normal(size=(60, 32)))
    result = SklearnClusterer().fit(np.vstack([x, noise]))
    assert np.mean(result.labels[len(x) :] == UNTHEMED) > 0.8
    assert np.mean(result.labels[: len(x)] == UNTHEMED) < 0.05


def test_too_few_vectors_are_all_unthemed():
    x = unit(np.random.default_rng(0).normal(size=(3, 8)))
    result = SklearnClusterer().fit(x)
    assert list(result.labels) == [UNTHEMED] * 3
    assert result.centroids.shape == (0, 8)


def test_empty_input():
    result = SklearnClusterer().fit(np.zeros((0, 8), np.float32))
    assert result.labels.shape == (0,)
    assert result.unthemed_share == 0.0


def test_params_are_validated():
    with pytest.raises(ValueError):
        ClusterParams(min_theme_size=0)
    with pytest.raises(ValueError):
        ClusterParams(min_similarity=1.5)


def test_ward_merge_matches_scipy_ward_on_unit_weights():
    x = np.random.default_rng(1).normal(size=(120, 5))
    threshold = 4.0
    ours = ward_merge(x, np.ones(len(x)), threshold)
    scipy_groups = fcluster(linkage(x, "ward"), threshold, criterion="distance")
    assert adjusted_rand_score(scipy_groups, ours) == 1.0


def test_ward_merge_weights_act_like_repeated_points():
    x = np.array([[0.0], [1.0], [10.0]])
    # Weighted point 1 (x3) equals three copies of it: compare with scipy on the expanded data.
    expanded = np.array([[0.0], [1.0], [1.0], [1.0], [10.0]])
    for threshold in (0.5, 1.5, 2.0, 20.0):
        groups = ward_merge(x, np.array([1.0, 3.0, 1.0]), threshold)
        ref = fcluster(linkage(expanded, "ward"), threshold, criterion="distance")
        assert adjusted_rand_score(ref[[0, 1, 4]], groups) == 1.0


def test_assign_to_centroids_respects_min_similarity():
    centroids = np.eye(3, dtype=np.float32)
    vectors = unit(np.array([[1.0, 0.1, 0.0], [0.0, 0.2, 1.0], [1.0, 1.0, 1.0]]))
    labels = assign_to_centroids(vectors, centroids, min_similarity=0.8)
    assert list(labels) == [0, 2, UNTHEMED]
    assert list(assign_to_centroids(vectors, centroids, min_similarity=-1.0)) == [0, 2, 0]


def test_assign_to_no_centroids_is_all_unthemed():
    vectors = unit(np.ones((2, 4)))
    assert list(assign_to_centroids(vectors, np.zeros((0, 4), np.float32), 0.0)) == [UNTHEMED] * 2


def test_assign_rejects_mismatched_dims():
    with pytest.raises(ValueError):
        assign_to_centroids(unit(np.ones((2, 4))), np.eye(3, dtype=np.float32), 0.5)


def test_themes_with_nearly_parallel_centres_are_joined():
    rng = np.random.default_rng(7)
    a = np.zeros(16)
    a[0] = 1.0
    b = np.zeros(16)
    b[0], b[1] = 0.9, np.sqrt(1 - 0.81)  # cos(a, b) = 0.9: one problem worded two ways
    vectors = np.vstack([a + rng.normal(0, 0.02, (30, 16)), b + rng.normal(0, 0.02, (30, 16))])
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    apart = SklearnClusterer(ClusterParams(pca_dims=8, merge_threshold=2.5, centre_similarity=1.0)).fit(vectors)
    joined = SklearnClusterer(ClusterParams(pca_dims=8, merge_threshold=2.5, centre_similarity=0.85)).fit(vectors)
    assert apart.n_themes == 2
    assert joined.n_themes == 1 and set(joined.labels.tolist()) == {0}
    assert np.linalg.norm(joined.centroids[0]) == pytest.approx(1.0, abs=1e-5)
