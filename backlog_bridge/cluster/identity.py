"""Theme identity over time (pure): new comments join known themes first, the rest may form new ones.

A comment keeps the theme it had (sticky), so a theme's membership and id survive re-runs; only
comments without a theme are assigned to the nearest known centroid, and what is still left is
clustered for new themes. A new cluster that lands on top of a known theme joins it instead of
being born twice, and two known themes whose centroids converge are merged (smaller into larger).
Centroids are compared after removing the direction every comment of the window shares: comments
about one product (all airline tweets, all loan complaints) are alike in the raw embedding space,
and a raw cosine would call every pair of their themes "the same" and chain them into one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from backlog_bridge.cluster.clusterer import UNTHEMED, Clusterer, FloatArray, assign_to_centroids


@dataclass(frozen=True, eq=False)
class KnownTheme:
    """A theme already in the store."""

    theme_id: int
    centroid: FloatArray
    previous_size: int = 0
    keep_apart: frozenset[int] = frozenset()
    """Themes this one must never be merged with automatically (e.g. its human-split sibling)."""


@dataclass(frozen=True)
class IdentityParams:
    """Thresholds of the identity step.

    Attributes:
        assign_similarity: cosine to a known centroid a new comment needs to join that theme.
        merge_similarity: cosine between centroids, once the window's shared direction is removed, above
            which two themes are one (new cluster joins a known theme; two known themes merge).
        change_ratio: relative size change recorded as grew/shrank.
        change_min: and at least this many comments.
    """

    assign_similarity: float = 0.45
    merge_similarity: float = 0.7
    change_ratio: float = 0.2
    change_min: int = 5


@dataclass
class IdentityUpdate:
    """The outcome: each comment's theme, each theme's new centroid, and the lineage events.

    Theme references are the known theme ids (> 0) and, for themes born in this run, -2, -3, …
    (-1 is `UNTHEMED`).
    """

    assignments: dict[int, int | None] = field(default_factory=dict)
    similarities: dict[int, float] = field(default_factory=dict)
    centroids: dict[int, FloatArray] = field(default_factory=dict)
    sizes: dict[int, int] = field(default_factory=dict)
    born: list[int] = field(default_factory=list)
    merged: list[tuple[int, int]] = field(default_factory=list)
    """(absorbed theme id, surviving theme id)."""
    retired: list[int] = field(default_factory=list)
    grew: list[tuple[int, int, int]] = field(default_factory=list)
    shrank: list[tuple[int, int, int]] = field(default_factory=list)
    """(theme, previous size, new size)."""


def update_identity(
    items: Sequence[int],
    vectors: FloatArray,
    previous: Mapping[int, int | None],
    known: Sequence[KnownTheme],
    clusterer: Clusterer,
    params: IdentityParams | None = None,
    current: npt.NDArray[np.bool_] | None = None,
) -> IdentityUpdate:
    """Assign comments to themes, keeping ids stable.

    Args:
        items: comment (response) ids, aligned with `vectors`.
        vectors: (n, dim) L2-normalised embeddings.
        previous: each comment's theme from the last run (missing or None: none).
        known: themes alive before this run.
        clusterer: finds new themes among comments no known theme takes.
        params: thresholds.
        current: rows of the current window (default: all). Only they can found new themes and
            they alone set sizes and centroids; older rows are only assigned (for trends).
    """
    p = params or IdentityParams()
    in_window = np.ones(len(items), dtype=bool) if current is None else np.asarray(current, dtype=bool)
    known_by_id = {theme.theme_id: theme for theme in known}
    labels = np.array([_sticky(previous.get(item), known_by_id) for item in items], dtype=np.int64)
    _assign_unthemed(labels, vectors, known, p.assign_similarity)
    window_labels = labels[in_window]
    shared = vectors[in_window].mean(axis=0) if in_window.any() else np.zeros(vectors.shape[1], np.float32)
    born = _discover(window_labels, vectors[in_window], known, clusterer, p.merge_similarity, shared)
    update = IdentityUpdate(born=born)
    update.merged = _merge_converged(window_labels, vectors[in_window], known_by_id, born, p.merge_similarity, shared)
    labels[in_window] = window_labels
    for absorbed, survivor in update.merged:
        labels[labels == absorbed] = survivor
    _finish(update, items, labels, vectors, in_window, known, p)
    return update


def _sticky(theme: int | None, known: Mapping[int, KnownTheme]) -> int:
    return theme if theme is not None and theme in known else UNTHEMED


def _assign_unthemed(labels: np.ndarray, vectors: FloatArray, known: Sequence[KnownTheme], threshold: float) -> None:
    open_rows = np.flatnonzero(labels == UNTHEMED)
    if open_rows.size == 0 or not known:
        return
    centroids = np.stack([theme.centroid for theme in known]).astype(np.float32)
    nearest = assign_to_centroids(vectors[open_rows], centroids, threshold)
    ids = np.array([theme.theme_id for theme in known], dtype=np.int64)
    labels[open_rows] = np.where(nearest == UNTHEMED, UNTHEMED, ids[np.maximum(nearest, 0)])


def _discover(
    labels: np.ndarray,
    vectors: FloatArray,
    known: Sequence[KnownTheme],
    clusterer: Clusterer,
    merge_similarity: float,
    shared: FloatArray,
) -> list[int]:
    open_rows = np.flatnonzero(labels == UNTHEMED)
    if open_rows.size == 0:
        return []
    found = clusterer.fit(vectors[open_rows])
    born: list[int] = []
    centroids = _centred(np.stack([theme.centroid for theme in known]), shared) if known else None
    found_centres = _centred(found.centroids, shared)
    for index in range(found.n_themes):
        rows = open_rows[found.labels == index]
        target = None
        if centroids is not None:
            sims = centroids @ found_centres[index]
            best = int(np.argmax(sims))
            if sims[best] >= merge_similarity:
                target = known[best].theme_id
        if target is None:
            target = -(len(born) + 2)  # -1 is UNTHEMED
            born.append(target)
        labels[rows] = target
    return born


def _merge_converged(
    labels: np.ndarray,
    vectors: FloatArray,
    known: Mapping[int, KnownTheme],
    born: Sequence[int],
    merge_similarity: float,
    shared: FloatArray,
) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    while True:
        refs = [ref for ref in sorted(set(labels.tolist()) - {UNTHEMED}) if ref > 0 or ref in born]
        if len(refs) < 2:
            return merged
        centroids = _centred(np.stack([vectors[labels == ref].mean(axis=0) for ref in refs]), shared)
        sims = centroids @ centroids.T
        np.fill_diagonal(sims, -1.0)
        for a, b in zip(*np.nonzero(np.triu(sims >= merge_similarity)), strict=True):
            first, second = refs[int(a)], refs[int(b)]
            if _kept_apart(first, second, known):
                continue
            sizes = {ref: int(np.sum(labels == ref)) for ref in (first, second)}
            # The older (known, lower id) or larger theme survives, so ids stay put where possible.
            survivor, absorbed = sorted((first, second), key=lambda r: (r < 0, -sizes[r], abs(r)))
            labels[labels == absorbed] = survivor
            merged.append((absorbed, survivor))
            break
        else:
            return merged


def _kept_apart(a: int, b: int, known: Mapping[int, KnownTheme]) -> bool:
    return (a in known and b in known[a].keep_apart) or (b in known and a in known[b].keep_apart)


def _finish(
    update: IdentityUpdate,
    items: Sequence[int],
    labels: np.ndarray,
    vectors: FloatArray,
    in_window: npt.NDArray[np.bool_],
    known: Sequence[KnownTheme],
    p: IdentityParams,
) -> None:
    for ref in sorted(set(labels[in_window].tolist()) - {UNTHEMED}):
        members = (labels == ref) & in_window
        update.centroids[ref] = _mean(vectors[members])
        update.sizes[ref] = int(np.sum(members))
    # Older rows of a theme that left the current window lose it: it is retired.
    labels[~in_window & ~np.isin(labels, list(update.centroids))] = UNTHEMED
    # Older rows without a theme are measured against today's themes, so the first run's trends
    # compare like with like instead of "0% before" for every theme.
    older = np.flatnonzero(~in_window & (labels == UNTHEMED))
    if older.size and update.centroids:
        refs = np.array(sorted(update.centroids), dtype=np.int64)
        centres = np.stack([update.centroids[int(ref)] for ref in refs])
        nearest = assign_to_centroids(vectors[older], centres, p.assign_similarity)
        labels[older] = np.where(nearest == UNTHEMED, UNTHEMED, refs[np.maximum(nearest, 0)])
    update.born = [ref for ref in update.born if ref in update.sizes]
    update.merged = [(absorbed, survivor) for absorbed, survivor in update.merged if absorbed > 0]
    absorbed = {a for a, _ in update.merged}
    for theme in known:
        size = update.sizes.get(theme.theme_id, 0)
        if size == 0:
            if theme.theme_id not in absorbed:
                update.retired.append(theme.theme_id)
            continue
        change = size - theme.previous_size
        if theme.previous_size and abs(change) >= max(p.change_min, p.change_ratio * theme.previous_size):
            target = update.grew if change > 0 else update.shrank
            target.append((theme.theme_id, theme.previous_size, size))
    for row, item in enumerate(items):
        ref = int(labels[row])
        update.assignments[item] = None if ref == UNTHEMED else ref
        if ref != UNTHEMED:
            update.similarities[item] = float(vectors[row] @ update.centroids[ref])


def _mean(vectors: FloatArray) -> FloatArray:
    centre = vectors.mean(axis=0)
    norm = float(np.linalg.norm(centre))
    result: FloatArray = (centre / norm if norm > 0 else centre).astype(np.float32)
    return result


def _centred(centroids: FloatArray, shared: FloatArray) -> FloatArray:
    """Rows minus the shared direction, re-normalised: what sets each theme apart from the rest."""
    moved = np.asarray(centroids, dtype=np.float64) - np.asarray(shared, dtype=np.float64)
    norms = np.linalg.norm(moved, axis=1, keepdims=True)
    return np.asarray(moved / np.maximum(norms, 1e-12), dtype=np.float32)
