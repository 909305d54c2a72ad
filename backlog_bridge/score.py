"""Score how many NPS points a feedback theme puts at stake, and how sure we are (pure: no IO).

The impact of a theme is what NPS would gain if the theme's respondents were removed:
``impact = NPS(all) - NPS(everyone else) = (k/N) * (T - E)`` in points, where ``k`` of ``N``
respondents mention the theme, ``T`` is their NPS and ``E`` the NPS of everyone else. A negative
impact means the theme drags NPS down.

Uncertainty comes from one of two sampling models (see `Sampling`):

* ``RESPONDENTS`` (default): respondents are a random sample of customers, so the theme's share
  ``k/N`` is itself uncertain. The six cells (theme promoter/passive/detractor, other
  promoter/passive/detractor) are one multinomial sample; the delta method and the bootstrap both
  use it.
* ``GROUPS``: the theme and the rest are treated as two independent samples of fixed size, so only
  ``T`` and ``E`` vary. This interval is narrower because it ignores doubt about how common the
  theme is; it is what ``(k/N) * sqrt(Var T + Var E)`` gives by hand.

Weighted responses (recency, segment or revenue multipliers) use the Kish effective sample size
``(sum w)^2 / sum w^2`` in place of ``n`` in every variance: the usual design-effect approximation,
which keeps the formulas closed-form at the cost of assuming the weights are unrelated to the
answers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from statistics import NormalDist

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from backlog_bridge.classify import Z_95, Category, NpsCounts

DEFAULT_MIN_SAMPLE = 30
"""Fewest theme respondents before a theme is scored at all: below this, a few loud comments
would outrank broad problems, and the delta method's normal approximation is unreliable."""

DEFAULT_FDR = 0.05
"""Default Benjamini-Hochberg false discovery rate across the themes scored together."""

DEFAULT_DRAWS = 2000
"""Default number of bootstrap resamples."""

_TOLERANCE = 1e-9


class Method(StrEnum):
    """How the impact's confidence interval is computed."""

    DELTA = "delta"
    BOOTSTRAP = "bootstrap"


class Sampling(StrEnum):
    """Which quantities are treated as random when computing the impact's uncertainty."""

    RESPONDENTS = "respondents"
    """Multinomial over all six cells: the theme's share of respondents is uncertain too."""
    GROUPS = "groups"
    """Theme and everyone else as two independent samples of fixed size.

    Plain Wald variances per group, so a small theme whose respondents all share one bucket gets
    a near-zero variance; the minimum-sample gate is what keeps such themes out.
    """


class Direction(StrEnum):
    """Whether a theme's share of responses is changing significantly."""

    GROWING = "growing"
    SHRINKING = "shrinking"
    STABLE = "stable"


@dataclass(frozen=True)
class WeightedCounts:
    """Sums of respondent weights per NPS bucket, for recency- or segment-weighted scoring.

    Unit weights reproduce `NpsCounts` exactly, so every function here accepts either.
    """

    promoters: float = 0.0
    passives: float = 0.0
    detractors: float = 0.0
    sum_sq_weights: float = 0.0
    """Sum of squared weights over the respondents, needed for the Kish effective sample size."""
    respondents: int = 0
    """Raw number of respondents behind the sums (the minimum-sample gate counts people)."""

    def __post_init__(self) -> None:
        values = (self.promoters, self.passives, self.detractors, self.sum_sq_weights)
        if any(not math.isfinite(v) or v < 0 for v in values) or self.respondents < 0:
            raise ValueError(f"weighted counts must be finite and non-negative, got {self!r}")

    @classmethod
    def from_counts(cls, counts: NpsCounts) -> WeightedCounts:
        """Unit-weight version of plain counts (so weighted and unweighted share one code path)."""
        n = counts.n
        return cls(float(counts.promoters), float(counts.passives), float(counts.detractors), float(n), n)

    @classmethod
    def from_responses(cls, responses: Iterable[tuple[Category, float]]) -> WeightedCounts:
        """Sum (category, weight) pairs; weights are the caller's recency x segment multipliers."""
        sums = {category: 0.0 for category in Category}
        sum_sq = 0.0
        respondents = 0
        for category, weight in responses:
            if not math.isfinite(weight) or weight < 0:
                raise ValueError(f"respondent weights must be finite and non-negative, got {weight!r}")
            sums[category] += weight
            sum_sq += weight * weight
            respondents += 1
        return cls(sums[Category.PROMOTER], sums[Category.PASSIVE], sums[Category.DETRACTOR], sum_sq, respondents)

    @property
    def total(self) -> float:
        """Total weight."""
        return self.promoters + self.passives + self.detractors

    @property
    def n_effective(self) -> float:
        """Kish effective sample size; equals the respondent count when all weights are 1."""
        if self.sum_sq_weights <= 0:
            return 0.0
        return self.total**2 / self.sum_sq_weights


Counts = NpsCounts | WeightedCounts


def as_weighted(counts: Counts) -> WeightedCounts:
    """Normalise plain or weighted counts to `WeightedCounts`."""
    return counts if isinstance(counts, WeightedCounts) else WeightedCounts.from_counts(counts)


def _nps_fraction(promoters: float, detractors: float, total: float) -> float:
    return (promoters - detractors) / total if total > 0 else 0.0


@dataclass(frozen=True)
class ThemeCounts:
    """A theme's respondents and all respondents in the same window (the theme is a subset)."""

    theme: Counts
    overall: Counts

    def __post_init__(self) -> None:
        theme, overall = as_weighted(self.theme), as_weighted(self.overall)
        if overall.total <= 0 or overall.respondents == 0:
            raise ValueError("no respondents overall (N = 0): impact is undefined")
        pairs = (
            (theme.promoters, overall.promoters),
            (theme.passives, overall.passives),
            (theme.detractors, overall.detractors),
            (theme.sum_sq_weights, overall.sum_sq_weights),
        )
        if any(part > whole + _TOLERANCE * max(1.0, whole) for part, whole in pairs) or (
            theme.respondents > overall.respondents
        ):
            raise ValueError(f"theme counts {self.theme!r} exceed overall counts {self.overall!r}")
        others = self.others
        if others.total <= _TOLERANCE * overall.total or others.respondents == 0:
            raise ValueError("the theme covers every respondent (k = N): nobody is left to compare with")

    @property
    def others(self) -> WeightedCounts:
        """Everyone who did not mention the theme."""
        theme, overall = as_weighted(self.theme), as_weighted(self.overall)
        return WeightedCounts(
            max(0.0, overall.promoters - theme.promoters),
            max(0.0, overall.passives - theme.passives),
            max(0.0, overall.detractors - theme.detractors),
            max(0.0, overall.sum_sq_weights - theme.sum_sq_weights),
            overall.respondents - theme.respondents,
        )

    @property
    def share(self) -> float:
        """The theme's (weighted) share of respondents, k/N."""
        return as_weighted(self.theme).total / as_weighted(self.overall).total

    @property
    def theme_nps(self) -> float:
        """T: the theme respondents' NPS in points (0.0 when the theme is empty)."""
        t = as_weighted(self.theme)
        return 100.0 * _nps_fraction(t.promoters, t.detractors, t.total)

    @property
    def others_nps(self) -> float:
        """E: everyone else's NPS in points."""
        o = self.others
        return 100.0 * _nps_fraction(o.promoters, o.detractors, o.total)

    @property
    def overall_nps(self) -> float:
        """NPS of all respondents in points."""
        a = as_weighted(self.overall)
        return 100.0 * _nps_fraction(a.promoters, a.detractors, a.total)


def points_at_stake(counts: ThemeCounts) -> float:
    """Impact in NPS points: NPS(all) - NPS(all but the theme) = (k/N)(T - E).

    Computed as ``share * (T - E)`` so that its sign is exactly the sign of ``T - E``.
    """
    return counts.share * (counts.theme_nps - counts.others_nps)


def _six_cells(counts: ThemeCounts) -> NDArray[np.float64]:
    t, o = as_weighted(counts.theme), counts.others
    cells = np.array([t.promoters, t.passives, t.detractors, o.promoters, o.passives, o.detractors])
    return np.asarray(cells / cells.sum(), dtype=np.float64)


def impact_gradient(cells: Sequence[float]) -> tuple[float, ...]:
    """Gradient of impact (as a fraction) w.r.t. the six cell proportions.

    With theme cells a1, a2, a3, other cells b1, b2, b3, B = b1 + b2 + b3 and e = (b1 - b3)/B:
    impact = (a1 - a3 + b1 - b3) - e, so d/da = (1, 0, -1) and
    d/db = (1 - (1 - e)/B, e/B, -1 + (1 + e)/B).
    """
    _, _, _, b1, b2, b3 = cells
    big_b = b1 + b2 + b3
    e = (b1 - b3) / big_b
    return (1.0, 0.0, -1.0, 1.0 - (1.0 - e) / big_b, e / big_b, -1.0 + (1.0 + e) / big_b)


def _bucket_variance(c: WeightedCounts) -> float:
    """Per-respondent variance of the +1/0/-1 NPS score in one group."""
    if c.total <= 0:
        return 0.0
    p, d = c.promoters / c.total, c.detractors / c.total
    return max(0.0, p + d - (p - d) ** 2)


def impact_std_error(counts: ThemeCounts, sampling: Sampling = Sampling.RESPONDENTS) -> float:
    """Delta-method standard error of the impact, in points.

    RESPONDENTS: Var = (sum g_i^2 pi_i - (sum g_i pi_i)^2) / n_eff over the six cells (multinomial
    covariance diag(pi) - pi pi^T). GROUPS: Var = share^2 (Var T / n_eff,theme + Var E / n_eff,others).
    """
    theme = as_weighted(counts.theme)
    if theme.total <= 0:
        return 0.0
    if sampling is Sampling.GROUPS:
        others = counts.others
        variance = _bucket_variance(theme) / theme.n_effective + _bucket_variance(others) / others.n_effective
        return 100.0 * counts.share * math.sqrt(variance)
    cells = _six_cells(counts)
    grad = np.array(impact_gradient(cells.tolist()))
    per_respondent = float(np.sum(grad**2 * cells) - np.sum(grad * cells) ** 2)
    return 100.0 * math.sqrt(max(0.0, per_respondent) / as_weighted(counts.overall).n_effective)


def _bootstrap_impacts(
    counts: ThemeCounts, sampling: Sampling, draws: int, rng: np.random.Generator
) -> NDArray[np.float64]:
    """Impacts (points) of resampled data sets; draws with nobody outside the theme are dropped."""
    if sampling is Sampling.GROUPS:
        theme, others = as_weighted(counts.theme), counts.others
        t = rng.multinomial(max(1, round(theme.n_effective)), _shares(theme), size=draws)
        o = rng.multinomial(max(1, round(others.n_effective)), _shares(others), size=draws)
        t_nps = (t[:, 0] - t[:, 2]) / t.sum(axis=1)
        o_nps = (o[:, 0] - o[:, 2]) / o.sum(axis=1)
        return np.asarray(100.0 * counts.share * (t_nps - o_nps), dtype=np.float64)
    n = max(1, round(as_weighted(counts.overall).n_effective))
    sample = rng.multinomial(n, _six_cells(counts), size=draws)
    n_others = sample[:, 3:].sum(axis=1)
    keep = n_others > 0
    sample, n_others = sample[keep], n_others[keep]
    overall = (sample[:, 0] - sample[:, 2] + sample[:, 3] - sample[:, 5]) / n
    others = (sample[:, 3] - sample[:, 5]) / n_others
    return np.asarray(100.0 * (overall - others), dtype=np.float64)


def _shares(c: WeightedCounts) -> NDArray[np.float64]:
    values = np.array([c.promoters, c.passives, c.detractors])
    return np.asarray(values / values.sum(), dtype=np.float64)


@dataclass(frozen=True)
class ImpactEstimate:
    """A theme's impact in NPS points with its confidence interval and test against zero."""

    counts: ThemeCounts
    impact: float
    low: float
    high: float
    std_error: float
    """Delta-method standard error in points (also reported for bootstrap intervals)."""
    z: float
    p_value: float
    """Two-sided p-value for impact != 0 from the delta-method z (whatever the CI method)."""
    method: Method
    sampling: Sampling

    @property
    def significant(self) -> bool:
        """True when the interval excludes zero."""
        return self.low > 0 or self.high < 0


def two_sided_p(z: float) -> float:
    """Two-sided normal p-value for a z statistic."""
    return math.erfc(abs(z) / math.sqrt(2.0))


def estimate_impact(
    counts: ThemeCounts,
    *,
    method: Method = Method.DELTA,
    sampling: Sampling = Sampling.RESPONDENTS,
    z: float = Z_95,
    draws: int = DEFAULT_DRAWS,
    seed: int = 0,
) -> ImpactEstimate:
    """Impact with a confidence interval (delta method by default: deterministic and instant).

    A theme with no respondents (k = 0) has impact 0 with a zero-width interval and p = 1.
    The bootstrap uses a percentile interval from ``draws`` seeded resamples; with weights it
    resamples round(n_eff) respondents, matching the delta method's Kish approximation.
    """
    impact = points_at_stake(counts)
    se = impact_std_error(counts, sampling)
    if se > 0:
        z_stat = impact / se
        p_value = two_sided_p(z_stat)
    else:  # Only when every cell that varies has the same gradient, i.e. nothing can move.
        z_stat = 0.0 if impact == 0 else math.copysign(math.inf, impact)
        p_value = 1.0 if impact == 0 else 0.0
    if method is Method.BOOTSTRAP and as_weighted(counts.theme).total > 0:
        if draws < 100:
            raise ValueError(f"use at least 100 bootstrap draws, got {draws}")
        sims = _bootstrap_impacts(counts, sampling, draws, np.random.default_rng(seed))
        alpha = two_sided_p(z)
        low, high = (float(v) for v in np.quantile(sims, [alpha / 2.0, 1.0 - alpha / 2.0]))
    else:
        low, high = impact - z * se, impact + z * se
    return ImpactEstimate(counts, impact, low, high, se, z_stat, p_value, method, sampling)


def lift(counts: Counts, overall_total: float, detractors_to_passive: float, passives_to_promoter: float) -> float:
    """NPS points gained if a share of the theme's detractors become passives and of its passives promoters.

    Each detractor turned passive, like each passive turned promoter, adds 1/N to %P - %D, so
    lift = 100 (f_d D + f_p Pa) / N. Promoting detractors straight to promoters is out of scope.
    """
    if overall_total <= 0:
        raise ValueError("no respondents overall (N = 0): lift is undefined")
    for name, value in (
        ("detractors_to_passive", detractors_to_passive),
        ("passives_to_promoter", passives_to_promoter),
    ):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must be a share from 0 to 1, got {value!r}")
    c = as_weighted(counts)
    return 100.0 * (detractors_to_passive * c.detractors + passives_to_promoter * c.passives) / overall_total


def passes_gate(respondents: int, min_sample: int = DEFAULT_MIN_SAMPLE) -> bool:
    """True when a theme has enough respondents to be scored at all (k >= min_sample)."""
    if respondents < 0 or min_sample < 0:
        raise ValueError("respondent counts and the minimum sample cannot be negative")
    return respondents >= min_sample


@dataclass(frozen=True)
class FdrResult:
    """Benjamini-Hochberg outcome, in the order the p-values were given."""

    q_values: tuple[float, ...]
    """BH-adjusted p-values: the smallest FDR level at which each would be a discovery."""
    discoveries: tuple[bool, ...]


def benjamini_hochberg(p_values: Sequence[float], q: float = DEFAULT_FDR) -> FdrResult:
    """Benjamini-Hochberg step-up FDR control across themes (scipy's `false_discovery_control`).

    Sort p ascending; adjusted q_(i) = min over j >= i of min(1, m p_(j) / j); discoveries are the
    hypotheses with q_(i) <= q (equivalently all up to the largest i with p_(i) <= i q / m). Tied
    p-values get the same q-value; results come back in input order.
    """
    if not 0 < q <= 1:
        raise ValueError(f"FDR level must be in (0, 1], got {q!r}")
    if any(not 0.0 <= p <= 1.0 for p in p_values):
        raise ValueError(f"p-values must lie in [0, 1], got {list(p_values)!r}")
    given = np.asarray(p_values, dtype=np.float64)
    # m p / rank >= p exactly; the maximum stops rounding (e.g. 3 p / 3) from dipping below p.
    adjusted = np.maximum(given, stats.false_discovery_control(given, method="bh")) if len(given) else given
    # Tiny relative slack so a p-value exactly on the i q / m boundary is not lost to rounding.
    discoveries = tuple(bool(value <= q * (1.0 + 1e-12)) for value in adjusted)
    return FdrResult(tuple(float(value) for value in adjusted), discoveries)


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval for a proportion (good coverage even near 0 or 1), via scipy's `binomtest`."""
    if n <= 0:
        raise ValueError("a proportion needs n > 0")
    confidence = 2.0 * NormalDist().cdf(z) - 1.0
    interval = stats.binomtest(successes, n).proportion_ci(confidence_level=confidence, method="wilson")
    return max(0.0, float(interval.low)), min(1.0, float(interval.high))


@dataclass(frozen=True)
class ShareTrend:
    """Change in a theme's share of responses from the previous window to the current one."""

    k_prev: int
    n_prev: int
    k_cur: int
    n_cur: int
    share_prev: float
    share_cur: float
    difference: float
    """share_cur - share_prev, as a fraction."""
    low: float
    """Newcombe hybrid-score 95% interval for the difference, as fractions."""
    high: float
    z: float
    """Pooled two-proportion z statistic."""
    p_value: float
    direction: Direction


def share_trend(k_prev: int, n_prev: int, k_cur: int, n_cur: int, alpha: float = 0.05, z: float = Z_95) -> ShareTrend:
    """Pooled two-proportion z-test and Newcombe (1998, method 10) interval for a share change.

    The direction is growing or shrinking only when the z-test is significant at ``alpha``.
    """
    if n_prev <= 0 or n_cur <= 0:
        raise ValueError("both windows need at least one response to compare shares")
    if not (0 <= k_prev <= n_prev and 0 <= k_cur <= n_cur):
        raise ValueError("theme counts must lie between 0 and the window's response count")
    p_prev, p_cur = k_prev / n_prev, k_cur / n_cur
    pooled = (k_prev + k_cur) / (n_prev + n_cur)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_prev + 1 / n_cur))
    z_stat = (p_cur - p_prev) / se if se > 0 else 0.0
    p_value = two_sided_p(z_stat)
    l_cur, u_cur = wilson_interval(k_cur, n_cur, z)
    l_prev, u_prev = wilson_interval(k_prev, n_prev, z)
    diff = p_cur - p_prev
    low = diff - math.hypot(p_cur - l_cur, u_prev - p_prev)
    high = diff + math.hypot(u_cur - p_cur, p_prev - l_prev)
    if p_value < alpha and diff != 0:
        direction = Direction.GROWING if diff > 0 else Direction.SHRINKING
    else:
        direction = Direction.STABLE
    return ShareTrend(k_prev, n_prev, k_cur, n_cur, p_prev, p_cur, diff, low, high, z_stat, p_value, direction)


def trend_factor(trend: ShareTrend | None, max_growth: float = 1.0, max_shrink: float = 0.5) -> float:
    """Priority multiplier from a share trend: 1 + the relative change we are sure of, clipped.

    Uses the Newcombe bound nearest zero (the growth that is at least this large at 95%), so it
    matches the score's 'points we are sure of' spirit; stable or missing trends give 1.0. Growth
    from a zero previous share counts as the maximum.
    """
    if trend is None or trend.direction is Direction.STABLE:
        return 1.0
    if trend.direction is Direction.GROWING:
        sure = max(0.0, trend.low)
        relative = sure / trend.share_prev if trend.share_prev > 0 else math.inf
    else:
        sure = min(0.0, trend.high)
        relative = sure / trend.share_prev
    return 1.0 + min(max_growth, max(-max_shrink, relative))


def recency_weight(age_days: float, half_life_days: float) -> float:
    """Weight halving every ``half_life_days``: 0.5 ** (age / half-life); future dates count as 1."""
    if half_life_days <= 0:
        raise ValueError(f"half-life must be positive, got {half_life_days!r}")
    return math.pow(0.5, max(0.0, age_days) / half_life_days)


def priority_score(high: float, trend_mult: float, segment_weight: float, eligible: bool) -> float:
    """Points surely at stake (max(0, -upper CI bound)) x trend factor x segment weight; 0 if ineligible."""
    if not eligible:
        return 0.0
    return max(0.0, -high) * trend_mult * segment_weight


@dataclass(frozen=True)
class ThemeInput:
    """Everything the caller knows about one theme in the current window."""

    name: str
    theme: Counts
    trend: ShareTrend | None = None
    segment_weight: float = 1.0
    """Caller's multiplier for how much this theme's customers matter (e.g. 1.2 for Enterprise)."""
    segment_label: str | None = None


@dataclass(frozen=True)
class ThemeImpact:
    """A scored theme: inputs, the impact estimate, gate and FDR outcome, and the priority."""

    name: str
    estimate: ImpactEstimate
    respondents: int
    min_sample: int
    passes_gate: bool
    q_value: float | None
    """BH-adjusted p-value among themes that passed the gate; None when the gate failed."""
    fdr_level: float
    discovery: bool
    trend: ShareTrend | None
    trend_factor: float
    segment_weight: float
    segment_label: str | None
    at_stake_lower: float
    """Points we are 95% sure are at stake: max(0, -upper bound)."""
    priority: float


def score_themes(
    themes: Sequence[ThemeInput],
    overall: Counts,
    *,
    min_sample: int = DEFAULT_MIN_SAMPLE,
    fdr: float = DEFAULT_FDR,
    method: Method = Method.DELTA,
    sampling: Sampling = Sampling.RESPONDENTS,
    seed: int = 0,
) -> tuple[ThemeImpact, ...]:
    """Score themes together: gate on size, BH across the themes that pass, then priority.

    BH runs only over gated themes: the gate depends on theme size, not on the test result, so
    filtering first is the standard 'independent filtering' that keeps FDR control and gains power.
    """
    estimates = [
        estimate_impact(ThemeCounts(t.theme, overall), method=method, sampling=sampling, seed=seed) for t in themes
    ]
    sizes = [as_weighted(t.theme).respondents for t in themes]
    gated = [i for i, k in enumerate(sizes) if passes_gate(k, min_sample)]
    bh = benjamini_hochberg([estimates[i].p_value for i in gated], fdr)
    q_values: dict[int, float] = dict(zip(gated, bh.q_values, strict=True))
    found: dict[int, bool] = dict(zip(gated, bh.discoveries, strict=True))
    results = []
    for i, (theme, est) in enumerate(zip(themes, estimates, strict=True)):
        if theme.segment_weight < 0:
            raise ValueError(f"segment weight must be non-negative, got {theme.segment_weight!r}")
        mult = trend_factor(theme.trend)
        eligible = found.get(i, False)
        results.append(
            ThemeImpact(
                name=theme.name,
                estimate=est,
                respondents=sizes[i],
                min_sample=min_sample,
                passes_gate=i in q_values,
                q_value=q_values.get(i),
                fdr_level=fdr,
                discovery=eligible,
                trend=theme.trend,
                trend_factor=mult,
                segment_weight=theme.segment_weight,
                segment_label=theme.segment_label,
                at_stake_lower=max(0.0, -est.high),
                priority=priority_score(est.high, mult, theme.segment_weight, eligible),
            )
        )
    return tuple(results)


def _num(value: float) -> str:
    """Whole numbers without decimals, others to one decimal (weighted counts)."""
    return f"{value:.0f}" if abs(value - round(value)) < 1e-9 else f"{value:.1f}"


def _p(value: float) -> str:
    return "p < 0.001" if value < 0.001 else f"p = {value:.2g}" if value < 0.1 else f"p = {value:.2f}"


def _trend_sentence(trend: ShareTrend) -> str:
    shares = f"share {100 * trend.share_prev:.1f}% → {100 * trend.share_cur:.1f}% ({_p(trend.p_value)})"
    label = {Direction.GROWING: "Growing", Direction.SHRINKING: "Shrinking", Direction.STABLE: "Stable"}
    return f"{label[trend.direction]}: {shares}."


def explain(result: ThemeImpact) -> str:
    """Plain-language account of a theme's score, for a product lead reading the backlog."""
    est = result.estimate
    theme = as_weighted(est.counts.theme)
    mix = f"{_num(theme.detractors)} detractors, {_num(theme.passives)} passives"
    who = f"{result.respondents} respondents ({mix})"
    if est.impact < 0:
        parts = [f"At stake: {-est.impact:.1f} NPS points (95% CI {-est.high:.1f} to {-est.low:.1f}) from {who}."]
    else:
        parts = [
            f"No points at stake: these {who} rate us no worse than everyone else "
            f"(impact {est.impact:+.1f} points, 95% CI {est.low:+.1f} to {est.high:+.1f})."
        ]
    if result.trend is not None:
        parts.append(_trend_sentence(result.trend))
    if result.segment_weight != 1.0 or result.segment_label:
        label = f" ({result.segment_label})" if result.segment_label else ""
        parts.append(f"Segment weight ×{result.segment_weight:.2g}{label}.")
    if not result.passes_gate:
        parts.append(
            f"Priority score 0: only {result.respondents} respondents, below the minimum of {result.min_sample}."
        )
    elif not result.discovery:
        parts.append(
            f"Priority score 0: not significant after controlling false discoveries across themes "
            f"(q = {result.q_value:.2g} > {result.fdr_level:g})."
        )
    else:
        parts.append(
            f"Priority score {result.priority:.1f} = lower bound {result.at_stake_lower:.1f} "
            f"× trend {result.trend_factor:.2f} × weight {result.segment_weight:.2g}."
        )
    return " ".join(parts)
