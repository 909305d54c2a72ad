import numpy as np
import pytest
from scipy.cluster.hierarchy import fcluster, linkage
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from backlog_bridge.cluster import UNTHEMED, ClusterParams, SklearnClusterer, assign_to_centroids
from backlog_bridge.cluster.sklearn import cut_tree, split_catch_all, ward_merge, ward_tree


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


def test_groups_too_loose_for_any_theme_leave_everything_unthemed(blobs):
    # Every comment below min_similarity to every centre: no themes, and no crash renumbering none.
    x, _ = blobs
    result = SklearnClusterer(ClusterParams(min_similarity=0.9999)).fit(x)
    assert result.n_themes == 0
    assert set(result.labels.tolist()) == {UNTHEMED}


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


def directions(k, dim, seed):
    """k random unit directions in `dim` dimensions (nearly orthogonal for dim >> k)."""
    return unit(np.random.default_rng(seed).normal(size=(k, dim)))


def around(centre, n, spread, rng):
    return unit(centre + rng.normal(0, spread, (n, centre.size)))


def test_one_problem_worded_two_ways_is_joined_but_distinct_problems_stay_apart():
    rng = np.random.default_rng(7)
    problems = directions(5, 32, seed=1)
    # Problem 0 in two wordings: centres at cosine ~0.85 once the shared direction is removed.
    second_wording = unit((problems[0] + 0.6 * directions(1, 32, seed=2)[0])[None, :])[0]
    parts = [around(c, 40, 0.05, rng) for c in problems] + [around(second_wording, 40, 0.05, rng)]
    vectors = np.vstack(parts)
    fixed = dict(pca_dims=16, merge_threshold=1.5, refine_iterations=0)
    apart = SklearnClusterer(ClusterParams(**fixed, centre_similarity=1.0)).fit(vectors)
    joined = SklearnClusterer(ClusterParams(**fixed)).fit(vectors)
    assert apart.n_themes == 6
    assert joined.n_themes == 5
    assert len(set(joined.labels[:40].tolist() + joined.labels[200:].tolist())) == 1
    truth = np.repeat([0, 1, 2, 3, 4, 0], 40)
    assert adjusted_rand_score(truth, joined.labels) == 1.0


def test_joining_never_chains_a_gradient_of_groups_into_one_theme():
    # Twelve groups along an arc: each is close to its neighbours, the ends are far apart. Pairwise
    # union-find joining (the old step) would chain all of them into one catch-all theme.
    rng = np.random.default_rng(3)
    a, b = directions(2, 32, seed=5)
    b = b - (b @ a) * a
    b = b / np.linalg.norm(b)
    angles = np.linspace(0, np.pi / 2, 12)
    centres = unit(np.outer(np.cos(angles), a) + np.outer(np.sin(angles), b))
    vectors = np.vstack([around(c, 30, 0.03, rng) for c in centres])
    result = SklearnClusterer(ClusterParams(pca_dims=16, merge_threshold=0.3, refine_iterations=0)).fit(vectors)
    sizes = np.bincount(result.labels[result.labels != UNTHEMED])
    assert sizes.max() <= 0.5 * len(vectors)
    assert result.n_themes >= 3


@pytest.mark.parametrize("threshold", [None, 2.5])
def test_verbatim_repeats_keep_their_problems_apart(threshold):
    # Three problems, each 20 identical comments: most micro-clusters end up empty, and merging two
    # empty ones used to divide by zero and join everything.
    problems = directions(3, 32, seed=11)
    vectors = np.repeat(problems, 20, axis=0)
    result = SklearnClusterer(ClusterParams(merge_threshold=threshold)).fit(vectors)
    assert result.n_themes == 3
    assert adjusted_rand_score(np.repeat([0, 1, 2], 20), result.labels) == 1.0


def test_ward_tree_skips_points_of_weight_zero():
    x = np.array([[0.0, 0.0], [0.0, 0.0], [5.0, 5.0], [0.1, 0.0], [5.0, 5.1]])
    pairs, heights = ward_tree(x, np.array([1.0, 0.0, 1.0, 1.0, 0.0]))
    assert np.all(np.isfinite(heights))
    assert len(pairs) == 2  # three points of positive weight, two merges
    assert 1 not in pairs and 4 not in pairs
    groups = cut_tree(5, pairs, 1)
    assert groups[0] == groups[3] != groups[2]
    assert len(set(cut_tree(5, pairs, 2)[[0, 2, 3]].tolist())) == 1


def test_the_number_of_themes_does_not_grow_with_the_number_of_comments():
    counts = []
    for n in (800, 8000):
        x, y = make_blobs(n_samples=n, centers=8, n_features=32, cluster_std=2.0, random_state=42)
        result = SklearnClusterer().fit(unit(x))
        counts.append(result.n_themes)
        assert adjusted_rand_score(y, result.labels) > 0.9
    assert counts == [8, 8]


def test_a_fixed_granularity_still_overrides_the_automatic_cut(blobs):
    x, _ = blobs
    coarse = SklearnClusterer(ClusterParams(merge_threshold=50.0, centre_similarity=1.0)).fit(x)
    assert coarse.n_themes == 1


def test_a_catch_all_group_is_split_until_no_group_dwarfs_the_rest():
    rng = np.random.default_rng(5)
    blobs4 = directions(8, 32, seed=9)
    reduced = np.vstack([around(c, 50, 0.05, rng) for c in blobs4]).astype(np.float64)
    truth = np.repeat(np.arange(8), 50)
    # Four distinct problems lumped into group 0, four others as groups 1-4.
    groups = np.where(truth < 4, 0, truth - 3).astype(np.int64)
    split = split_catch_all(reduced, groups, ratio=3.0, seed=0)
    sizes = np.bincount(split)
    assert sizes.max() <= 3 * np.sort(sizes)[-2]
    assert adjusted_rand_score(truth, split) > adjusted_rand_score(truth, groups)
    # A large but coherent group (one problem, many comments) is left alone.
    big = np.vstack([around(blobs4[0], 300, 0.05, rng), reduced[200:]])
    coherent = np.concatenate([np.zeros(300), np.repeat(np.arange(1, 5), 50)]).astype(np.int64)
    assert np.array_equal(split_catch_all(big, coherent, ratio=3.0, seed=0), coherent)
