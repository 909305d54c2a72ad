"""How well are vague remarks told from specific problems and requests? Precision and recall.

Reads ``benchmarks/data/vague_remarks.csv`` (text, label in {specific, vague}, source, split; see the
section "Vague remarks" in benchmarks/README.md for how it was made and labelled). Rows whose source is
``cfpb_payday_issues:complaint_id=N`` carry no text: it is read from the shared data in place (never
copied into the repo), and those rows are skipped when the shared data is absent.

The decision is `cluster.specificity.SpecificityJudge` with the real model; "positive" is *vague*.
Figures are printed per split: ``dev`` is the half looked at while tuning the rules and examples,
``test`` the half reported; with the stock-phrase filter alone (`cluster.prepare.is_actionable`, what
ran before) as the baseline.

Usage:
    python benchmarks/vague_remarks.py [--data-dir ../shared/data] [--errors dev|test]
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from theme_labels import DEFAULT_CACHE_DIR, DEFAULT_DATA_DIR, CachedEncoder  # noqa: E402

from backlog_bridge.cluster.prepare import is_actionable  # noqa: E402
from backlog_bridge.cluster.specificity import SpecificityJudge  # noqa: E402

LABELLED = Path(__file__).resolve().parent / "data" / "vague_remarks.csv"
CFPB = "cfpb_payday_issues"


def load(data_dir: Path) -> list[dict[str, str]]:
    """The labelled rows, CFPB references resolved to their text (dropped when the data is absent)."""
    with LABELLED.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    path = data_dir / CFPB / f"{CFPB}.csv"
    texts: dict[str, str] = {}
    if path.is_file():
        with path.open(newline="", encoding="utf-8") as fh:
            texts = {r["complaint_id"]: r["text"] for r in csv.DictReader(fh)}
    kept = []
    for row in rows:
        if row["source"].startswith(f"{CFPB}:"):
            complaint = row["source"].split("complaint_id=", 1)[1]
            if complaint not in texts:
                continue
            row = {**row, "text": texts[complaint]}
        kept.append(row)
    return kept


def scores(gold: Sequence[bool], said: Sequence[bool]) -> tuple[float, float, float, int]:
    """Precision, recall, F1 of the vague class, and the number of rows."""
    tp = sum(g and s for g, s in zip(gold, said, strict=True))
    fp = sum(s and not g for g, s in zip(gold, said, strict=True))
    fn = sum(g and not s for g, s in zip(gold, said, strict=True))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1, len(gold)


def main() -> None:
    """Print precision and recall of the vague decision per split and source."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR)
    parser.add_argument("--errors", choices=["dev", "test"], help="Also list the rows decided wrongly.")
    args = parser.parse_args()
    rows = load(args.data_dir)
    encoder = CachedEncoder(args.cache_dir / "phrases.npz")
    try:
        said = SpecificityJudge(encoder.encode).vague([r["text"] for r in rows])
    finally:
        encoder.save()
    baseline = [not is_actionable(r["text"]) for r in rows]
    gold = [r["label"] == "vague" for r in rows]
    print(f"{len(rows)} labelled comments ({sum(gold)} vague); positive class = vague")
    print("| split | rows | method | precision | recall | F1 |")
    print("| --- | --- | --- | --- | --- | --- |")
    for split in ("dev", "test", "all"):
        picked = [i for i, r in enumerate(rows) if split == "all" or r["split"] == split]
        for name, decided in (("specificity judge", said), ("stock phrases only (before)", baseline)):
            p, r, f, n = scores([gold[i] for i in picked], [decided[i] for i in picked])
            print(f"| {split} | {n} | {name} | {p:.3f} | {r:.3f} | {f:.3f} |")
    for source in sorted({r["source"].split(":")[0] for r in rows}):
        picked = [i for i, r in enumerate(rows) if r["source"].split(":")[0] == source and r["split"] == "test"]
        wrong = sum(said[i] != gold[i] for i in picked)
        print(f"test, {source}: {len(picked)} rows, {wrong} decided wrongly")
    if args.errors:
        print(f"\nwrong on {args.errors}:")
        for i, row in enumerate(rows):
            if row["split"] == args.errors and said[i] != gold[i]:
                print(f"  gold {row['label']:8} said {'vague' if said[i] else 'specific':8} {row['text'][:100]!r}")


if __name__ == "__main__":
    main()
