"""The sprint plan (pure): scored themes + the team's rules + what is already filed -> one action each.

Nothing here touches a tracker, the store or the clock: `plan.inputs` gathers `PlanInputs` from the
store, and the sync engine applies the returned `PlanItem`s.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime

from backlog_bridge.plan.model import Action, PlanItem, SegmentShare, Target, ThemeBrief
from backlog_bridge.plan.redact import Redactor
from backlog_bridge.plan.rules import Rules, ThemeFacts, priority_for, route_for, suppression_for
from backlog_bridge.score import (
    Direction,
    ShareTrend,
    ThemeImpact,
    ThemeInput,
    WeightedCounts,
    explain,
    lift,
    score_themes,
    share_trend,
)


@dataclass(frozen=True)
class LinkState:
    """What the store knows of a theme's issue."""

    state: str
    """creating, open, closed or failed."""
    issue_key: str | None
    content_hash: str | None
    closed_at: datetime | None = None
    closure: str | None = None
    """What the close meant: fixed (or None, stored before closures), declined or duplicate."""


@dataclass(frozen=True)
class ThemeInputs:
    """One active theme as the planner sees it (gathered from the store)."""

    theme_id: int
    theme_key: str
    label: str
    keywords: tuple[str, ...]
    quotes: tuple[str, ...]
    """Raw quotes (redacted here, before they go anywhere, as are the label and keywords)."""
    counts: WeightedCounts
    """The theme's respondents in the window, weighted (recency, segment weights)."""
    detractors: int
    passives: int
    previous_respondents: int
    """Theme respondents in the window before, for the trend."""
    segment_shares: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    segment_weight: float = 1.0
    segment_label: str | None = None
    suppressed_reason: str | None = None
    """Set by a human with `themes suppress`."""


@dataclass(frozen=True)
class PlanInputs:
    """Everything the plan is computed from."""

    themes: Sequence[ThemeInputs]
    overall: WeightedCounts
    responses: int
    """All responses in the window (unweighted), the denominator of shares."""
    previous_responses: int
    baseline_shares: Mapping[str, Mapping[str, float]]
    """Segment value shares among all respondents of the window."""
    links: Mapping[str, LinkState]
    today: date
    report_url: str | None = None
    lift_shares: tuple[float, float] = (0.5, 0.25)
    """(detractors → passives, passives → promoters) of the lift scenario, from settings."""


def build_plan(inputs: PlanInputs, rules: Rules, redactor: Redactor) -> list[PlanItem]:
    """One `PlanItem` per active theme, highest priority first."""
    scored = _score(inputs, rules)
    drafts = [_draft(theme, impact, inputs, rules, redactor) for theme, impact in scored]
    items = _apply_budget(drafts, rules.priority.sprint.ticket_budget)
    return sorted(items, key=lambda item: (-item.score, item.brief.label))


def _score(inputs: PlanInputs, rules: Rules) -> list[tuple[ThemeInputs, ThemeImpact]]:
    theme_inputs = [
        ThemeInput(
            name=theme.theme_key,
            theme=theme.counts,
            trend=_trend(theme, inputs),
            segment_weight=theme.segment_weight,
            segment_label=theme.segment_label,
        )
        for theme in inputs.themes
    ]
    if not theme_inputs or inputs.overall.respondents == 0:
        return []  # nobody answered in the window (an --as-of before the data): nothing to weigh
    gate = rules.priority.gate
    impacts = score_themes(theme_inputs, inputs.overall, min_sample=gate.min_respondents, fdr=gate.fdr)
    return list(zip(inputs.themes, impacts, strict=True))


def _trend(theme: ThemeInputs, inputs: PlanInputs) -> ShareTrend | None:
    if not inputs.previous_responses or not inputs.responses:
        return None
    current = theme.detractors + theme.passives
    return share_trend(theme.previous_respondents, inputs.previous_responses, current, inputs.responses)


def _draft(theme: ThemeInputs, impact: ThemeImpact, inputs: PlanInputs, rules: Rules, redactor: Redactor) -> PlanItem:
    # Labels and keywords are made from redacted comments (themes.update_themes); redacting them again
    # here also covers labels stored before that, and a human's rename.
    theme = replace(
        theme, label=redactor.redact(theme.label), keywords=tuple(redactor.redact(k) for k in theme.keywords)
    )
    quotes = tuple(redactor.redact(quote) for quote in theme.quotes[:5])
    facts = ThemeFacts(theme.label, theme.keywords, theme.detractors + theme.passives, theme.segment_shares, quotes)
    route = route_for(facts, rules)
    level = priority_for(impact.priority, rules) if impact.discovery else None
    brief = _brief(theme, impact, inputs, quotes)
    target = Target(route.tracker, route.project, route.component or None, route.labels, route.assignee or None)
    tracker_priority = None if level is None else (level.jira if route.tracker == "jira" else level.github_label)
    digest = content_hash(brief, target, level.name if level else None)
    action, reason = _decide(theme, impact, inputs, rules, facts, level.name if level else None, digest)
    return PlanItem(
        brief=brief,
        action=action,
        reason=reason,
        score=impact.priority,
        priority=level.name if level else None,
        tracker_priority=tracker_priority,
        target=target,
        content_hash=digest,
    )


def _brief(theme: ThemeInputs, impact: ThemeImpact, inputs: PlanInputs, quotes: tuple[str, ...]) -> ThemeBrief:
    respondents = theme.detractors + theme.passives
    theme_lift = lift(theme.counts, inputs.overall.total, *inputs.lift_shares) if inputs.overall.total else 0.0
    trend = impact.trend
    if trend is None:
        direction, trend_text = "n/a", "no earlier window to compare with"
    else:
        direction = trend.direction.value
        trend_text = (
            f"share {100 * trend.share_prev:.1f}% → {100 * trend.share_cur:.1f}% "
            f"against the previous window (p = {trend.p_value:.2g})"
        )
    return ThemeBrief(
        theme_key=theme.theme_key,
        theme_id=theme.theme_id,
        label=theme.label,
        keywords=theme.keywords,
        detractors=theme.detractors,
        passives=theme.passives,
        respondents=respondents,
        share=respondents / inputs.responses if inputs.responses else 0.0,
        impact=impact.estimate.impact,
        impact_low=impact.estimate.low,
        impact_high=impact.estimate.high,
        lift=theme_lift,
        lift_text=(
            f"+{theme_lift:.1f} NPS points if {inputs.lift_shares[0]:.0%} of its detractors became passives and "
            f"{inputs.lift_shares[1]:.0%} of its passives promoters"
        ),
        trend=direction,
        trend_text=trend_text,
        segments=over_represented(theme.segment_shares, inputs.baseline_shares),
        explanation=explain(impact),
        quotes=quotes,
        report_url=inputs.report_url,
    )


def over_represented(
    shares: Mapping[str, Mapping[str, float]],
    baseline: Mapping[str, Mapping[str, float]],
    min_share: float = 0.25,
    min_lift: float = 1.2,
    limit: int = 3,
) -> tuple[SegmentShare, ...]:
    """Segment values much more common among the theme's respondents than among all respondents."""
    found = []
    for name, values in shares.items():
        for value, share in values.items():
            base = baseline.get(name, {}).get(value, 0.0)
            if share >= min_share and base > 0 and share / base >= min_lift:
                found.append(SegmentShare(name, value, round(share, 3), round(base, 3)))
    found.sort(key=lambda s: (-(s.share / s.baseline), s.field, s.value))
    return tuple(found[:limit])


def content_hash(brief: ThemeBrief, target: Target, priority: str | None) -> str:
    """Fingerprint of everything we write to the tracker: equal fingerprint, no write call."""
    payload = {"brief": asdict(brief), "target": asdict(target), "priority": priority}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _decide(
    theme: ThemeInputs,
    impact: ThemeImpact,
    inputs: PlanInputs,
    rules: Rules,
    facts: ThemeFacts,
    level: str | None,
    digest: str,
) -> tuple[Action, str]:
    link = inputs.links.get(theme.theme_key)
    suppressed = theme.suppressed_reason or suppression_for(facts, rules, inputs.today)
    if suppressed:
        return Action.SKIP, f"suppressed: {suppressed}"
    if link is not None and link.state == "closed" and link.closure in ("declined", "duplicate"):
        return _after_decision(link, impact, inputs, rules)
    if link is not None and link.state == "closed":
        return _after_fix(link, impact, inputs, rules)
    if link is not None and link.state == "open":
        if link.content_hash == digest:
            return Action.LEAVE, "unchanged since the last sync"
        return Action.UPDATE, "theme figures changed" + (f"; priority {level}" if level else "")
    if link is not None and link.state == "creating":
        return Action.CREATE, "an earlier create was not confirmed: find the issue or file it once"
    gate = rules.priority.gate
    if not impact.passes_gate:
        return Action.SKIP, f"sample too small: {impact.respondents} respondents, fewer than {gate.min_respondents}"
    if not impact.discovery:
        return Action.SKIP, f"not significant after false-discovery control (q = {impact.q_value:.2g})"
    if level is None:
        return Action.SKIP, f"priority score {impact.priority:.2f} is below the lowest level"
    return Action.CREATE, f"new theme, priority {level} (score {impact.priority:.1f})"


def _after_fix(link: LinkState, impact: ThemeImpact, inputs: PlanInputs, rules: Rules) -> tuple[Action, str]:
    closed = link.closed_at.date() if link.closed_at else None
    since = f" on {closed.isoformat()}" if closed else ""
    trend = impact.trend
    min_growth = rules.priority.regression.min_growth
    growing = (
        trend is not None
        and trend.direction is Direction.GROWING
        and trend.share_cur >= (1 + min_growth) * trend.share_prev
    )
    if growing and impact.discovery:
        action = rules.priority.regression.action
        return Action.UPDATE, f"regressed: fix shipped{since}, but the theme is growing again ({action} the issue)"
    if closed is not None and (inputs.today - closed).days < rules.priority.sprint.cooldown_days:
        return Action.SKIP, f"cooldown: fix shipped{since}, {(inputs.today - closed).days} days ago"
    return Action.LEAVE, f"fix shipped{since}; not growing"


def _after_decision(link: LinkState, impact: ThemeImpact, inputs: PlanInputs, rules: Rules) -> tuple[Action, str]:
    """A team closed the issue without a fix: never filed again; the plan says what they decided and when.

    Declined themes are set aside for `declined_cooldown_days`; after that the plan keeps pointing at
    the closed issue (a person reopens it, or suppresses the theme) and says when the theme grows.
    """
    closed = link.closed_at.date() if link.closed_at else None
    on = f" on {closed.isoformat()}" if closed else ""
    if link.closure == "duplicate":
        return Action.SKIP, f"closed as a duplicate{on} ({link.issue_key}): followed in the issue it duplicates"
    days = (inputs.today - closed).days if closed else 0
    cooldown = rules.priority.sprint.declined_cooldown_days
    if days < cooldown:
        return Action.SKIP, f"declined{on} (not planned): set aside for {cooldown - days} more days"
    trend = impact.trend
    growing = trend is not None and trend.direction is Direction.GROWING and impact.discovery
    now = f", and growing ({trend.share_prev:.1%} to {trend.share_cur:.1%})" if growing and trend else ""
    return Action.LEAVE, f"declined{on} (not planned){now}: reopen {link.issue_key} or suppress the theme"


def _apply_budget(items: Sequence[PlanItem], budget: int) -> list[PlanItem]:
    creates = sorted((i for i in items if i.action is Action.CREATE), key=lambda i: (-i.score, i.brief.label))
    resuming = {i.brief.theme_key for i in creates if i.reason.startswith("an earlier create")}
    allowed = {i.brief.theme_key for i in creates if i.brief.theme_key in resuming}
    for item in creates:
        if len(allowed) >= budget:
            break
        allowed.add(item.brief.theme_key)
    result = []
    for item in items:
        if item.action is Action.CREATE and item.brief.theme_key not in allowed:
            reason = f"over the sprint budget of {budget} new issues ({item.reason})"
            result.append(replace(item, action=Action.SKIP, reason=reason))
        elif item.action is Action.CREATE:
            result.append(replace(item, in_sprint=True))
        else:
            result.append(item)
    return result
