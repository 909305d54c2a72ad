"""Gather what the planner needs from the store: theme counts with weights, shares, segments, links."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from backlog_bridge.classify import Category
from backlog_bridge.context import AnalysisWindow
from backlog_bridge.plan.planner import LinkState, PlanInputs, ThemeInputs
from backlog_bridge.score import WeightedCounts, recency_weight
from backlog_bridge.store.tables import Response, Theme, ThemeMember, TrackerLink

MAX_SEGMENT_VALUES = 20
"""Segment fields with more distinct values (ids, free text, ARR) are not broken down."""


@dataclass(frozen=True)
class Weights:
    """How much a response counts: recency half-life and segment/revenue multipliers (rules)."""

    half_life_days: float | None = None
    """None: every response in the window counts the same."""
    segment: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    """Segment field -> value -> multiplier, e.g. {"plan": {"Enterprise": 1.5}}; unlisted values count 1."""
    revenue_field: str | None = None
    """Numeric segment field (e.g. arr_usd): respondents weigh in proportion to it, relative to the mean."""


@dataclass(frozen=True)
class _Row:
    response_id: int
    category: str
    responded_at: datetime
    segments: dict[str, Any]


def gather(
    engine: Engine,
    window: AnalysisWindow,
    weights: Weights,
    tracker: str | None = None,
    report_url: str | None = None,
    lift_shares: tuple[float, float] = (0.5, 0.25),
) -> PlanInputs:
    """PlanInputs for the analysis window (trends against the window before it)."""
    end, start, earlier = window.end, window.start, window.previous_start
    with Session(engine) as session:
        rows = _responses(session, start, end)
        previous_total = len(_responses(session, earlier, start))
        themes = list(session.exec(select(Theme).where(col(Theme.status) == "active").order_by(col(Theme.id))))
        members = _members(session, earlier, end)
        links = _links(session, tracker)
        for theme in themes:
            session.expunge(theme)
    revenue_mean = _revenue_mean(rows, weights.revenue_field)
    weight_of = {row.response_id: _segment_weight(row, weights, revenue_mean) for row in rows}
    recency = {row.response_id: _recency(row, end, weights) for row in rows}
    by_id = {row.response_id: row for row in rows}
    overall = WeightedCounts.from_responses((Category(row.category), recency[row.response_id]) for row in rows)
    baseline = segment_shares(rows)
    mean_weight = sum(weight_of.values()) / len(weight_of) if weight_of else 1.0
    inputs = []
    for theme in themes:
        current_ids = [rid for rid, at in members.get(theme.id or 0, []) if at >= start and rid in by_id]
        previous_count = sum(1 for _, at in members.get(theme.id or 0, []) if at < start)
        theme_rows = [by_id[rid] for rid in current_ids]
        categories = Counter(row.category for row in theme_rows)
        theme_weight = sum(weight_of[rid] for rid in current_ids) / len(current_ids) if current_ids else mean_weight
        shares = segment_shares(theme_rows, fields=baseline.keys())
        inputs.append(
            ThemeInputs(
                theme_id=theme.id or 0,
                theme_key=theme.key,
                label=theme.label,
                keywords=tuple(theme.keywords),
                quotes=tuple(str(q.get("text", "")) for q in theme.quotes),
                counts=WeightedCounts.from_responses(
                    (Category(row.category), recency[row.response_id]) for row in theme_rows
                ),
                detractors=categories[Category.DETRACTOR.value],
                passives=categories[Category.PASSIVE.value],
                previous_respondents=previous_count,
                segment_shares=shares,
                segment_weight=round(theme_weight / mean_weight, 3) if mean_weight else 1.0,
                segment_label=_dominant(shares, baseline),
                suppressed_reason=theme.suppressed_reason,
            )
        )
    return PlanInputs(
        themes=inputs,
        overall=overall,
        responses=len(rows),
        previous_responses=previous_total,
        baseline_shares=baseline,
        links=links,
        today=end.date(),
        report_url=report_url,
        lift_shares=lift_shares,
    )


def _responses(session: Session, start: datetime, end: datetime) -> list[_Row]:
    query = (
        select(Response.id, Response.category, Response.responded_at, Response.segments)
        .where(col(Response.responded_at) >= start, col(Response.responded_at) < end)
        .order_by(col(Response.id))
    )
    return [_Row(int(rid or 0), str(cat), at, dict(seg or {})) for rid, cat, at, seg in session.exec(query)]


def _members(session: Session, start: datetime, end: datetime) -> dict[int, list[tuple[int, datetime]]]:
    query = (
        select(ThemeMember.theme_id, ThemeMember.response_id, Response.responded_at)
        .join(Response, col(Response.id) == col(ThemeMember.response_id))
        .where(col(ThemeMember.theme_id).is_not(None))
        .where(col(Response.responded_at) >= start, col(Response.responded_at) < end)
    )
    found: dict[int, list[tuple[int, datetime]]] = defaultdict(list)
    for theme_id, response_id, at in session.exec(query):
        if theme_id is not None:
            found[theme_id].append((response_id, at))
    return found


def _links(session: Session, tracker: str | None) -> dict[str, LinkState]:
    query = select(TrackerLink)
    if tracker:
        query = query.where(col(TrackerLink.tracker) == tracker)
    return {
        link.theme_key: LinkState(link.state, link.issue_key, link.content_hash, link.closed_at, link.closure)
        for link in session.exec(query)
    }


def segment_shares(rows: Sequence[_Row], fields: Any = None) -> dict[str, dict[str, float]]:
    """Value shares per segment field (fields with few distinct values only)."""
    values: dict[str, Counter[str]] = defaultdict(Counter)
    for row in rows:
        for name, value in row.segments.items():
            if fields is None or name in fields:
                values[name][str(value)] += 1
    total = len(rows)
    return {
        name: {value: count / total for value, count in counter.items()}
        for name, counter in values.items()
        if total and (fields is not None or len(counter) <= MAX_SEGMENT_VALUES)
    }


def _dominant(shares: Mapping[str, Mapping[str, float]], baseline: Mapping[str, Mapping[str, float]]) -> str | None:
    best: tuple[float, str] | None = None
    for name, values in shares.items():
        for value, share in values.items():
            base = baseline.get(name, {}).get(value, 0.0)
            if share >= 0.4 and base > 0 and share / base >= 1.3:
                lift = share / base
                if best is None or lift > best[0]:
                    best = (lift, f"{name} {value}: {share:.0%} of respondents vs {base:.0%} overall")
    return best[1] if best else None


def _revenue_mean(rows: Sequence[_Row], revenue_field: str | None) -> float:
    if not revenue_field:
        return 0.0
    amounts = [_number(row.segments.get(revenue_field)) for row in rows]
    known = [amount for amount in amounts if amount is not None]
    return sum(known) / len(known) if known else 0.0


def _segment_weight(row: _Row, weights: Weights, revenue_mean: float) -> float:
    weight = 1.0
    for name, multipliers in weights.segment.items():
        value = row.segments.get(name)
        if value is not None:
            weight *= multipliers.get(str(value), 1.0)
    if weights.revenue_field and revenue_mean > 0:
        amount = _number(row.segments.get(weights.revenue_field))
        weight *= min(4.0, max(0.25, (amount or 0.0) / revenue_mean)) if amount is not None else 1.0
    return weight


def _recency(row: _Row, end: datetime, weights: Weights) -> float:
    if not weights.half_life_days:
        return 1.0
    return recency_weight(max(0.0, (end - row.responded_at).total_seconds() / 86400), weights.half_life_days)


def _number(value: Any) -> float | None:
    try:
        number = float(str(value).replace(",", "").replace("$", "").strip())
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
