from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backlog_bridge.classify import (
    Z_95,
    Category,
    NpsCounts,
    categorise,
    compare,
    estimate,
    nps_breakdown,
    period_key,
    z_for,
)


@pytest.mark.parametrize(
    ("score", "category"),
    [(0, Category.DETRACTOR), (6, Category.DETRACTOR), (7, Category.PASSIVE), (8, Category.PASSIVE),
     (9, Category.PROMOTER), (10, Category.PROMOTER)],
)  # fmt: skip
def test_categorise_boundaries(score, category):
    assert categorise(score) is category


@pytest.mark.parametrize("score", [-1, 11])
def test_categorise_rejects_out_of_range(score):
    with pytest.raises(ValueError, match="0 to 10"):
        categorise(score)


def test_counts_from_scores():
    counts = NpsCounts.from_scores([0, 6, 7, 8, 9, 10, 10])
    assert counts == NpsCounts(promoters=3, passives=2, detractors=2)
    assert counts.n == 7


def test_estimate_matches_hand_computed_adjusted_wald():
    # 60 promoters, 25 passives, 15 detractors. By hand: n' = 103, p' = 60.75/103 = 0.58981,
    # d' = 15.75/103 = 0.15291, NPS' = 0.43689, var = (0.74272 - 0.19087)/103 = 0.0053577,
    # se = 0.073197, interval 0.43689 -/+ 1.96 * 0.073197 = [0.29343, 0.58036].
    e = estimate(NpsCounts(60, 25, 15))
    assert e.nps == pytest.approx(45.0)
    assert e.adjusted_nps == pytest.approx(43.689, abs=1e-3)
    assert e.low == pytest.approx(29.343, abs=1e-2)
    assert e.high == pytest.approx(58.036, abs=1e-2)


def test_estimate_of_tiny_group_stays_within_bounds():
    e = estimate(NpsCounts(3, 0, 0))
    assert e.nps == 100.0
    assert -100.0 <= e.low < e.high <= 100.0
    assert e.high - e.low > 50  # three answers say little


def test_z_for_confidence():
    assert z_for(0.95) == pytest.approx(1.95996, abs=1e-4)
    assert z_for(0.90) == pytest.approx(1.64485, abs=1e-4)


def test_compare_detects_a_real_drop_and_not_noise():
    big_drop = compare(NpsCounts(500, 300, 200), NpsCounts(350, 300, 350))
    assert big_drop.delta == pytest.approx(-30.0)
    assert big_drop.significant and big_drop.p_value < 0.001
    noise = compare(NpsCounts(50, 30, 20), NpsCounts(48, 31, 21))
    assert not noise.significant and noise.p_value > 0.5


def test_period_keys():
    moment = datetime(2026, 3, 2, tzinfo=UTC)
    assert period_key(moment, "week") == "2026-W10"
    assert period_key(moment, "month") == "2026-03"
    assert period_key(moment, "quarter") == "2026-Q1"
    assert period_key(datetime(2026, 12, 31, tzinfo=UTC), "quarter") == "2026-Q4"


def test_breakdown_by_group_and_period_with_changes():
    jan, feb = datetime(2026, 1, 15, tzinfo=UTC), datetime(2026, 2, 15, tzinfo=UTC)
    rows = [(10, jan, "pro")] * 40 + [(0, feb, "pro")] * 40 + [(9, jan, "free")] * 5
    groups = nps_breakdown(rows, period="month", min_group_size=30)
    by_key = {(g.group, g.period): g for g in groups}
    assert set(by_key) == {("free", "2026-01"), ("pro", "2026-01"), ("pro", "2026-02")}
    assert by_key[("free", "2026-01")].too_small
    assert by_key[("pro", "2026-01")].change is None
    change = by_key[("pro", "2026-02")].change
    assert change is not None and change.delta == pytest.approx(-200.0) and change.significant


@given(st.integers(0, 300), st.integers(0, 300), st.integers(0, 300))
def test_interval_properties(p, pa, d):
    e = estimate(NpsCounts(p, pa, d))
    assert -100.0 <= e.low <= e.adjusted_nps <= e.high <= 100.0
    assert -100.0 <= e.nps <= 100.0


@pytest.mark.parametrize(
    "counts", [NpsCounts(60, 25, 15), NpsCounts(0, 0, 3), NpsCounts(2, 0, 0), NpsCounts(412, 300, 288)]
)
def test_adjusted_wald_matches_statsmodels_on_the_augmented_sample(counts):
    """Rocks (2016): the Wald interval of the +1/0/-1 mean after adding 3/4 promoter, 3/2 passive, 3/4 detractor."""
    weightstats = pytest.importorskip("statsmodels.stats.weightstats")
    augmented = [counts.promoters + 0.75, counts.passives + 1.5, counts.detractors + 0.75]
    sample = weightstats.DescrStatsW([1.0, 0.0, -1.0], weights=augmented, ddof=0)
    se = (sample.var / sample.sum_weights) ** 0.5  # the population variance over n + 3
    result = estimate(counts)
    assert result.adjusted_nps == pytest.approx(100 * sample.mean, abs=1e-9)
    assert result.std_error == pytest.approx(100 * se, abs=1e-9)
    assert result.low == pytest.approx(max(-100.0, 100 * (sample.mean - Z_95 * se)), abs=1e-9)
    assert result.high == pytest.approx(min(100.0, 100 * (sample.mean + Z_95 * se)), abs=1e-9)
