"""Closing the loop: verdicts on constructed histories whose right answer is known."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session

from backlog_bridge.classify import Category, NpsCounts, compare
from backlog_bridge.report.loop import (
    Event,
    LoopParams,
    Outcome,
    closed_loops,
    count_window,
    evaluate,
    verdict_comment,
    verdict_stamp,
    windows,
)
from backlog_bridge.store.tables import Response, Theme, ThemeMember, TrackerLink

THEME, OTHER = 1, 2
CLOSED = datetime(2026, 6, 1, tzinfo=UTC)
PARAMS = LoopParams(window_days=30, grace_days=7)
BEFORE, _, AFTER, AFTER_END = windows(CLOSED, PARAMS)
DONE = AFTER_END + timedelta(days=1)  # the after-window is complete


def spread(start: datetime, n: int, mentions: int, others: int = 0, passives: int = 0, days: int = 30) -> list[Event]:
    """n responses evenly over `days` days: `mentions` in the theme (the first `passives` of them passive), `others` in another theme."""
    events = []
    for i in range(n):
        at = start + timedelta(days=days) * (i + 0.5) / n
        if i < mentions:
            events.append(Event(at, Category.PASSIVE if i < passives else Category.DETRACTOR, THEME))
        elif i < mentions + others:
            events.append(Event(at, Category.DETRACTOR, OTHER))
        else:
            events.append(Event(at, Category.PROMOTER if i % 2 else Category.PASSIVE, None))
    return events


def history(before: int, after: int, n: int = 400, recent: int | None = None, others: int = 40) -> list[Event]:
    events = spread(BEFORE, n, before, others) + spread(AFTER, n, after, others)
    if recent is not None:
        events += spread(AFTER_END + timedelta(days=30), n, recent, others)
    return events


def judge(events, as_of=DONE, params=PARAMS):
    return evaluate(events, THEME, CLOSED, as_of, params, theme_key="theme-a", label="app crashes")


def test_windows_are_pre_registered_around_the_closing_date():
    assert windows(CLOSED, PARAMS) == (
        datetime(2026, 5, 2, tzinfo=UTC),
        CLOSED,
        datetime(2026, 6, 8, tzinfo=UTC),
        datetime(2026, 7, 8, tzinfo=UTC),
    )


def test_a_fix_that_worked_is_improved_with_its_interval():
    verdict = judge(history(before=40, after=8))
    assert verdict.outcome is Outcome.IMPROVED and verdict.final and not verdict.came_back
    assert (verdict.before.mentions.n, verdict.before.responses) == (40, 400)
    assert (verdict.after.mentions.n, verdict.after.responses) == (8, 400)
    assert verdict.share.difference == pytest.approx(-0.08)
    assert verdict.share.high < 0 and verdict.share.p_value < 0.001
    assert "shrank after the fix: share 10.0% → 2.0%" in verdict.reason


def test_a_fix_that_did_not_work_is_no_detectable_change():
    verdict = judge(history(before=40, after=36))
    assert verdict.outcome is Outcome.NO_CHANGE
    assert verdict.share.low < 0 < verdict.share.high
    assert "no significant change" in verdict.reason


def test_a_theme_that_grows_after_its_fix_regressed():
    verdict = judge(history(before=20, after=45))
    assert verdict.outcome is Outcome.REGRESSED and not verdict.came_back
    assert verdict.share.low > 0
    assert "grew after the fix" in verdict.reason


def test_a_theme_that_comes_back_after_an_improvement_is_flagged_as_a_regression():
    events = history(before=40, after=8, recent=40)
    verdict = judge(events, as_of=AFTER_END + timedelta(days=60))
    assert verdict.outcome is Outcome.REGRESSED and verdict.came_back
    assert verdict.recent is not None and verdict.recent.mentions.n == 40
    assert "came back after the fix: 2.0% after the fix, 10.0% in the last 30 days" in verdict.reason
    # The first, pre-registered comparison still says the fix worked at first.
    assert verdict.share.direction.value == "shrinking"


def test_partly_back_is_still_an_improvement_with_a_note():
    verdict = judge(history(before=60, after=4, recent=20), as_of=AFTER_END + timedelta(days=60))
    assert verdict.outcome is Outcome.IMPROVED and not verdict.came_back
    assert "partly back lately" in verdict.reason


def test_too_early_until_the_after_window_is_complete():
    events = history(before=40, after=8)
    verdict = judge(events, as_of=AFTER + timedelta(days=10))
    assert verdict.outcome is Outcome.TOO_EARLY and not verdict.final
    assert verdict.after.end == AFTER + timedelta(days=10)  # only what has been seen so far
    assert verdict.after.responses == 133  # 10 of 30 days of 400 evenly spread responses
    assert "2026-07-08" in verdict.reason


def test_grace_period_and_later_responses_are_ignored():
    grace = [Event(CLOSED + timedelta(days=3), Category.DETRACTOR, THEME)] * 500
    later = [Event(DONE + timedelta(days=1), Category.DETRACTOR, THEME)] * 500
    plain = judge(history(before=40, after=8))
    noisy = judge(history(before=40, after=8) + grace + later)
    assert noisy.before == plain.before and noisy.after == plain.after and noisy.outcome is Outcome.IMPROVED


def test_nps_of_the_theme_respondents_before_and_after_uses_classify_compare():
    events = spread(BEFORE, 400, 40) + spread(AFTER, 400, 40, passives=20)
    verdict = judge(events)
    assert verdict.before.mentions == NpsCounts(0, 0, 40)
    assert verdict.after.mentions == NpsCounts(0, 20, 20)
    assert verdict.theme_nps == compare(NpsCounts(0, 0, 40), NpsCounts(0, 20, 20))
    assert verdict.theme_nps.delta == pytest.approx(50.0) and verdict.theme_nps.significant
    assert verdict.outcome is Outcome.NO_CHANGE  # the share did not move: NPS is reported, not decisive
    assert "NPS of the respondents who mention it: -100 before, -50 after; change +50.0" in verdict_comment(verdict)


def test_the_other_themes_are_the_control():
    # Every theme halves (a quieter survey, not the fix): the share drops, the share among themed comments does not.
    verdict = judge(spread(BEFORE, 400, 40, others=40) + spread(AFTER, 400, 20, others=20))
    assert verdict.outcome is Outcome.IMPROVED
    assert verdict.control.share_prev == pytest.approx(0.5) and verdict.control.share_cur == pytest.approx(0.5)
    assert verdict.control.direction.value == "stable"
    assert "Against the other themes: 50.0% of all themed comments before, 50.0% after" in verdict_comment(verdict)


def test_no_responses_around_the_fix_is_no_detectable_change():
    verdict = judge(spread(BEFORE, 100, 10))
    assert verdict.outcome is Outcome.NO_CHANGE and verdict.share is None and verdict.theme_nps is None
    assert "too few responses" in verdict.reason


def test_count_window_counts_responses_theme_and_themed():
    events = spread(BEFORE, 100, 10, others=5)
    window = count_window(events, THEME, BEFORE, CLOSED)
    assert (window.responses, window.mentions.n, window.themed, window.share) == (100, 10, 15, 0.1)


def test_comment_is_plain_text_with_design_and_figures_and_stamps_differ_by_outcome():
    improved = judge(history(before=40, after=8))
    text = verdict_comment(improved)
    assert text.startswith("Closing the loop on this fix: IMPROVED.")
    assert "the 30 days before the issue closed on 2026-06-01 against the 30 days from 7 days after it" in text
    assert "10.0% (40 of 400) before, 2.0% (8 of 400) after; change -8.0 points (95% CI" in text
    back = judge(history(before=40, after=8, recent=40), as_of=AFTER_END + timedelta(days=60))
    assert verdict_stamp(improved) == "verdict-20260601T000000-improved"
    assert verdict_stamp(back) != verdict_stamp(improved)


# --- the store gather ------------------------------------------------------------------------------


def seed(engine, events: list[Event], links: list[TrackerLink]) -> dict[int, int]:
    with Session(engine) as session:
        ids = {}
        for ref, label in ((THEME, "app crashes"), (OTHER, "pricing")):
            theme = Theme(key=f"theme-{ref}", label=label, model="m", centroid=b"")
            session.add(theme)
            session.flush()
            ids[ref] = theme.id
        for i, event in enumerate(events):
            score = {Category.PROMOTER: 10, Category.PASSIVE: 7, Category.DETRACTOR: 3}[event.category]
            response = Response(source="s", external_id=str(i), score=score, category=event.category.value,
                                responded_at=event.at, content_hash="x")  # fmt: skip
            session.add(response)
            session.flush()
            if event.theme_id is not None:
                session.add(ThemeMember(response_id=response.id, theme_id=ids[event.theme_id], bucket="theme"))
        for link in links:
            session.add(link)
        session.commit()
    return ids


def test_closed_loops_reads_closed_links_from_the_store(engine):
    seed(
        engine,
        history(before=40, after=8, n=200),
        [
            TrackerLink(tracker="jira", theme_key="theme-1", state="closed", issue_key="FB-7",
                        url="https://jira.example.com/browse/FB-7", closed_at=CLOSED),
            TrackerLink(tracker="jira", theme_key="theme-2", state="open", issue_key="FB-8"),
        ],
    )  # fmt: skip
    (verdict,) = closed_loops(engine, DONE, PARAMS)
    assert (verdict.theme_key, verdict.label, verdict.issue_key, verdict.tracker) == (
        "theme-1",
        "app crashes",
        "FB-7",
        "jira",
    )
    assert verdict.outcome is Outcome.IMPROVED
    assert (verdict.before.mentions.n, verdict.before.responses, verdict.after.mentions.n) == (40, 200, 8)
    assert verdict.closed_at == CLOSED


def test_closed_loops_without_closed_issues_is_empty(engine):
    seed(engine, history(before=4, after=4, n=20), [TrackerLink(tracker="jira", theme_key="theme-1", state="open")])
    assert closed_loops(engine, DONE, PARAMS) == []


@pytest.mark.parametrize(
    ("closure", "judged"), [("fixed", True), (None, True), ("declined", False), ("duplicate", False)]
)
def test_only_an_issue_closed_as_fixed_gets_a_verdict(engine, closure, judged):
    """Not planned / Won't Do / Duplicate shipped no fix; links stored before closures (None) count as fixed."""
    link = TrackerLink(tracker="jira", theme_key="theme-1", state="closed", issue_key="FB-7", closed_at=CLOSED,
                       closure=closure)  # fmt: skip
    seed(engine, history(before=40, after=8, n=200), [link])
    assert [v.issue_key for v in closed_loops(engine, DONE, PARAMS)] == (["FB-7"] if judged else [])


def test_a_reopened_issue_keeps_its_fix_under_judgement(engine):
    # The sync reopens a regressed issue (state open) but keeps the fix's closing date.
    link = TrackerLink(tracker="github", theme_key="theme-1", state="open", issue_key="acme/app#7", closed_at=CLOSED)
    seed(engine, history(before=40, after=8, n=200), [link])
    (verdict,) = closed_loops(engine, DONE, PARAMS)
    assert verdict.issue_key == "acme/app#7" and verdict.closed_at == CLOSED
