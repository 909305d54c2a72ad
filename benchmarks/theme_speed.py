"""Theme stage speed: cold and incremental `update_themes` against the raw model, and clustering scale.

Usage:
    .venv/bin/python benchmarks/theme_speed.py [--sizes 12500 25000 50000 100000] [--repeats 2] [--quick]

Targets (issue "themes: stability and speed"), as ratios measured in this same process:
  (a) a cold run (fresh store, empty embedding cache) of `update_themes` on 99% of the CLINC150
      comments costs <= 1.15x `SentenceTransformerEmbedder(device="cpu").encode(texts)` of the same
      texts at the same batch size (model loaded once, before both; one warm-up encode).
  (b) the incremental run after importing the last 1% costs <= 5% of that cold run.
  (c) `SklearnClusterer().fit` on 100k synthetic comment vectors (CLINC150 embeddings resampled
      with small noise) takes <= 60 s and <= 4 GB peak RSS, and its time grows close to n log n:
      fitted exponent of t ~ n^b <= 1.25 and t(n)/(n log n), normalised to the smallest n, <= 1.5.
      Each size runs in its own subprocess; peak RSS is its VmHWM (whole process, vectors included).
(a) and (b) repeat `--repeats` times, the raw encode timed before and after each cold run, and
keep each figure's fastest. Each run's time is
split by stage (wrappers installed around the theme stage's functions for the measurement only).
Exits 0 whether targets are met or not.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import backlog_bridge.themes as themes_module  # noqa: E402
from backlog_bridge.cluster.sklearn import SklearnClusterer  # noqa: E402
from backlog_bridge.context import AnalysisWindow  # noqa: E402
from backlog_bridge.embed.cache import CachedEmbedder  # noqa: E402
from backlog_bridge.embed.embedder import Embedder  # noqa: E402
from backlog_bridge.settings import ThemeSettings  # noqa: E402
from benchmarks._common import (  # noqa: E402
    DEFAULT_CACHE_DIR,
    DEFAULT_DATA_DIR,
    NOW,
    Comment,
    embed,
    fresh_store,
    ingest,
    load,
    make_comments,
    print_table,
    real_embedder,
    timed,
)

COLD_TARGET = 1.15
INCREMENTAL_TARGET = 0.05
FIT_SECONDS_TARGET = 60.0
FIT_GB_TARGET = 4.0
EXPONENT_TARGET = 1.25
NLOGN_RATIO_TARGET = 1.5
NOISE = 0.3
"""Norm of the Gaussian noise added to a resampled CLINC vector before re-normalising (cosine ~0.96)."""

# Stages of one update_themes call, in call order: (label, owner, attribute).
_STAGES: list[tuple[str, Any, str]] = [
    ("read window comments", themes_module, "_window_comments"),
    ("embedding cache lookup", CachedEmbedder, "_lookup"),
    ("embedding cache store", CachedEmbedder, "_store"),
    ("known themes + previous members", themes_module, "_known_themes"),
    ("identity (assign, cluster, merge)", themes_module, "update_identity"),
    ("  of which SklearnClusterer.fit", SklearnClusterer, "fit"),
    ("labels (describe_themes)", themes_module, "_describe"),
    ("save themes + events", themes_module, "_save_themes"),
    ("save members", themes_module, "_save_members"),
    ("save counts", themes_module, "_save_counts"),
]
MODEL_ENCODE = "model encode (sentence-transformers)"
REST = "rest: key hashing, final commit, summary"


class TimedEmbedder:
    """Wraps the model so its encode time shows up in the stage split."""

    def __init__(self, inner: Any, times: dict[str, float]) -> None:
        self.inner, self.name, self.dim, self.times = inner, inner.name, inner.dim, times

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """The model's vectors, timed."""
        with timed(self.times, MODEL_ENCODE):
            return self.inner.encode(texts)  # type: ignore[no-any-return]


@contextmanager
def stage_timer(times: dict[str, float]) -> Iterator[None]:
    """Time each stage of `update_themes` into `times` while the block runs."""

    def wrap(label: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed_call(*args: Any, **kwargs: Any) -> Any:
            with timed(times, label):
                return function(*args, **kwargs)

        return timed_call

    saved = [(owner, name, getattr(owner, name)) for _, owner, name in _STAGES]
    for (label, owner, name), (_, _, original) in zip(_STAGES, saved, strict=True):
        setattr(owner, name, wrap(label, original))
    try:
        yield
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)


def timed_update(engine: Any, embedder: Any, now: Any) -> tuple[float, dict[str, float], Any]:
    """One `update_themes` call: wall seconds, seconds per stage, summary."""
    times: dict[str, float] = {}
    settings = ThemeSettings()
    window = AnalysisWindow(now, settings.window_days)
    with stage_timer(times):
        start = time.perf_counter()
        summary = themes_module.update_themes(engine, TimedEmbedder(embedder, times), settings, window)
        total = time.perf_counter() - start
    top = [label for label, _, _ in _STAGES if not label.startswith(" ")] + [MODEL_ENCODE]
    times[REST] = total - sum(times.get(label, 0.0) for label in top)
    return total, times, summary


def pipeline_runs(
    comments: Sequence[Comment], embedder: Embedder, repeats: int
) -> tuple[list[float], list[float], list[float], list[dict[str, float]], list[dict[str, float]], int]:
    """Per repeat: baseline encode, cold run on 99%, incremental run after adding 1%, baseline again."""
    rng = np.random.default_rng(3)
    late = set(rng.choice(len(comments), size=max(1, len(comments) // 100), replace=False).tolist())
    early = [c for c in comments if c.index not in late]
    later_now = NOW + timedelta(days=1)
    new = [
        Comment(c.index, c.external_id, c.score, later_now - timedelta(hours=1 + i % 20), c.text)
        for i, c in enumerate(c for c in comments if c.index in late)
    ]
    texts = [c.text for c in early]
    embedder.encode(texts[:256])  # warm-up: first-call allocations and thread pools
    baseline, cold, incremental, cold_parts, inc_parts = [], [], [], [], []
    for repeat in range(repeats):
        start = time.perf_counter()
        embedder.encode(texts)
        baseline.append(time.perf_counter() - start)
        before = baseline[-1]
        with tempfile.TemporaryDirectory(prefix="bb-speed-") as tmp:
            engine = fresh_store(Path(tmp))
            ingest(engine, Path(tmp), "first", early)
            seconds, parts, summary = timed_update(engine, embedder, NOW)
            cold.append(seconds)
            cold_parts.append(parts)
            ingest(engine, Path(tmp), "second", new)
            inc_seconds, inc_part, inc_summary = timed_update(engine, embedder, later_now)
            incremental.append(inc_seconds)
            inc_parts.append(inc_part)
            engine.dispose()
        start = time.perf_counter()
        embedder.encode(texts)
        baseline.append(time.perf_counter() - start)
        print(
            f"  repeat {repeat + 1}: encode {before:.2f}/{baseline[-1]:.2f} s | cold {seconds:.2f} s "
            f"({summary.embedded} embedded, {summary.active_themes} themes) | incremental {inc_seconds:.2f} s "
            f"({inc_summary.embedded} embedded, {len(inc_summary.born)} born)",
            flush=True,
        )
    return baseline, cold, incremental, cold_parts, inc_parts, len(new)


def print_parts(cold: dict[str, float], incremental: dict[str, float]) -> None:
    """Stage split of the fastest cold and incremental runs."""
    labels = [label for label, _, _ in _STAGES]
    labels.insert(3, MODEL_ENCODE)
    labels.append(REST)
    total_cold = sum(v for k, v in cold.items() if not k.startswith(" "))
    total_inc = sum(v for k, v in incremental.items() if not k.startswith(" "))
    print(f"| {'stage':40s} | cold s | share | incremental s | share |")
    print(f"| {'-' * 40} | ------ | ----- | ------------- | ----- |")
    for label in labels:
        c, i = cold.get(label, 0.0), incremental.get(label, 0.0)
        print(f"| {label:40s} | {c:6.2f} | {c / total_cold:5.1%} | {i:13.3f} | {i / total_inc:5.1%} |")
    print(f"| {'total':40s} | {total_cold:6.2f} |       | {total_inc:13.3f} |       |\n")


# --- (c) clustering at scale ---------------------------------------------------------------


def synthetic(base: np.ndarray, n: int, seed: int = 0) -> npt.NDArray[np.float32]:
    """`n` unit vectors: CLINC rows drawn with replacement plus Gaussian noise of norm ~`NOISE`."""
    rng = np.random.default_rng(seed)
    rows = base[rng.integers(0, len(base), size=n)].astype(np.float32)
    rows += rng.normal(0.0, NOISE / math.sqrt(base.shape[1]), size=rows.shape).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    return rows


def _vm_kib(field: str) -> int:
    """A `VmRSS`/`VmHWM` line of /proc/self/status in KiB (getrusage's ru_maxrss would include the
    parent's peak, which survives fork+exec on Linux)."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def fit_child(n: int, cache_dir: Path, data_dir: Path) -> None:
    """Subprocess body: build n vectors, time one fit, print a JSON line with time and peak RSS."""
    texts, _, key = load(data_dir)
    vectors = synthetic(embed(texts, key, cache_dir), n)
    before = _vm_kib("VmRSS")
    start = time.perf_counter()
    result = SklearnClusterer().fit(vectors)
    seconds = time.perf_counter() - start
    peak = _vm_kib("VmHWM")
    print(
        json.dumps(
            {
                "n": n,
                "seconds": seconds,
                "peak_mb": peak / 1024,
                "before_fit_mb": before / 1024,
                "themes": result.n_themes,
                "unthemed": result.unthemed_share,
            }
        )
    )


def scale_runs(sizes: Sequence[int], cache_dir: Path, data_dir: Path) -> list[dict[str, Any]]:
    """One subprocess per size, smallest first."""
    results = []
    for n in sorted(sizes):
        command = [sys.executable, __file__, "--fit-child", str(n), "--cache-dir", str(cache_dir)]
        command += ["--data-dir", str(data_dir)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(f"  n={n}: child failed ({done.returncode}): {done.stderr[-2000:]}")
            continue
        row = json.loads(done.stdout.strip().splitlines()[-1])
        results.append(row)
        print(
            f"  n={n:>7,}: fit {row['seconds']:6.1f} s, peak RSS {row['peak_mb']:7.0f} MB "
            f"(before fit {row['before_fit_mb']:.0f} MB), {row['themes']} themes, "
            f"{row['unthemed']:.1%} unthemed",
            flush=True,
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR)
    parser.add_argument("--sizes", type=int, nargs="+", default=[12_500, 25_000, 50_000, 100_000])
    parser.add_argument("--repeats", type=int, default=2, help="repeats of (a) and (b); the fastest counts")
    parser.add_argument("--quick", action="store_true", help="sizes 12.5k-50k and one repeat (about 2 min)")
    parser.add_argument("--fit-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fit_child:
        fit_child(args.fit_child, args.cache_dir, args.data_dir)
        return
    if args.quick:
        args.sizes = [n for n in args.sizes if n <= 50_000] or args.sizes[:1]
        args.repeats = 1

    texts, _, _ = load(args.data_dir)
    comments = make_comments(texts, seed=0)
    model = real_embedder(batch_size=64)
    print(f"## (a, b) update_themes on {len(comments)} CLINC150 comments, batch size 64, CPU")
    baseline, cold, incremental, cold_parts, inc_parts, n_new = pipeline_runs(comments, model, args.repeats)  # type: ignore[arg-type]
    best_base, best_cold = min(baseline), min(cold)
    best_inc = min(incremental)
    parts = cold_parts[int(np.argmin(cold))]
    # Contention-free view of (a): what the run adds on top of its own model encode.
    overhead = (best_cold - parts[MODEL_ENCODE]) / parts[MODEL_ENCODE]
    print()
    print_parts(parts, inc_parts[int(np.argmin(incremental))])

    print(f"## (c) SklearnClusterer().fit on synthetic vectors (noise norm {NOISE}), one subprocess each")
    scale = scale_runs(args.sizes, args.cache_dir, args.data_dir)
    rows: list[tuple[str, str, str, bool]] = [
        ("(a) cold run / raw encode", f"{best_cold / best_base:.2f}x", f"<= {COLD_TARGET}x",
         best_cold / best_base <= COLD_TARGET),
        ("    cold run, raw encode (s)", f"{best_cold:.1f} / {best_base:.1f}", "(figures)", True),
        (f"(b) incremental (+{n_new}) / cold run", f"{best_inc / best_cold:.1%}", f"<= {INCREMENTAL_TARGET:.0%}",
         best_inc / best_cold <= INCREMENTAL_TARGET),
        ("    incremental run (s)", f"{best_inc:.2f}", "(figure)", True),
        ("    cold run outside model encode", f"{overhead:.1%}", "(diagnostic)", True),
    ]  # fmt: skip
    if scale:
        n = np.array([r["n"] for r in scale], dtype=float)
        t = np.array([r["seconds"] for r in scale], dtype=float)
        nlogn = t / (n * np.log(n))
        nlogn /= nlogn[0]
        for r, ratio in zip(scale, nlogn, strict=True):
            label = f"(c) fit n={r['n'] // 1000}k" if r["n"] % 1000 == 0 else f"(c) fit n={r['n']}"
            rows.append((f"{label}: seconds", f"{r['seconds']:.1f}", "(figure)", True))
            rows.append((f"{label}: peak RSS", f"{r['peak_mb'] / 1024:.2f} GB", "(figure)", True))
            rows.append((f"{label}: t/(n log n), norm.", f"{ratio:.2f}", "(figure)", True))
        largest = scale[-1]
        if largest["n"] >= 100_000:
            rows.append(("(c) fit 100k: seconds", f"{largest['seconds']:.1f}", f"<= {FIT_SECONDS_TARGET:.0f}",
                         largest["seconds"] <= FIT_SECONDS_TARGET))  # fmt: skip
            gb = largest["peak_mb"] / 1024
            rows.append(("(c) fit 100k: peak RSS", f"{gb:.2f} GB", f"<= {FIT_GB_TARGET:.0f} GB", gb <= FIT_GB_TARGET))
        if len(scale) >= 2:
            exponent = float(np.polyfit(np.log(n), np.log(t), 1)[0])
            rows.append(("(c) fitted exponent b, t ~ n^b", f"{exponent:.2f}", f"<= {EXPONENT_TARGET}",
                         exponent <= EXPONENT_TARGET))  # fmt: skip
            rows.append((f"(c) t/(n log n) at {int(n[-1]):,} vs {int(n[0]):,}", f"{nlogn[-1]:.2f}",
                         f"<= {NLOGN_RATIO_TARGET}", nlogn[-1] <= NLOGN_RATIO_TARGET))  # fmt: skip
    print()
    print_table(rows)


if __name__ == "__main__":
    main()
