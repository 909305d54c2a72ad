"""The sprint plan's values: what each theme's tracker issue should be, and what to do about it.

The planner produces these (pure: store and rules in, plan out); the sync engine consumes them and
renders each `ThemeBrief` in the target tracker's markup (escaped) inside the managed section.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Action(StrEnum):
    """What the plan does with a theme's issue."""

    CREATE = "create"
    """No issue yet: file one."""
    UPDATE = "update"
    """An issue exists and its managed content changed: rewrite the managed section."""
    LEAVE = "leave"
    """An issue exists and nothing we manage changed: no write call at all."""
    SKIP = "skip"
    """Not filed: see the reason (budget, cooldown, suppression, sample too small, not significant)."""


@dataclass(frozen=True)
class SegmentShare:
    """A segment value over-represented among the theme's respondents."""

    field: str
    value: str
    share: float
    """Share of the theme's respondents in this segment."""
    baseline: float
    """Share of all respondents in this segment."""


@dataclass(frozen=True)
class ThemeBrief:
    """Everything an issue says about a theme, already redacted; trackers render and escape it."""

    theme_key: str
    """Stable fingerprint of the theme; also written to the issue as a label and a hidden marker."""
    theme_id: int
    label: str
    keywords: tuple[str, ...]
    detractors: int
    passives: int
    respondents: int
    share: float
    """Theme respondents / all responses in the scoring window."""
    impact: float
    """NPS points at stake (negative: the theme drags NPS down)."""
    impact_low: float
    impact_high: float
    lift: float
    """Lift scenario: NPS points gained if the settings' shares of detractors/passives move up a bucket."""
    lift_text: str
    trend: str
    """growing, shrinking, stable or n/a."""
    trend_text: str
    segments: tuple[SegmentShare, ...]
    explanation: str
    """Plain-language account of the priority score: inputs and how they combined."""
    quotes: tuple[str, ...]
    """3-5 representative comments, redacted by rules/redaction.toml; NOT yet escaped for any markup."""
    report_url: str | None = None
    """The published report page (`[report] public_url` + latest.html); the brief links this theme's section."""


@dataclass(frozen=True)
class Target:
    """Where the issue goes (from rules/routing.toml)."""

    tracker: str
    """github or jira."""
    project: str
    """GitHub owner/repo or Jira project key; empty = the tracker's default from settings."""
    component: str | None = None
    labels: tuple[str, ...] = ()
    assignee: str | None = None


@dataclass(frozen=True)
class PlanItem:
    """One theme's line in the sprint plan."""

    brief: ThemeBrief
    action: Action
    reason: str
    """Why this action, in words a product lead reads (e.g. "new theme, priority P1")."""
    score: float
    """Priority score (0 when gated); higher first."""
    priority: str | None
    """Priority level name from rules/priority.toml (e.g. P1), None below the lowest level."""
    tracker_priority: str | None
    """The level's name in the target tracker (Jira priority name or GitHub label)."""
    target: Target
    content_hash: str
    """Hash of what we manage (title, managed section, labels, priority): unchanged hash = no write."""
    in_sprint: bool = False
    """Within the sprint's ticket budget: place the issue in the upcoming sprint / milestone."""
