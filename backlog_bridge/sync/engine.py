"""Apply a sprint plan to a tracker: one issue per theme, idempotent, safe to kill at any point.

The rules, for every tracker alike:

* **Find before filing.** A theme without a confirmed link is looked up on the tracker by its stamp
  (label + hidden marker) before any create, so a lost or fresh database never files a duplicate.
* **Write-ahead.** The intent to create is committed (`TrackerLink.state = "creating"`) before the
  create call and confirmed after it. A crash, timeout or kill in between leaves "creating": the
  next run finds the issue instead of filing again. An ambiguous create failure (timeout, dropped
  connection, 5xx) is resolved the same way within the run, before any retry.
* **No write when nothing changed.** The plan's content hash is compared with the one last written.
  Otherwise only the fields we own are sent: the managed section (human text outside the markers is
  kept), our namespaced priority label, the title while it is still the one we wrote, and the
  milestone/sprint when the issue has none. Human labels, assignees and comments are never touched.
* **Significant change = a comment.** Priority moved, or respondents grew by `significant_growth`
  (relative) since the figures last written on the issue: a short stamped comment is posted *before*
  the edit, so a crash between the two can neither lose nor repeat it.
* **Status read-back.** Every linked issue is read each run. Closed = "fix shipped" (with the date).
  A closed theme whose share grew by `regression_growth` (relative) over the share written on the
  issue when it closed has *regressed*: one stamped comment per closure (or a reopen, per
  `regression_action`) instead of a new issue.
* **Failures.** Transient errors are retried `RetryPolicy.attempts` times with exponential backoff
  that honours Retry-After (through the injected `sleep`; `sync.retry` is the one retry layer), then
  left pending for the next run; the backoff of a whole run is capped (`RetryPolicy.run_budget`), and
  once the tracker gave no answer (or a 5xx) to every try, the remaining themes are left pending
  without calling it again: an unreachable tracker costs one theme's retries, not one per theme.
  Terminal errors are reported on the theme, and the other themes go on.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Literal, TypeVar

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from backlog_bridge.errors import TrackerError, TrackerTerminalError, TrackerTransientError
from backlog_bridge.plan.model import Action, PlanItem
from backlog_bridge.store.tables import TrackerLink
from backlog_bridge.sync.retry import Retrier, RetryPolicy
from backlog_bridge.sync.tracker import (
    CLOSURE_WORDS,
    Closure,
    IssueChange,
    IssueDraft,
    IssueRef,
    ManagedFigures,
    RemoteIssue,
    Tracker,
    TrackerUnavailableError,
)

log = logging.getLogger(__name__)
T = TypeVar("T")


class Outcome(StrEnum):
    """What happened to one theme's issue in this run."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    SKIPPED = "skipped"
    PENDING = "pending"
    """A transient failure: nothing lost, the next run finishes it."""
    FAILED = "failed"
    """A terminal failure: a person must act (token, permissions, deleted issue, invalid field)."""


@dataclass(frozen=True)
class ThemeResult:
    """One theme's line in the sync report."""

    theme_key: str
    outcome: Outcome
    message: str
    ref: IssueRef | None = None


@dataclass(frozen=True)
class SyncReport:
    """What a sync run did (or, dry-run, would do), theme by theme."""

    tracker: str
    dry_run: bool
    results: tuple[ThemeResult, ...]
    unreachable: str | None = None
    """Set when the tracker gave no answer (or a 5xx) to every try: the rest of the themes were left pending."""
    read_back: int = 0
    """Issues of themes the plan did not touch tonight (skipped, suppressed, merged, retired) read back
    for closures and reopenings."""

    def counts(self) -> dict[str, int]:
        """Number of themes per outcome."""
        counts = {outcome.value: 0 for outcome in Outcome}
        for result in self.results:
            counts[result.outcome.value] += 1
        return counts

    @property
    def complete(self) -> bool:
        """True when nothing is pending or failed."""
        return all(r.outcome not in (Outcome.PENDING, Outcome.FAILED) for r in self.results)


@dataclass(frozen=True)
class SyncRules:
    """Thresholds of the engine's judgement calls (documented in the module docstring)."""

    regression_action: Literal["comment", "reopen"] = "comment"
    regression_growth: float = 0.5
    """A closed theme regressed when its share is at least (1 + this) × the share written when it closed."""
    significant_growth: float = 0.5
    """Respondents growing by at least this fraction since the last write adds a comment."""


def sync_plan(
    engine: Engine,
    items: Sequence[PlanItem],
    tracker: Tracker,
    *,
    now: datetime,
    dry_run: bool = False,
    regression_action: Literal["comment", "reopen"] = "comment",
    regression_growth: float = 0.5,
    significant_growth: float = 0.5,
    retry: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> SyncReport:
    """Apply the plan items routed to `tracker`; every theme is handled even when others fail.

    Args:
        engine: the store (its `tracker_link` table holds the write-ahead links).
        items: the sprint plan; items routed to another tracker are ignored, items routed to another
            project of this tracker are reported as skipped (run once per project).
        tracker: the adapter (see `sync.tracker.Tracker`).
        now: the wall clock (aware UTC), never the analysis window's end: stamps on links and
            regression notes, a closed issue's date when the tracker gives none, the upcoming sprint.
        dry_run: read the tracker and the store, write neither; the report says what would happen.
        regression_action: on a regressed closed theme, "comment" on the issue or "reopen" it.
        regression_growth: see `SyncRules.regression_growth`.
        significant_growth: see `SyncRules.significant_growth`.
        retry: backoff policy for transient failures.
        sleep: how to wait between tries (tests pass a recorder).

    Returns:
        One result per theme routed to this tracker, in plan order.
    """
    rules = SyncRules(regression_action, regression_growth, significant_growth)
    run = _Run(engine, tracker, now, dry_run, rules, Retrier(retry or RetryPolicy(), sleep))
    routed = [i for i in items if i.target.tracker == tracker.name]
    results = tuple(run.sync_one(item) for item in routed)
    handled = {i.brief.theme_key for i in routed if i.action is not Action.SKIP and not _elsewhere(i, tracker)}
    read_back = run.read_back(handled) if not dry_run else 0
    return SyncReport(tracker.name, dry_run, results, run.unreachable, read_back)


@dataclass(frozen=True)
class Note:
    """A comment to post once on an issue (e.g. a fix verdict); `stamp` makes it idempotent."""

    theme_key: str
    ref: IssueRef
    text: str
    """Plain text; escaped for the tracker's markup here."""
    stamp: str


def post_notes(
    engine: Engine,
    notes: Sequence[Note],
    tracker: Tracker,
    *,
    now: datetime,
    dry_run: bool = False,
    retry: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> SyncReport:
    """Post each note once (a stamped comment already there is not posted again); escaped, retried."""
    run = _Run(engine, tracker, now, dry_run, SyncRules(), Retrier(retry or RetryPolicy(), sleep))
    results = []
    for note in notes:
        if note.ref.tracker != tracker.name:
            continue
        if dry_run:
            results.append(ThemeResult(note.theme_key, Outcome.SKIPPED, "dry run: would comment", note.ref))
            continue
        try:
            run._comment_once(note.ref, tracker.markup.escape(note.text), note.stamp)
        except TrackerTransientError as error:
            results.append(ThemeResult(note.theme_key, Outcome.PENDING, f"comment left for the next run: {error}"))
            continue
        except TrackerError as error:
            results.append(ThemeResult(note.theme_key, Outcome.FAILED, f"comment failed: {error}", note.ref))
            continue
        results.append(ThemeResult(note.theme_key, Outcome.UPDATED, "commented", note.ref))
    return SyncReport(tracker.name, dry_run, tuple(results))


def _elsewhere(item: PlanItem, tracker: Tracker) -> bool:
    return bool(item.target.project) and item.target.project != tracker.project


@dataclass
class _Run:
    engine: Engine
    tracker: Tracker
    now: datetime
    dry_run: bool
    rules: SyncRules
    retrier: Retrier
    _sprint: list[str | None] = field(default_factory=list)
    unreachable: str | None = None
    """Why the tracker is out of reach for the rest of this run (no answer or 5xx after every try)."""

    # --- issues the plan did not touch ---------------------------------------------------------

    def read_back(self, handled: set[str]) -> int:
        """Read every other issue of ours on this tracker, so closures and reopenings are never missed.

        A suppressed, skipped, merged or retired theme's issue is still closed or reopened by people;
        its fix date and what the close meant feed the verdicts and the plan. Stops at the first
        transient failure (the next run reads again); a deleted issue is left for its theme's next sync.
        """
        query = select(TrackerLink).where(
            col(TrackerLink.tracker) == self.tracker.name,
            col(TrackerLink.state).in_(("open", "closed")),
            col(TrackerLink.issue_key).is_not(None),
        )
        with Session(self.engine) as session:
            links = [link for link in session.exec(query) if link.theme_key not in handled]
        read = 0
        for link in links:
            ref = _ref(link)
            if self.unreachable is not None or ref is None:
                break
            try:
                remote = self._call(functools.partial(self.tracker.get, ref))
            except TrackerTransientError:
                break
            except TrackerTerminalError:
                continue
            read += 1
            if remote.state == "closed":
                self._record_close(link, remote)
            elif link.state == "closed":  # reopened by a person; closed_at keeps the fix being judged
                link.state = "open"
                self._save(link)
        return read

    def _record_close(self, link: TrackerLink, remote: RemoteIssue) -> tuple[datetime, Closure]:
        """Store that the issue is closed, when, and what the close meant; returns (closed_at, closure)."""
        closed_at = remote.closed_at or link.closed_at or self.now
        closure: Closure = remote.closure or "fixed"
        changed = link.closed_at is None or _aware(link.closed_at) != _aware(closed_at) or link.closure != closure
        if link.state != "closed" or changed:
            link.state, link.closed_at, link.closure = "closed", closed_at, closure
            self._save(link)
            event = "sync.fix-shipped" if closure == "fixed" else "sync.closed-without-fix"
            log.info(event, extra={"theme_key": link.theme_key, "issue": remote.ref.key, "closure": closure})
        return closed_at, closure

    # --- one theme -------------------------------------------------------------------------

    def sync_one(self, item: PlanItem) -> ThemeResult:
        key = item.brief.theme_key
        if item.action is Action.SKIP:
            return ThemeResult(key, Outcome.SKIPPED, item.reason)
        if _elsewhere(item, self.tracker):
            where = f"{self.tracker.name} {item.target.project}"
            return ThemeResult(key, Outcome.SKIPPED, f"routed to {where}, not {self.tracker.project}")
        link = self._load(key)
        if self.unreachable is not None:
            return ThemeResult(key, Outcome.PENDING, f"tracker unreachable ({self.unreachable}); next run", _ref(link))
        try:
            return self._apply(item, link)
        except TrackerTransientError as error:
            if isinstance(error, TrackerUnavailableError) and (error.status is None or error.status >= 500):
                self.unreachable = str(error)  # the other themes would only wait for the same failure
            self._note_error(key, str(error))
            log.warning("sync.theme-pending", extra={"theme_key": key, "error": str(error)})
            return ThemeResult(key, Outcome.PENDING, f"will retry next run: {error}", _ref(link))
        except TrackerTerminalError as error:
            self._note_error(key, str(error), failed=True)
            log.error("sync.theme-failed", extra={"theme_key": key, "error": str(error)})
            return ThemeResult(key, Outcome.FAILED, str(error), _ref(link))

    def _apply(self, item: PlanItem, link: TrackerLink | None) -> ThemeResult:
        key = item.brief.theme_key
        known = _ref(link)
        if known is not None:
            remote = self._call(lambda: self.tracker.get(known))
        else:
            found = self._call(lambda: self.tracker.find(key))
            if found is None:
                if item.action is not Action.CREATE and link is None:
                    return ThemeResult(key, Outcome.SKIPPED, f"no issue to {item.action.value}: {item.reason}")
                return self._create(item, link)
            remote, link = found, self._adopt(item, link, found)
        assert link is not None
        return self._existing(item, link, remote, adopted=known is None)

    # --- create ----------------------------------------------------------------------------

    def _create(self, item: PlanItem, link: TrackerLink | None) -> ThemeResult:
        key = item.brief.theme_key
        markup = self.tracker.markup
        title = markup.title(item.brief.label)
        sprint = self._upcoming_sprint() if item.in_sprint else None
        draft = IssueDraft(
            theme_key=key,
            title=title,
            body=markup.merge(None, markup.section(item)),
            priority=_priority(item),
            labels=item.target.labels,
            sprint=sprint,
            assignee=item.target.assignee,
            component=item.target.component,
        )
        where = f" in {sprint}" if sprint else ""
        if self.dry_run:
            return ThemeResult(key, Outcome.CREATED, f"would create{where}: {item.reason}")
        link = link or TrackerLink(tracker=self.tracker.name, theme_key=key, created_at=self.now)
        link.state, link.title_written, link.last_error = "creating", title, None
        self._save(link)  # the write-ahead intent, committed before the call
        ref = self._create_once(draft)
        link.state, link.issue_key, link.url = "open", ref.key, ref.url
        link.content_hash, link.priority, link.sprint = item.content_hash, draft.priority, sprint
        self._save(link)
        log.info("sync.issue-created", extra={"theme_key": key, "issue": ref.key})
        return ThemeResult(key, Outcome.CREATED, f"created {ref.key}{where}: {item.reason}", ref)

    def _create_once(self, draft: IssueDraft) -> IssueRef:
        """Create, but after an ambiguous failure look for the stamp before sending it again."""

        def created() -> IssueRef | None:
            found = self._call(lambda: self.tracker.find(draft.theme_key))
            if found is None:
                return None
            self._finish_placement(found, draft)
            return found.ref

        return self.retrier.call(lambda: self.tracker.create(draft), settled=created)

    def _finish_placement(self, issue: RemoteIssue, draft: IssueDraft) -> None:
        """A create found after an ambiguous failure may lack its sprint (Jira places it in a second call)."""
        if draft.sprint and issue.sprint is None and issue.state == "open":
            self._call(lambda: self.tracker.update(issue, IssueChange(sprint=draft.sprint)))

    def _adopt(self, item: PlanItem, link: TrackerLink | None, remote: RemoteIssue) -> TrackerLink:
        """Link an issue found on the tracker (lost database, or a create left unconfirmed)."""
        if link is None:
            link = TrackerLink(tracker=self.tracker.name, theme_key=item.brief.theme_key, created_at=self.now)
            # Without a record of the title we wrote, only a title equal to ours is known to be ours.
            ours = self.tracker.markup.title(item.brief.label)
            link.title_written = remote.title if remote.title == ours else None
        link.state, link.issue_key, link.url = "open", remote.ref.key, remote.ref.url
        link.last_error, link.sprint, link.priority = None, remote.sprint, remote.priority
        self._save(link)
        log.info("sync.issue-found", extra={"theme_key": item.brief.theme_key, "issue": remote.ref.key})
        return link

    # --- existing issue --------------------------------------------------------------------

    def _existing(self, item: PlanItem, link: TrackerLink, remote: RemoteIssue, adopted: bool) -> ThemeResult:
        key = item.brief.theme_key
        if remote.state == "closed":
            return self._closed(item, link, remote)
        if link.state != "open":  # reopened by a human, or a failure now resolved
            # closed_at keeps the last fix's date: the report still judges that fix (and sees it came back).
            link.state = "open"
            self._save(link)
        if not adopted and link.content_hash == item.content_hash:
            return ThemeResult(key, Outcome.UNCHANGED, f"{remote.ref.key} up to date", remote.ref)
        change = self._change(item, link, remote)
        if change.is_empty():
            link.content_hash = item.content_hash
            self._save(link)
            return ThemeResult(key, Outcome.UNCHANGED, f"{remote.ref.key} already matches the plan", remote.ref)
        notes = self._significant(item, remote)
        if self.dry_run:
            extra = f" and comment ({' '.join(notes)})" if notes else ""
            return ThemeResult(key, Outcome.UPDATED, f"would update {remote.ref.key}{extra}", remote.ref)
        if notes:
            old = self.tracker.markup.figures(remote.body)
            text = self.tracker.markup.escape(" ".join(notes))
            self._comment_once(remote.ref, text, f"change-{_digest(old)}")
        self._call(lambda: self.tracker.update(remote, change))
        link.content_hash, link.last_error = item.content_hash, None
        link.title_written = change.title or link.title_written
        link.priority = change.priority or link.priority
        link.sprint = change.sprint or link.sprint
        self._save(link)
        log.info("sync.issue-updated", extra={"theme_key": key, "issue": remote.ref.key})
        said = " with a comment" if notes else ""
        return ThemeResult(key, Outcome.UPDATED, f"updated {remote.ref.key}{said}: {item.reason}", remote.ref)

    def _change(self, item: PlanItem, link: TrackerLink, remote: RemoteIssue) -> IssueChange:
        markup = self.tracker.markup
        body = markup.merge(remote.body, markup.section(item))
        title = markup.title(item.brief.label)
        human_title = link.title_written is None or remote.title != link.title_written
        priority = _priority(item)
        sprint = self._upcoming_sprint() if item.in_sprint and remote.sprint is None else None
        return IssueChange(
            title=None if human_title or title == remote.title else title,
            body=None if body == remote.body else body,
            priority=priority if priority and priority != remote.priority else None,
            sprint=sprint,
        )

    def _significant(self, item: PlanItem, remote: RemoteIssue) -> list[str]:
        old = self.tracker.markup.figures(remote.body)
        if old is None:
            return []
        new = ManagedFigures.of(item)
        notes = []
        if new.priority and new.priority != old.priority:
            notes.append(f"Priority moved from {old.priority or 'none'} to {new.priority}.")
        if old.respondents > 0 and new.respondents >= old.respondents * (1 + self.rules.significant_growth):
            notes.append(
                f"The theme grew from {old.respondents} to {new.respondents} respondents "
                f"({old.share:.1%} to {new.share:.1%} of responses)."
            )
        return notes

    # --- closed issue: fix shipped, maybe regressed -------------------------------------------

    def _closed(self, item: PlanItem, link: TrackerLink, remote: RemoteIssue) -> ThemeResult:
        key = item.brief.theme_key
        closed_at, closure = self._record_close(link, remote)
        if closure != "fixed":  # declined or a duplicate: no fix shipped, nothing to judge or regress from
            said = f"{CLOSURE_WORDS[closure]} on {closed_at.date().isoformat()} ({remote.ref.key})"
            return ThemeResult(key, Outcome.UNCHANGED, said, remote.ref)
        shipped = f"fix shipped on {closed_at.date().isoformat()} ({remote.ref.key})"
        old = self.tracker.markup.figures(remote.body)
        share = item.brief.share
        if old is None or share <= old.share or share < old.share * (1 + self.rules.regression_growth):
            return ThemeResult(key, Outcome.UNCHANGED, shipped, remote.ref)
        noted = link.regression_noted_at
        if noted is not None and _aware(noted) >= _aware(closed_at):
            return ThemeResult(key, Outcome.UNCHANGED, f"{shipped}; regression already noted", remote.ref)
        action = self.rules.regression_action
        if self.dry_run:
            return ThemeResult(key, Outcome.UPDATED, f"{shipped}; regressed: would {action}", remote.ref)
        note = self.tracker.markup.escape(
            f"This theme has grown again since the fix shipped on {closed_at.date().isoformat()}: "
            f"{old.share:.1%} of responses then, {share:.1%} now ({item.brief.respondents} respondents)."
        )
        self._comment_once(remote.ref, note, f"regressed-{closed_at.strftime('%Y%m%dT%H%M%S')}")
        if action == "reopen":
            change = IssueChange(
                reopen=True, body=self.tracker.markup.merge(remote.body, self.tracker.markup.section(item))
            )
            self._call(lambda: self.tracker.update(remote, change))
            link.state, link.content_hash = "open", item.content_hash  # closed_at: the fix being judged
        link.regression_noted_at = self.now
        self._save(link)
        log.info("sync.regression-noted", extra={"theme_key": key, "issue": remote.ref.key, "action": action})
        done = "reopened" if action == "reopen" else "commented on"
        return ThemeResult(key, Outcome.UPDATED, f"{shipped}; regressed: {done} the issue", remote.ref)

    # --- calls with retries ---------------------------------------------------------------------

    def _comment_once(self, ref: IssueRef, text: str, stamp: str) -> None:
        """Post a stamped comment unless one with the stamp exists (checked again after a doubtful failure)."""
        markup = self.tracker.markup

        def posted() -> bool | None:
            comments = self._call(lambda: self.tracker.comments(ref))
            return True if any(markup.has_stamp(c, stamp) for c in comments) else None

        if posted():
            return

        def post() -> bool:
            self.tracker.comment(ref, markup.stamped(text, stamp))
            return True

        self.retrier.call(post, settled=posted)

    def _call(self, call: Callable[[], T]) -> T:
        """Run an idempotent call (read, PATCH), retrying transient failures."""
        return self.retrier.call(call)

    def _upcoming_sprint(self) -> str | None:
        if not self._sprint:
            self._sprint.append(self._call(lambda: self.tracker.upcoming_sprint(self.now.date())))
        return self._sprint[0]

    # --- store ------------------------------------------------------------------------------

    def _load(self, key: str) -> TrackerLink | None:
        with Session(self.engine, expire_on_commit=False) as session:
            statement = select(TrackerLink).where(
                TrackerLink.tracker == self.tracker.name, TrackerLink.theme_key == key
            )
            return session.exec(statement).first()

    def _save(self, link: TrackerLink) -> None:
        """Commit `link` at once (write-ahead needs it durable before the next call); dry-run: no-op."""
        if self.dry_run:
            return
        link.updated_at = self.now
        with Session(self.engine, expire_on_commit=False) as session:
            session.add(link)
            session.commit()
            session.refresh(link)

    def _note_error(self, key: str, message: str, *, failed: bool = False) -> None:
        if self.dry_run:
            return
        link = self._load(key)
        if link is None:
            return
        link.last_error = message
        if failed and not link.issue_key:
            link.state = "failed"
        self._save(link)


def _ref(link: TrackerLink | None) -> IssueRef | None:
    if link is None or not link.issue_key:
        return None
    return IssueRef(link.tracker, link.issue_key, link.url or "")


def _priority(item: PlanItem) -> str | None:
    return item.tracker_priority or item.priority


def _digest(figures: ManagedFigures | None) -> str:
    payload = json.dumps(figures.__dict__ if figures else None, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


__all__ = ["Outcome", "RetryPolicy", "SyncReport", "SyncRules", "ThemeResult", "sync_plan"]
