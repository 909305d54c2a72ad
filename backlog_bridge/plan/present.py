"""The sprint plan as a product lead reads it: JSON for tools, Markdown for a wiki or a grooming doc."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from backlog_bridge.plan.model import Action, PlanItem

_HEADINGS = {
    Action.CREATE: "To file this sprint",
    Action.UPDATE: "To update",
    Action.LEAVE: "Left as they are",
    Action.SKIP: "Not filed",
}


def plan_json(items: Sequence[PlanItem]) -> list[dict[str, Any]]:
    """Every field of every item, JSON-ready."""
    return [asdict(item) for item in items]


def impact_text(item: PlanItem) -> str:
    """Points at stake with the interval, as a lead reads it: '5.5 pts (4.0 to 7.0)'."""
    b = item.brief
    return f"{-b.impact:.1f} pts ({-b.impact_high:.1f} to {-b.impact_low:.1f})"


def target_text(item: PlanItem) -> str:
    """Tracker and project (or the tracker's default)."""
    t = item.target
    where = t.project or "default project"
    extra = f", {t.component}" if t.component else ""
    return f"{t.tracker}: {where}{extra}"


def plan_markdown(items: Sequence[PlanItem]) -> str:
    """The plan grouped by action, each theme with its reason, explanation and (redacted) quotes."""
    lines = ["# Sprint plan", ""]
    counts = {action: sum(1 for i in items if i.action is action) for action in Action}
    lines.append(
        f"{counts[Action.CREATE]} to file, {counts[Action.UPDATE]} to update, "
        f"{counts[Action.LEAVE]} unchanged, {counts[Action.SKIP]} not filed."
    )
    for action, heading in _HEADINGS.items():
        group = [i for i in items if i.action is action]
        if not group:
            continue
        lines += ["", f"## {heading}", ""]
        if action is Action.SKIP:
            lines += ["| theme | respondents | points at stake | why not |", "| --- | --- | --- | --- |"]
            lines += [
                f"| {_cell(i.brief.label)} | {i.brief.respondents} | {impact_text(i)} | {_cell(i.reason)} |"
                for i in group
            ]
            continue
        for item in group:
            lines += _section(item)
    return "\n".join(lines).rstrip() + "\n"


def _section(item: PlanItem) -> list[str]:
    b = item.brief
    lines = [
        f"### {b.label} — {item.priority or 'no priority'}",
        "",
        f"- **Why:** {item.reason}",
        f"- **Points at stake:** {impact_text(item)}, {b.respondents} respondents "
        f"({b.detractors} detractors, {b.passives} passives), {b.share:.1%} of responses",
        f"- **Trend:** {b.trend} — {b.trend_text}",
        f"- **If fixed:** {b.lift_text}",
        f"- **Goes to:** {target_text(item)}",
    ]
    if b.segments:
        shown = ", ".join(f"{s.field} {s.value} {s.share:.0%} (vs {s.baseline:.0%})" for s in b.segments)
        lines.append(f"- **Most affected:** {shown}")
    lines += ["", b.explanation, ""]
    lines += [f"> {quote.replace(chr(10), ' ')}" for quote in b.quotes]
    return [*lines, ""]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
