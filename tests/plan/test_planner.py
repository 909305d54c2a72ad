"""The sprint plan from hand-made inputs with known answers (pure: no store)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from backlog_bridge.plan.model import Action
from backlog_bridge.plan.planner import LinkState, PlanInputs, ThemeInputs, build_plan, over_represented
from backlog_bridge.plan.redact import Redactor
from backlog_bridge.plan.rules import PriorityRules, Rules, SprintRules, Suppression, SuppressionRules
from backlog_bridge.score import WeightedCounts

TODAY = date(2026, 10, 31)
REDACTOR = Redactor.default()


def counts(p: int, pa: int, d: int) -> WeightedCounts:
    return WeightedCounts(p, pa, d, p + pa + d, p + pa + d)


def theme(key: str, passives: int, detractors: int, previous: int = 0, **extra) -> ThemeInputs:
    values = dict(
        theme_id=int(key.split("-")[1]), theme_key=key, label=f"label {key}", keywords=("app", "crash"),
        quotes=("it crashes, mail me at jo@example.com", "crashes daily, call +1 415 555 0134", "so slow"),
        counts=counts(0, passives, detractors), detractors=detractors, passives=passives,
        previous_respondents=previous,
    )  # fmt: skip
    values.update(extra)
    return ThemeInputs(**values)


def inputs(themes, links=None, previous_responses=400) -> PlanInputs:
    return PlanInputs(
        themes=themes,
        overall=counts(200, 100, 100),
        responses=400,
        previous_responses=previous_responses,
        baseline_shares={"plan": {"Enterprise": 0.2, "Free": 0.8}},
        links=links or {},
        today=TODAY,
    )


def rules(**priority) -> Rules:
    return Rules(priority=PriorityRules(**priority))


def by_key(items):
    return {item.brief.theme_key: item for item in items}


def test_big_theme_is_filed_small_and_weak_ones_are_skipped_with_reasons():
    plan = by_key(
        build_plan(inputs([theme("t-1", 10, 40), theme("t-2", 0, 6), theme("t-3", 20, 12)]), rules(), REDACTOR)
    )
    assert plan["t-1"].action is Action.CREATE and plan["t-1"].priority == "P1" and plan["t-1"].in_sprint
    assert plan["t-1"].reason.startswith("new theme, priority P1")
    assert plan["t-2"].action is Action.SKIP and "sample too small: 6 respondents" in plan["t-2"].reason
    assert plan["t-2"].score == 0
    # 32 respondents, mostly passives: it passes the gate but costs few points
    assert plan["t-3"].action in {Action.CREATE, Action.SKIP}
    assert plan["t-1"].score > plan["t-3"].score


def test_impact_and_explanation_reach_the_brief():
    (item,) = build_plan(inputs([theme("t-1", 10, 40)]), rules(), REDACTOR)
    brief = item.brief
    # k = 50 of N = 400, T = -80, E = (200 - 60) / 350 * 100 = 40: impact = 50/400 * (-120) = -15
    assert brief.impact == pytest.approx(-15.0)
    assert brief.impact_low < brief.impact < brief.impact_high < 0
    assert brief.respondents == 50 and brief.share == pytest.approx(0.125)
    assert "At stake: 15.0 NPS points" in brief.explanation
    # lift: 100 * (0.5 * 40 + 0.25 * 10) / 400 = 5.625 points
    assert brief.lift == pytest.approx(5.625)
    assert brief.lift_text.startswith("+5.6 NPS points if 50% of its detractors became passives")


def test_quotes_are_redacted_before_they_enter_the_plan():
    (item,) = build_plan(inputs([theme("t-1", 10, 40)]), rules(), REDACTOR)
    text = " ".join(item.brief.quotes)
    assert "jo@example.com" not in text and "555 0134" not in text
    assert "[email]" in text and "[phone]" in text


def test_budget_files_the_highest_scores_first():
    themes = [theme("t-1", 5, 60), theme("t-2", 5, 45), theme("t-3", 5, 35)]
    plan = by_key(build_plan(inputs(themes), rules(sprint=SprintRules(ticket_budget=2)), REDACTOR))
    assert [plan[k].action for k in ("t-1", "t-2", "t-3")] == [Action.CREATE, Action.CREATE, Action.SKIP]
    assert plan["t-3"].reason.startswith("over the sprint budget of 2")


def test_pending_create_is_resumed_even_over_budget():
    themes = [theme("t-1", 5, 60), theme("t-2", 5, 45)]
    links = {"t-2": LinkState("creating", None, None)}
    plan = by_key(build_plan(inputs(themes, links), rules(sprint=SprintRules(ticket_budget=1)), REDACTOR))
    assert plan["t-2"].action is Action.CREATE and "not confirmed" in plan["t-2"].reason
    assert plan["t-1"].action is Action.SKIP


def test_linked_issue_is_left_alone_when_nothing_changed_and_updated_otherwise():
    first = by_key(build_plan(inputs([theme("t-1", 10, 40)]), rules(), REDACTOR))["t-1"]
    same = {"t-1": LinkState("open", "o/r#1", first.content_hash)}
    assert by_key(build_plan(inputs([theme("t-1", 10, 40)], same), rules(), REDACTOR))["t-1"].action is Action.LEAVE
    grown = by_key(build_plan(inputs([theme("t-1", 10, 45)], same), rules(), REDACTOR))["t-1"]
    assert grown.action is Action.UPDATE and grown.content_hash != first.content_hash


def test_closed_issue_cooldown_and_regression():
    closed = {"t-1": LinkState("closed", "o/r#1", "x", datetime(2026, 10, 20, tzinfo=UTC))}
    steady = by_key(build_plan(inputs([theme("t-1", 10, 40, previous=50)], closed), rules(), REDACTOR))["t-1"]
    assert steady.action is Action.SKIP and steady.reason.startswith("cooldown: fix shipped on 2026-10-20, 11 days ago")
    regressed = by_key(build_plan(inputs([theme("t-1", 10, 40, previous=10)], closed), rules(), REDACTOR))["t-1"]
    assert regressed.action is Action.UPDATE and regressed.reason.startswith("regressed")
    old = {"t-1": replace(closed["t-1"], closed_at=datetime(2026, 6, 1, tzinfo=UTC))}
    after = by_key(build_plan(inputs([theme("t-1", 10, 40, previous=50)], old), rules(), REDACTOR))["t-1"]
    assert after.action is Action.LEAVE and "not growing" in after.reason


def test_an_issue_closed_as_declined_or_duplicate_is_not_a_fix_and_is_never_filed_again():
    declined = {"t-1": LinkState("closed", "o/r#1", "x", datetime(2026, 10, 20, tzinfo=UTC), "declined")}
    growing = theme("t-1", 10, 40, previous=10)  # would be a regression after a fix
    recent = by_key(build_plan(inputs([growing], declined), rules(), REDACTOR))["t-1"]
    assert recent.action is Action.SKIP
    assert recent.reason == "declined on 2026-10-20 (not planned): set aside for 169 more days"
    old = {"t-1": replace(declined["t-1"], closed_at=datetime(2026, 1, 5, tzinfo=UTC))}
    later = by_key(build_plan(inputs([growing], old), rules(), REDACTOR))["t-1"]
    assert later.action is Action.LEAVE and "growing" in later.reason and "reopen o/r#1" in later.reason
    short = Rules(priority=PriorityRules(sprint=SprintRules(declined_cooldown_days=5)))
    assert by_key(build_plan(inputs([growing], declined), short, REDACTOR))["t-1"].action is Action.LEAVE
    duplicate = {"t-1": replace(declined["t-1"], closure="duplicate")}
    dup = by_key(build_plan(inputs([growing], duplicate), rules(), REDACTOR))["t-1"]
    assert dup.action is Action.SKIP and dup.reason.startswith("closed as a duplicate on 2026-10-20 (o/r#1)")
    fixed = {"t-1": replace(declined["t-1"], closure="fixed")}
    assert by_key(build_plan(inputs([growing], fixed), rules(), REDACTOR))["t-1"].reason.startswith("regressed")


def test_human_and_rule_suppressions():
    themes = [
        theme("t-1", 10, 40, suppressed_reason="owned by billing"),
        theme("t-2", 10, 40, label="pricing is too high"),
    ]
    suppress = SuppressionRules(suppress=(Suppression(reason="pricing team", label_regex="pric"),))
    plan = by_key(build_plan(inputs(themes), Rules(suppression=suppress), REDACTOR))
    assert plan["t-1"].action is Action.SKIP and plan["t-1"].reason == "suppressed: owned by billing"
    assert plan["t-2"].action is Action.SKIP and plan["t-2"].reason == "suppressed: pricing team"


def test_plan_is_ordered_by_score_and_has_no_trend_without_history():
    plan = build_plan(inputs([theme("t-2", 5, 35), theme("t-1", 5, 60)], previous_responses=0), rules(), REDACTOR)
    assert [i.brief.theme_key for i in plan] == ["t-1", "t-2"]
    assert plan[0].brief.trend == "n/a"


def test_over_represented_segments():
    shares = {"plan": {"Enterprise": 0.6, "Free": 0.4}}
    found = over_represented(shares, {"plan": {"Enterprise": 0.2, "Free": 0.8}})
    assert [(s.value, s.share, s.baseline) for s in found] == [("Enterprise", 0.6, 0.2)]


def test_a_window_without_responses_plans_nothing_instead_of_failing():
    """Themes stored from other days, none of their comments in this window (e.g. --as-of before the data)."""
    empty = replace(inputs([theme("t-1", 0, 0), theme("t-2", 0, 0)]), overall=counts(0, 0, 0), responses=0)
    assert build_plan(empty, rules(), REDACTOR) == []
    assert build_plan(inputs([theme("t-1", 10, 40)]), rules(), REDACTOR)  # the same themes with answers are planned
