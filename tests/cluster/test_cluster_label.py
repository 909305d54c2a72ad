import numpy as np
import pytest

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


# --- phrase labels ----------------------------------------------------------------------------

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS  # noqa: E402

from backlog_bridge.cluster.label import candidate_phrases, mask_placeholders, phrase_labels  # noqa: E402


class BagOfWords:
    """A small fake encoder: a phrase's vector is the normalised sum of its words' fixed random vectors.

    Words that mean a theme ("password", "dark") point along that theme's axis, so a phrase's meaning
    is known without a model; everything else is small random noise.
    """

    def __init__(self, axes, dim=6, seed=0):
        self.axes, self.dim, self.rng = axes, dim, np.random.default_rng(seed)
        self.noise = {}
        self.calls = []

    def vector(self, word):
        if word in self.axes:
            v = np.zeros(self.dim)
            v[self.axes[word]] = 1.0
            return v
        return self.noise.setdefault(word, self.rng.normal(0, 0.15, self.dim))

    def encode(self, texts):
        self.calls.append(list(texts))
        rows = [sum(self.vector(w) for w in t.lower().split()) for t in texts]
        return unit(np.array(rows)) if rows else np.zeros((0, self.dim), np.float32)


def test_candidate_phrases_are_whole_phrases_never_fragments():
    found = candidate_phrases("The mobile app crashes when I open a board, but support was nice")
    assert "mobile app crashes" in found and "open a board" in found
    for phrase in found:
        words = phrase.lower().split()
        assert 2 <= len(words) <= 6
        assert words[0] not in ENGLISH_STOP_WORDS and words[-1] not in ENGLISH_STOP_WORDS
        assert "but" not in words  # phrases never cross a joining word or punctuation
        assert not ("board" in words and "support" in words)


def test_candidate_phrases_keep_negations_and_particles_and_skip_vague_ones():
    assert "no dark mode" in candidate_phrases("no dark mode at night")
    assert "can't log in" in candidate_phrases("I can't log in since Monday")
    assert candidate_phrases("pretty good overall, does the job") == []
    assert candidate_phrases("the app is ok") == []
    # cut before "to": "was hard" is a fragment of "was hard to swallow"
    assert not any(p.endswith("hard") for p in candidate_phrases("price increase was hard to swallow"))


def test_candidate_phrases_never_hold_redaction_tokens_or_masked_text():
    text = mask_placeholders("My email is [email], call [phone] or ask for [name] about XXXX loan fees")
    found = candidate_phrases(text)
    assert "loan fees" in found
    assert not any("[" in p or "xx" in p.lower() for p in found)
    assert not any({"email", "phone", "name"} & set(p.lower().split()) for p in found)
    assert "REDACTED" not in mask_placeholders("id REDACTED here", placeholders=["REDACTED"])


def test_phrase_labels_pick_central_distinctive_phrases_and_embed_once():
    texts, vectors, result = themed([PASSWORD, DARK])
    fake = BagOfWords({"password": 0, "reset": 0, "dark": 1, "mode": 1})
    described = describe_themes(texts, vectors, result, encode=fake.encode)
    labels = [d.label for d in described]
    assert "password" in labels[0] and "dark mode" in labels[1]
    assert len(fake.calls) == 1  # every candidate phrase embedded in one batch
    assert len(fake.calls[0]) == len(set(fake.calls[0]))
    # each label's nearest centre is its own theme's
    nearest = np.argmax(fake.encode(labels) @ result.centroids.T, axis=1)
    assert list(nearest) == [0, 1]


def test_phrase_labels_prefer_a_phrase_closer_to_the_own_centre_than_to_others():
    # Both themes say "slow export"; only theme 0 also says "excel export". Theme 1's members speak of pdf.
    excel = ["slow export to excel", "excel export broken", "slow export again", "excel export drops rows"]
    pdf = ["slow export to pdf", "pdf export broken", "slow export again please", "pdf export cuts pages"]
    texts, _vectors, result = themed([excel, pdf])
    fake = BagOfWords({"excel": 0, "pdf": 1})
    labels = phrase_labels(texts, result, fake.encode)
    assert "excel" in labels[0].lower() and "pdf" in labels[1].lower()


def test_phrase_labels_are_unique_across_themes():
    same = ["late delivery of my order", "late delivery again", "late delivery", "very late delivery"]
    texts, _vectors, result = themed([same, list(same)])
    labels = phrase_labels(texts, result, BagOfWords({"late": 0}).encode)
    assert labels[0] is not None and labels[1] is not None
    assert labels[0].lower() != labels[1].lower()


def test_themes_without_phrases_fall_back_to_keywords():
    texts, vectors, result = themed([["crash", "crashes", "crash!"], ["slow", "slow.", "slow"]])
    described = describe_themes(texts, vectors, result, encode=BagOfWords({}).encode)
    assert [d.label for d in described] == ["crash", "slow"]


def test_keywords_skip_redaction_tokens():
    texts, vectors, result = themed([[f"{t}, ask [name] at [phone]" for t in PASSWORD], DARK])
    for encode in (None, BagOfWords({}).encode):
        for d in describe_themes(texts, vectors, result, encode=encode):
            assert not any("name" in k or "phone" in k for k in d.keywords)
            assert "name" not in d.label and "phone" not in d.label


@pytest.mark.slow
def test_real_labels_name_the_problem_and_retrieve_their_theme(embedder):
    groups = [
        ["my flight was cancelled without notice", "flight cancelled without notice again",
         "they cancelled my flight without notice and no refund", "flight got cancelled the night before",
         "cancelled flight, no explanation"],
        ["long hold times on the phone", "I was on hold for two hours", "hold times on the phone are awful",
         "waited on hold forever to reach an agent", "phone support hold time is ridiculous"],
        ["mobile app crashes on startup", "the app crashes every time I open it", "app crashes on startup since update",
         "mobile app keeps crashing", "crashes on startup on my android phone"],
    ]  # fmt: skip
    texts = [t for g in groups for t in g]
    vectors = embedder.encode(texts)
    labels_of = np.repeat(np.arange(3), 5).astype(np.int64)
    centres = unit(np.stack([vectors[labels_of == t].mean(0) for t in range(3)]))
    result = ClusterResult(labels_of, centres)
    labels = [d.label.lower() for d in describe_themes(texts, vectors, result, encode=embedder.encode)]
    assert "cancel" in labels[0] and "flight" in labels[0]
    assert "hold" in labels[1]
    assert "crash" in labels[2]
    assert all(2 <= len(label.split()) <= 6 for label in labels)
    nearest = np.argmax(embedder.encode(labels) @ centres.T, axis=1)
    assert list(nearest) == [0, 1, 2]
