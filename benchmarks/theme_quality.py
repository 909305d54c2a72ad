"""Theme quality on every development set: our clusterer vs BERTopic and KMeans told the true k.

Usage:
    .venv/bin/python benchmarks/theme_quality.py [--sets NAME ...] [--no-bertopic] [--cache-dir /tmp/...]

Sets: every `text,label` CSV under ../shared/data and benchmarks/data, CLINC150 in-scope with and
without its out-of-scope noise, and the bundled sample's themed comments (labels from its generator);
see `benchmarks/_common.py`. Scoring follows ../shared/README.md: NMI and ARI against the labels,
unthemed rows count as one extra cluster, and their share is reported. Also per set: the number of
themes, the largest theme's share (and its ratio to the largest true class) and purity (share of its
comments from its most common label). All methods see the same all-MiniLM-L6-v2 vectors in the same
run. A growth check follows: the same source at 1,500 comments and at its full size.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backlog_bridge.cluster import SklearnClusterer  # noqa: E402
from backlog_bridge.context import AnalysisWindow  # noqa: E402
from backlog_bridge.settings import ThemeSettings  # noqa: E402
from backlog_bridge.themes import update_themes  # noqa: E402
from benchmarks._common import (  # noqa: E402
    DEFAULT_CACHE_DIR,
    NOW,
    LabelledSet,
    LookupEmbedder,
    development_sets,
    fresh_store,
    ingest,
    make_comments,
    real_embedder,
    theme_of,
)

# A method returns one or more named labelings (BERTopic gives two from one fit).
Method = Callable[[list[str], np.ndarray], dict[str, np.ndarray]]
OURS = "backlog_bridge (k discovered)"
PIPELINE = "backlog_bridge pipeline (import + update_themes)"
_MODEL: list[object] = []


@dataclass(frozen=True)
class Score:
    """Figures of one labelling against the truth."""

    nmi: float
    ari: float
    themes: int
    unthemed: float
    largest: float
    largest_vs_true: float
    purity: float


def score(truth: np.ndarray, labels: np.ndarray) -> Score:
    """NMI/ARI (unthemed, -1, is one more cluster to both), theme count and the largest theme's figures."""
    themed = labels >= 0
    sizes = np.bincount(labels[themed]) if themed.any() else np.zeros(1, dtype=np.int64)
    biggest = int(np.argmax(sizes))
    _, member_counts = np.unique(truth[labels == biggest], return_counts=True)
    _, true_counts = np.unique(truth, return_counts=True)
    largest = float(sizes.max()) / len(labels)
    return Score(
        nmi=float(normalized_mutual_info_score(truth, labels)),
        ari=float(adjusted_rand_score(truth, labels)),
        themes=len(set(labels[themed].tolist())),
        unthemed=float(np.mean(~themed)),
        largest=largest,
        largest_vs_true=largest / (true_counts.max() / len(truth)),
        purity=float(member_counts.max() / sizes.max()) if sizes.max() else 0.0,
    )


def ours(texts: list[str], vectors: np.ndarray) -> dict[str, np.ndarray]:
    return {OURS: SklearnClusterer().fit(vectors).labels}


def pipeline(texts: list[str], vectors: np.ndarray) -> dict[str, np.ndarray]:
    """What a user gets: the texts imported as detractor/passive responses and themed by `update_themes`.

    Includes what the clusterer alone does not: vague remarks set aside (they count as unthemed here),
    identity merges, labelling. Comment vectors are the cached ones; other texts (the vague judge's
    examples, label phrases) come from the real model.
    """
    if not _MODEL:
        _MODEL.append(real_embedder())
    comments = make_comments(texts, seed=0)
    with tempfile.TemporaryDirectory(prefix="bb-quality-") as tmp:
        engine = fresh_store(Path(tmp))
        ingest(engine, Path(tmp), "set", comments)
        settings = ThemeSettings()
        window = AnalysisWindow(NOW, settings.window_days)
        update_themes(engine, LookupEmbedder(texts, vectors, fallback=_MODEL[0]), settings, window)
        by_id = theme_of(engine)
        engine.dispose()
    themes = [by_id.get(c.external_id) for c in comments]
    index = {t: i for i, t in enumerate(sorted({t for t in themes if t is not None}))}
    return {PIPELINE: np.array([-1 if t is None else index[t] for t in themes], dtype=np.int64)}


def kmeans_true_k(k: int) -> Method:
    def run(texts: list[str], vectors: np.ndarray) -> dict[str, np.ndarray]:
        return {f"KMeans told the true k={k}": KMeans(n_clusters=k, n_init=1, random_state=0).fit_predict(vectors)}

    return run


def bertopic(texts: list[str], vectors: np.ndarray) -> dict[str, np.ndarray]:
    from bertopic import BERTopic

    model = BERTopic(embedding_model=None)
    topics, _ = model.fit_transform(texts, vectors)
    reduced = model.reduce_outliers(texts, topics, strategy="embeddings", embeddings=vectors)
    # Seconds in the table cover the fit plus reduce_outliers for both rows.
    return {"BERTopic default": np.asarray(topics), "BERTopic + reduce_outliers(embeddings)": np.asarray(reduced)}


def shuffle_stability(vectors: np.ndarray) -> float:
    """ARI between runs on the same vectors in two row orders (target >= 0.95)."""
    perm = np.random.default_rng(0).permutation(len(vectors))
    first = SklearnClusterer().fit(vectors).labels
    second = SklearnClusterer().fit(vectors[perm]).labels
    return float(adjusted_rand_score(first[perm], second))


def evaluate(dataset: LabelledSet, vectors: np.ndarray, with_bertopic: bool) -> dict[str, Score]:
    """Every method on one set; prints a markdown table and returns the scores by method."""
    methods: list[Method] = [ours, pipeline, kmeans_true_k(len(set(dataset.labels.tolist())))]
    if with_bertopic:
        methods.append(bertopic)
    print(f"\n## {dataset.name}: {len(dataset.texts)} texts, {len(set(dataset.labels.tolist()))} labels")
    print(f"| {'method':40s} | NMI   | ARI   | themes | unthemed | largest (x true) | purity | seconds |")
    print(f"| {'-' * 40} | ----- | ----- | ------ | -------- | ---------------- | ------ | ------- |")
    scores: dict[str, Score] = {}
    for method in methods:
        start = time.perf_counter()
        labelings = method(dataset.texts, vectors)
        seconds = time.perf_counter() - start
        for name, labels in labelings.items():
            s = score(dataset.labels, labels)
            scores[name] = s
            largest = f"{s.largest:5.1%} (x{s.largest_vs_true:.2f})"
            print(
                f"| {name:40s} | {s.nmi:.3f} | {s.ari:.3f} | {s.themes:6d} | {s.unthemed:7.1%} | {largest:16s} "
                f"| {s.purity:6.2f} | {seconds:7.1f} |",
                flush=True,
            )
    return scores


def verdict(scores: dict[str, Score]) -> str:
    """Targets of issue #15 for one set: above both baselines on NMI and ARI, <= 10% unthemed, no catch-all."""
    mine = scores[OURS]
    rivals = [s for name, s in scores.items() if name.startswith("KMeans") or "reduce_outliers" in name]
    beats = all(mine.nmi > r.nmi and mine.ari > r.ari for r in rivals)
    through = scores[PIPELINE]
    beats_through = all(through.nmi > r.nmi and through.ari > r.ari for r in rivals)
    notes = [
        f"above baselines: {'yes' if beats else 'NO'} (clusterer), {'yes' if beats_through else 'NO'} (pipeline)",
        f"unthemed <= 10%: {'yes' if mine.unthemed <= 0.10 else 'NO'}",
        f"largest <= 1.5x largest class: {'yes' if mine.largest_vs_true <= 1.5 else 'NO'}",
    ]
    return "; ".join(notes)


def growth(dataset: LabelledSet, vectors: np.ndarray, small: int = 1500) -> None:
    """Quality at `small` comments (a fixed random subset) against the full set, same source."""
    rows = np.sort(np.random.default_rng(0).choice(len(dataset.texts), small, replace=False))
    small_score = score(dataset.labels[rows], SklearnClusterer().fit(vectors[rows]).labels)
    full_score = score(dataset.labels, SklearnClusterer().fit(vectors).labels)
    held = full_score.nmi >= small_score.nmi - 0.01 and full_score.ari >= small_score.ari - 0.01
    print(
        f"| {dataset.name} | {small_score.nmi:.3f} / {small_score.ari:.3f} ({small_score.themes} themes) "
        f"| {full_score.nmi:.3f} / {full_score.ari:.3f} ({full_score.themes} themes, n={len(dataset.texts)}) "
        f"| {'holds' if held else 'FALLS'} |",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="*", default=None, help="only sets whose name contains one of these")
    parser.add_argument("--no-bertopic", action="store_true", help="skip BERTopic (slow on 2 cores)")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR)
    args = parser.parse_args()

    try:
        import bertopic as _  # noqa: F401

        have_bertopic = not args.no_bertopic
    except ImportError:
        have_bertopic = False
        print("bertopic is not installed (.venv/bin/pip install -e '.[bench]'): skipping its rows")

    sets = [d for d in development_sets() if not args.sets or any(s in d.name for s in args.sets)]
    verdicts, big_enough = [], []
    for dataset in sets:
        vectors = dataset.vectors(args.cache_dir)
        scores = evaluate(dataset, vectors, have_bertopic)
        verdicts.append((dataset.name, verdict(scores)))
        if len(dataset.texts) >= 2500:
            big_enough.append((dataset, vectors))
        if dataset.name.startswith("clinc150 (in-scope)"):
            print(f"\nshuffle stability (ARI between two row orders): {shuffle_stability(vectors):.3f}")
    print("\n## Targets per set")
    for name, text in verdicts:
        print(f"- {name}: {text}")
    print("\n## Growth: NMI / ARI at 1,500 comments and at the full set (same source)")
    print("| set | 1,500 | full | |")
    print("| --- | --- | --- | --- |")
    for dataset, vectors in big_enough:
        growth(dataset, vectors)


if __name__ == "__main__":
    main()
