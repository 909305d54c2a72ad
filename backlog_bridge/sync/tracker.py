"""The tracker contract: one issue per theme, found again by its stamp, never filed twice.

An adapter (`GitHubTracker`, `JiraTracker`) is a thin translation of these few calls to its SDK.
Everything about *when* to create, update, comment or reopen lives in `sync.engine`, so each
adapter stays small and the rules hold for every tracker alike.

The stamp. Every issue we file carries the theme key twice: as a namespaced label (searchable:
GitHub `labels=` filter, Jira JQL `labels = ...`) and as a hidden marker in the body (the proof:
a human may put our label on another issue, nobody types the marker by accident). `find()` lists by
label and confirms by marker, so a lost database or an unconfirmed create is resolved by finding,
not by filing again.

Errors. Adapters raise only `TrackerTransientError` (429, 5xx, timeouts, connection drops,
rate limits: try again later) or `TrackerTerminalError` (401, 403, 404, 422: a person must act);
SDK exceptions never escape. Raise the refinements below so the engine can honour Retry-After
and tell "nothing happened" from "maybe it happened" (a create that may have been applied is
never blindly resent: the engine looks for the stamp first).

SDK retries. An adapter turns its SDK's retries off (both PyGithub and jira resend a POST by
default; see /work/shared/TRACKERS.md): `sync.retry` is the one retry layer, for every call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, Protocol

from backlog_bridge.errors import TrackerTerminalError, TrackerTransientError
from backlog_bridge.plan.model import PlanItem

Closure = Literal["fixed", "declined", "duplicate"]
"""What closing an issue meant: only "fixed" is a shipped fix that a verdict judges."""
CLOSURE_WORDS: dict[str, str] = {
    "fixed": "fix shipped",
    "declined": "declined (not planned)",
    "duplicate": "closed as a duplicate",
}
"""How the sync report and the theme report say what a close meant (a close stored before closures: fixed)."""


@dataclass(frozen=True)
class IssueRef:
    """Where a theme's issue lives: ("github", "org/repo#45", url) or ("jira", "FB-123", url)."""

    tracker: str
    key: str
    url: str


@dataclass(frozen=True)
class IssueDraft:
    """A new issue. The adapter adds the theme stamp label and the priority label/field itself."""

    theme_key: str
    title: str
    body: str
    """The whole body: managed section (with the hidden theme marker) and nothing else yet."""
    priority: str | None
    """The level's name in this tracker (Jira priority name, GitHub label suffix); None = none."""
    labels: tuple[str, ...] = ()
    """The team's own labels from routing rules, set at creation only (never managed afterwards)."""
    sprint: str | None = None
    """Upcoming sprint or milestone name from `upcoming_sprint()`; None = backlog."""
    assignee: str | None = None
    component: str | None = None
    """Jira component from routing rules, set at creation only (GitHub has none)."""


@dataclass(frozen=True)
class IssueChange:
    """A partial edit: None leaves a field as the tracker has it (a human's value included)."""

    title: str | None = None
    body: str | None = None
    priority: str | None = None
    """New managed priority; the adapter swaps only its own namespaced label (or the priority field)."""
    sprint: str | None = None
    reopen: bool = False
    """Reopen a closed issue (GitHub state_reason=reopened; Jira: a transition out of done)."""

    def is_empty(self) -> bool:
        """True when applying this change would not write anything."""
        return not self.reopen and all(v is None for v in (self.title, self.body, self.priority, self.sprint))


@dataclass(frozen=True)
class RemoteIssue:
    """An issue as the tracker has it now (read back every run: humans edit, close and reopen)."""

    ref: IssueRef
    theme_key: str | None
    """From the hidden marker in the body; None when a human removed it."""
    title: str
    body: str
    state: Literal["open", "closed"]
    """closed = GitHub closed, Jira status category done."""
    closed_at: datetime | None
    priority: str | None
    """Our managed priority as the tracker shows it (namespaced label suffix or priority field)."""
    sprint: str | None
    labels: tuple[str, ...] = ()
    closure: Closure | None = None
    """Closed issues: GitHub `state_reason` (completed, not_planned, duplicate), Jira's resolution."""


class Tracker(Protocol):
    """One issue per theme, idempotent by theme key. Every method may raise the errors below.

    Contract for adapters:
        name: "github" or "jira"; stored with each link.
        project: the GitHub owner/repo or Jira project key this instance files into.
        markup: renders and escapes for this tracker's markup (GitHub Markdown, Jira wiki markup).
        find(theme_key): the issue stamped with `theme_key` (label, confirmed by the body marker),
            open or closed, oldest first if several; None when absent. Reads only.
        get(ref): the issue now; TrackerTerminalError (404) when it was deleted or moved away.
        create(draft): files the issue with its stamp label, priority and sprint; one create call,
            never retried by the SDK. Labels the adapter needs may be created first (idempotent).
        update(issue, change): applies a partial change in as few calls as possible (one PATCH / PUT);
            human labels, assignees, components and text outside the managed section are kept
            because the engine only sends fields it owns (body already merged).
        comment(ref, text): adds a comment; `text` is already escaped and stamped by `markup`.
        comments(ref): bodies of the issue's comments (the engine checks stamps before commenting).
        upcoming_sprint(today): the sprint or milestone new issues go into; None when there is none.
    """

    name: str
    project: str
    markup: Markup

    def find(self, theme_key: str) -> RemoteIssue | None:
        """The issue stamped with `theme_key`, or None."""
        ...

    def get(self, ref: IssueRef) -> RemoteIssue:
        """The issue as it is now."""
        ...

    def create(self, draft: IssueDraft) -> IssueRef:
        """File a new issue (one create call, not retried by the SDK)."""
        ...

    def update(self, issue: RemoteIssue, change: IssueChange) -> None:
        """Apply a partial change to `issue` (as just read: its labels are kept, ours swapped)."""
        ...

    def comment(self, ref: IssueRef, text: str) -> None:
        """Add a comment (already escaped and stamped)."""
        ...

    def comments(self, ref: IssueRef) -> list[str]:
        """Bodies of the issue's comments, oldest first."""
        ...

    def upcoming_sprint(self, today: date) -> str | None:
        """Name of the sprint or milestone that new in-budget issues go into."""
        ...


@dataclass(frozen=True)
class ManagedFigures:
    """The figures last written into an issue's managed section, read back from the tracker.

    Stored on the tracker (a hidden data marker), not only in the database, so "priority moved"
    and "theme grew" are judged against what the issue really says, even after the database is lost.
    """

    respondents: int
    share: float
    priority: str | None

    @classmethod
    def of(cls, item: PlanItem) -> ManagedFigures:
        """The figures `item` will write."""
        return cls(item.brief.respondents, round(item.brief.share, 6), item.priority or item.tracker_priority)


class Markup(Protocol):
    """Rendering for one tracker's markup; everything from customers comes out as inert text."""

    def title(self, label: str) -> str:
        """Issue title for a theme label (escaped)."""
        ...

    def section(self, item: PlanItem) -> str:
        """The managed section of `item`'s issue: markers (begin, theme, figures) around the brief."""
        ...

    def merge(self, current: str | None, section: str) -> str:
        """`current` with its managed section replaced by `section` (appended when absent)."""
        ...

    def figures(self, body: str) -> ManagedFigures | None:
        """The data marker inside the managed section of `body`, or None."""
        ...

    def theme_key(self, body: str) -> str | None:
        """The theme key of the hidden marker in `body`, or None."""
        ...

    def escape(self, text: str) -> str:
        """`text` as inert text: no mentions, cross-links, images, links or HTML."""
        ...

    def stamped(self, text: str, stamp: str) -> str:
        """A comment: `text` (already escaped) plus a hidden stamp, so it is never posted twice."""
        ...

    def has_stamp(self, comment: str, stamp: str) -> bool:
        """True when `comment` carries `stamp`."""
        ...


class TrackerUnavailableError(TrackerTransientError):
    """A transient failure with what the engine needs to retry it safely.

    Attributes:
        status: HTTP status, None for timeouts and dropped connections.
        retry_after: seconds the tracker asked us to wait (Retry-After), if any.
        maybe_applied: True when the write may have happened (timeout, dropped connection, 5xx):
            a create is then looked for before it is sent again.
    """

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None, maybe_applied: bool = True
    ) -> None:
        self.status = status
        self.retry_after = retry_after
        self.maybe_applied = maybe_applied
        super().__init__(message)


class TrackerRejectedError(TrackerTerminalError):
    """A terminal failure (401, 403, 404, 422): the message says what a person must fix."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)


_HINTS = {
    401: "the token was rejected: check it is set and not expired",
    403: "the token lacks permission for this repository or project",
    404: "not found: check the repository/project name, or the issue was deleted or moved",
    410: "gone: this endpoint or issue no longer exists",
    422: "the tracker rejected the request as invalid",
}


def error_for_status(
    status: int, what: str, detail: str = "", *, retry_after: float | None = None
) -> TrackerUnavailableError | TrackerRejectedError:
    """Map an HTTP status to the contract's error; one place for every adapter.

    Args:
        status: the HTTP status the tracker answered.
        what: the call, e.g. "create issue in org/repo" (never a token or a body).
        detail: the tracker's own message, if any.
        retry_after: seconds from a Retry-After header, if any.
    """
    suffix = f": {detail}" if detail else ""
    if status == 429 or status >= 500:
        # A 5xx may come after the write was applied; 429 means the request was refused.
        return TrackerUnavailableError(
            f"{what}: HTTP {status}, will retry{suffix}",
            status=status,
            retry_after=retry_after,
            maybe_applied=status != 429,
        )
    hint = _HINTS.get(status, "the tracker refused the request")
    return TrackerRejectedError(f"{what}: HTTP {status}, {hint}{suffix}", status=status)


def rate_limited(what: str, detail: str, *, retry_after: float | None, status: int) -> TrackerUnavailableError:
    """A rate-limit refusal (GitHub's 403 secondary limit, 429): nothing was applied."""
    return TrackerUnavailableError(
        f"{what}: rate limited (HTTP {status}): {detail}", status=status, retry_after=retry_after, maybe_applied=False
    )


def connection_lost(what: str, error: BaseException) -> TrackerUnavailableError:
    """A timeout or dropped connection: the request may or may not have been applied."""
    return TrackerUnavailableError(f"{what}: {type(error).__name__}, outcome unknown", maybe_applied=True)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds form; HTTP dates are rare on trackers)."""
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
