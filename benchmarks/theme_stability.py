"""Theme stability of the real theme stage (`update_themes`) on CLINC150 comments.

Usage:
    .venv/bin/python benchmarks/theme_stability.py [--data-dir ../shared/data/clinc150] [--cache-dir /tmp/...]

Targets (issue "themes: stability and speed"):
  (a) shuffle: the same comments imported in a different row order and with a different response-id
      order, each into a fresh SQLite store and themed by a cold run (empty embedding cache), give
      the same themes: ARI >= 0.95 between the two runs' theme assignments (unthemed = one cluster).
  (b) growth: themes are found on 90% of the comments, the other 10% are imported and the stage runs
      again: >= 95% of the comments that had a theme keep the same theme id.
Both run with the real embedding model. (a) is also run with precomputed vectors handed out
identically in both runs (`LookupEmbedder`), which separates embedding noise from clustering.
Exits 0 whether targets are met or not.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import numpy as np
from sklearn.metrics import adjusted_rand_score

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlmodel import Session, select  # noqa: E402

from backlog_bridge.context import AnalysisWindow  # noqa: E402
from backlog_bridge.embed.embedder import Embedder  # noqa: E402
from backlog_bridge.settings import ThemeSettings  # noqa: E402
from backlog_bridge.store.tables import EmbeddingCache  # noqa: E402
from backlog_bridge.themes import ThemeRunSummary, update_themes  # noqa: E402
from benchmarks._common import (  # noqa: E402
    DEFAULT_CACHE_DIR,
    DEFAULT_DATA_DIR,
    NOW,
    Comment,
    LookupEmbedder,
    embed,
    fresh_store,
    ingest,
    load,
    make_comments,
    print_table,
    real_embedder,
    theme_of,
)

ARI_TARGET = 0.95
KEEP_TARGET = 0.95


def cold_run(
    comments: Sequence[Comment], embedder: Embedder, settings: ThemeSettings
) -> tuple[dict[int, int | None], dict[str, bytes], ThemeRunSummary, float]:
    """Import into a fresh store, theme once; each comment's theme by CLINC row, the cached vectors."""
    with tempfile.TemporaryDirectory(prefix="bb-stability-") as tmp:
        engine = fresh_store(Path(tmp))
        ingest(engine, Path(tmp), "all", comments)
        start = time.perf_counter()
        summary = update_themes(engine, embedder, settings, AnalysisWindow(NOW, settings.window_days))
        seconds = time.perf_counter() - start
        by_id = theme_of(engine)
        with Session(engine) as session:
            cache = {row.text_hash: row.vector for row in session.exec(select(EmbeddingCache))}
        engine.dispose()
    return {c.index: by_id.get(c.external_id) for c in comments}, cache, summary, seconds


def shuffled(comments: Sequence[Comment], seed: int) -> list[Comment]:
    """The same comments (text, score, date) in another row order with another response-id order."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(comments))
    ids = rng.permutation(len(comments))
    return [
        Comment(comments[i].index, f"S{ids[i] + 1:06d}", comments[i].score, comments[i].responded_at,
                comments[i].text)
        for i in order
    ]  # fmt: skip


def assignment_ari(first: dict[int, int | None], second: dict[int, int | None]) -> float:
    """ARI over all comments; unthemed (None) counts as one more cluster."""
    keys = sorted(first)
    a = [-1 if first[k] is None else first[k] for k in keys]
    b = [-1 if second[k] is None else second[k] for k in keys]
    return float(adjusted_rand_score(a, b))


def shuffle_test(
    comments: Sequence[Comment], embedder: Embedder, settings: ThemeSettings, title: str
) -> tuple[float, float]:
    """Two cold runs (original, shuffled); returns ARI and the share of bitwise-equal cached vectors."""
    first, cache_a, sum_a, sec_a = cold_run(comments, embedder, settings)
    second, cache_b, sum_b, sec_b = cold_run(shuffled(comments, seed=1), embedder, settings)
    ari = assignment_ari(first, second)
    same = float(np.mean([cache_a[k] == cache_b.get(k) for k in cache_a])) if cache_a else 1.0
    print(f"## (a) shuffle, {title}")
    for name, s, sec in (("original order", sum_a, sec_a), ("shuffled", sum_b, sec_b)):
        print(
            f"  {name:15s}: {s.active_themes} themes, {s.themed} themed, {s.unthemed} unthemed "
            f"({s.unthemed_share:.1%}), {s.not_actionable} not actionable, {sec:.1f} s"
        )
    print(f"  ARI {ari:.3f}; cached vectors bitwise identical across the runs: {same:.1%}\n")
    return ari, same


def growth_test(
    comments: Sequence[Comment], embedder: Embedder, settings: ThemeSettings, share: float = 0.1
) -> tuple[float, float]:
    """Theme 90%, add 10% dated after the first run, theme again; returns (kept same id, kept via merges)."""
    rng = np.random.default_rng(2)
    late = set(rng.choice(len(comments), size=round(share * len(comments)), replace=False).tolist())
    early = [c for c in comments if c.index not in late]
    later_now = NOW + timedelta(days=1)
    # The new comments arrive during the day between the two runs.
    offsets = rng.uniform(60, 86400 - 60, size=len(late))
    new = [
        Comment(c.index, c.external_id, c.score, later_now - timedelta(seconds=float(o)), c.text)
        for c, o in zip((c for c in comments if c.index in late), offsets, strict=True)
    ]
    with tempfile.TemporaryDirectory(prefix="bb-growth-") as tmp:
        engine = fresh_store(Path(tmp))
        ingest(engine, Path(tmp), "first", early)
        first_summary = update_themes(engine, embedder, settings, AnalysisWindow(NOW, settings.window_days))
        before = theme_of(engine)
        ingest(engine, Path(tmp), "second", new)
        start = time.perf_counter()
        summary = update_themes(engine, embedder, settings, AnalysisWindow(later_now, settings.window_days))
        seconds = time.perf_counter() - start
        after = theme_of(engine)
        engine.dispose()
    members = [eid for eid, tid in before.items() if tid is not None]
    kept = sum(1 for eid in members if after.get(eid) == before[eid])
    # A merge moves an absorbed theme's members to the survivor: count those as kept too.
    survivor = dict(summary.merged)
    kept_merged = sum(1 for eid in members if after.get(eid) == survivor.get(before[eid], before[eid]))
    lost = sum(1 for eid in members if after.get(eid) is None)
    new_themed = sum(1 for c in new if after.get(c.external_id) is not None)
    print(f"## (b) growth: {len(early)} comments themed, then {len(new)} more")
    print(
        f"  first run: {first_summary.active_themes} themes, {len(members)} comments themed "
        f"({first_summary.unthemed_share:.1%} unthemed)"
    )
    print(
        f"  second run ({seconds:.1f} s): {summary.active_themes} themes, born {len(summary.born)}, "
        f"merged {len(summary.merged)}, retired {len(summary.retired)}; {summary.embedded} embedded"
    )
    print(
        f"  earlier members: {kept}/{len(members)} same theme id, {kept_merged} counting merges, "
        f"{lost} lost their theme; new comments themed: {new_themed}/{len(new)}\n"
    )
    return kept / max(len(members), 1), kept_merged / max(len(members), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR)
    args = parser.parse_args()

    texts, _, key = load(args.data_dir)
    comments = make_comments(texts, seed=0)
    settings = ThemeSettings()
    model = real_embedder()
    lookup = LookupEmbedder(texts, embed(texts, key, args.cache_dir), fallback=model)
    print(f"{len(comments)} CLINC150 comments (test + oos), all detractor/passive, in one 90-day window\n")

    ari, same = shuffle_test(comments, model, settings, "real model (cold cache each)")  # type: ignore[arg-type]
    ari_lookup, _ = shuffle_test(comments, lookup, settings, "precomputed vectors (identical bytes)")
    kept, kept_merged = growth_test(comments, model, settings)  # type: ignore[arg-type]

    print_table(
        [
            ("(a) shuffle ARI, real model", f"{ari:.3f}", f">= {ARI_TARGET}", ari >= ARI_TARGET),
            ("(a') shuffle ARI, identical vectors", f"{ari_lookup:.3f}", f">= {ARI_TARGET}", ari_lookup >= ARI_TARGET),
            ("    vectors bitwise equal across runs", f"{same:.1%}", "(diagnostic)", True),
            ("(b) +10%: earlier members same theme id", f"{kept:.1%}", f">= {KEEP_TARGET:.0%}", kept >= KEEP_TARGET),
            ("    same theme following merges", f"{kept_merged:.1%}", "(diagnostic)", True),
        ]
    )


if __name__ == "__main__":
    main()
