import numpy as np

from backlog_bridge.cluster import ClusterResult
from backlog_bridge.cluster.label import LabelParams, describe_themes, pick_quotes


def unit(x):
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def themed(texts_by_theme, dim=6, seed=0):
    """Texts with hand-made vectors: theme t points along axis t, with a little noise."""
    rng = np.random.default_rng(seed)
    texts, vectors, labels = [], [], []
    for theme, texts_of_theme in enumerate(texts_by_theme):
        for text in texts_of_theme:
            v = np.zeros(dim)
            v[theme] = 1.0
            texts.append(text)
            vectors.append(v + rng.normal(0, 0.05, dim))
            labels.append(theme)
    vectors = unit(np.array(vectors))
    labels = np.array(labels, dtype=np.int64)
    centroids = unit(np.array([vectors[labels == t].mean(0) for t in range(len(texts_by_theme))]))
    return texts, vectors, ClusterResult(labels=labels, centroids=centroids)


PASSWORD = [
    "I cannot reset my password",
    "password reset email never arrives",
    "the password reset link is broken",
    "reset password does not work on mobile",
]
DARK = [
    "please add a dark mode",
    "dark mode would be easier on the eyes",
    "no dark mode at night is painful",
    "I want dark mode in the app",
]


def test_labels_are_natural_phrases_and_keywords_rank_theme_terms():
    texts, vectors, result = themed([PASSWORD, DARK])
    described = describe_themes(texts, vectors, result)
    assert [d.label for d in described] == ["password reset", "dark mode"]
    assert "password" in described[0].keywords
    assert "dark" in described[1].keywords
    assert [d.size for d in described] == [4, 4]


def test_labels_are_unique_even_when_themes_share_words():
    shipping = ["late delivery again", "late delivery of my order", "delivery was late", "late delivery"]
    shipping_b = ["late delivery", "delivery late twice", "late delivery fee", "very late delivery"]
    texts, vectors, result = themed([shipping, shipping_b])
    labels = [d.label for d in describe_themes(texts, vectors, result)]
    assert len(set(labels)) == 2


def test_quotes_skip_near_duplicates():
    texts = ["app crashes on login", "App crashes  on login", "app crashes when I log in", "crash at startup"]
    base = np.array([1.0, 0.0, 0.0])
    vectors = unit(np.array([base, base, [1.0, 0.02, 0.0], [0.8, 0.6, 0.0]]))
    rows = np.arange(4)
    picked = pick_quotes(texts, vectors, rows, unit(base[None])[0], LabelParams(duplicate_similarity=0.9))
    # Row 1 repeats row 0's text; row 2 is a near-identical vector: only 0 and 3 remain.
    assert picked == [0, 3]


def test_quotes_are_central_and_at_most_n_quotes():
    texts, vectors, result = themed([PASSWORD + [f"password reset problem {i}" for i in range(8)], DARK])
    loose = LabelParams(n_quotes=3, duplicate_similarity=1.01)
    described = describe_themes(texts, vectors, result, loose)
    assert len(described[0].quotes) == 3
    assert all(result.labels[row] == 0 for row in described[0].quote_rows)
    sims = vectors[list(described[0].quote_rows)] @ result.centroids[0]
    assert list(sims) == sorted(sims, reverse=True)


def test_unthemed_rows_are_not_described():
    texts, vectors, result = themed([PASSWORD, DARK])
    labels = result.labels.copy()
    labels[-1] = -1
    described = describe_themes(texts, vectors, ClusterResult(labels, result.centroids))
    assert described[1].size == 3
    assert len(texts) - 1 not in described[1].quote_rows


def test_no_themes_gives_no_descriptions():
    result = ClusterResult(np.array([-1, -1], dtype=np.int64), np.zeros((0, 3), np.float32))
    assert describe_themes(["a", "b"], unit(np.ones((2, 3))), result) == []
