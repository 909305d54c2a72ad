"""GitHub Issues through PyGithub: the `Tracker` contract for one repository (github.com or GHES).

Calls made (see /work/shared/TRACKERS.md): issues listed by our stamp label with `state=all` to find
(never the search API: eventually consistent and limited to 30 requests a minute), `GET` one issue to
read it back, `POST` to create, one `PATCH` per update, comments listed and posted, labels listed once
and created when missing (422 `already_exists` is success), open milestones listed once per run.

PyGithub retries nothing here (`retry=None`): the engine's `sync.retry` is the one retry layer, so a
create is never resent by the library, and a rate limit comes back at once with how long to wait
(Retry-After, or the primary limit's reset). The engine decides what to do with an ambiguous create
(look for the stamp first).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import requests
from github import Auth, Github, GithubException, RateLimitExceededException
from github.Issue import Issue
from github.Milestone import Milestone
from github.Repository import Repository
from pydantic import SecretStr

from backlog_bridge.settings import GitHubSettings
from backlog_bridge.sync.render import MarkdownMarkup
from backlog_bridge.sync.tracker import (
    Closure,
    IssueChange,
    IssueDraft,
    IssueRef,
    Markup,
    RemoteIssue,
    Tracker,
    connection_lost,
    error_for_status,
    parse_retry_after,
    rate_limited,
)

STAMP_COLOUR = "ededed"
PRIORITY_COLOUR = "d93f0b"


class GitHubTracker:
    """`Tracker` for one GitHub repository. See `sync.tracker.Tracker` for the contract.

    Example:
        >>> settings = GitHubSettings(repo="acme/app")
        >>> tracker = GitHubTracker.from_settings(settings, settings.token())  # doctest: +SKIP
    """

    name = "github"

    def __init__(
        self,
        repo: str,
        token: SecretStr,
        *,
        base_url: str = "https://api.github.com",
        label_namespace: str = "nps:",
        milestone: Literal["due_date", "pattern", "none"] = "due_date",
        milestone_pattern: str = "",
        timeout: int = 15,
        seconds_between_requests: float | None = 0.25,
        seconds_between_writes: float | None = 1.0,
        per_page: int = 100,
    ) -> None:
        self.project = repo
        self.markup: Markup = MarkdownMarkup()
        self.namespace = label_namespace
        self.milestone_mode = milestone
        self.milestone_pattern = re.compile(milestone_pattern) if milestone_pattern else None
        self._github = Github(
            auth=Auth.Token(token.get_secret_value()),
            base_url=base_url,
            timeout=timeout,
            retry=None,  # one retry layer: the engine's (it never resends a create blindly)
            seconds_between_requests=seconds_between_requests,
            seconds_between_writes=seconds_between_writes,
            per_page=per_page,
            lazy=True,
        )
        self._repo: Repository = self._github.get_repo(repo)
        self._labels: set[str] | None = None
        self._milestones: dict[str, Milestone] = {}

    @classmethod
    def from_settings(cls, settings: GitHubSettings, token: SecretStr) -> GitHubTracker:
        """The tracker as configured in `[github]`."""
        return cls(
            settings.repo,
            token,
            base_url=settings.base_url,
            label_namespace=settings.label_namespace,
            milestone=settings.milestone,
            milestone_pattern=settings.milestone_pattern,
            timeout=settings.timeout,
            seconds_between_writes=settings.seconds_between_writes,
        )

    def __repr__(self) -> str:
        return f"GitHubTracker(repo={self.project!r})"  # never the token

    # --- labels we manage ----------------------------------------------------------------------

    def stamp_label(self, theme_key: str) -> str:
        """The label that stamps a theme's issue, e.g. `nps:theme-3f9a0c1d2e`."""
        return f"{self.namespace}theme-{theme_key.removeprefix('theme-')}"

    def priority_label(self, priority: str) -> str:
        """The namespaced label for a priority level name (kept as is when already namespaced)."""
        return priority if priority.startswith(self.namespace) else f"{self.namespace}{priority}"

    def _is_priority_label(self, name: str) -> bool:
        return name.startswith(self.namespace) and not name.startswith(f"{self.namespace}theme-")

    # --- the contract ------------------------------------------------------------------------

    def find(self, theme_key: str) -> RemoteIssue | None:
        """Oldest issue with the stamp label whose marker names this theme (or was removed)."""
        label = self.stamp_label(theme_key)
        fallback: Issue | None = None
        with _errors(f"list issues labelled {label} in {self.project}"):
            for issue in self._repo.get_issues(state="all", labels=[label], sort="created", direction="asc"):
                if "/pull/" in (issue.html_url or ""):
                    continue
                marker = self.markup.theme_key(issue.body or "")
                if marker == theme_key:
                    return self._remote(issue)
                if marker is None and fallback is None:
                    fallback = issue
            return self._remote(fallback) if fallback is not None else None

    def get(self, ref: IssueRef) -> RemoteIssue:
        """The issue now (one GET)."""
        with _errors(f"read {ref.key}"):
            issue = self._repo.get_issue(_number(ref))
            return self._remote(issue)

    def create(self, draft: IssueDraft) -> IssueRef:
        """Create the labels it needs, then POST the issue once."""
        managed = [self.stamp_label(draft.theme_key)]
        if draft.priority:
            managed.append(self.priority_label(draft.priority))
        self._ensure_labels(managed)
        kwargs: dict[str, Any] = {"labels": [*managed, *(x for x in draft.labels if x not in managed)]}
        if draft.sprint and draft.sprint in self._milestones:
            kwargs["milestone"] = self._milestones[draft.sprint]
        if draft.assignee:
            kwargs["assignees"] = [draft.assignee]
        with _errors(f"create issue in {self.project}"):
            issue = self._repo.create_issue(title=draft.title, body=draft.body, **kwargs)
            return self._ref(issue.number, issue.html_url)

    def update(self, issue: RemoteIssue, change: IssueChange) -> None:
        """One PATCH with only the changed fields; labels: ours swapped, everyone else's kept."""
        kwargs: dict[str, Any] = {}
        if change.title is not None:
            kwargs["title"] = change.title
        if change.body is not None:
            kwargs["body"] = change.body
        if change.priority is not None:
            wanted = self.priority_label(change.priority)
            self._ensure_labels([wanted])
            kept = [x for x in issue.labels if not self._is_priority_label(x)]
            kwargs["labels"] = [*kept, wanted]
        if change.sprint is not None and change.sprint in self._milestones:
            kwargs["milestone"] = self._milestones[change.sprint]
        if change.reopen:
            kwargs["state"], kwargs["state_reason"] = "open", "reopened"
        if not kwargs:
            return
        with _errors(f"update {issue.ref.key}"):
            self._repo.get_issue(_number(issue.ref)).edit(**kwargs)

    def comment(self, ref: IssueRef, text: str) -> None:
        """POST one comment."""
        with _errors(f"comment on {ref.key}"):
            self._repo.get_issue(_number(ref)).create_comment(text)

    def comments(self, ref: IssueRef) -> list[str]:
        """All comment bodies, oldest first (paginated)."""
        with _errors(f"list comments of {ref.key}"):
            return [c.body or "" for c in self._repo.get_issue(_number(ref)).get_comments()]

    def upcoming_sprint(self, today: date) -> str | None:
        """Open milestone due next (from `today`), among titles matching the pattern when one is set."""
        if self.milestone_mode == "none":
            return None
        with _errors(f"list milestones of {self.project}"):
            milestones = list(self._repo.get_milestones(state="open"))
        self._milestones = {m.title: m for m in milestones}
        if self.milestone_mode == "pattern":
            pattern = self.milestone_pattern
            milestones = [m for m in milestones if pattern is not None and pattern.search(m.title)]
        due = [m for m in milestones if m.due_on is not None and m.due_on.date() >= today]
        if due:
            return min(due, key=lambda m: (m.due_on, m.title)).title
        if self.milestone_mode == "pattern" and milestones:
            return min(milestones, key=lambda m: m.title).title
        return None

    # --- helpers ----------------------------------------------------------------------------

    def _ensure_labels(self, names: list[str]) -> None:
        if self._labels is None:
            with _errors(f"list labels of {self.project}"):
                self._labels = {label.name for label in self._repo.get_labels()}
        for name in names:
            if name in self._labels:
                continue
            colour = STAMP_COLOUR if name.startswith(f"{self.namespace}theme-") else PRIORITY_COLOUR
            with _errors(f"create label {name!r} in {self.project}"):
                try:
                    self._repo.create_label(name, colour, "Managed by backlog_bridge")
                except GithubException as error:
                    # Made by a person, another run, or our own earlier try whose answer was lost.
                    if not (error.status == 422 and "already_exists" in json.dumps(error.data, default=str)):
                        raise
            self._labels.add(name)

    def _remote(self, issue: Issue) -> RemoteIssue:
        labels = tuple(label.name for label in issue.labels)
        priorities = [x for x in labels if self._is_priority_label(x)]
        closed_at = issue.closed_at
        return RemoteIssue(
            ref=self._ref(issue.number, issue.html_url),
            theme_key=self.markup.theme_key(issue.body or ""),
            title=issue.title,
            body=issue.body or "",
            state="closed" if issue.state == "closed" else "open",
            closed_at=closed_at.astimezone(UTC) if closed_at else None,
            priority=priorities[0].removeprefix(self.namespace) if priorities else None,
            sprint=issue.milestone.title if issue.milestone is not None else None,
            labels=labels,
            closure=_closure(issue.state_reason) if issue.state == "closed" else None,
        )

    def _ref(self, number: int, url: str) -> IssueRef:
        return IssueRef(self.name, f"{self.project}#{number}", url)


def _number(ref: IssueRef) -> int:
    return int(ref.key.rsplit("#", 1)[1])


def _message(error: GithubException) -> str:
    data = error.data
    if isinstance(data, dict):
        return str(data.get("message") or "")
    return ""


@contextmanager
def _errors(what: str) -> Iterator[None]:
    """Translate PyGithub and requests exceptions into the contract's errors (nothing else escapes)."""
    try:
        yield
    except RateLimitExceededException as error:
        raise rate_limited(what, _message(error), retry_after=_wait(error.headers or {}), status=error.status) from None
    except GithubException as error:
        retry_after = _wait(error.headers or {})
        if error.status == 429 or (error.status == 403 and retry_after is not None):
            raise rate_limited(what, _message(error), retry_after=retry_after, status=error.status) from None
        raise error_for_status(error.status, what, _message(error), retry_after=retry_after) from None
    except requests.RequestException as error:
        raise connection_lost(what, error) from None


def _wait(headers: Mapping[str, Any]) -> float | None:
    """Seconds GitHub asks us to wait: Retry-After (secondary limits), else until the primary limit resets.

    The reset is counted from the answer's own Date header, so the local clock plays no part.
    """
    retry_after = parse_retry_after(_header(headers, "Retry-After"))
    reset, sent = _header(headers, "X-RateLimit-Reset"), _header(headers, "Date")
    if retry_after is not None or _header(headers, "X-RateLimit-Remaining") != "0" or not reset or not sent:
        return retry_after
    try:
        return max(0.0, float(reset) - parsedate_to_datetime(sent).timestamp())
    except (TypeError, ValueError):
        return None


def _header(headers: Mapping[str, Any], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return str(value)
    return None


def _conforms(tracker: GitHubTracker) -> Tracker:
    """Static check (mypy) that the adapter satisfies the contract."""
    return tracker


_CLOSURES: dict[str, Closure] = {"not_planned": "declined", "duplicate": "duplicate"}


def _closure(state_reason: str | None) -> Closure:
    """What GitHub's close reason means here.

    not_planned is declined, duplicate a duplicate; completed is fixed, and so is a close without a
    reason (issues closed before GitHub had reasons).
    """
    return _CLOSURES.get(state_reason or "", "fixed")
