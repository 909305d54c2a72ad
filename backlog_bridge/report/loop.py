"""Closing the loop: did a theme shrink after its issue was closed? (statistics pure, one small IO gather).

The test is fixed before anyone looks at the data (pre-registered): the `window_days` before the issue
closed against `window_days` starting `grace_days` after it closed (time for the fix to reach customers).
The primary outcome is the theme's share of all responses, compared with a pooled two-proportion test and
a Newcombe interval (`score.share_trend`): a significant drop is *improved*, a significant rise
*regressed*, anything else *no detectable change*; before the after-window ends the verdict is *too
early*. A theme that improved but later grows significantly above its after-fix share has *come back*
and is also a regression. Secondary, reported but not deciding: the NPS of the theme's respondents
before and after (`classify.compare`), and the theme's share of all themed comments (the other themes
as a control: a drop that every theme shows is probably not the fix).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import Engine, or_
from sqlmodel import Session, col, select

from backlog_bridge.classify import Category, NpsChange, NpsCounts, compare
from backlog_bridge.score import Direction, ShareTrend, share_trend
from backlog_bridge.store.tables import Response, Theme, ThemeMember, TrackerLink


class Outcome(StrEnum):
    """The verdict on a fix."""

    IMPROVED = "improved"
    NO_CHANGE = "no detectable change"
    REGRESSED = "regressed"
    TOO_EARLY = "too early"


@dataclass(frozen=True)
class LoopParams:
    """The pre-registered design: fixed in settings, never tuned after looking at a result."""

    window_days: int = 30
    """Days compared on each side of the fix."""
    grace_days: int = 7
    """Days after closing that belong to neither window, while the fix reaches customers."""
    alpha: float = 0.05
    """Significance level of the share test."""


@dataclass(frozen=True)
class Event:
    """One response as the verdict sees it: when, which bucket, and which theme took its comment."""

    at: datetime
    category: Category
    theme_id: int | None = None


@dataclass(frozen=True)
class Window:
    """Counts in one window [start, end)."""

    start: datetime
    end: datetime
    responses: int
    """All responses: the denominator of shares."""
    mentions: NpsCounts
    """The theme's respondents by bucket."""
    themed: int
    """Respondents whose comment is in any theme (the theme's included): the control's denominator."""

    @property
    def share(self) -> float:
        """The theme's respondents / all responses (0 for an empty window)."""
        return self.mentions.n / self.responses if self.responses else 0.0


@dataclass(frozen=True)
class Verdict:
    """What a closed issue's fix achieved, with the figures behind the words."""

    theme_id: int
    theme_key: str
    label: str
    issue_key: str | None
    url: str | None
    closed_at: datetime
    as_of: datetime
    params: LoopParams
    outcome: Outcome
    reason: str
    """One plain sentence: why this outcome."""
    before: Window
    after: Window
    """Partial while the outcome is too early."""
    share: ShareTrend | None
    """After vs before; None when a window has no responses."""
    theme_nps: NpsChange | None
    """NPS of the theme's respondents, after minus before; None when either side has none."""
    control: ShareTrend | None
    """The theme's share of all themed comments, after vs before (the other themes as a control)."""
    recent: Window | None = None
    """The latest full window, once it lies wholly after the after-window."""
    came_back: bool = False
    """The theme grew significantly above its after-fix share: flagged as a regression."""
    tracker: str | None = None
    """The tracker holding the issue (jira, github): where the sync posts the comment."""

    @property
    def final(self) -> bool:
        """The after-window is complete: the verdict may be posted on the issue."""
        return self.outcome is not Outcome.TOO_EARLY


def windows(closed_at: datetime, params: LoopParams) -> tuple[datetime, datetime, datetime, datetime]:
    """(before start, before end, after start, after end) around `closed_at`."""
    width, grace = timedelta(days=params.window_days), timedelta(days=params.grace_days)
    return closed_at - width, closed_at, closed_at + grace, closed_at + grace + width


def count_window(events: Iterable[Event], theme_id: int, start: datetime, end: datetime) -> Window:
    """Tally responses, the theme's respondents and all themed respondents in [start, end)."""
    responses = themed = promoters = passives = detractors = 0
    for event in events:
        if not start <= event.at < end:
            continue
        responses += 1
        if event.theme_id is None:
            continue
        themed += 1
        if event.theme_id == theme_id:
            promoters += event.category is Category.PROMOTER
            passives += event.category is Category.PASSIVE
            detractors += event.category is Category.DETRACTOR
    return Window(start, end, responses, NpsCounts(promoters, passives, detractors), themed)


def evaluate(
    events: Sequence[Event],
    theme_id: int,
    closed_at: datetime,
    as_of: datetime,
    params: LoopParams = LoopParams(),
    *,
    theme_key: str = "",
    label: str = "",
    issue_key: str | None = None,
    url: str | None = None,
    tracker: str | None = None,
) -> Verdict:
    """The verdict on one theme's fix from the history of responses (pure).

    Args:
        events: every response around the fix (others are ignored), with the theme its comment is in.
        theme_id: the theme whose issue was closed.
        closed_at: when the issue was closed ("fix shipped").
        as_of: the moment the report treats as now; events after it are ignored.
        params: the pre-registered windows and significance level.
        theme_key: stable key of the theme, for the report and the comment stamp.
        label: the theme's label.
        issue_key: the tracker issue (FB-123, org/repo#45).
        url: the issue's address.
        tracker: the tracker holding the issue.
    """
    before_start, before_end, after_start, after_end = windows(closed_at, params)
    seen = [e for e in events if e.at < as_of]
    before = count_window(seen, theme_id, before_start, before_end)
    after = count_window(seen, theme_id, after_start, min(after_end, max(as_of, after_start)))
    share = _trend(before.mentions.n, before.responses, after.mentions.n, after.responses, params.alpha)
    control = _trend(before.mentions.n, before.themed, after.mentions.n, after.themed, params.alpha)
    theme_nps = compare(before.mentions, after.mentions) if before.mentions.n and after.mentions.n else None
    recent = None
    if as_of - timedelta(days=params.window_days) >= after_end:
        recent = count_window(seen, theme_id, as_of - timedelta(days=params.window_days), as_of)
    outcome, reason, came_back = _judge(before, after, share, recent, as_of, after_end, params)
    return Verdict(theme_id, theme_key, label, issue_key, url, closed_at, as_of, params, outcome, reason,
                   before, after, share, theme_nps, control, recent, came_back, tracker)  # fmt: skip


def _trend(k_prev: int, n_prev: int, k_cur: int, n_cur: int, alpha: float) -> ShareTrend | None:
    return share_trend(k_prev, n_prev, k_cur, n_cur, alpha) if n_prev and n_cur else None


def _judge(
    before: Window,
    after: Window,
    share: ShareTrend | None,
    recent: Window | None,
    as_of: datetime,
    after_end: datetime,
    params: LoopParams,
) -> tuple[Outcome, str, bool]:
    if as_of < after_end:
        days = (after_end - as_of).days + (1 if (after_end - as_of) % timedelta(days=1) else 0)
        return Outcome.TOO_EARLY, f"the after-fix window ends on {after_end:%Y-%m-%d}, {days} days from now", False
    if share is None:
        return Outcome.NO_CHANGE, "too few responses around the fix to tell", False
    moved = f"share {_pct(share.share_prev)} → {_pct(share.share_cur)} ({_p(share.p_value)})"
    if share.direction is Direction.GROWING:
        return Outcome.REGRESSED, f"the theme grew after the fix: {moved}", False
    back = _back(before, after, recent, params)
    if back is not None and back[1]:
        return Outcome.REGRESSED, f"came back after the fix: {back[0]}", True
    if share.direction is Direction.SHRINKING:
        partly = f"; partly back lately ({back[0]})" if back is not None else ""
        return Outcome.IMPROVED, f"the theme shrank after the fix: {moved}{partly}", False
    return Outcome.NO_CHANGE, f"no significant change in the theme's share: {moved}", False


def _back(before: Window, after: Window, recent: Window | None, params: LoopParams) -> tuple[str, bool] | None:
    """(words, fully back) when the latest window grew significantly above the after-fix window.

    Fully back = no longer significantly below the before-fix window: the fix's gain is gone.
    """
    if recent is None or not (recent.responses and after.responses and before.responses):
        return None
    rise = share_trend(after.mentions.n, after.responses, recent.mentions.n, recent.responses, params.alpha)
    if rise.direction is not Direction.GROWING:
        return None
    still_lower = share_trend(before.mentions.n, before.responses, recent.mentions.n, recent.responses, params.alpha)
    words = (
        f"{_pct(rise.share_prev)} after the fix, {_pct(rise.share_cur)} in the last {params.window_days} days "
        f"({_p(rise.p_value)}) against {_pct(still_lower.share_prev)} before it"
    )
    return words, still_lower.direction is not Direction.SHRINKING


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def _p(value: float) -> str:
    return "p < 0.001" if value < 0.001 else f"p = {value:.2g}"


def verdict_comment(verdict: Verdict) -> str:
    """The verdict as plain text for the issue (the tracker adapter escapes it for its markup)."""
    p = verdict.params
    lines = [
        f"Closing the loop on this fix: {verdict.outcome.value.upper()}.",
        f"{verdict.reason[0].upper()}{verdict.reason[1:]}.",
        "",
        f"Design (fixed in advance): the {p.window_days} days before the issue closed on "
        f"{verdict.closed_at:%Y-%m-%d} against the {p.window_days} days from {p.grace_days} days after it.",
    ]
    lines += [f"- {line}" for line in verdict_figures(verdict)]
    return "\n".join(lines)


def verdict_figures(verdict: Verdict) -> list[str]:
    """The figures behind a verdict, one sentence each (report and issue comment)."""
    b, a = verdict.before, verdict.after
    lines = [
        f"Share of responses mentioning the theme: {_pct(b.share)} ({b.mentions.n} of {b.responses}) before, "
        f"{_pct(a.share)} ({a.mentions.n} of {a.responses}) after"
        + (_interval(verdict.share) if verdict.share else "")
        + "."
    ]
    if verdict.theme_nps is not None:
        c = verdict.theme_nps
        lines.append(
            f"NPS of the respondents who mention it: {_nps(b.mentions)} before, {_nps(a.mentions)} after; "
            f"change {c.delta:+.1f} points (95% CI {c.low:+.1f} to {c.high:+.1f}, {_p(c.p_value)})."
        )
    if verdict.control is not None:
        c2 = verdict.control
        lines.append(
            f"Against the other themes: {_pct(c2.share_prev)} of all themed comments before, {_pct(c2.share_cur)} "
            f"after ({_p(c2.p_value)}{'; significant' if c2.direction is not Direction.STABLE else ''})."
        )
    if verdict.recent is not None:
        r = verdict.recent
        lines.append(f"Latest {verdict.params.window_days} days: {_pct(r.share)} ({r.mentions.n} of {r.responses}).")
    return lines


def _interval(trend: ShareTrend) -> str:
    return (
        f"; change {100 * trend.difference:+.1f} points (95% CI {100 * trend.low:+.1f} to {100 * trend.high:+.1f}, "
        f"{_p(trend.p_value)})"
    )


def _nps(counts: NpsCounts) -> str:
    return f"{100 * (counts.promoters - counts.detractors) / counts.n:+.0f}" if counts.n else "n/a"


def verdict_stamp(verdict: Verdict) -> str:
    """Idempotency stamp for the comment: one comment per closure and outcome (a later regression posts again)."""
    return f"verdict-{verdict.closed_at:%Y%m%dT%H%M%S}-{verdict.outcome.name.lower()}"


# --- the small IO part ---------------------------------------------------------------------------


def closed_loops(engine: Engine, as_of: datetime, params: LoopParams = LoopParams()) -> list[Verdict]:
    """A verdict for every theme whose tracker issue was closed as fixed, newest fix first.

    Issues closed as declined (not planned, won't do) or as duplicates shipped no fix: no verdict.
    """
    fixed = or_(col(TrackerLink.closure).is_(None), col(TrackerLink.closure) == "fixed")  # None: stored before closures
    with Session(engine) as session:
        query = select(TrackerLink).where(col(TrackerLink.closed_at).is_not(None), fixed)
        links = list(session.exec(query))
        if not links:
            return []
        keys = {link.theme_key for link in links}
        themes = {t.key: t for t in session.exec(select(Theme).where(col(Theme.key).in_(keys)))}
    earliest = min(_aware(link.closed_at) for link in links) - timedelta(days=params.window_days)
    events = load_events(engine, earliest, as_of)
    verdicts = []
    for link in links:
        theme = themes.get(link.theme_key)
        if theme is None or link.closed_at is None:
            continue
        verdicts.append(
            evaluate(
                events,
                theme.id or 0,
                _aware(link.closed_at),
                as_of,
                params,
                theme_key=theme.key,
                label=theme.label,
                issue_key=link.issue_key,
                url=link.url,
                tracker=link.tracker,
            )
        )
    verdicts.sort(key=lambda v: (-v.closed_at.timestamp(), v.label))
    return verdicts


def load_events(engine: Engine, start: datetime, end: datetime) -> list[Event]:
    """Every response in [start, end) with the theme that holds its comment (None: unthemed or no comment)."""
    query = (
        select(Response.responded_at, Response.category, ThemeMember.theme_id)
        .join(ThemeMember, col(ThemeMember.response_id) == col(Response.id), isouter=True)
        .where(col(Response.responded_at) >= start, col(Response.responded_at) < end)
    )
    with Session(engine) as session:
        return [Event(_aware(at), Category(category), theme_id) for at, category, theme_id in session.exec(query)]


def _aware(moment: datetime | None) -> datetime:
    """SQLite hands back naive datetimes for some columns: the store's convention is UTC."""
    assert moment is not None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
