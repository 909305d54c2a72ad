"""Tests for theme impact scoring. Expected numbers are worked by hand in the comments."""

from __future__ import annotations

import itertools
import math
import random
from statistics import NormalDist

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backlog_bridge.classify import Category, NpsCounts
from backlog_bridge.score import (
    Direction,
    Method,
    Sampling,
    ThemeCounts,
    ThemeInput,
    WeightedCounts,
    benjamini_hochberg,
    estimate_impact,
    explain,
    impact_gradient,
    impact_std_error,
    lift,
    passes_gate,
    points_at_stake,
    priority_score,
    recency_weight,
    score_themes,
    share_trend,
    trend_factor,
    wilson_interval,
)

# Worked case: N = 400. Theme: 4 promoters, 12 passives, 24 detractors (k = 40).
# Everyone else: 160 promoters, 140 passives, 60 detractors (360).
THEME = NpsCounts(4, 12, 24)
OTHERS = NpsCounts(160, 140, 60)
OVERALL = THEME + OTHERS  # 164 / 152 / 84
WORKED = ThemeCounts(THEME, OVERALL)


# --- point estimate -------------------------------------------------------------------------------


def test_worked_case_point_estimate() -> None:
    # Overall (164 - 84)/400 = +20; theme (4 - 24)/40 = -50; others (160 - 60)/360 = +27.78.
    assert WORKED.overall_nps == pytest.approx(20.0)
    assert WORKED.theme_nps == pytest.approx(-50.0)
    assert WORKED.others_nps == pytest.approx(100 / 3.6)
    assert WORKED.share == pytest.approx(0.1)
    # 20 - 27.78 = -7.78 = 0.1 * (-50 - 27.78).
    assert points_at_stake(WORKED) == pytest.approx(-7.7778, abs=1e-4)


def test_hand_computed_impacts() -> None:
    # N = 100; theme 10 detractors; others 50 P / 30 Pa / 10 D. All: (50 - 20)/100 = +30;
    # others 40/90 = +44.44 -> impact 30 - 44.44 = -14.44 = 0.1 * (-100 - 44.44).
    negative = ThemeCounts(NpsCounts(0, 0, 10), NpsCounts(50, 30, 20))
    assert points_at_stake(negative) == pytest.approx(-14.4444, abs=1e-4)
    # A delighted theme: 20 promoters; others 30 P / 40 Pa / 10 D. All: (50 - 10)/100 = +40;
    # others 20/80 = +25 -> impact +15 = 0.2 * (100 - 25).
    positive = ThemeCounts(NpsCounts(20, 0, 0), NpsCounts(50, 40, 10))
    assert points_at_stake(positive) == pytest.approx(15.0)


# --- confidence intervals -------------------------------------------------------------------------


@pytest.mark.parametrize("method", list(Method))
def test_worked_case_ci_with_theme_size_fixed(method: Method) -> None:
    # Groups: SE = 100 * 0.1 * sqrt(Var T/40 + Var E/360), Var T = 0.1 + 0.6 - 0.5^2 = 0.45,
    # Var E = 0.4444 + 0.1667 - 0.2778^2 = 0.53395 -> SE = 1.1284, CI -7.78 -/+ 2.21 = [-10.0, -5.6].
    est = estimate_impact(WORKED, method=method, sampling=Sampling.GROUPS)
    assert est.impact == pytest.approx(-7.78, abs=0.005)
    assert est.std_error == pytest.approx(1.1284, abs=1e-3)
    assert est.low == pytest.approx(-10.0, abs=0.3)
    assert est.high == pytest.approx(-5.6, abs=0.3)


@pytest.mark.parametrize("method", list(Method))
def test_worked_case_ci_multinomial_default(method: Method) -> None:
    # Six cells pi = (.01, .03, .06, .40, .35, .15); B = .9, e = .25/.9 = .2778.
    # g = (1, 0, -1, 1 - .7222/.9, .2778/.9, -1 + 1.2778/.9) = (1, 0, -1, .19753, .30864, .41975).
    # sum g pi = .2, sum g^2 pi = .145377 -> Var = (.145377 - .04)/400 -> SE = 1.6231 points,
    # CI -7.78 -/+ 3.181 = [-10.96, -4.60]: wider, because the theme's share (10%) is uncertain too.
    # (The percentile bootstrap runs ~0.15 lower on average: the product share x (T - E) is skewed.)
    est = estimate_impact(WORKED, method=method)
    assert est.sampling is Sampling.RESPONDENTS
    assert est.std_error == pytest.approx(1.6231, abs=1e-3)
    assert est.low == pytest.approx(-10.96, abs=0.3)
    assert est.high == pytest.approx(-4.60, abs=0.3)
    # z = -7.78 / 1.6231 = -4.792 -> two-sided p = 1.65e-6.
    assert est.z == pytest.approx(-4.792, abs=1e-3)
    assert est.p_value == pytest.approx(1.65e-6, rel=0.02)
    assert est.significant


def test_gradient_matches_finite_differences() -> None:
    # Independent check of the hand-derived gradient: perturb each cell and recompute the impact.
    def impact(c: list[float]) -> float:
        overall = c[0] - c[2] + c[3] - c[5]
        others = (c[3] - c[5]) / (c[3] + c[4] + c[5])
        return overall - others

    cells = [0.02, 0.05, 0.08, 0.35, 0.3, 0.2]
    h = 1e-7
    for i, analytic in enumerate(impact_gradient(cells)):
        bumped_up, bumped_down = list(cells), list(cells)
        bumped_up[i] += h
        bumped_down[i] -= h
        numeric = (impact(bumped_up) - impact(bumped_down)) / (2 * h)
        assert analytic == pytest.approx(numeric, abs=1e-6)


def test_hand_computed_standard_errors() -> None:
    # Theme 10 detractors of 100; others 50 P / 30 Pa / 10 D.
    counts = ThemeCounts(NpsCounts(0, 0, 10), NpsCounts(50, 30, 20))
    # Groups: Var T = 0; Var E = 5/9 + 1/9 - (4/9)^2 = 38/81 -> SE = 100 * .1 * sqrt(38/81/90) = .72199.
    assert impact_std_error(counts, Sampling.GROUPS) == pytest.approx(0.72199, abs=1e-4)
    # Multinomial: g = (-1 on a3; .38272, .49383, .60494 on b) with pi = (.1; .5, .3, .1):
    # sum g pi = .3, sum g^2 pi = .282992 -> SE = 100 * sqrt(.192992/100) = 4.3931.
    assert impact_std_error(counts) == pytest.approx(4.3931, abs=1e-3)


@pytest.mark.parametrize("sampling", list(Sampling))
@pytest.mark.parametrize(
    ("theme", "overall"),
    [
        (NpsCounts(10, 20, 30), NpsCounts(200, 150, 90)),
        (NpsCounts(30, 10, 5), NpsCounts(120, 100, 80)),
        (NpsCounts(20, 30, 50), NpsCounts(400, 350, 250)),
    ],
)
def test_bootstrap_agrees_with_delta(theme: NpsCounts, overall: NpsCounts, sampling: Sampling) -> None:
    counts = ThemeCounts(theme, overall)
    delta = estimate_impact(counts, sampling=sampling)
    boot = estimate_impact(counts, method=Method.BOOTSTRAP, sampling=sampling, seed=7)
    half_width = delta.high - delta.impact
    assert boot.low == pytest.approx(delta.low, abs=0.15 * half_width)
    assert boot.high == pytest.approx(delta.high, abs=0.15 * half_width)


def test_bootstrap_is_seeded() -> None:
    a = estimate_impact(WORKED, method=Method.BOOTSTRAP, seed=3)
    b = estimate_impact(WORKED, method=Method.BOOTSTRAP, seed=3)
    c = estimate_impact(WORKED, method=Method.BOOTSTRAP, seed=4)
    assert (a.low, a.high) == (b.low, b.high)
    assert (a.low, a.high) != (c.low, c.high)
    with pytest.raises(ValueError, match="draws"):
        estimate_impact(WORKED, method=Method.BOOTSTRAP, draws=10)


# --- edge cases -----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", list(Method))
def test_empty_theme_has_zero_impact(method: Method) -> None:
    est = estimate_impact(ThemeCounts(NpsCounts(), OVERALL), method=method)
    assert (est.impact, est.low, est.high, est.p_value) == (0.0, 0.0, 0.0, 1.0)


def test_theme_covering_everyone_is_rejected() -> None:
    with pytest.raises(ValueError, match="k = N"):
        ThemeCounts(OVERALL, OVERALL)


def test_no_respondents_is_rejected() -> None:
    with pytest.raises(ValueError, match="N = 0"):
        ThemeCounts(NpsCounts(), NpsCounts())


def test_theme_larger_than_overall_is_rejected() -> None:
    with pytest.raises(ValueError, match="exceed"):
        ThemeCounts(NpsCounts(0, 0, 5), NpsCounts(10, 10, 4))


# --- lift -----------------------------------------------------------------------------------------


def test_lift_hand_computed() -> None:
    # Half of 24 detractors -> passive (12) and a quarter of 12 passives -> promoter (3): 100*15/400.
    assert lift(THEME, 400, 0.5, 0.25) == pytest.approx(3.75)
    # Everyone up one bucket: 100 * (24 + 12) / 400 = 9.
    assert lift(THEME, 400, 1.0, 1.0) == pytest.approx(9.0)
    assert lift(THEME, 400, 0.0, 0.0) == 0.0


def test_lift_matches_recounting() -> None:
    # Move 12 detractors to passive and 3 passives to promoter in the overall counts and recount.
    after = NpsCounts(OVERALL.promoters + 3, OVERALL.passives + 12 - 3, OVERALL.detractors - 12)
    recounted = 100 * (after.promoters - after.detractors) / after.n - 20.0
    assert lift(THEME, OVERALL.n, 0.5, 0.25) == pytest.approx(recounted)


def test_lift_validates_inputs() -> None:
    with pytest.raises(ValueError):
        lift(THEME, 0, 0.5, 0.5)
    with pytest.raises(ValueError):
        lift(THEME, 400, 1.5, 0.0)


# --- gate and FDR ---------------------------------------------------------------------------------


def test_gate() -> None:
    assert not passes_gate(29)
    assert passes_gate(30)
    assert passes_gate(6, min_sample=5)
    with pytest.raises(ValueError):
        passes_gate(-1)


def test_bh_hand_table() -> None:
    # m = 5, sorted p: .005 .01 .03 .04 .20; m p / i = .025 .025 .05 .05 .20;
    # running minimum from the top: .025 .025 .05 .05 .20. Step-up at q = .05: thresholds
    # .01 .02 .03 .04 .05 -> largest i with p_(i) <= i q/m is 4 (.04 <= .04) -> first four found.
    result = benjamini_hochberg([0.01, 0.04, 0.03, 0.005, 0.20], q=0.05)
    assert result.q_values == pytest.approx((0.025, 0.05, 0.05, 0.025, 0.20))
    assert result.discoveries == (True, True, True, True, False)
    # At q = .03: thresholds .006 .012 .018 .024 .03 -> i = 2 is the largest -> only .005 and .01.
    assert benjamini_hochberg([0.01, 0.04, 0.03, 0.005, 0.20], q=0.03).discoveries == (
        True,
        False,
        False,
        True,
        False,
    )


def test_bh_step_up_rescues_earlier_ranks() -> None:
    # p = .03 .035 .04 with m = 3: .03 > 1 * .05/3 = .0167 fails alone, but .04 <= 3 * .05/3 = .05,
    # so step-up rejects all three; q-values = min(.09, .0525, .04) ... -> .04 .04 .04.
    result = benjamini_hochberg([0.04, 0.03, 0.035])
    assert result.q_values == pytest.approx((0.04, 0.04, 0.04))
    assert result.discoveries == (True, True, True)


def test_bh_ties() -> None:
    # m = 4: three p = .02 at ranks 1-3 give 4*.02/1, /2, /3 = .08, .04, .0267; .5 -> 4*.5/4 = .5.
    # Running minimum from the top gives all tied values .02667.
    result = benjamini_hochberg([0.02, 0.5, 0.02, 0.02])
    assert result.q_values == pytest.approx((0.08 / 3, 0.5, 0.08 / 3, 0.08 / 3))
    assert result.discoveries == (True, False, True, True)


def test_bh_edges() -> None:
    assert benjamini_hochberg([]).discoveries == ()
    assert benjamini_hochberg([1.0, 1.0]).q_values == (1.0, 1.0)
    with pytest.raises(ValueError):
        benjamini_hochberg([1.2])
    with pytest.raises(ValueError):
        benjamini_hochberg([0.1], q=0.0)


@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=20), st.randoms(use_true_random=False))
def test_bh_is_order_free(p_values: list[float], rnd: random.Random) -> None:
    order = list(range(len(p_values)))
    rnd.shuffle(order)
    base = benjamini_hochberg(p_values)
    shuffled = benjamini_hochberg([p_values[i] for i in order])
    assert shuffled.q_values == tuple(base.q_values[i] for i in order)
    assert shuffled.discoveries == tuple(base.discoveries[i] for i in order)
    # q-values never fall below p and keep the p-values' order.
    pairs = sorted(zip(p_values, base.q_values, strict=True))
    assert all(q >= p for p, q in pairs)
    assert all(a[1] <= b[1] for a, b in itertools.pairwise(pairs))


# --- trend ----------------------------------------------------------------------------------------


def test_trend_hand_computed() -> None:
    # 24/400 = 6% -> 40/400 = 10%. Pooled 64/800 = .08; SE = sqrt(.08 * .92 * 2/400) = .019183;
    # z = .04/.019183 = 2.0851 -> p = .0371.
    trend = share_trend(24, 400, 40, 400)
    assert trend.difference == pytest.approx(0.04)
    assert trend.z == pytest.approx(2.0851, abs=1e-3)
    assert trend.p_value == pytest.approx(0.0371, abs=5e-4)
    assert trend.direction is Direction.GROWING
    # Wilson 40/400: [.07430, .13331]; 24/400: [.04065, .08772]. Newcombe:
    # L = .04 - sqrt((.1 - .0743)^2 + (.08772 - .06)^2) = .0022;
    # U = .04 + sqrt((.13331 - .1)^2 + (.06 - .04065)^2) = .0785.
    assert wilson_interval(40, 400) == pytest.approx((0.07430, 0.13331), abs=5e-5)
    assert wilson_interval(24, 400) == pytest.approx((0.04065, 0.08772), abs=5e-5)
    assert trend.low == pytest.approx(0.0022, abs=2e-4)
    assert trend.high == pytest.approx(0.0785, abs=2e-4)


# --- the same numbers from statsmodels (dev only: an independent implementation) -----------------

P_VALUES = [0.01, 0.04, 0.03, 0.005, 0.20, 0.04, 0.5, 0.0, 1.0, 0.049]
PROPORTIONS = [(0, 10), (1, 10), (10, 10), (24, 400), (40, 400), (333, 1000), (7, 19), (4999, 5000)]


@pytest.mark.parametrize("q", [0.01, 0.05, 0.2])
def test_bh_matches_statsmodels(q: float) -> None:
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    reject, adjusted, _, _ = multitest.multipletests(P_VALUES, alpha=q, method="fdr_bh")
    result = benjamini_hochberg(P_VALUES, q)
    assert result.q_values == pytest.approx(adjusted.tolist(), abs=1e-15)
    assert result.discoveries == tuple(reject.tolist())


@pytest.mark.parametrize(("successes", "n"), PROPORTIONS)
@pytest.mark.parametrize("confidence", [0.8, 0.95, 0.99])
def test_wilson_matches_statsmodels(successes: int, n: int, confidence: float) -> None:
    proportion = pytest.importorskip("statsmodels.stats.proportion")
    low, high = proportion.proportion_confint(successes, n, alpha=1 - confidence, method="wilson")
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    assert wilson_interval(successes, n, z) == pytest.approx((low, high), abs=1e-12)


@pytest.mark.parametrize(
    ("k_prev", "n_prev", "k_cur", "n_cur"), [(24, 400, 40, 400), (0, 100, 3, 120), (50, 90, 10, 300)]
)
def test_newcombe_interval_matches_statsmodels(k_prev: int, n_prev: int, k_cur: int, n_cur: int) -> None:
    proportion = pytest.importorskip("statsmodels.stats.proportion")
    low, high = proportion.confint_proportions_2indep(k_cur, n_cur, k_prev, n_prev, method="newcomb", compare="diff")
    trend = share_trend(k_prev, n_prev, k_cur, n_cur)
    assert (trend.low, trend.high) == pytest.approx((low, high), abs=1e-12)


@pytest.mark.parametrize("counts", [WORKED, ThemeCounts(NpsCounts(0, 0, 10), NpsCounts(50, 30, 20))])
def test_delta_method_matches_statsmodels(counts: ThemeCounts) -> None:
    delta = pytest.importorskip("statsmodels.stats._delta_method")
    cells = [counts.theme.promoters, counts.theme.passives, counts.theme.detractors]
    cells += [counts.others.promoters, counts.others.passives, counts.others.detractors]
    n = sum(cells)
    pi = np.array(cells) / n

    def impact(p):  # NPS(all) - NPS(everyone else), as a fraction, of the six cell shares
        return np.atleast_1d((p[0] - p[2] + p[3] - p[5]) - (p[3] - p[5]) / (p[3] + p[4] + p[5]))

    covariance = (np.diag(pi) - np.outer(pi, pi)) / n  # multinomial; the derivative is statsmodels' numeric one
    (se,) = delta.NonlinearDeltaCov(impact, pi, covariance).se_vectorized()
    assert impact_std_error(counts) == pytest.approx(100 * se, rel=1e-6)


def test_trend_directions_and_edges() -> None:
    assert share_trend(40, 400, 24, 400).direction is Direction.SHRINKING
    # 40/400 vs 42/400: z = .005 / sqrt(.1025 * .8975 * .005) = .23 -> stable.
    assert share_trend(40, 400, 42, 400).direction is Direction.STABLE
    nothing = share_trend(0, 100, 0, 200)
    assert (nothing.z, nothing.p_value, nothing.direction) == (0.0, 1.0, Direction.STABLE)
    with pytest.raises(ValueError):
        share_trend(0, 0, 5, 100)
    with pytest.raises(ValueError):
        share_trend(5, 4, 5, 100)


def test_trend_factor() -> None:
    growing = share_trend(24, 400, 40, 400)
    # Sure growth = Newcombe lower bound .0021968 relative to 6%: 1 + .0366.
    assert trend_factor(growing) == pytest.approx(1 + growing.low / 0.06)
    assert trend_factor(growing) == pytest.approx(1.037, abs=2e-3)
    # Shrinking 10% -> 6%: upper bound -.0022 relative to 10%: 1 - .022.
    assert trend_factor(share_trend(40, 400, 24, 400)) == pytest.approx(0.978, abs=2e-3)
    assert trend_factor(share_trend(40, 400, 42, 400)) == 1.0
    assert trend_factor(None) == 1.0
    # New theme (0 -> 50 of 400) grows from nothing: capped at 1 + 1.
    assert trend_factor(share_trend(0, 400, 50, 400)) == 2.0


# --- weights --------------------------------------------------------------------------------------


def test_recency_weight() -> None:
    assert recency_weight(0, 30) == 1.0
    assert recency_weight(30, 30) == pytest.approx(0.5)
    assert recency_weight(60, 30) == pytest.approx(0.25)
    assert recency_weight(45, 30) == pytest.approx(1 / (2 * math.sqrt(2)))  # 2^-1.5 = .35355
    assert recency_weight(-3, 30) == 1.0
    with pytest.raises(ValueError):
        recency_weight(10, 0)


def test_weighted_counts_and_kish() -> None:
    w = WeightedCounts.from_responses(
        [
            (Category.PROMOTER, 1.0),
            (Category.PROMOTER, 1.0),
            (Category.DETRACTOR, 2.0),
            (Category.PASSIVE, 2.0),
        ]
    )
    assert (w.promoters, w.passives, w.detractors, w.respondents) == (2.0, 2.0, 2.0, 4)
    # Kish: (1 + 1 + 2 + 2)^2 / (1 + 1 + 4 + 4) = 36/10.
    assert w.n_effective == pytest.approx(3.6)
    with pytest.raises(ValueError):
        WeightedCounts.from_responses([(Category.PROMOTER, -1.0)])


def test_unit_weights_reproduce_plain_counts() -> None:
    def unit(counts: NpsCounts) -> WeightedCounts:
        pairs = [(Category.PROMOTER, 1.0)] * counts.promoters + [(Category.PASSIVE, 1.0)] * counts.passives
        return WeightedCounts.from_responses(pairs + [(Category.DETRACTOR, 1.0)] * counts.detractors)

    plain = estimate_impact(WORKED)
    weighted = estimate_impact(ThemeCounts(unit(THEME), unit(OVERALL)))
    assert (weighted.impact, weighted.low, weighted.high) == pytest.approx((plain.impact, plain.low, plain.high))


def test_weighted_impact_hand_computed() -> None:
    # Theme: two detractors at weight .5 (total 1). Others: 3 promoters + 1 detractor at weight 1.
    # All: (3 - 2)/5 = +20; others (3 - 1)/4 = +50 -> impact -30 = .2 * (-100 - 50).
    theme = WeightedCounts.from_responses([(Category.DETRACTOR, 0.5)] * 2)
    overall = WeightedCounts.from_responses(
        [(Category.DETRACTOR, 0.5)] * 2 + [(Category.PROMOTER, 1.0)] * 3 + [(Category.DETRACTOR, 1.0)]
    )
    assert points_at_stake(ThemeCounts(theme, overall)) == pytest.approx(-30.0)


def test_weights_scale_free_and_unequal_weights_widen() -> None:
    # Doubling every weight changes nothing; Kish n_eff is scale-free.
    doubled = ThemeCounts(WeightedCounts(8.0, 24.0, 48.0, 160.0, 40), WeightedCounts(328.0, 304.0, 168.0, 1600.0, 400))
    assert estimate_impact(doubled).std_error == pytest.approx(estimate_impact(WORKED).std_error)
    # Same proportions but sum w^2 doubled (n_eff 200 instead of 400): SE grows by sqrt(2).
    uneven = ThemeCounts(WeightedCounts(4.0, 12.0, 24.0, 80.0, 40), WeightedCounts(164.0, 152.0, 84.0, 800.0, 400))
    assert impact_std_error(uneven) == pytest.approx(impact_std_error(WORKED) * math.sqrt(2))
    assert impact_std_error(uneven, Sampling.GROUPS) == pytest.approx(
        impact_std_error(WORKED, Sampling.GROUPS) * math.sqrt(2)
    )


# --- priority and scoring -------------------------------------------------------------------------


def test_priority_score() -> None:
    assert priority_score(-5.6, 1.0, 1.2, eligible=True) == pytest.approx(6.72)
    assert priority_score(-5.6, 1.0, 1.2, eligible=False) == 0.0
    assert priority_score(2.0, 1.0, 1.0, eligible=True) == 0.0  # interval reaches above zero


def test_small_angry_theme_is_gated_while_big_theme_scores() -> None:
    angry = ThemeInput("Rude support agent", NpsCounts(0, 0, 6))
    big = ThemeInput("Slow exports", THEME)
    results = score_themes([angry, big], OVERALL)
    small, large = results
    assert not small.passes_gate
    assert small.q_value is None
    assert not small.discovery
    assert small.priority == 0.0
    assert large.passes_gate
    assert large.discovery
    # Alone in BH, the big theme's q-value is its p-value.
    assert large.q_value == pytest.approx(large.estimate.p_value)
    assert large.priority == pytest.approx(-large.estimate.high)
    assert "only 6 respondents, below the minimum of 30" in explain(small)


def test_fdr_zeroes_an_unconvincing_theme() -> None:
    # 15 P / 10 Pa / 10 D (NPS +14.3) among others at about +20: impact near zero, p large.
    meh = ThemeInput("Colour scheme", NpsCounts(15, 10, 10))
    overall = OVERALL + NpsCounts(15, 10, 10)
    results = score_themes([ThemeInput("Slow exports", THEME), meh], overall)
    assert results[0].discovery
    assert results[1].passes_gate
    assert not results[1].discovery
    assert results[1].priority == 0.0
    assert "not significant after controlling false discoveries" in explain(results[1])


def test_explanation_reads_like_the_brief() -> None:
    growing = share_trend(24, 400, 40, 400)
    (result,) = score_themes(
        [ThemeInput("Slow exports", THEME, None, 1.2, "Enterprise")], OVERALL, sampling=Sampling.GROUPS
    )
    # Lower bound 5.57 x trend 1 x weight 1.2 = 6.68.
    assert result.priority == pytest.approx(5.566 * 1.2, abs=0.01)
    text = explain(result)
    assert text.startswith("At stake: 7.8 NPS points (95% CI 5.6 to 10.0) from 40 respondents")
    assert "(24 detractors, 12 passives)" in text
    assert "Segment weight ×1.2 (Enterprise)." in text
    assert "Priority score 6.7 = lower bound 5.6 × trend 1.00 × weight 1.2." in text

    (with_trend,) = score_themes([ThemeInput("Slow exports", THEME, growing)], OVERALL)
    assert "Growing: share 6.0% → 10.0% (p = 0.037)." in explain(with_trend)
    assert "Segment weight" not in explain(with_trend)


def test_explanation_of_a_positive_theme() -> None:
    (result,) = score_themes([ThemeInput("Great onboarding", NpsCounts(35, 5, 0))], OVERALL)
    assert result.priority == 0.0
    assert explain(result).startswith("No points at stake")


# --- properties -----------------------------------------------------------------------------------

cells = st.integers(0, 60)


@settings(max_examples=200)
@given(cells, cells, cells, cells, cells, cells)
def test_impact_sign_and_identity(tp: int, tpa: int, td: int, op: int, opa: int, od: int) -> None:
    theme, others = NpsCounts(tp, tpa, td), NpsCounts(op, opa, od)
    if theme.n == 0 or others.n == 0:
        return
    counts = ThemeCounts(theme, theme + others)
    t = (tp - td) / theme.n
    e = (op - od) / others.n
    impact = points_at_stake(counts)
    assert math.copysign(1, impact) == math.copysign(1, t - e) or (impact == 0 and t == e)
    # Identity: NPS(all) - NPS(others) equals (k/N)(T - E).
    n = theme.n + others.n
    assert impact == pytest.approx(100 * ((tp + op - td - od) / n - e), abs=1e-9)


@settings(max_examples=200)
@given(cells, cells, cells, cells, cells, cells, st.sampled_from(list(Sampling)))
def test_delta_ci_contains_estimate(tp: int, tpa: int, td: int, op: int, opa: int, od: int, sampling: Sampling) -> None:
    theme, others = NpsCounts(tp, tpa, td), NpsCounts(op, opa, od)
    if others.n == 0:
        return
    est = estimate_impact(ThemeCounts(theme, theme + others), sampling=sampling)
    assert est.low <= est.impact <= est.high
    assert 0.0 <= est.p_value <= 1.0
