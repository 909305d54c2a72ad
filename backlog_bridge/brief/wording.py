"""The words of a theme brief, chosen once: every issue body, the plan and the report are built here.

`build_brief` turns a theme's figures (`plan.model.ThemeBrief`) and what the caller knows besides (a
`BriefContext`: priority, plan decision, tracker status, fix verdict) into a `BriefDocument`. A fact
appears in every format with the same words because no emitter words anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from urllib.parse import urldefrag

from backlog_bridge.brief.document import (
    Badge,
    Block,
    BriefDocument,
    Code,
    Figure,
    Figures,
    Heading,
    Inline,
    Link,
    Links,
    Paragraph,
    Quotes,
    Runs,
    Strong,
    Table,
    Text,
    Tone,
    Verdict,
    safe_url,
    theme_anchor,
)
from backlog_bridge.plan.model import PlanItem, Target, ThemeBrief
from backlog_bridge.report import loop

MAX_QUOTES = 5
MAX_QUOTE_CHARS = 600
"""A quote longer than this is cut at a word (comments can hold 20,000 characters; Jira refuses a
description over 32,767, GitHub a body over 65,536, and a lead reads the gist)."""
_TRENDS: dict[str, tuple[str, Tone]] = {
    "growing": ("↑ growing", "bad"),
    "shrinking": ("↓ shrinking", "good"),
    "stable": ("→ stable", "neutral"),
}
_OUTCOME_TONES: dict[loop.Outcome, Tone] = {loop.Outcome.IMPROVED: "good", loop.Outcome.REGRESSED: "bad"}


class IssueFacts(Protocol):
    """A tracker issue as the report knows it (`report.data.IssueLink`)."""

    @property
    def tracker(self) -> str: ...  # noqa: D102
    @property
    def key(self) -> str | None: ...  # noqa: D102
    @property
    def url(self) -> str | None: ...  # noqa: D102
    @property
    def state(self) -> str: ...  # noqa: D102


@dataclass(frozen=True)
class BriefContext:
    """What a caller knows beyond the theme's figures; each field given adds its line to the brief."""

    rank: int | None = None
    """Place by points at stake (the report numbers its sections)."""
    priority: str | None = None
    significant: bool | None = None
    """Whether the theme passed the gate and false-discovery control (the report says so)."""
    action: str | None = None
    """The plan's decision (create, update, leave, skip), with `reason` (the plan and the report show it)."""
    reason: str | None = None
    target: Target | None = None
    tracker_status: str | None = None
    issues: tuple[IssueFacts, ...] = ()
    suppressed: str | None = None
    first_seen: datetime | None = None
    verdict: loop.Verdict | None = None
    link_report: bool = True
    """Link the theme's section of the published report (not from inside the report itself)."""


def build_brief(brief: ThemeBrief, context: BriefContext | None = None) -> BriefDocument:
    """The brief of one theme: title, figures, segments, why, fix verdict, quotes and links."""
    context = context or BriefContext()
    anchor = theme_anchor(brief.theme_id)
    title = f"{context.rank}. {brief.label}" if context.rank is not None else brief.label
    blocks: list[Block] = [Heading(title), Figures(_figures(brief, context))]
    if brief.segments:
        rows = tuple((f"{s.field} = {s.value}", f"{s.share:.1%}", f"{s.baseline:.1%}") for s in brief.segments)
        blocks.append(Table("Most affected segments", ("Segment", "In this theme", "Overall"), rows))
    if brief.explanation:
        blocks.append(Paragraph((Strong("Why this priority:"), Text(f" {brief.explanation}"))))
    if context.verdict is not None:
        blocks.append(verdict_block(context.verdict))
    if brief.quotes:
        quotes = tuple(clip_quote(quote) for quote in brief.quotes[:MAX_QUOTES])
        blocks.append(Quotes("What customers say (redacted)", quotes))
    report = safe_url(brief.report_url)
    if context.link_report and report:
        blocks.append(Links((Link("Theme report", f"{urldefrag(report).url}#{anchor}"),)))
    return BriefDocument(anchor, tuple(blocks))


def issue_brief(item: PlanItem) -> BriefDocument:
    """The brief in a theme's tracker issue."""
    return build_brief(item.brief, BriefContext(priority=item.priority))


def plan_brief(item: PlanItem) -> BriefDocument:
    """The brief in the sprint plan: the issue's brief plus the decision and where it goes."""
    context = BriefContext(priority=item.priority, action=item.action.value, reason=item.reason, target=item.target)
    return build_brief(item.brief, context)


def _figures(brief: ThemeBrief, context: BriefContext) -> tuple[Figure, ...]:
    stake = stake_text(brief)
    if context.significant is not None:
        stake += " — " + (
            "significant: gets a priority" if context.significant else "too small or too uncertain for a priority"
        )
    rows = [Figure("Points at stake (95% CI)", (Text(stake),))]
    if context.priority:
        rows.append(Figure("Priority", (Strong(context.priority),)))
    counts = f"{brief.respondents} ({brief.detractors} detractors, {brief.passives} passives)"
    rows.append(Figure("Respondents", (Text(f"{counts}, {brief.share:.1%} of responses"),)))
    trend_text: Runs = (Text(f" — {brief.trend_text}"),) if brief.trend_text else ()
    rows.append(Figure("Trend", (trend_badge(brief.trend), *trend_text)))
    if brief.lift_text:
        rows.append(Figure("If fixed", (Text(brief.lift_text),)))
    if brief.keywords:
        rows.append(Figure("Keywords", (Text(", ".join(brief.keywords)),)))
    rows += _context_figures(context)
    rows.append(Figure("Theme key", (Code(brief.theme_key),)))
    return tuple(rows)


def _context_figures(context: BriefContext) -> list[Figure]:
    rows = []
    if context.action is not None:
        rows.append(
            Figure("Plan", (Text(f"{context.action}: {context.reason}" if context.reason else context.action),))
        )
    if context.target is not None:
        rows.append(Figure("Goes to", (Text(target_text(context.target)),)))
    if context.tracker_status is not None:
        rows.append(Figure("Tracker", _tracker_runs(context.tracker_status, context.issues)))
    if context.suppressed:
        rows.append(Figure("Suppressed", (Text(context.suppressed),)))
    if context.first_seen is not None:
        rows.append(Figure("First seen", (Text(f"{context.first_seen:%Y-%m-%d}"),)))
    return rows


def _tracker_runs(status: str, issues: tuple[IssueFacts, ...]) -> Runs:
    runs: list[Inline] = [Text(status)]
    for n, issue in enumerate(i for i in issues if i.url):
        runs += [
            Text(" — " if n == 0 else ", "),
            Link(f"{issue.tracker} {issue.key or 'issue'} ({issue.state})", issue.url or ""),
        ]
    return tuple(runs)


def verdict_block(verdict: loop.Verdict, titled: bool = False) -> Verdict:
    """What a shipped fix achieved; `titled` names the theme and its issue (the report's list of fixes)."""
    tone = _OUTCOME_TONES.get(verdict.outcome, "neutral")
    runs: list[Inline] = []
    if titled:
        runs += [Strong(verdict.label), Text(" ("), Link(verdict.issue_key or "issue", verdict.url or ""), Text("), ")]
    runs += [
        Text(f"fix shipped {verdict.closed_at:%Y-%m-%d}: "),
        Badge(verdict.outcome.value, tone),
        Text(f" — {verdict.reason}."),
    ]
    if verdict.came_back:
        runs += [Text(" "), Strong("Regression: the theme came back after its fix.")]
    return Verdict(tone, tuple(runs), tuple(loop.verdict_figures(verdict)))


def stake_text(brief: ThemeBrief) -> str:
    """Points at stake with the interval, as a lead reads it: '5.5 (4.0 to 7.0)'."""
    return f"{_num(-brief.impact)} ({_num(-brief.impact_high)} to {_num(-brief.impact_low)})"


def target_text(target: Target) -> str:
    """Tracker and project (or the tracker's default), and the component when routed to one."""
    where = target.project or "default project"
    extra = f", {target.component}" if target.component else ""
    return f"{target.tracker}: {where}{extra}"


def trend_badge(trend: str) -> Badge:
    """The trend as a badge: growing is bad news, shrinking good."""
    text, tone = _TRENDS.get(trend, ("n/a", "neutral"))
    return Badge(text, tone)


def _num(value: float) -> str:
    """One decimal, never "-0.0"."""
    return f"{value + 0.0:.1f}" if round(value, 1) != 0 else "0.0"


def clip_quote(text: str, limit: int = MAX_QUOTE_CHARS) -> str:
    """The quote, or its first `limit` characters cut at the last space, marked with an ellipsis."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    cut = head.rsplit(None, 1)[0] if " " in head.strip() else head
    return cut.rstrip() + " …"
