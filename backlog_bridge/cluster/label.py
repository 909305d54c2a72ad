"""Readable names for themes: a label naming the problem, top keywords and representative quotes.

Labels are phrases of 2-6 words cut from the members' own comments ("mobile app crashes on startup"),
chosen by meaning: each candidate is embedded and scored by how close it is to its theme's centre, how
much closer than to the nearest other theme's centre (maximal-marginal-relevance style, so the label
tells themes apart), and how many members use it. Keywords come from class-based TF-IDF (as in
BERTopic's c-TF-IDF): all comments of a theme form one document, so a term scores high when it is
frequent in this theme and rare across themes.

Texts arrive already redacted (`themes.update_themes`); replacement tokens such as "[email]" are
masked here, so they never become label or keyword words.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
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
        min_words: fewest words in a label phrase.
        max_words: most words in a label phrase.
        phrases_per_length: candidate phrases per theme and phrase length kept for embedding, by
            the number of members using them (bounds the cost: about 5 x 5 per theme).
        distinctiveness: weight of (similarity to the own centre - similarity to the nearest other
            centre) in a candidate's score; 0 picks the most central phrase whatever its neighbours.
        support: weight of the share of members that use the phrase.
        problem: bonus of a phrase that states a problem or request (a `CUE_WORDS` word).
    """

    n_keywords: int = 8
    n_quotes: int = 5
    duplicate_similarity: float = 0.9
    phrase_ratio: float = 0.5
    candidates: int = 50
    min_words: int = 2
    max_words: int = 6
    phrases_per_length: int = 5
    distinctiveness: float = 1.0
    support: float = 0.3
    problem: float = 0.05


Encode = Callable[[Sequence[str]], FloatArray]
"""Texts to L2-normalised vectors, in the space of the comments' vectors (an `Embedder.encode`)."""


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
    encode: Encode | None = None,
    placeholders: Sequence[str] = (),
) -> list[ThemeDescription]:
    """Describe every theme of `result`, largest first as numbered.

    Args:
        texts: the comments (redacted), aligned with `vectors` and `result.labels`.
        vectors: (n, dim) L2-normalised embeddings of `texts`.
        result: the clustering of `vectors`.
        params: description settings; defaults when None.
        encode: embeds candidate label phrases with the comments' model. Without it labels fall
            back to the best c-TF-IDF phrase (no meaning involved; for callers without a model).
        placeholders: redaction tokens to mask besides any "[...]" token ("[email]", "[name]").

    Returns:
        One `ThemeDescription` per theme, in theme order; unthemed comments are not described.
    """
    p = params or LabelParams()
    if len(texts) != len(result.labels) or len(texts) != vectors.shape[0]:
        raise ValueError("texts, vectors and labels must have the same length")
    k = result.n_themes
    if k == 0:
        return []
    masked = [mask_placeholders(text, placeholders) for text in texts]
    terms, scores = class_tfidf(masked, result.labels, k)
    phrased = phrase_labels(masked, result, encode, p) if encode is not None else [None] * k
    used: set[str] = {label.casefold() for label in phrased if label is not None}
    described = []
    for theme in range(k):
        rows = np.flatnonzero(result.labels == theme)
        ranked = _within_comments(_ranked_terms(terms, scores[theme], p.n_keywords * 4), [masked[i] for i in rows])
        label = phrased[theme]
        if label is None:
            label = _unique_label(ranked, theme, p.phrase_ratio, used)
            used.add(label.casefold())
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


def words(text: str) -> frozenset[str]:
    """The whitespace-separated words of a word list written as text."""
    return frozenset(text.split())


_BRACKET_TOKEN = re.compile(r"\[[^\[\]\s]{1,40}\]")
_BREAK = " . "


def mask_placeholders(text: str, placeholders: Sequence[str] = ()) -> str:
    """The text with redaction tokens turned into phrase breaks, so no phrase spans or contains them."""
    for token in placeholders:
        if token:
            text = text.replace(token, _BREAK)
    return _BRACKET_TOKEN.sub(_BREAK, text)


# Fragments end at punctuation and at words that join two statements; phrases never cross them.
_FRAGMENT_END = re.compile(r"[^\w\s'’-]+|(?<!\w)['’-]+|['’-]+(?!\w)|\s-+\s")
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*(?:-[^\W_]+)*")
_JOINERS = words(
    "and but or so because also plus however although though while yet then otherwise except "
    "especially besides furthermore moreover"
)
# A phrase may start with a negation ("no dark mode", "not syncing") and end with a verb particle
# ("can't log in", "keeps logging me out"), though both are stop words.
_MAY_START = frozenset({"no", "not", "cannot", "never"})
_MAY_END = frozenset({"in", "out", "up"})
# A phrase cut just before one of these lacks its complement ("was hard" of "was hard to swallow").
_NEEDS_MORE = frozenset({"to", "of", "than"})


# Words that name no problem by themselves: a phrase made only of these and stop words is vague
# ("pretty good", "ok overall", "does the job") or generic ("the app", "customer service").
GENERIC_WORDS = words(
    """
    good great nice fine ok okay alright decent solid bad poor terrible awful horrible pretty really very
    quite overall generally mostly just guess think thing things stuff lot lots job works work working
    product products app apps application tool tools company experience time times
    use using used user users people way better worse best worst love like liked
    happy unhappy satisfied disappointed meh average sure maybe little bit improvement improvements
    room needs need want wanted issue issues problem problems say says said know knew make makes
    everything anything something nothing day days year years month months week weeks today
    does do did done doing get gets got getting gotten has have had it's that's there's i'm we're
    """
)

# Words that state a problem or a request: with a specific word beside them, the clause names what is
# wrong or wanted ("we need real integrations", "zapier is not enough", "can't export to pdf"); a label phrase with
# one names the problem rather than only the area ("excel export drops columns" over "excel export").
CUE_WORDS = words(
    """
    need needs needed want wish please add allow let missing lack lacks lacking should would could
    can't cannot cant couldn't doesn't don't won't isn't aren't wasn't didn't not no never without
    broken breaks broke fails failed failing crash crashes crashed crashing freezes error errors wrong
    slow slower expensive pricey overpriced confusing hard harder difficult impossible unable too
    terrible awful horrible bad poor worst useless rude unhelpful annoying frustrating disappointing
    unreliable ridiculous sucks suck hate hated
    """
)


def candidate_phrases(text: str, min_words: int = 2, max_words: int = 6) -> list[str]:
    """Phrases of `min_words`-`max_words` words from one comment, as written (case kept).

    Phrases never cross punctuation or joining words ("and", "but"), never start or end with a stop
    word (so no fragments like "crashes when i"), never hold masked text ("XXXX", digits only), and
    stop short of a complement ("was hard" before "to swallow"), and need a word that names something
    specific (so never "pretty good" or a lone generic word).
    """
    found: list[str] = []
    for fragment in _fragments(text):
        words = _WORD.findall(fragment)
        folded = [w.casefold() for w in words]
        for start in range(len(words)):
            if not _may_start(folded[start]):
                continue
            for end in range(start + min_words, min(start + max_words, len(words)) + 1):
                span = folded[start:end]
                cut = end < len(words) and folded[end] in _NEEDS_MORE
                if not cut and _may_end(span[-1]) and _specific(span):
                    found.append(" ".join(words[start:end]))
    return found


def _fragments(text: str) -> list[str]:
    pieces = []
    for piece in _FRAGMENT_END.split(text):
        current: list[str] = []
        for word in _WORD.findall(piece):
            folded = word.casefold()
            if folded in _JOINERS or "xx" in folded or folded.isdigit():
                pieces.append(" ".join(current))
                current = []
            else:
                current.append(word)
        pieces.append(" ".join(current))
    return [piece for piece in pieces if piece]


def _may_start(word: str) -> bool:
    return word in _MAY_START or (word not in ENGLISH_STOP_WORDS and not word.isdigit())


def _may_end(word: str) -> bool:
    # "the app doesn't" and "it can't" wait for their verb.
    if word.endswith(("n't", "n’t")) or word == "cannot":
        return False
    return word in _MAY_END or (word not in ENGLISH_STOP_WORDS and not word.isdigit())


def _specific(words: Sequence[str]) -> bool:
    return any(w not in ENGLISH_STOP_WORDS and w not in GENERIC_WORDS and not w.isdigit() for w in words)


def phrase_labels(
    texts: Sequence[str], result: ClusterResult, encode: Encode, params: LabelParams | None = None
) -> list[str | None]:
    """A label per theme: the members' own phrase that best names this theme and no other.

    Candidates are the phrases most members of a theme use (`phrases_per_length` per length). Each
    is embedded and scored: cosine to the own centre, plus `distinctiveness` x (that minus the cosine
    to the nearest other centre), plus `support` x the share of members using it, plus `problem` when
    it states a problem or request. A phrase closer to another theme's centre than to its own is only
    taken when no other phrase is left, after a second look at five times as many candidates of that
    theme. Themes pick in size order and a phrase is used once. None for a theme without any phrase.
    """
    p = params or LabelParams()
    k = result.n_themes
    pools = [_theme_candidates(texts, result, theme, p, p.phrases_per_length) for theme in range(k)]
    sims: dict[str, npt.NDArray[np.float32]] = {}
    _embed_new([phrase for pool in pools for phrase, _ in pool], sims, encode, result.centroids)
    sizes = np.bincount(result.labels[result.labels != UNTHEMED], minlength=k)
    labels: list[str | None] = []
    used: set[str] = set()
    for theme in range(k):
        best = _best_phrase(pools[theme], theme, sims, used, int(sizes[theme]), p)
        if best is None or not best[0][0]:
            wider = _theme_candidates(texts, result, theme, p, 5 * p.phrases_per_length)
            _embed_new([phrase for phrase, _ in wider], sims, encode, result.centroids)
            best = _best_phrase(wider, theme, sims, used, int(sizes[theme]), p) or best
        labels.append(best[1] if best else None)
        if best:
            used.add(best[1].casefold())
    return labels


def _embed_new(
    phrases: Sequence[str], sims: dict[str, npt.NDArray[np.float32]], encode: Encode, centroids: FloatArray
) -> None:
    """Add each unseen phrase's similarities to every centre to `sims` (keyed by folded text), in one batch."""
    unseen = sorted({phrase.casefold(): phrase for phrase in phrases if phrase.casefold() not in sims}.values())
    if unseen:
        for phrase, row in zip(unseen, encode(unseen) @ centroids.T, strict=True):
            sims[phrase.casefold()] = row


def _best_phrase(
    pool: Sequence[tuple[str, int]],
    theme: int,
    sims: dict[str, npt.NDArray[np.float32]],
    used: set[str],
    size: int,
    p: LabelParams,
) -> tuple[tuple[bool, float], str] | None:
    """((retrieves its own centre, score), phrase) of the best unused phrase of the pool."""
    best: tuple[tuple[bool, float], str] | None = None
    for phrase, support in pool:
        folded = phrase.casefold()
        if folded in used:
            continue
        row = sims[folded]
        own = float(row[theme])
        other = float(np.max(np.delete(row, theme))) if row.size > 1 else -1.0
        score = own + p.distinctiveness * (own - other) + p.support * support / max(size, 1)
        score += p.problem * bool(CUE_WORDS.intersection(folded.split()))
        key = (own > other, score)
        if best is None or key > best[0]:
            best = (key, phrase)
    return best


def _theme_candidates(
    texts: Sequence[str], result: ClusterResult, theme: int, p: LabelParams, per_length: int
) -> list[tuple[str, int]]:
    """The theme's most used phrases per length, each with its number of members and commonest spelling."""
    support: Counter[str] = Counter()
    spellings: dict[str, Counter[str]] = {}
    for row in np.flatnonzero(result.labels == theme).tolist():
        phrases = candidate_phrases(texts[row], p.min_words, p.max_words)
        for phrase in phrases:
            spellings.setdefault(phrase.casefold(), Counter())[phrase] += 1
        support.update({phrase.casefold() for phrase in phrases})
    by_length: dict[int, list[str]] = {}
    # Most members first, then alphabetical so ties give the same candidates every run.
    for folded in sorted(support, key=lambda f: (-support[f], f)):
        kept = by_length.setdefault(folded.count(" ") + 1, [])
        if len(kept) < per_length:
            kept.append(folded)
    chosen = [folded for kept in by_length.values() for folded in kept]
    return [(_spelling(spellings[f]), support[f]) for f in chosen]


def _spelling(seen: Counter[str]) -> str:
    # Shouting is rarely the way most people write it: prefer any other spelling, then the commonest.
    return min(seen.items(), key=lambda item: (item[0].isupper(), -item[1], item[0]))[0]


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


def _within_comments(ranked: list[tuple[str, float]], texts: Sequence[str]) -> list[tuple[str, float]]:
    # The theme's comments form one c-TF-IDF document, so an n-gram may join the end of one comment
    # to the start of the next ("slow slow"): keep only terms found inside a single comment.
    tokens = [" ".join(re.findall(r"\b\w\w+\b", text.lower())) for text in texts]
    return [(term, score) for term, score in ranked if " " not in term or any(f" {term} " in f" {t} " for t in tokens)]


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
