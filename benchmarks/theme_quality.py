"""Theme quality on CLINC150: our clusterer vs BERTopic and KMeans told the true k, same embeddings.

Usage:
    .venv/bin/python benchmarks/theme_quality.py [--data-dir ../shared/data/clinc150] [--cache-dir /tmp/...]

Scoring follows ../shared/README.md: NMI and ARI against the intent labels, unthemed rows count as one
extra cluster, and their share is reported. Evaluated twice: in-scope + out-of-scope noise mixed
(oos labelled 'oos'), and in-scope only. Embeddings are cached in a .npy keyed by the files' hash.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backlog_bridge.cluster import SklearnClusterer  # noqa: E402
from benchmarks._common import embed, load  # noqa: E402

# A method returns one or more named labelings (BERTopic gives two from one fit).
Method = Callable[[list[str], np.ndarray], dict[str, np.ndarray]]


def ours(texts: list[str], vectors: np.ndarray) -> dict[str, np.ndarray]:
    return {"backlog_bridge SklearnClusterer (k discovered)": SklearnClusterer().fit(vectors).labels}


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
    return {
        "BERTopic default": np.asarray(topics),
        "BERTopic + reduce_outliers(embeddings)": np.asarray(reduced),
    }


def shuffle_stability(vectors: np.ndarray) -> float:
    """ARI between runs on the same vectors in two row orders (target >= 0.95)."""
    perm = np.random.default_rng(0).permutation(len(vectors))
    first = SklearnClusterer().fit(vectors).labels
    second = SklearnClusterer().fit(vectors[perm]).labels
    return float(adjusted_rand_score(first[perm], second))


def score(truth: np.ndarray, labels: np.ndarray) -> tuple[float, float, int, float]:
    # Unthemed (-1) is just another label value to both metrics: one extra cluster.
    nmi = normalized_mutual_info_score(truth, labels)
    ari = adjusted_rand_score(truth, labels)
    return nmi, ari, len(set(labels[labels >= 0].tolist())), float(np.mean(labels < 0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data" / "clinc150")
    parser.add_argument("--cache-dir", type=Path, default=Path("/tmp/backlog_bridge-bench"))
    args = parser.parse_args()

    texts, truth, key = load(args.data_dir)
    vectors = embed(texts, key, args.cache_dir)
    in_scope = truth != "oos"
    try:
        import bertopic as _  # noqa: F401

        have_bertopic = True
    except ImportError:
        have_bertopic = False
        print("bertopic is not installed (.venv/bin/pip install bertopic): skipping its rows\n")

    for title, mask in (
        ("in-scope + oos noise (oos labelled 'oos')", np.ones(len(truth), bool)),
        ("in-scope only", in_scope),
    ):
        rows = mask.nonzero()[0]
        sub_texts, sub_vectors, sub_truth = [texts[i] for i in rows], vectors[rows], truth[rows]
        methods: list[Method] = [ours, kmeans_true_k(len(set(sub_truth.tolist())))]
        if have_bertopic:
            methods.append(bertopic)
        print(f"## {title}: {len(rows)} utterances, {len(set(sub_truth.tolist()))} labels")
        print(f"| {'method':48s} | NMI   | ARI   | themes | unthemed | seconds |")
        print(f"| {'-' * 48} | ----- | ----- | ------ | -------- | ------- |")
        for method in methods:
            start = time.perf_counter()
            labelings = method(sub_texts, sub_vectors)
            seconds = time.perf_counter() - start
            for name, labels in labelings.items():
                nmi, ari, themes, unthemed = score(sub_truth, labels)
                row = f"| {name:48s} | {nmi:.3f} | {ari:.3f} | {themes:6d} | {unthemed:7.1%} | {seconds:7.1f} |"
                print(row, flush=True)
        print(f"\nshuffle stability (ARI between two row orders): {shuffle_stability(sub_vectors):.3f}\n")


if __name__ == "__main__":
    main()
