"""Readable names for themes: a unique key phrase, top keywords and representative quotes.

Keywords come from class-based TF-IDF (as in BERTopic's c-TF-IDF): all comments of a theme form one
document, so a term scores high when it is frequent in this theme and rare across themes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import sparse
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

from backlog_bridge.cluster.clusterer import UNTHEMED, ClusterResult, FloatArray


@dataclass(frozen=True)
class LabelParams:
    """How themes are described.

    Attributes:
        n_keywords: keywords kept per theme.
        n_quotes: representative quotes per theme (fewer when the theme has fewer distinct comments).
        duplicate_similarity: cosine at or above which two quotes count as saying the same thing.
        phrase_ratio: a 2-3 word phrase becomes the label when it scores at least this share of the
            best single word, because phrases read better ("cancel reservation" over "cancel").
        candidates: quotes are picked from this many comments closest to the centroid.
    """

    n_keywords: int = 8
    n_quotes: int = 5
    duplicate_similarity: float = 0.9
    phrase_ratio: float = 0.5
    candidates: int = 50


@dataclass(frozen=True)
class ThemeDescription:
    """What a person reads about one theme.

    Attributes:
        theme: the theme index in the `ClusterResult`.
        label: short key phrase, unique among the themes described together.
        keywords: top c-TF-IDF terms, best first.
        quotes: comments close to the centroid and not near-duplicates of each other.
        quote_rows: row indices of `quotes` in the input.
        size: number of comments in the theme.
    """

    theme: int
    label: str
    keywords: tuple[str, ...]
    quotes: tuple[str, ...]
    quote_rows: tuple[int, ...]
    size: int


def describe_themes(
    texts: Sequence[str],
    vectors: FloatArray,
    result: ClusterResult,
    params: LabelParams | None = None,
) -> list[ThemeDescription]:
    """Describe every theme of `result`, largest first as numbered.

    Args:
        texts: the comments, aligned with `vectors` and `result.labels`.
        vectors: (n, dim) L2-normalised embeddings of `texts`.
        result: the clustering of `vectors`.
        params: description settings; defaults when None.

    Returns:
        One `ThemeDescription` per theme, in theme order; unthemed comments are not described.
    """
    p = params or LabelParams()
    if len(texts) != len(result.labels) or len(texts) != vectors.shape[0]:
        raise ValueError("texts, vectors and labels must have the same length")
    k = result.n_themes
    if k == 0:
        return []
    terms, scores = class_tfidf(texts, result.labels, k)
    used: set[str] = set()
    described = []
    for theme in range(k):
        ranked = _ranked_terms(terms, scores[theme], p.n_keywords * 4)
        label = _unique_label(ranked, theme, p.phrase_ratio, used)
        used.add(label)
        rows = np.flatnonzero(result.labels == theme)
        quote_rows = pick_quotes(texts, vectors, rows, result.centroids[theme], p)
        described.append(
            ThemeDescription(
                theme=theme,
                label=label,
                keywords=tuple(term for term, _ in ranked[: p.n_keywords]),
                quotes=tuple(texts[i] for i in quote_rows),
                quote_rows=tuple(int(i) for i in quote_rows),
                size=int(rows.size),
            )
        )
    return described


def class_tfidf(
    texts: Sequence[str], labels: npt.NDArray[np.int64], k: int
) -> tuple[npt.NDArray[np.str_], npt.NDArray[np.float64]]:
    """c-TF-IDF of 1-3-grams per theme: (terms, scores of shape (k, n_terms)).

    N-grams that start or end with a stop word are dropped so that phrases read naturally
    ("cancel my reservation" stays, "my reservation is" goes).
    """
    themed = np.flatnonzero(labels != UNTHEMED)
    docs = [" ".join(texts[i] for i in themed[labels[themed] == t]) for t in range(k)]
    vectorizer = CountVectorizer(ngram_range=(1, 3), lowercase=True)
    try:
        counts = vectorizer.fit_transform(docs).tocsc()
    except ValueError:  # every comment was empty or punctuation: no vocabulary at all
        return np.array([], dtype=np.str_), np.zeros((k, 0))
    terms = vectorizer.get_feature_names_out()
    keep = np.array([_reads_naturally(term) for term in terms], dtype=bool)
    counts, terms = counts[:, keep], terms[keep]
    if terms.size == 0:
        return terms, np.zeros((k, 0))
    tf = sparse.csr_matrix(counts, dtype=np.float64)
    tf = sparse.diags(1.0 / np.maximum(np.asarray(tf.sum(axis=1)).ravel(), 1.0)) @ tf
    term_freq = np.asarray(counts.sum(axis=0)).ravel()
    avg_words = float(counts.sum()) / k
    idf = np.log1p(avg_words / term_freq)
    return terms, np.asarray((tf @ sparse.diags(idf)).todense())


def _reads_naturally(term: str) -> bool:
    words = term.split()
    if words[0] in ENGLISH_STOP_WORDS or words[-1] in ENGLISH_STOP_WORDS:
        return False
    return not any(word.isdigit() for word in words)


def _ranked_terms(terms: npt.NDArray[np.str_], scores: npt.NDArray[np.float64], top: int) -> list[tuple[str, float]]:
    # Only scored terms can be returned, so sort just those (a theme scores a few dozen of ~10k terms);
    # by score, then term, so equal scores give the same label in every run.
    scored = np.flatnonzero(scores > 0)
    order = sorted(scored.tolist(), key=lambda i: (-scores[i], str(terms[i])))[:top]
    return [(str(terms[i]), float(scores[i])) for i in order]


def _unique_label(ranked: list[tuple[str, float]], theme: int, phrase_ratio: float, used: set[str]) -> str:
    """Best unused phrase, else best unused word, else keywords joined, else a numbered fallback."""
    free = [(term, score) for term, score in ranked if term not in used]
    if free:
        best_score = free[0][1]
        phrases = [term for term, score in free if " " in term and score >= phrase_ratio * best_score]
        return phrases[0] if phrases else free[0][0]
    if len(ranked) >= 2:
        joined = f"{ranked[0][0]} / {ranked[1][0]}"
        if joined not in used:
            return joined
    base = ranked[0][0] if ranked else "theme"
    return f"{base} ({theme + 1})"


def pick_quotes(
    texts: Sequence[str],
    vectors: FloatArray,
    rows: npt.NDArray[np.int64],
    centroid: FloatArray,
    params: LabelParams,
) -> list[int]:
    """Rows of the most central comments, skipping near-duplicates of quotes already picked.

    Greedy: walk members by decreasing similarity to the centroid, keep one unless its cosine to a
    kept quote reaches `duplicate_similarity` or its normalised text repeats one.
    """
    if rows.size == 0:
        return []
    centrality = vectors[rows] @ centroid
    # Ties broken by row so the quotes are reproducible.
    order = np.lexsort((rows, -centrality))[: params.candidates]
    picked: list[int] = []
    seen_texts: set[str] = set()
    for row in rows[order]:
        key = " ".join(texts[row].lower().split())
        if key in seen_texts:
            continue
        if picked and float(np.max(vectors[picked] @ vectors[row])) >= params.duplicate_similarity:
            continue
        picked.append(int(row))
        seen_texts.add(key)
        if len(picked) == params.n_quotes:
            break
    return picked
