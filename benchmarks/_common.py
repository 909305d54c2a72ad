"""Shared parts of the theme benchmarks: CLINC150 loading, the embedding cache, stores fed through the importer.

The CLINC150 texts become detractor/passive comments (score 0-8, a date inside the theme window, a
response id), are written to a CSV and imported with the real importer into a fresh SQLite store, so
`update_themes` runs exactly as it does for a user.
"""

from __future__ import annotations

import csv
import hashlib
import os
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine  # noqa: E402
from sqlmodel import Session, col, select  # noqa: E402

from backlog_bridge.ingest.importer import import_file  # noqa: E402
from backlog_bridge.settings import IngestSettings  # noqa: E402
from backlog_bridge.store.db import open_store  # noqa: E402
from backlog_bridge.store.tables import Response, ThemeMember  # noqa: E402

SHARED_DATA_DIR = ROOT.parent / "shared" / "data"
DEFAULT_DATA_DIR = SHARED_DATA_DIR / "clinc150"
ADDED_DATA_DIR = ROOT / "benchmarks" / "data"
DEFAULT_CACHE_DIR = Path("/tmp/backlog_bridge-bench")
MODEL = "all-MiniLM-L6-v2"
SOURCE = "bench"
# Fixed clock: every comment is dated inside the 90-day window that ends here.
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def load(data_dir: Path) -> tuple[list[str], np.ndarray, str]:
    """CLINC150 test + oos texts, their labels, and a hash of the files (the embedding cache key)."""
    texts, labels, digest = [], [], hashlib.sha256()
    for name in ("test.csv", "oos_test.csv"):
        path = data_dir / name
        digest.update(path.read_bytes())
        with path.open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                texts.append(row["text"])
                labels.append(row["label"])
    return texts, np.array(labels), digest.hexdigest()[:16]


def embed(texts: list[str], key: str, cache_dir: Path, prefix: str = "clinc150") -> np.ndarray:
    """all-MiniLM-L6-v2 vectors of `texts`, from a .npy cache keyed by `key` when present."""
    cache = cache_dir / f"{prefix}-{key}-all-MiniLM-L6-v2.npy"
    if cache.is_file():
        return np.load(cache)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from backlog_bridge.embed.sentence_transformers import SentenceTransformerEmbedder

    vectors = SentenceTransformerEmbedder(batch_size=128, show_progress=True).encode(texts)
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.save(cache, vectors)
    return vectors


def real_embedder(batch_size: int = 64) -> object:
    """The real sentence-transformers embedder on CPU (the model is loaded once, here)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from backlog_bridge.embed.sentence_transformers import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(device="cpu", batch_size=batch_size)


class LookupEmbedder:
    """An `Embedder` answering from precomputed vectors (same model name), counting what it was asked."""

    def __init__(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        self.name = MODEL
        self.dim = int(vectors.shape[1])
        self._by_text = {text: vectors[i] for i, text in enumerate(texts)}
        self.asked = 0

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Vectors of `texts`; every text must be one of the precomputed ones."""
        self.asked += len(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._by_text[t] for t in texts]).astype(np.float32)


@dataclass(frozen=True)
class LabelledSet:
    """A development set: texts with the topic each belongs to, and where it came from."""

    name: str
    texts: list[str]
    labels: np.ndarray
    source: str

    def vectors(self, cache_dir: Path) -> np.ndarray:
        """all-MiniLM-L6-v2 vectors of the texts (cached by a hash of the texts)."""
        key = hashlib.sha256("\n".join(self.texts).encode("utf-8")).hexdigest()[:16]
        return embed(self.texts, key, cache_dir, prefix="set")

    def subset(self, rows: np.ndarray, name: str) -> LabelledSet:
        """The rows `rows` of this set, under another name."""
        return LabelledSet(name, [self.texts[i] for i in rows], self.labels[rows], self.source)


def development_sets(shared: Path = SHARED_DATA_DIR, added: Path = ADDED_DATA_DIR) -> list[LabelledSet]:
    """Every labelled set: each CSV (`text,label`) under `shared` and `added`, CLINC150 in two forms, the sample.

    CLINC150 is read as the shared README describes it (in-scope + out-of-scope noise, and in-scope
    only); the bundled sample's themed comments are labelled by its generator.
    """
    sets: list[LabelledSet] = []
    clinc = shared / "clinc150"
    if (clinc / "test.csv").is_file():
        texts, labels, _ = load(clinc)
        mixed = LabelledSet("clinc150 (in-scope + oos)", texts, labels, str(clinc))
        sets += [mixed, mixed.subset(np.flatnonzero(labels != "oos"), "clinc150 (in-scope)")]
    for folder in (shared, added):
        for path in sorted(folder.glob("*/*.csv")) if folder.is_dir() else []:
            if path.parent.name == "clinc150":
                continue
            texts, labels = read_labelled_csv(path)
            sets.append(LabelledSet(path.stem, texts, np.array(labels), str(path)))
    sets.append(sample_set())
    return sets


def read_labelled_csv(path: Path) -> tuple[list[str], list[str]]:
    """Texts and labels of a `text,label` CSV (other columns ignored; empty texts skipped)."""
    texts, labels = [], []
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["text"].strip():
                texts.append(row["text"])
                labels.append(row["label"])
    return texts, labels


def sample_set() -> LabelledSet:
    """The bundled sample's detractor and passive comments that name a problem, labelled by the generator."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import make_sample_data  # type: ignore[import-not-found]

    texts, labels = [], []
    for response in make_sample_data.generate():
        if response.score <= 8 and response.kind == "theme" and response.comment_theme:
            texts.append(response.comment)
            labels.append(response.comment_theme)
    return LabelledSet("bundled sample (themed comments)", texts, np.array(labels), "scripts/make_sample_data.py")


@dataclass(frozen=True)
class Comment:
    """One synthetic survey response made from a CLINC150 utterance."""

    index: int
    """Row in the CLINC150 list (the key every comparison uses)."""
    external_id: str
    score: int
    responded_at: datetime
    text: str


def make_comments(
    texts: Sequence[str], seed: int = 0, now: datetime = NOW, days: tuple[int, int] = (1, 80)
) -> list[Comment]:
    """Each text as a detractor/passive response: score 0-8, dated `days` before `now`, id R000001..."""
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 9, size=len(texts))
    offsets = rng.uniform(days[0] * 86400, days[1] * 86400, size=len(texts))
    return [
        Comment(i, f"R{i + 1:06d}", int(scores[i]), now - timedelta(seconds=float(offsets[i])), text)
        for i, text in enumerate(texts)
    ]


def write_csv(path: Path, comments: Sequence[Comment]) -> Path:
    """A survey export the importer reads (response_id, responded_at, score, comment)."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["response_id", "responded_at", "score", "comment"])
        for c in comments:
            stamp = c.responded_at.strftime("%Y-%m-%dT%H:%M:%SZ")
            writer.writerow([c.external_id, stamp, c.score, c.text])
    return path


def fresh_store(folder: Path) -> Engine:
    """A new, migrated SQLite store in `folder`."""
    return open_store(f"sqlite:///{folder / 'store.db'}")


def ingest(engine: Engine, folder: Path, name: str, comments: Sequence[Comment]) -> None:
    """Write `comments` as `name`.csv in `folder` and import it with the real importer."""
    result = import_file(engine, write_csv(folder / f"{name}.csv", comments), IngestSettings(), source=SOURCE)
    if result.error or result.new != len(comments):
        raise RuntimeError(f"import of {name}: {result}")


def theme_of(engine: Engine) -> dict[str, int | None]:
    """Theme id (None: unthemed or not actionable) of every response, by external id."""
    query = select(Response.external_id, ThemeMember.theme_id).join(
        ThemeMember, col(ThemeMember.response_id) == col(Response.id)
    )
    with Session(engine) as session:
        return {str(eid): tid for eid, tid in session.exec(query)}


@contextmanager
def timed(into: dict[str, float], name: str) -> Iterator[None]:
    """Add the wall time of the block to `into[name]`."""
    start = time.perf_counter()
    try:
        yield
    finally:
        into[name] = into.get(name, 0.0) + time.perf_counter() - start


def verdict(ok: bool) -> str:
    """PASS or MISS."""
    return "PASS" if ok else "MISS"


def print_table(rows: Sequence[tuple[str, str, str, bool]]) -> None:
    """Figures as a markdown table: (figure, value, target, met)."""
    width = max(len(r[0]) for r in rows)
    print(f"| {'figure':{width}s} | value        | target         | result |")
    print(f"| {'-' * width} | ------------ | -------------- | ------ |")
    for name, value, target, ok in rows:
        print(f"| {name:{width}s} | {value:12s} | {target:14s} | {verdict(ok):6s} |")
