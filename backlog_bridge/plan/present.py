"""The sprint plan as a product lead reads it: JSON for tools, Markdown for a wiki or a grooming doc.

Each theme's section is the brief its issue carries (`brief.wording.plan_brief`), plus the plan's
decision and target; customer text is escaped as in the issues.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from backlog_bridge.brief.markdown import escape_markdown as md
from backlog_bridge.brief.markdown import to_markdown
from backlog_bridge.brief.wording import plan_brief, stake_text
from backlog_bridge.brief.wording import target_text as _target_text
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
    """Points at stake with the interval, as a lead reads it: '5.5 (4.0 to 7.0)'."""
    return stake_text(item.brief)


def target_text(item: PlanItem) -> str:
    """Tracker and project (or the tracker's default)."""
    return _target_text(item.target)


def plan_markdown(items: Sequence[PlanItem]) -> str:
    """The plan grouped by action, each theme's brief with the decision and target (customer text escaped)."""
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
                f"| {md(i.brief.label)} | {i.brief.respondents} | {impact_text(i)} | {md(i.reason)} |" for i in group
            ]
            continue
        lines += [to_markdown(plan_brief(item), level=3) + "\n" for item in group]
    return "\n".join(lines).rstrip() + "\n"
