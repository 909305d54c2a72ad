"""The three trackers the contract suite runs against, behind one face; and the plans it syncs.

A `Harness` holds a tracker fake (its state, its `human_*` helpers, its faults) and builds the real
adapter (real PyGithub or `jira` client) on it, so a scenario is written once and runs against
GitHub, Jira Cloud and Jira Data Center. What differs between trackers (paths, label and priority
names, how a user is named, how an issue reads back) is answered here, never in a scenario.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, ClassVar

from fakes.github import FakeGitHub
from fakes.jira import FakeJira, category_of
from fakes.server import FakeServer
from pydantic import SecretStr
from sqlalchemy import Engine
from sqlmodel import Session, select

from backlog_bridge.plan.model import Action, PlanItem, SegmentShare, Target, ThemeBrief
from backlog_bridge.settings import JIRA_EMAIL_ENV, JIRA_TOKEN_ENV, GitHubSettings, JiraSettings
from backlog_bridge.store.tables import TrackerLink
from backlog_bridge.sync import SyncReport, Tracker, sync_plan
from backlog_bridge.sync.engine import Outcome
from backlog_bridge.sync.github import GitHubTracker
from backlog_bridge.sync.jira import JiraTracker

TRACKERS = ("github", "jira-cloud", "jira-datacenter")
A, B, C, D, E = "theme-aaaaaaaaaa", "theme-bbbbbbbbbb", "theme-cccccccccc", "theme-dddddddddd", "theme-eeeeeeeeee"
NIGHT1 = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
NIGHT2 = datetime(2026, 3, 9, 3, 0, tzinfo=UTC)
NIGHT3 = datetime(2026, 3, 16, 3, 0, tzinfo=UTC)
B_CLOSED = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
UPCOMING = "Sprint 12"
"""Where in-budget issues go on NIGHT1: GitHub's open milestone due next, Jira's earliest future sprint."""
QUOTES = (
    "Checkout @support see #12, ping [~accountid:5b10ac8d82e05b22cc7d4ef5] now",
    "it broke <b>again</b> {html}<script>alert(1)</script>{html} broke *again*",
    "![x](https://evil.example/x.png) see https://evil.example/x and [click|https://evil.example] "
    "!https://evil.example/x.png!",
)
"""Customer text that would be markup in one tracker or the other: each must come out inert."""


@dataclass(frozen=True)
class Seen:
    """An issue as a person sees it on the tracker, in the same terms for every tracker."""

    key: str
    title: str
    body: str
    labels: tuple[str, ...]
    """Labels we do not manage (routing rules', people's), sorted."""
    priorities: tuple[str, ...]
    """Our managed priority as the tracker shows it: GitHub's namespaced labels, Jira's priority field."""
    sprint: str | None
    """GitHub milestone; Jira: the sprint it is in (or was last in)."""
    state: str
    closed_at: datetime | None
    assignees: tuple[str, ...]
    """People, by name."""
    comments: tuple[str, ...]


class Harness:
    """One tracker fake and the adapter on it; subclasses answer what differs between trackers."""

    name: str
    """The contract's id for it: github, jira-cloud or jira-datacenter."""
    tracker_name: str
    fake: Any
    priority_names: ClassVar[dict[str, str]]
    """Plan priority level -> the tracker's own name for it (the plan item's `tracker_priority`)."""
    other_project: str
    create_request: str
    """Regex on "METHOD /path" of the request that files an issue."""
    writes_in_three_nights: int
    invalid_status: int
    """What the tracker answers to a create naming a person who cannot be assigned."""

    @property
    def project(self) -> str:
        return str(self.fake.project if self.tracker_name == "jira" else self.fake.repo)

    def priority(self, level: str) -> str:
        return self.priority_names[level]

    def tracker(self, *, url: str | None = None, token: str | None = None, **options: Any) -> Tracker:
        """A fresh adapter, as a new nightly process would have (every listing pages by 2)."""
        raise NotImplementedError

    def read_path(self, key: str) -> str:
        """Regex on the path that reads one issue back."""
        raise NotImplementedError

    def user(self, name: str) -> str:
        """How routing rules name this person for this tracker."""
        return name

    def settings(self) -> tuple[Any, dict[str, str]]:
        """The tracker's settings section for this fake, and the environment holding its credentials."""
        raise NotImplementedError

    def by_theme(self) -> dict[str, str]:
        """Issue key per theme key, from the stamp labels; fails on a duplicate."""
        found: dict[str, str] = {}
        for key, labels in self._labels():
            for label in labels:
                if label.startswith(self.stamp_prefix):
                    theme = "theme-" + label.removeprefix(self.stamp_prefix)
                    assert theme not in found, f"duplicate issue for {theme}"
                    found[theme] = key
        return found

    stamp_prefix: str

    def stamp_label(self, theme_key: str) -> str:
        return self.stamp_prefix + theme_key.removeprefix("theme-")

    def _labels(self) -> list[tuple[str, list[str]]]:
        raise NotImplementedError

    def seen(self, key: str) -> Seen:
        raise NotImplementedError

    def issue_count(self) -> int:
        return len(self.fake.issues)

    def marker(self, theme_key: str) -> str:
        """Body text carrying the hidden theme marker, as a person could paste it."""
        raise NotImplementedError

    def add_issue(self, title: str, body: str = "", labels: list[str] | None = None) -> str:
        """An issue someone else filed (not a counted write)."""
        raise NotImplementedError

    def human_edit(self, key: str, *, title: str, body: str, label: str, assignee: str) -> None:
        raise NotImplementedError

    def human_comment(self, key: str, text: str) -> None:
        raise NotImplementedError

    def human_close(self, key: str, at: datetime, closure: str = "fixed") -> None:
        """Close as a person would: fixed (completed, Done), declined (not planned, Won't Do) or duplicate."""
        raise NotImplementedError

    def human_reopen(self, key: str) -> None:
        raise NotImplementedError

    def human_delete(self, key: str) -> None:
        raise NotImplementedError

    def human_move_to_sprint(self, key: str, sprint: str) -> None:
        raise NotImplementedError


class GitHubHarness(Harness):
    name = tracker_name = "github"
    priority_names: ClassVar[dict[str, str]] = {"P1": "priority: P1", "P2": "priority: P2", "P3": "priority: P3"}
    other_project = "acme/other"
    stamp_prefix = "nps:theme-"
    create_request = r"^POST /repos/acme/app/issues$"
    writes_in_three_nights = 17
    """Night 1: 6 labels (3 stamps, 3 priorities) + 3 issues. Night 2: A and C a comment and an edit
    each, E a stamp label and an issue. Night 3: an edit (A), a comment (B)."""
    invalid_status = 422

    def __init__(self, fake: FakeGitHub) -> None:
        self.fake = fake
        fake.add_milestone("Sprint 11", datetime(2026, 2, 27, tzinfo=UTC))  # still open, past due
        fake.add_milestone("Sprint 13", datetime(2026, 3, 27, tzinfo=UTC))
        fake.add_milestone(UPCOMING, datetime(2026, 3, 13, tzinfo=UTC))
        fake.add_milestone("Someday", None)

    def tracker(self, *, url: str | None = None, token: str | None = None, **options: Any) -> Tracker:
        settings: dict[str, Any] = dict(
            base_url=url or self.fake.url,
            seconds_between_requests=None,
            seconds_between_writes=None,
            timeout=1,
            per_page=2,
        )
        return GitHubTracker(self.fake.repo, SecretStr(token or self.fake.token), **(settings | options))

    def read_path(self, key: str) -> str:
        return rf"/repos/acme/app/issues/{key.rsplit('#', 1)[1]}"

    def settings(self) -> tuple[Any, dict[str, str]]:
        return GitHubSettings(repo=self.fake.repo, base_url=self.fake.url), {"GITHUB_TOKEN": self.fake.token}

    def _labels(self) -> list[tuple[str, list[str]]]:
        return [(f"{self.fake.repo}#{n}", i.labels) for n, i in self.fake.issues.items()]

    def _issue(self, key: str) -> Any:
        return self.fake.issues[int(key.rsplit("#", 1)[1])]

    def seen(self, key: str) -> Seen:
        issue = self._issue(key)
        milestone = self.fake.milestones[issue.milestone].title if issue.milestone else None
        return Seen(
            key=key,
            title=issue.title,
            body=issue.body or "",
            labels=tuple(sorted(x for x in issue.labels if not x.startswith("nps:"))),
            priorities=tuple(x.removeprefix("nps:") for x in issue.labels if x.startswith("nps:priority")),
            sprint=milestone,
            state=issue.state,
            closed_at=issue.closed_at,
            assignees=tuple(issue.assignees),
            comments=tuple(c.body for c in issue.comments),
        )

    def marker(self, theme_key: str) -> str:
        return f"<!-- backlog_bridge:theme={theme_key} -->"

    def add_issue(self, title: str, body: str = "", labels: list[str] | None = None) -> str:
        return f"{self.fake.repo}#{self.fake.add_issue(title, body=body, labels=labels)}"

    def human_edit(self, key: str, *, title: str, body: str, label: str, assignee: str) -> None:
        issue = self._issue(key)
        self.fake.human_edit(issue.number, title=title, body=body, labels=[*issue.labels, label], assignees=[assignee])

    def human_comment(self, key: str, text: str) -> None:
        self.fake.human_comment(self._issue(key).number, text)

    def human_close(self, key: str, at: datetime, closure: str = "fixed") -> None:
        reason = {"fixed": "completed", "declined": "not_planned", "duplicate": "duplicate"}[closure]
        self.fake.human_close(self._issue(key).number, at=at, reason=reason)

    def human_reopen(self, key: str) -> None:
        self.fake.human_edit(self._issue(key).number, state="open", state_reason="reopened", closed_at=None)

    def human_delete(self, key: str) -> None:
        self.fake.human_delete(self._issue(key).number)

    def human_move_to_sprint(self, key: str, sprint: str) -> None:
        number = next(n for n, m in self.fake.milestones.items() if m.title == sprint)
        self.fake.human_edit(self._issue(key).number, milestone=number)


class JiraHarness(Harness):
    tracker_name = "jira"
    priority_names: ClassVar[dict[str, str]] = {"P1": "Highest", "P2": "High", "P3": "Medium"}
    other_project = "OTHER"
    stamp_prefix = "nps-theme-"
    create_request = r"^POST /rest/api/2/issue$"
    writes_in_three_nights = 14
    """Night 1: 3 creates + 2 sprint adds. Night 2: A and C a comment and an edit each, E a create,
    a rank and a sprint add. Night 3: an edit (A), a comment (B)."""
    invalid_status = 400

    def __init__(self, fake: FakeJira) -> None:
        self.fake = fake
        self.name = "jira-cloud" if fake.deployment == "Cloud" else "jira-datacenter"
        fake.add_sprint("Sprint 11", "active", datetime(2026, 2, 27, tzinfo=UTC))
        fake.add_sprint("Sprint 13", "future", datetime(2026, 3, 27, tzinfo=UTC))
        fake.add_sprint(UPCOMING, "future", datetime(2026, 3, 13, tzinfo=UTC))

    @property
    def cloud(self) -> bool:
        return bool(self.fake.deployment == "Cloud")

    def tracker(self, *, url: str | None = None, token: str | None = None, **options: Any) -> Tracker:
        settings: dict[str, Any] = dict(email=self.fake.email if self.cloud else None, timeout=1.0)
        return JiraTracker(
            url or self.fake.url, self.fake.project, SecretStr(token or self.fake.token), **(settings | options)
        )

    def read_path(self, key: str) -> str:
        return rf"/rest/api/2/issue/{key}"

    def user(self, name: str) -> str:
        return str(self.fake.user_ref(name))

    def settings(self) -> tuple[Any, dict[str, str]]:
        env = {JIRA_TOKEN_ENV: self.fake.token} | ({JIRA_EMAIL_ENV: self.fake.email} if self.cloud else {})
        return JiraSettings(url=self.fake.url, project=self.fake.project), env

    def _labels(self) -> list[tuple[str, list[str]]]:
        return [(i.key, i.labels) for i in self.fake.issues.values()]

    def sprint_names(self, key: str) -> list[str]:
        return [self.fake.sprints[s].name for s in self.fake.issue(key).sprints]

    def seen(self, key: str) -> Seen:
        issue = self.fake.issue(key)
        sprints = self.sprint_names(key)
        done = category_of(issue.status) == "done"
        return Seen(
            key=key,
            title=issue.summary,
            body=issue.description or "",
            labels=tuple(sorted(x for x in issue.labels if not x.startswith(self.stamp_prefix))),
            priorities=(issue.priority,),
            sprint=sprints[-1] if sprints else None,
            state="closed" if done else "open",
            closed_at=issue.resolutiondate if done else None,
            assignees=(issue.assignee,) if issue.assignee else (),
            comments=tuple(c.body for c in issue.comments),
        )

    def marker(self, theme_key: str) -> str:
        return f"{{{{backlog-bridge:theme={theme_key}}}}}"

    def add_issue(self, title: str, body: str = "", labels: list[str] | None = None) -> str:
        return str(self.fake.add_issue(title, description=body, labels=labels))

    def human_edit(self, key: str, *, title: str, body: str, label: str, assignee: str) -> None:
        issue = self.fake.issue(key)
        self.fake.human_edit(key, summary=title, description=body, labels=[*issue.labels, label], assignee=assignee)

    def human_comment(self, key: str, text: str) -> None:
        self.fake.human_comment(key, text)

    def human_close(self, key: str, at: datetime, closure: str = "fixed") -> None:
        resolution = {"fixed": "Done", "declined": "Won't Do", "duplicate": "Duplicate"}[closure]
        self.fake.human_transition(key, "Done", at=at, resolution=resolution)

    def human_reopen(self, key: str) -> None:
        self.fake.human_transition(key, "To Do")

    def human_delete(self, key: str) -> None:
        self.fake.human_delete(key)

    def human_move_to_sprint(self, key: str, sprint: str) -> None:
        self.fake.human_move_to_sprint(key, sprint)


@contextmanager
def open_harness(name: str) -> Iterator[Harness]:
    """The tracker `name` (one of TRACKERS) running, with its sprints or milestones.

    GitHub answers under /api/v3 (the Enterprise Server layout) and Data Center under a context path,
    as they often do: the clients must keep those prefixes.
    """
    fake: FakeServer
    if name == "github":
        with FakeGitHub(prefix="/api/v3") as fake:
            yield GitHubHarness(fake)
        return
    deployment = {"jira-cloud": "Cloud", "jira-datacenter": "Server"}[name]
    with FakeJira(deployment=deployment, context="" if deployment == "Cloud" else "/jira") as fake:
        yield JiraHarness(fake)


# --- plan values, built by hand -----------------------------------------------------------------


def brief(key: str, label: str, respondents: int, share: float) -> ThemeBrief:
    return ThemeBrief(
        theme_key=key,
        theme_id=int(hashlib.sha1(key.encode()).hexdigest()[:4], 16),
        label=label,
        keywords=tuple(label.lower().split()[:3]),
        detractors=respondents * 3 // 4,
        passives=respondents - respondents * 3 // 4,
        respondents=respondents,
        share=share,
        impact=-respondents / 12,
        impact_low=-respondents / 9,
        impact_high=-respondents / 16,
        lift=respondents / 20,
        lift_text="+2.0 NPS points if half its detractors became passives",
        trend="growing",
        trend_text="share rising",
        segments=(SegmentShare("plan", "Enterprise", 0.4, 0.12),),
        explanation=f"{respondents} respondents, growing",
        quotes=QUOTES,
        report_url=f"https://reports.example.com/{key}",
    )


def plan_item(
    h: Harness,
    b: ThemeBrief,
    action: Action,
    priority: str | None,
    *,
    in_sprint: bool = False,
    labels: tuple[str, ...] = ("nps-feedback",),
    component: str | None = "Web",
    assignee: str | None = None,
    reason: str = "test",
) -> PlanItem:
    digest = hashlib.sha256(repr((b, priority, labels, component, assignee)).encode()).hexdigest()
    return PlanItem(
        brief=b,
        action=action,
        reason=reason,
        score=1.0,
        priority=priority,
        tracker_priority=h.priority(priority) if priority else None,
        target=Target(h.tracker_name, h.project, component=component, labels=labels, assignee=assignee),
        content_hash=digest,
        in_sprint=in_sprint,
    )


def night1(h: Harness) -> list[PlanItem]:
    return [
        plan_item(h, brief(A, "Checkout fails on mobile", 40, 0.040), Action.CREATE, "P1", in_sprint=True),
        plan_item(h, brief(B, "Slow dashboard", 24, 0.024), Action.CREATE, "P2", in_sprint=True),
        plan_item(h, brief(C, "Confusing invoices", 12, 0.012), Action.CREATE, "P3", component="Billing"),
        plan_item(h, brief(D, "Dark mode", 9, 0.009), Action.SKIP, None, reason="over the sprint budget"),
    ]


def night2(h: Harness) -> list[PlanItem]:
    """A grew a lot (comment), B unchanged, C moved to P2 (comment), E is new and P1."""
    one = night1(h)
    return [
        plan_item(h, brief(A, "Checkout fails on mobile", 80, 0.075), Action.UPDATE, "P1"),
        replace(one[1], action=Action.LEAVE),
        plan_item(h, brief(C, "Confusing invoices", 14, 0.013), Action.UPDATE, "P2", component="Billing"),
        one[3],
        plan_item(h, brief(E, "Password reset email never arrives", 30, 0.03), Action.CREATE, "P1", in_sprint=True),
    ]


def night3(h: Harness) -> list[PlanItem]:
    """A changed a little (no comment), B (closed by a human) regressed, C and E unchanged."""
    two = night2(h)
    return [
        plan_item(h, brief(A, "Checkout fails on mobile", 84, 0.078), Action.UPDATE, "P1"),
        plan_item(h, brief(B, "Slow dashboard", 52, 0.05), Action.UPDATE, "P2", reason="regressed"),
        replace(two[2], action=Action.LEAVE),
        two[3],
        replace(two[4], action=Action.LEAVE),
    ]


# --- running and reading back -------------------------------------------------------------------


class Sleeps(list[float]):
    """Records the backoff the engine asked for, instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def run(
    engine: Engine, h: Harness, items: list[PlanItem], now: datetime, tracker_options=None, **kwargs: Any
) -> SyncReport:
    kwargs.setdefault("sleep", Sleeps())
    return sync_plan(engine, items, h.tracker(**(tracker_options or {})), now=now, **kwargs)


def links(engine: Engine) -> dict[str, TrackerLink]:
    with Session(engine) as session:
        return {link.theme_key: link for link in session.exec(select(TrackerLink))}


def outcomes(report: SyncReport) -> dict[str, Outcome]:
    return {r.theme_key: r.outcome for r in report.results}


def message(report: SyncReport, theme_key: str) -> str:
    return next(r.message for r in report.results if r.theme_key == theme_key)
