"""Classify NPS responses and compute NPS with an honest confidence interval (pure: no IO).

Promoters score 9-10, passives 7-8, detractors 0-6; NPS = %promoters - %detractors, in points
from -100 to +100. Intervals use the adjusted-Wald method of Rocks (2016, The American
Statistician 70(3)): add 3 to n and 0.75 to the promoter and detractor counts before the
usual Wald formula, which keeps coverage close to 95% even for small samples and extreme NPS.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from statistics import NormalDist
from typing import Literal

Z_95 = 1.959963984540054
"""Two-sided 95% quantile of the standard normal distribution."""


class Category(StrEnum):
    """The NPS bucket a response falls into."""

    PROMOTER = "promoter"
    PASSIVE = "passive"
    DETRACTOR = "detractor"


def categorise(score: int) -> Category:
    """Bucket a 0-10 likelihood-to-recommend score.

    >>> categorise(9), categorise(7), categorise(6)
    (<Category.PROMOTER: 'promoter'>, <Category.PASSIVE: 'passive'>, <Category.DETRACTOR: 'detractor'>)
    """
    if not 0 <= score <= 10:
        raise ValueError(f"NPS score must be an integer from 0 to 10, got {score!r}")
    if score >= 9:
        return Category.PROMOTER
    if score >= 7:
        return Category.PASSIVE
    return Category.DETRACTOR


@dataclass(frozen=True)
class NpsCounts:
    """Counts of each bucket in a group of responses."""

    promoters: int = 0
    passives: int = 0
    detractors: int = 0

    @classmethod
    def from_scores(cls, scores: Iterable[int]) -> NpsCounts:
        """Count the buckets of an iterable of 0-10 scores."""
        p = pa = d = 0
        for score in scores:
            category = categorise(score)
            if category is Category.PROMOTER:
                p += 1
            elif category is Category.PASSIVE:
                pa += 1
            else:
                d += 1
        return cls(p, pa, d)

    @property
    def n(self) -> int:
        """Number of responses."""
        return self.promoters + self.passives + self.detractors

    def __add__(self, other: NpsCounts) -> NpsCounts:
        return NpsCounts(
            self.promoters + other.promoters,
            self.passives + other.passives,
            self.detractors + other.detractors,
        )


@dataclass(frozen=True)
class NpsEstimate:
    """NPS of a group in points, with its 95% adjusted-Wald interval."""

    counts: NpsCounts
    nps: float
    low: float
    high: float
    std_error: float
    """Standard error of the adjusted estimate, in points (used for comparisons)."""
    adjusted_nps: float
    """Centre of the adjusted-Wald interval, in points."""


def nps_points(counts: NpsCounts) -> float:
    """Plain NPS in points; 0.0 for an empty group (callers flag empty groups separately)."""
    if counts.n == 0:
        return 0.0
    return 100.0 * (counts.promoters - counts.detractors) / counts.n


def estimate(counts: NpsCounts, z: float = Z_95) -> NpsEstimate:
    """NPS with its adjusted-Wald confidence interval (Rocks 2016).

    Example: 60 promoters, 25 passives and 15 detractors give NPS +45 with an interval of about
    [+29.3, +58.0] (centred on the adjusted +43.7).
    """
    n_adj = counts.n + 3
    p_adj = (counts.promoters + 0.75) / n_adj
    d_adj = (counts.detractors + 0.75) / n_adj
    centre = p_adj - d_adj
    variance = (p_adj + d_adj - centre**2) / n_adj
    se = math.sqrt(max(variance, 0.0))
    low = max(-1.0, centre - z * se)
    high = min(1.0, centre + z * se)
    return NpsEstimate(
        counts=counts,
        nps=nps_points(counts),
        low=100.0 * low,
        high=100.0 * high,
        std_error=100.0 * se,
        adjusted_nps=100.0 * centre,
    )


@dataclass(frozen=True)
class NpsChange:
    """Difference between two independent groups' NPS (later minus earlier) and its test."""

    delta: float
    low: float
    high: float
    z: float
    p_value: float

    @property
    def significant(self) -> bool:
        """True when the 95% interval of the difference excludes zero."""
        return self.low > 0 or self.high < 0


def compare(earlier: NpsCounts, later: NpsCounts, z: float = Z_95) -> NpsChange:
    """Adjusted-Wald interval and two-sided z-test for the change in NPS between two groups."""
    a, b = estimate(earlier, z), estimate(later, z)
    se = math.hypot(a.std_error, b.std_error)
    diff_adj = b.adjusted_nps - a.adjusted_nps
    z_stat = diff_adj / se if se > 0 else 0.0
    p_value = math.erfc(abs(z_stat) / math.sqrt(2.0))
    return NpsChange(delta=b.nps - a.nps, low=diff_adj - z * se, high=diff_adj + z * se, z=z_stat, p_value=p_value)


def z_for(confidence: float) -> float:
    """Two-sided normal quantile for a confidence level (0.95 -> 1.96)."""
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


Period = Literal["week", "month", "quarter"]


def period_key(moment: datetime, period: Period) -> str:
    """Label of the calendar period holding `moment`: 2026-W09, 2026-03 or 2026-Q1 (sortable)."""
    if period == "week":
        year, week, _ = moment.isocalendar()
        return f"{year}-W{week:02d}"
    if period == "month":
        return f"{moment.year}-{moment.month:02d}"
    return f"{moment.year}-Q{(moment.month - 1) // 3 + 1}"


@dataclass(frozen=True)
class NpsGroup:
    """NPS of one group (a segment value, or "all") in one period (or overall)."""

    group: str
    period: str | None
    estimate: NpsEstimate
    too_small: bool
    change: NpsChange | None = None
    """Change against the same group's previous period; None for the first period."""


def nps_breakdown(
    responses: Iterable[tuple[int, datetime, str]],
    period: Period | None = None,
    min_group_size: int = 30,
    z: float = Z_95,
) -> list[NpsGroup]:
    """NPS per group and period, each with its interval and its change from the previous period.

    Args:
        responses: (score, responded_at, group) triples; group is "all" when not broken down.
        period: calendar period to split by, or None for one figure per group.
        min_group_size: groups smaller than this are flagged `too_small`.
        z: normal quantile of the confidence level.
    """
    buckets: dict[tuple[str, str | None], list[int]] = defaultdict(list)
    for score, moment, group in responses:
        key = period_key(moment, period) if period else None
        buckets[(group, key)].append(score)
    out: list[NpsGroup] = []
    previous: dict[str, NpsCounts] = {}
    for group, key in sorted(buckets, key=lambda item: (item[0], item[1] or "")):
        counts = NpsCounts.from_scores(buckets[(group, key)])
        earlier = previous.get(group)
        change = compare(earlier, counts, z) if earlier is not None else None
        out.append(NpsGroup(group, key, estimate(counts, z), counts.n < min_group_size, change))
        previous[group] = counts
    return out
