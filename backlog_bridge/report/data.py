"""The theme report's content, gathered from the store into frozen values that every format renders.

Nothing is computed twice: impacts, explanations, redacted quotes and over-represented segments come from
the sprint plan the caller passes in (the plan stage's result), theme facts from `themes.theme_stats` and
`themes.theme_events`, NPS from `classify.nps_breakdown`, fix verdicts from `report.loop`. What is new here
is pure and small: each theme's share per period (Wilson intervals) and the four-line summary a lead reads
first.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session, select

from backlog_bridge.classify import NpsGroup, Period, nps_breakdown, period_key, z_for
from backlog_bridge.context import AnalysisWindow
from backlog_bridge.plan.inputs import MAX_SEGMENT_VALUES
from backlog_bridge.plan.model import Action, PlanItem, ThemeBrief
from backlog_bridge.plan.redact import Redactor
from backlog_bridge.report.loop import Event, LoopParams, Outcome, Verdict, closed_loops, load_events
from backlog_bridge.score import wilson_interval
from backlog_bridge.settings import NpsSettings
from backlog_bridge.store import repo
from backlog_bridge.store.tables import TrackerLink
from backlog_bridge.sync.tracker import CLOSURE_WORDS
from backlog_bridge.themes import ThemeStat, set_aside, theme_events, theme_stats

SHORT_HISTORY_DAYS = 120
"""Histories shorter than this are charted by week, longer ones by month."""


@dataclass(frozen=True)
class NpsPoint:
    """NPS of one group (a period, a segment value or everything) with its interval."""

    group: str
    nps: float
    low: float
    high: float
    responses: int
    too_small: bool


@dataclass(frozen=True)
class SegmentNps:
    """NPS of the window's respondents with one value of a segment field."""

    field: str
    point: NpsPoint


@dataclass(frozen=True)
class SharePoint:
    """A theme's share of all responses in one period, with its Wilson interval."""

    period: str
    respondents: int
    responses: int
    share: float
    low: float
    high: float


@dataclass(frozen=True)
class LineageEntry:
    """One event in a theme's life: born, grew, merged, renamed, ..."""

    at: datetime
    kind: str
    actor: str
    detail: str


@dataclass(frozen=True)
class IssueLink:
    """The tracker issue that carries a theme, as the store last saw it."""

    tracker: str
    key: str | None
    url: str | None
    state: str
    """creating, open, closed or failed."""
    closed_at: datetime | None
    priority: str | None
    closure: str | None = None
    """What the close meant: fixed (None: stored before closures), declined or duplicate."""


@dataclass(frozen=True)
class ThemeSection:
    """Everything the report says about one theme."""

    rank: int
    """1 = the most NPS points at stake."""
    brief: ThemeBrief
    """Impact with interval, explanation, redacted quotes, segments: exactly what the issue says."""
    action: str
    reason: str
    priority: str | None
    score: float
    first_seen: datetime | None
    suppressed: str | None
    share_series: tuple[SharePoint, ...]
    lineage: tuple[LineageEntry, ...]
    issues: tuple[IssueLink, ...]
    verdict: Verdict | None

    @property
    def at_stake(self) -> float:
        """Points at stake (positive = the theme costs NPS)."""
        return -self.brief.impact

    @property
    def significant(self) -> bool:
        """Large enough and significant after false-discovery control across themes (priority > 0).

        Themes gather detractor and passive comments only, so nearly every theme's interval lies below
        zero; the gate and the false-discovery control are what say a theme surely matters.
        """
        return self.score > 0


@dataclass(frozen=True)
class Summary:
    """The four answers a lead wants in the first minute."""

    hurts_most: str
    how_sure: str
    being_done: str
    past_fixes: str


@dataclass(frozen=True)
class NoSpecificReason:
    """Detractor and passive comments that named no problem: counted here, never themes or issues."""

    count: int
    share: float
    """Of the window's detractor and passive comments."""
    comments: int
    examples: tuple[str, ...]
    """The commonest such remarks, redacted."""
    not_actionable: int
    """Empty answers and stock phrases ("n/a", "-"), counted apart."""


@dataclass(frozen=True)
class Report:
    """The whole theme report, ready to render as HTML, Markdown or JSON."""

    as_of: datetime
    generated_at: datetime
    window_start: datetime
    window_end: datetime
    period: Period
    overall: NpsPoint | None
    """NPS of the window's responses; None when the window is empty."""
    nps_series: tuple[NpsPoint, ...]
    segments: tuple[SegmentNps, ...]
    themes: tuple[ThemeSection, ...]
    verdicts: tuple[Verdict, ...]
    """Every closed issue's fix, newest first (themes no longer active included)."""
    summary: Summary
    loop: LoopParams
    no_specific_reason: NoSpecificReason | None = None
    """Vague remarks and praise without a reason in the window; None for reports built without it."""

    @property
    def last_day(self) -> date:
        """The last calendar day whose responses are in (`as_of` is exclusive: --as-of D means up to D's end)."""
        return (self.as_of - timedelta(microseconds=1)).date()


def gather_report(
    engine: Engine,
    plan: Sequence[PlanItem],
    window: AnalysisWindow,
    nps: NpsSettings,
    redactor: Redactor,
    generated_at: datetime,
    loop: LoopParams | None = None,
) -> Report:
    """Read the store and assemble the report for the analysis window, around the plan made for it.

    Args:
        engine: the store.
        plan: the sprint plan for this window (the plan stage's result): impacts, briefs, actions.
        window: the analysis window; later responses are left out.
        nps: NPS confidence and minimum group size.
        redactor: the team's redaction rules (for the example remarks that name no reason).
        generated_at: when the report is written (the wall clock, not the window's end).
        loop: the pre-registered before/after design for fix verdicts (None: the defaults).
    """
    end, start = window.end, window.start
    loop = loop or LoopParams()
    z = z_for(nps.confidence)
    responses = repo.scored_responses(engine, until=end)
    period = choose_period([r.responded_at for r in responses])
    min_size = nps.min_group_size
    series = nps_breakdown([(r.score, r.responded_at, "all") for r in responses], period, min_size, z)
    in_window = [r for r in responses if _aware(r.responded_at) >= start]
    overall = nps_breakdown([(r.score, r.responded_at, "all") for r in in_window], None, min_size, z)
    segments = segment_nps([(r.score, r.responded_at, r.segments) for r in in_window], min_size, z)
    stats = {s.theme.id or 0: s for s in theme_stats(engine, window)}
    verdicts = closed_loops(engine, end, loop)
    events = load_events(engine, min((_aware(r.responded_at) for r in responses), default=end), end)
    sections = theme_sections(plan, stats, events, period, _links(engine), {v.theme_key: v for v in verdicts})
    sections = tuple(_with_lineage(section, engine) for section in sections)
    head = _point(overall[0], "all") if overall else None
    aside = set_aside(engine, window)
    no_reason = NoSpecificReason(
        aside.no_specific_reason,
        aside.share,
        aside.comments,
        tuple(redactor.redact(text) for text in aside.examples),
        aside.not_actionable,
    )
    return Report(
        as_of=end,
        generated_at=generated_at,
        window_start=start,
        window_end=end,
        period=period,
        overall=head,
        nps_series=tuple(_point(g, g.period or "") for g in series),
        segments=segments,
        themes=sections,
        verdicts=tuple(verdicts),
        summary=summarise(sections, verdicts, head),
        loop=loop,
        no_specific_reason=no_reason,
    )


def choose_period(moments: Sequence[datetime]) -> Period:
    """Week for short histories (enough points to see a trend), month otherwise."""
    if not moments:
        return "month"
    return "week" if (max(moments) - min(moments)).days < SHORT_HISTORY_DAYS else "month"


def segment_nps(
    rows: Sequence[tuple[int, datetime, Mapping[str, object]]], min_group_size: int, z: float
) -> tuple[SegmentNps, ...]:
    """NPS per value of every segment field with 2 to `MAX_SEGMENT_VALUES` values (ids and amounts are skipped)."""
    values: dict[str, set[str]] = defaultdict(set)
    for _, _, segments in rows:
        for name, value in segments.items():
            if value not in (None, ""):
                values[name].add(str(value))
    found: list[SegmentNps] = []
    for name in sorted(values):
        if not 2 <= len(values[name]) <= MAX_SEGMENT_VALUES:
            continue
        triples = [(score, at, str(seg[name])) for score, at, seg in rows if seg.get(name) not in (None, "")]
        found += [SegmentNps(name, _point(g, g.group)) for g in nps_breakdown(triples, None, min_group_size, z)]
    return tuple(found)


def share_series(events: Sequence[Event], theme_id: int, period: Period) -> tuple[SharePoint, ...]:
    """The theme's respondents / all responses per period, with Wilson 95% intervals (pure)."""
    totals: Counter[str] = Counter()
    mentions: Counter[str] = Counter()
    for event in events:
        key = period_key(event.at, period)
        totals[key] += 1
        mentions[key] += event.theme_id == theme_id
    points = []
    for key in sorted(totals):
        low, high = wilson_interval(mentions[key], totals[key])
        points.append(SharePoint(key, mentions[key], totals[key], mentions[key] / totals[key], low, high))
    return tuple(points)


def theme_sections(
    items: Sequence[PlanItem],
    stats: Mapping[int, ThemeStat],
    events: Sequence[Event],
    period: Period,
    links: Mapping[str, Sequence[IssueLink]],
    verdicts: Mapping[str, Verdict],
) -> tuple[ThemeSection, ...]:
    """One section per planned theme, most points at stake first (pure)."""
    ranked = sorted(items, key=lambda i: (i.brief.impact, i.brief.impact_high, i.brief.label))
    sections = []
    for rank, item in enumerate(ranked, start=1):
        brief = item.brief
        stat = stats.get(brief.theme_id)
        sections.append(
            ThemeSection(
                rank=rank,
                brief=brief,
                action=item.action.value,
                reason=item.reason,
                priority=item.priority,
                score=item.score,
                first_seen=_aware(stat.theme.created_at) if stat else None,
                suppressed=stat.theme.suppressed_reason if stat else None,
                share_series=share_series(events, brief.theme_id, period),
                lineage=(),
                issues=tuple(links.get(brief.theme_key, ())),
                verdict=verdicts.get(brief.theme_key),
            )
        )
    return tuple(sections)


def summarise(sections: Sequence[ThemeSection], verdicts: Sequence[Verdict], overall: NpsPoint | None) -> Summary:
    """What hurts most, how sure we are, what is being done, what past fixes achieved: one sentence each (pure)."""
    return Summary(_hurts(sections), _sure(sections, overall), _done(sections), _fixes(verdicts))


def _hurts(sections: Sequence[ThemeSection]) -> str:
    costly = [s for s in sections if s.brief.impact < 0]
    if not costly:
        return "No theme measurably costs NPS points in this window."
    top = costly[0]
    b = top.brief
    text = (
        f"“{b.label}” costs the most: {top.at_stake:.1f} NPS points (95% CI {-b.impact_high:.1f} to "
        f"{-b.impact_low:.1f}) from {b.respondents} respondents ({b.share:.1%} of responses)"
    )
    rest = [f"“{s.brief.label}” ({s.at_stake:.1f})" for s in costly[1:3]]
    return text + (f"; then {' and '.join(rest)}." if rest else ".")


def _sure(sections: Sequence[ThemeSection], overall: NpsPoint | None) -> str:
    significant = sum(1 for s in sections if s.significant)
    nps = (
        f"NPS {overall.nps:+.1f} (95% CI {overall.low:+.1f} to {overall.high:+.1f}) from {overall.responses} responses"
        if overall
        else "no responses in the window"
    )
    return (
        f"{significant} of {len(sections)} themes are large enough and significant after controlling false "
        f"discoveries across themes; the others are too small or too uncertain to act on yet. Overall: {nps}."
    )


def _done(sections: Sequence[ThemeSection]) -> str:
    states = Counter(status_of(s)[0] for s in sections)
    parts = [
        f"{states[k]} {label}"
        for k, label in (
            ("open", "with an open issue"),
            ("to_file", "to be filed this sprint"),
            ("closed", "with a fix shipped"),
            ("waiting", "waiting (small, not significant, over budget or suppressed)"),
        )
        if states[k]
    ]
    return "Themes: " + (", ".join(parts) if parts else "none yet") + "."


def _fixes(verdicts: Sequence[Verdict]) -> str:
    if not verdicts:
        return "No fix has shipped yet: verdicts appear once a theme's issue is closed."
    counts = Counter(v.outcome for v in verdicts)
    parts = [f"{counts[o]} {o.value}" for o in Outcome if counts[o]]
    named = "; ".join(f"“{v.label}”: {v.outcome.value}" for v in verdicts[:3])
    return f"{len(verdicts)} {'fix' if len(verdicts) == 1 else 'fixes'} judged — {', '.join(parts)} ({named})."


def status_of(section: ThemeSection) -> tuple[str, str]:
    """(kind, words) for a theme's tracker status: open, closed, to_file or waiting."""
    issue = next((i for i in section.issues if i.state == "open"), None) or next(
        (i for i in section.issues if i.state == "closed"), None
    )
    if issue is not None and issue.state == "closed":
        day = f" on {issue.closed_at:%Y-%m-%d}" if issue.closed_at else ""
        said = CLOSURE_WORDS[issue.closure or "fixed"]
        return "closed", f"{said}{day} ({issue.tracker} {issue.key or '?'})"
    if issue is not None:
        return "open", f"open: {issue.tracker} {issue.key or '?'}" + (f", {issue.priority}" if issue.priority else "")
    if section.action == Action.CREATE.value:
        return "to_file", f"to be filed this sprint ({section.priority})"
    return "waiting", f"not filed: {section.reason}"


def _links(engine: Engine) -> dict[str, list[IssueLink]]:
    found: dict[str, list[IssueLink]] = defaultdict(list)
    with Session(engine) as session:
        for link in session.exec(select(TrackerLink)):
            closed = _aware(link.closed_at) if link.closed_at else None
            found[link.theme_key].append(
                IssueLink(link.tracker, link.issue_key, link.url, link.state, closed, link.priority, link.closure)
            )
    return found


def _with_lineage(section: ThemeSection, engine: Engine) -> ThemeSection:
    entries = tuple(
        LineageEntry(_aware(e.at), e.kind, e.actor, " ".join(f"{k}={v}" for k, v in e.detail.items()))
        for e in theme_events(engine, section.brief.theme_id)
    )
    return replace(section, lineage=entries)


def _point(group: NpsGroup, name: str) -> NpsPoint:
    e = group.estimate
    return NpsPoint(name, round(e.nps, 2), round(e.low, 2), round(e.high, 2), e.counts.n, group.too_small)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
