"""Do theme labels name their theme? Label retrieval on each development set, and labels to read.

For each set (CLINC150 test, the CFPB payday-loan complaints, the bundled sample's detractor and
passive comments that name a reason) the texts are embedded, clustered with the current
`SklearnClusterer` (default parameters), and described by `cluster.label.describe_themes` with the
real model as phrase encoder. The check: embed each label and find the nearest theme centre; a label
passes when that is its own theme's. The share of passing themes is printed for the phrase labels and,
as the baseline, for the c-TF-IDF labels (no encoder), with 10 labels of the largest themes (and the
commonest gold label of their members, where the set has one) to read.

Usage:
    python benchmarks/theme_labels.py [--data-dir ../shared/data] [--cache-dir /tmp/backlog_bridge-labels]

Embeddings of texts, phrases and labels are cached under the cache folder (.npy / .npz), so a rerun
embeds nothing. The shared data is read in place, never copied.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from backlog_bridge.classify import Category, categorise  # noqa: E402
from backlog_bridge.cluster.clusterer import UNTHEMED, ClusterResult  # noqa: E402
from backlog_bridge.cluster.label import describe_themes  # noqa: E402
from backlog_bridge.cluster.prepare import is_actionable  # noqa: E402
from backlog_bridge.cluster.sklearn import SklearnClusterer  # noqa: E402
from backlog_bridge.cluster.specificity import SpecificityJudge  # noqa: E402
from backlog_bridge.plan.redact import Redactor  # noqa: E402

DEFAULT_DATA_DIR = ROOT.parent / "shared" / "data"
DEFAULT_CACHE_DIR = Path("/tmp/backlog_bridge-labels")
SAMPLE = ROOT / "backlog_bridge" / "data" / "sample_nps.csv"
Vectors = npt.NDArray[np.float32]


class CachedEncoder:
    """The real model behind a text -> vector dict kept in one .npz file (phrases recur across runs)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.vectors: dict[str, np.ndarray] = {}
        self.model: object | None = None
        self.computed = 0
        if path.is_file():
            data = np.load(path, allow_pickle=False)
            self.vectors = dict(zip(data["texts"].tolist(), data["vectors"], strict=True))

    def encode(self, texts: Sequence[str]) -> Vectors:
        """Vectors of `texts` in order; only unseen texts reach the model."""
        missing = sorted({t for t in texts if t not in self.vectors})
        if missing:
            if self.model is None:
                from backlog_bridge.embed.sentence_transformers import SentenceTransformerEmbedder

                self.model = SentenceTransformerEmbedder(device="cpu")
            fresh = self.model.encode(missing)  # type: ignore[attr-defined]
            self.vectors.update(zip(missing, fresh, strict=True))
            self.computed += len(missing)
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        return np.stack([self.vectors[t] for t in texts]).astype(np.float32)

    def save(self) -> None:
        """Write the cache back (only when something new was embedded)."""
        if self.computed:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            texts = sorted(self.vectors)
            np.savez(self.path, texts=np.array(texts), vectors=np.stack([self.vectors[t] for t in texts]))


def embed_texts(texts: Sequence[str], name: str, encoder: CachedEncoder, cache_dir: Path) -> Vectors:
    """Vectors of a whole data set, cached as one .npy keyed by the texts' hash."""
    digest = hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest()[:16]
    path = cache_dir / f"{name}-{digest}.npy"
    if path.is_file():
        return np.load(path)
    started = time.perf_counter()
    vectors = encoder.encode(texts)
    print(f"  embedded {len(texts)} texts of {name} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def read_labelled(path: Path) -> tuple[list[str], list[str]]:
    """(texts, gold labels) of a `text,label` CSV."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [r["text"] for r in rows], [r["label"] for r in rows]


def sample_comments(encoder: CachedEncoder) -> tuple[list[str], list[str]]:
    """The sample's detractor and passive comments that the theme stage would cluster."""
    with SAMPLE.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    comments = [
        r["comment"]
        for r in rows
        if r["comment"] and categorise(int(r["score"])) in (Category.DETRACTOR, Category.PASSIVE)
    ]
    actionable = [c for c in comments if is_actionable(c)]
    vague = SpecificityJudge(encoder.encode).vague(actionable)
    return [c for c, v in zip(actionable, vague, strict=True) if not v], []


def retrieval(labels: Sequence[str], result: ClusterResult, encoder: CachedEncoder) -> float:
    """Share of themes whose label's nearest centre is their own."""
    if not labels:
        return 0.0
    nearest = np.argmax(encoder.encode(list(labels)) @ result.centroids.T, axis=1)
    return float(np.mean(nearest == np.arange(len(labels))))


def run_set(name: str, texts: list[str], gold: list[str], encoder: CachedEncoder, cache_dir: Path) -> None:
    """Cluster, label both ways, print the retrieval figures and ten labels."""
    redactor = Redactor.default()
    texts = [redactor.redact(t) for t in texts]
    vectors = embed_texts(texts, name, encoder, cache_dir)
    result = SklearnClusterer().fit(vectors)
    started = time.perf_counter()
    before = encoder.computed
    phrased = describe_themes(texts, vectors, result, encode=encoder.encode, placeholders=redactor.replacements)
    seconds = time.perf_counter() - started
    baseline = describe_themes(texts, vectors, result)
    new = retrieval([d.label for d in phrased], result, encoder)
    old = retrieval([d.label for d in baseline], result, encoder)
    themed = float(np.mean(result.labels != UNTHEMED))
    print(f"\n## {name}: {len(texts)} comments, {result.n_themes} themes, {themed:.0%} themed")
    print(f"label retrieval (own centre first): phrase labels {new:.1%}, c-TF-IDF labels {old:.1%}")
    print(f"labelling: {seconds:.1f} s, {encoder.computed - before} new phrases embedded")
    lengths = Counter(len(d.label.split()) for d in phrased)
    print("label length in words: " + ", ".join(f"{n}: {lengths[n]}" for n in sorted(lengths)))
    print("| size | phrase label | c-TF-IDF label | commonest gold label |")
    print("| --- | --- | --- | --- |")
    for new_d, old_d in list(zip(phrased, baseline, strict=True))[:10]:
        members = np.flatnonzero(result.labels == new_d.theme)
        top = Counter(gold[i] for i in members).most_common(1) if gold else []
        gold_text = f"{top[0][0]} ({top[0][1]}/{members.size})" if top else "-"
        print(f"| {new_d.size} | {new_d.label} | {old_d.label} | {gold_text} |")


def main() -> None:
    """Run every development set that is present."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR)
    parser.add_argument("--sets", nargs="*", default=["sample", "clinc150", "cfpb"])
    args = parser.parse_args()
    encoder = CachedEncoder(args.cache_dir / "phrases.npz")
    try:
        for name in args.sets:
            if name == "sample":
                texts, gold = sample_comments(encoder)
            else:
                relative = {"clinc150": "clinc150/test.csv", "cfpb": "cfpb_payday_issues/cfpb_payday_issues.csv"}
                path = args.data_dir / relative[name]
                if not path.is_file():
                    print(f"\n## {name}: skipped, {path} not found")
                    continue
                texts, gold = read_labelled(path)
            run_set(name, texts, gold, encoder, args.cache_dir)
    finally:
        encoder.save()


if __name__ == "__main__":
    main()
