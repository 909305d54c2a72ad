"""Jira Cloud and Jira Data Center through the `jira` client: the `Tracker` contract for one project.

Calls made (see /work/shared/TRACKERS.md), all through `jira.JIRA` with `max_retries=0` so the
library never resends a create (the engine owns retries and looks for the stamp first):

* connect: `GET serverInfo` (Cloud or Data Center decides the search endpoint), `GET field` once
  (the Sprint field's id, and names in the `[jira.fields]` mapping);
* find: JQL `project = KEY AND labels = "<stamp label>"` on `/rest/api/2/search/jql` (Cloud; the old
  `/search` answers 410 there) or `/rest/api/2/search` (Data Center), with our issue entity property
  in the same answer. Entity properties are not JQL-searchable, so the label finds and the property
  (or, when a human deleted it, the marker in the description) confirms. On Cloud, issues this process
  created are passed as `reconcileIssues` so an index lag cannot hide them;
* create: one `POST issue` carrying summary, wiki-markup description, labels (stamp + routing),
  priority, component, assignee, the `[jira.fields]` values and the entity property; then the sprint
  placement (`POST /rest/agile/1.0/sprint/{id}/issue`) and, when the board ranks, one rank call;
* update: one `PUT issue` with only the changed fields, then sprint placement or a reopen transition;
* status: status category `done` = closed, `resolutiondate` = when.

A write that fails after the issue exists (its sprint placement, say) is reported as "maybe applied",
so the engine finds the issue instead of filing it again.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

import requests
from jira import JIRA, JIRAError
from jira.resources import Issue
from pydantic import SecretStr

from backlog_bridge.errors import TrackerError
from backlog_bridge.settings import JiraSettings
from backlog_bridge.sync.jira_markup import JiraWikiMarkup
from backlog_bridge.sync.tracker import (
    Closure,
    IssueChange,
    IssueDraft,
    IssueRef,
    Markup,
    RemoteIssue,
    Tracker,
    TrackerRejectedError,
    TrackerUnavailableError,
    connection_lost,
    error_for_status,
    parse_retry_after,
    rate_limited,
)

log = logging.getLogger(__name__)

PROPERTY_KEY = "backlog_bridge"
"""Issue entity property holding {"theme_key": ...}: invisible to people, proof the issue is ours."""
SPRINT_SCHEMA = "com.pyxis.greenhopper.jira:gh-sprint"
RANK_SCHEMA = "com.pyxis.greenhopper.jira:gh-lexo-rank"
_SERVER_SPRINT = re.compile(r"\[(.*)\]$")
_READ_FIELDS = [
    "summary", "description", "labels", "priority", "status", "resolution", "resolutiondate",
    "statuscategorychangedate", "components",
]  # fmt: skip
# Resolutions that close without a fix (Jira's defaults and common additions), compared case-folded.
_DECLINED = frozenset({"won't do", "won't fix", "declined", "cannot reproduce", "incomplete", "obsolete", "rejected"})


@dataclass(frozen=True)
class Sprint:
    """An open sprint of the board."""

    id: int
    name: str
    state: str
    start: str
    """ISO start date as Jira gives it ("" when not planned)."""


class JiraTracker:
    """`Tracker` for one Jira project. See `sync.tracker.Tracker` for the contract.

    Example:
        >>> settings = JiraSettings(url="https://acme.atlassian.net", project="FB")
        >>> tracker = JiraTracker.from_settings(settings, settings.token())  # doctest: +SKIP
    """

    name = "jira"

    def __init__(
        self,
        url: str,
        project: str,
        token: SecretStr,
        *,
        email: str | None = None,
        issue_type: str = "Task",
        deployment: Literal["auto", "cloud", "datacenter"] = "auto",
        label_namespace: str = "nps-",
        board: int | None = None,
        sprint: Literal["next", "active", "none"] = "next",
        rank_by_priority: bool = True,
        reopen_transition: str = "",
        fields: Mapping[str, Any] | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.project = project
        self.markup: Markup = JiraWikiMarkup()
        self.url = url.rstrip("/")
        self.namespace = label_namespace
        self.issue_type = issue_type
        self.deployment = deployment
        self.board = board
        self.sprint_mode = sprint
        self.rank_by_priority = rank_by_priority
        self.reopen_transition = reopen_transition
        self.extra_fields = dict(fields or {})
        self._token = token
        self._email = email
        self._timeout = (min(5.0, timeout), timeout)
        self._client: JIRA | None = None
        self._field_ids: dict[str, str] | None = None
        self._sprint_field: str | None = None
        self._rank_field: int | None = None
        self._board_id: int | None = None
        self._sprints: dict[str, Sprint] = {}
        self._priorities: list[str] | None = None
        self._issues: dict[str, Issue] = {}
        self._created: dict[str, tuple[str, str]] = {}
        """theme key -> (issue id, key) of issues this process created (found even while search lags)."""

    @classmethod
    def from_settings(cls, settings: JiraSettings, token: SecretStr) -> JiraTracker:
        """The tracker as configured in `[jira]` (the email read from the environment)."""
        return cls(
            settings.url,
            settings.project,
            token,
            email=settings.email(),
            issue_type=settings.issue_type,
            deployment=settings.deployment,
            label_namespace=settings.label_namespace,
            board=settings.board,
            sprint=settings.sprint,
            rank_by_priority=settings.rank_by_priority,
            reopen_transition=settings.reopen_transition,
            fields=settings.fields,
            timeout=settings.timeout,
        )

    def __repr__(self) -> str:
        return f"JiraTracker(url={self.url!r}, project={self.project!r})"  # never the token

    # --- connection ---------------------------------------------------------------------------

    @property
    def client(self) -> JIRA:
        """The `jira` client, connected on first use (serverInfo), so errors land on a theme, not at start."""
        if self._client is None:
            secret = self._token.get_secret_value()
            auth: dict[str, Any] = {"basic_auth": (self._email, secret)} if self._email else {"token_auth": secret}
            with _errors(f"connect to Jira at {self.url}"):
                self._client = JIRA(
                    server=self.url,
                    options={"check_update": False},
                    max_retries=0,  # one retry layer: the engine's (the client would resend a create)
                    timeout=self._timeout,
                    **auth,
                )
        return self._client

    @property
    def is_cloud(self) -> bool:
        """Cloud (enhanced search, accountId users) or Data Center."""
        if self.deployment != "auto":
            return self.deployment == "cloud"
        return bool(self.client.deploymentType == "Cloud")

    def _fields(self) -> dict[str, str]:
        """Field name and id -> id, read once; finds the Sprint and Rank fields by their schema."""
        if self._field_ids is None:
            with _errors("list Jira fields"):
                listed = self.client.fields()
            ids: dict[str, str] = {}
            for field in listed:
                ids[field["id"]] = field["id"]
                ids.setdefault(field["name"], field["id"])
                custom = (field.get("schema") or {}).get("custom")
                if custom == SPRINT_SCHEMA and self._sprint_field is None:
                    self._sprint_field = field["id"]
                if custom == RANK_SCHEMA and self._rank_field is None:
                    self._rank_field = int(field["schema"]["customId"])
            self._field_ids = ids
        return self._field_ids

    # --- stamps -------------------------------------------------------------------------------

    def stamp_label(self, theme_key: str) -> str:
        """The label that stamps a theme's issue, e.g. `nps-theme-3f9a0c1d2e`."""
        return f"{self.namespace}theme-{theme_key.removeprefix('theme-')}"

    # --- the contract ---------------------------------------------------------------------------

    def find(self, theme_key: str) -> RemoteIssue | None:
        """Oldest issue with the stamp label whose property (or marker) names this theme."""
        label = self.stamp_label(theme_key)
        jql = f'project = "{self.project}" AND labels = "{label}" ORDER BY created ASC'
        fields = self._read_fields()
        with _errors(f"search {self.project} for label {label}"):
            found = self._search(jql, fields, properties=PROPERTY_KEY)
        issues = list(found)
        known = self._created.get(theme_key)
        if known is not None and all(i.key != known[1] for i in issues):  # created here, not indexed yet
            with _errors(f"read {known[1]}"):
                issues.append(self.client.issue(known[1], fields=",".join(fields), properties=PROPERTY_KEY))
        fallback: Issue | None = None
        for issue in issues:
            stamped = _property(issue)
            marker = self.markup.theme_key(issue.raw["fields"].get("description") or "")
            if stamped == theme_key or (stamped is None and marker == theme_key):
                return self._remote(issue)
            if stamped is None and marker is None and fallback is None:
                fallback = issue
        return self._remote(fallback) if fallback is not None else None

    def get(self, ref: IssueRef) -> RemoteIssue:
        """The issue now (one GET, fields we read only)."""
        fields = self._read_fields()
        with _errors(f"read {ref.key}"):
            issue = self.client.issue(ref.key, fields=",".join(fields), properties=PROPERTY_KEY)
        return self._remote(issue)

    def create(self, draft: IssueDraft) -> IssueRef:
        """One POST with every field and the stamp property; then sprint placement and rank."""
        payload: dict[str, Any] = {
            "project": {"key": self.project},
            "issuetype": {"name": self.issue_type},
            "summary": draft.title,
            "description": draft.body,
            "labels": [self.stamp_label(draft.theme_key), *(x for x in draft.labels if x)],
        }
        if draft.priority:
            payload["priority"] = {"name": draft.priority}
        if draft.component:
            payload["components"] = [{"name": draft.component}]
        if draft.assignee:
            payload["assignee"] = {"accountId": draft.assignee} if self.is_cloud else {"name": draft.assignee}
        payload.update(self._extra_fields())
        body = {"fields": payload, "properties": [{"key": PROPERTY_KEY, "value": {"theme_key": draft.theme_key}}]}
        what = f"create issue in {self.project}"
        with _errors(what):
            # The client's create_issue() takes fields only; the entity property must ride on the same
            # POST (one atomic create), so post the documented create body through the client's session.
            response = self.client._session.post(self.client._get_url("issue"), data=json.dumps(body))
            created = response.json()
        issue_id, key = str(created["id"]), str(created["key"])
        self._created[draft.theme_key] = (issue_id, key)
        ref = IssueRef(self.name, key, self._browse(key))
        log.info("jira.issue-created", extra={"issue": key, "theme_key": draft.theme_key})
        if draft.sprint:
            try:
                self._place(key, draft.sprint, draft.priority)
            except TrackerUnavailableError as error:
                # The issue exists: never let the engine read this as "nothing happened" and file again.
                raise TrackerUnavailableError(
                    f"{key} created, sprint placement failed: {error}",
                    status=error.status,
                    retry_after=error.retry_after,
                    maybe_applied=True,
                ) from None
        return ref

    def update(self, issue: RemoteIssue, change: IssueChange) -> None:
        """A reopen transition if asked, one PUT with the changed fields, then sprint placement."""
        key = issue.ref.key
        fields: dict[str, Any] = {}
        if change.title is not None:
            fields["summary"] = change.title
        if change.body is not None:
            fields["description"] = change.body
        if change.priority is not None:
            fields["priority"] = {"name": change.priority}
        if change.reopen:  # first: a workflow may forbid edits in its done statuses
            self._reopen(key)
        if fields:
            with _errors(f"update {key}"):
                self._issue(key).update(fields=fields)
        if change.sprint is not None:
            self._place(key, change.sprint, change.priority or issue.priority)

    def comment(self, ref: IssueRef, text: str) -> None:
        """POST one comment."""
        with _errors(f"comment on {ref.key}"):
            self.client.add_comment(ref.key, text)

    def comments(self, ref: IssueRef) -> list[str]:
        """All comment bodies, oldest first (paged until an empty page: servers may cap the page size)."""
        bodies: list[str] = []
        with _errors(f"list comments of {ref.key}"):
            while True:
                page = self.client.comments(ref.key, start_at=len(bodies), max_results=100)
                if not page:
                    return bodies
                bodies += [str(getattr(c, "body", "") or "") for c in page]

    def upcoming_sprint(self, today: date) -> str | None:
        """The board's active sprint, or its earliest future sprint, per the `sprint` setting."""
        if self.sprint_mode == "none":
            return None
        board = self._board()
        if board is None:
            return None
        with _errors(f"list sprints of board {board}"):
            listed = self.client.sprints(board, state="active,future", maxResults=0)
        sprints = [Sprint(int(s.id), str(s.name), str(s.state), str(getattr(s, "startDate", "") or "")) for s in listed]
        self._sprints = {s.name: s for s in sprints}
        wanted = [s for s in sprints if s.state == ("active" if self.sprint_mode == "active" else "future")]
        if not wanted:
            return None
        return min(wanted, key=lambda s: (s.start == "", s.start, s.id)).name

    # --- sprints and rank -------------------------------------------------------------------------

    def _board(self) -> int | None:
        if self.board is not None:
            return self.board
        if self._board_id is None:
            with _errors(f"list boards of {self.project}"):
                boards = list(self.client.boards(projectKeyOrID=self.project, type="scrum"))
            if not boards:
                log.warning("jira.no-scrum-board", extra={"project": self.project})
                return None
            self._board_id = int(boards[0].id)
        return self._board_id

    def _place(self, key: str, sprint: str, priority: str | None) -> None:
        """Rank the issue by priority, then add it to the named open sprint (Agile API).

        Rank first: it is global (backlog order), so an interrupted placement leaves the issue outside
        the sprint, which the engine sees and repeats; both steps are no-ops when already done.
        """
        target = self._sprints.get(sprint)
        if target is None:
            log.warning("jira.sprint-unknown", extra={"issue": key, "sprint": sprint})
            return
        if self.rank_by_priority and priority:
            try:
                self._rank(key, target, priority)
            except TrackerRejectedError as error:  # e.g. no Schedule issues permission: placing matters more
                log.warning("jira.rank-refused", extra={"issue": key, "error": str(error)})
        try:
            with _errors(f"add {key} to sprint {sprint}"):
                self.client.add_issues_to_sprint(target.id, [key])
        except TrackerRejectedError as error:
            # Closed or deleted since we listed it: leave the issue in the backlog rather than fail the theme.
            log.warning("jira.sprint-refused", extra={"issue": key, "sprint": sprint, "error": str(error)})

    def _rank(self, key: str, sprint: Sprint, priority: str) -> None:
        """Rank `key` above the first of our sprint issues with a lower priority; human issues keep their order."""
        order = self._priority_order()
        self._fields()
        if priority not in order or self._rank_field is None:
            return  # a priority name Jira does not list, or no Rank field (no Jira Software)
        rank_field = f"customfield_{self._rank_field}"
        stamp = f"{self.namespace}theme-"
        with _errors(f"list issues of sprint {sprint.name}"):
            listed = self._search(f"sprint = {sprint.id} ORDER BY Rank ASC", ["labels", "priority", rank_field])
        anchor = None
        for other in listed:
            fields = other.raw.get("fields") or {}
            if other.key == key or not any(str(x).startswith(stamp) for x in fields.get("labels") or []):
                continue
            other_priority = (fields.get("priority") or {}).get("name")
            if other_priority in order and order.index(other_priority) > order.index(priority):
                anchor = other
                break
        if anchor is None:
            return
        with _errors(f"read rank of {key}"):
            mine = self.client.issue(key, fields=rank_field).raw["fields"].get(rank_field)
        theirs = (anchor.raw.get("fields") or {}).get(rank_field)
        if isinstance(mine, str) and isinstance(theirs, str) and mine < theirs:
            return  # already above it (LexoRank strings sort in rank order)
        with _errors(f"rank {key}"):
            response = self.client.rank(key, next_issue=anchor.key)
        if response.status_code == 207:  # per-issue failures, and the client does not raise
            entries = (response.json() or {}).get("entries", [])
            errors = [e for entry in entries for e in entry.get("errors", [])]
            log.warning("jira.rank-refused", extra={"issue": key, "errors": errors})

    def _priority_order(self) -> list[str]:
        if self._priorities is None:
            with _errors("list priorities"):
                self._priorities = [str(p.name) for p in self.client.priorities()]
        return self._priorities

    # --- status ----------------------------------------------------------------------------------

    def _reopen(self, key: str) -> None:
        """Move a done issue to a status that is not done, by a transition the workflow offers now."""
        with _errors(f"read status of {key}"):
            now = self.client.issue(key, fields="status")
        if _category(now.raw["fields"].get("status")) != "done":
            return  # already reopened (by a person, or by our own try whose answer was lost)
        with _errors(f"list transitions of {key}"):
            offered = self.client.transitions(key, expand="transitions.fields")
        candidates = [t for t in offered if _category(t.get("to")) != "done"]
        if self.reopen_transition:
            candidates = [t for t in candidates if str(t.get("name", "")).lower() == self.reopen_transition.lower()]
        if not candidates:
            names = ", ".join(str(t.get("name")) for t in offered) or "none"
            raise TrackerRejectedError(
                f"reopen {key}: the workflow offers no transition out of done"
                f"{' named ' + repr(self.reopen_transition) if self.reopen_transition else ''} (offered: {names})",
                status=400,
            )
        with _errors(f"transition {key}"):
            self.client.transition_issue(key, str(candidates[0]["id"]))

    # --- reading ---------------------------------------------------------------------------------

    def _search(self, jql: str, fields: list[str], *, properties: str | None = None) -> list[Issue]:
        """Every issue matching `jql`: enhanced search on Cloud (the old endpoint is gone), /search on Data Center."""
        if self.is_cloud:
            # Issues created by this process are reconciled: found even before the search index has them.
            reconcile = [int(issue_id) for issue_id, _ in self._created.values()][:50]
            found = self.client.enhanced_search_issues(
                jql, maxResults=0, fields=list(fields), properties=properties, reconcileIssues=reconcile
            )
        else:
            found = self.client.search_issues(jql, maxResults=0, fields=list(fields), properties=properties)
        return list(found)

    def _read_fields(self) -> list[str]:
        self._fields()
        return [*_READ_FIELDS, *([self._sprint_field] if self._sprint_field else [])]

    def _extra_fields(self) -> dict[str, Any]:
        if not self.extra_fields:
            return {}
        ids = self._fields()
        resolved: dict[str, Any] = {}
        for name, value in self.extra_fields.items():
            if name not in ids:
                raise TrackerRejectedError(
                    f"create issue in {self.project}: [jira.fields] names {name!r}, which is no field id or name "
                    "on this Jira",
                    status=400,
                )
            resolved[ids[name]] = value
        return resolved

    def _issue(self, key: str) -> Issue:
        issue = self._issues.get(key)
        if issue is None:
            with _errors(f"read {key}"):
                issue = self.client.issue(key, fields="summary")
        return issue

    def _remote(self, issue: Issue) -> RemoteIssue:
        self._issues[issue.key] = issue
        fields = issue.raw.get("fields") or {}
        body = fields.get("description") or ""
        done = _category(fields.get("status")) == "done"
        return RemoteIssue(
            ref=IssueRef(self.name, issue.key, self._browse(issue.key)),
            theme_key=_property(issue) or self.markup.theme_key(body),
            title=fields.get("summary") or "",
            body=body,
            state="closed" if done else "open",
            closed_at=_closed_at(fields) if done else None,
            priority=(fields.get("priority") or {}).get("name"),
            sprint=_current_sprint(fields.get(self._sprint_field) if self._sprint_field else None),
            labels=tuple(fields.get("labels") or ()),
            closure=_closure(fields.get("resolution")) if done else None,
        )

    def _browse(self, key: str) -> str:
        return f"{self.url}/browse/{key}"


# --- helpers ------------------------------------------------------------------------------------


def _property(issue: Issue) -> str | None:
    value = (issue.raw.get("properties") or {}).get(PROPERTY_KEY)
    if isinstance(value, dict) and isinstance(value.get("theme_key"), str):
        return str(value["theme_key"])
    return None


def _category(status: Any) -> str | None:
    if not isinstance(status, dict):
        return None
    category = status.get("statusCategory") or {}
    return str(category.get("key")) if category.get("key") else None


def _parse_time(value: Any) -> datetime | None:
    """Jira's `2026-03-10T12:00:00.000+0000` (Cloud and Data Center)."""
    if not value:
        return None
    for pattern in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.strptime(str(value), pattern).astimezone(UTC)
        except ValueError:
            continue
    return None


def _current_sprint(value: Any) -> str | None:
    """The issue's open sprint, else the last closed one (a human decided where it went from there).

    Cloud gives sprint objects; Data Center gives `com.atlassian.greenhopper...Sprint@x[id=1,state=ACTIVE,...]`.
    """
    sprints: list[dict[str, str]] = []
    for entry in value or []:
        if isinstance(entry, dict):
            sprints.append({"name": str(entry.get("name", "")), "state": str(entry.get("state", "")).lower()})
        elif isinstance(entry, str) and (match := _SERVER_SPRINT.search(entry)):
            parts = dict(p.split("=", 1) for p in match.group(1).split(",") if "=" in p)
            sprints.append({"name": parts.get("name", ""), "state": parts.get("state", "").lower()})
    open_ = [s for s in sprints if s["state"] in ("active", "future")]
    chosen = open_[-1] if open_ else (sprints[-1] if sprints else None)
    return chosen["name"] if chosen else None


def _detail(error: JIRAError) -> str:
    """The server's own message only: `str(JIRAError)` includes request headers (the token)."""
    text = error.text or ""
    return text if isinstance(text, str) else str(text)


def _retry_after(error: JIRAError) -> float | None:
    response = error.response
    return parse_retry_after(response.headers.get("Retry-After")) if response is not None else None


@contextmanager
def _errors(what: str) -> Iterator[None]:
    """Translate `jira` and `requests` exceptions into the contract's errors (nothing else escapes)."""
    try:
        yield
    except TrackerError:
        raise
    except JIRAError as error:
        status = error.status_code
        if status is None:
            raise TrackerRejectedError(f"{what}: {_detail(error)}") from None
        if status == 429:
            raise rate_limited(what, _detail(error), retry_after=_retry_after(error), status=429) from None
        raise error_for_status(status, what, _detail(error), retry_after=_retry_after(error)) from None
    except requests.HTTPError as error:
        response = error.response
        status = response.status_code if response is not None else 500
        retry_after = parse_retry_after(response.headers.get("Retry-After")) if response is not None else None
        raise error_for_status(status, what, retry_after=retry_after) from None
    except requests.RequestException as error:
        raise connection_lost(what, error) from None
    except (ValueError, KeyError) as error:  # an answer that is not the JSON Jira documents
        raise TrackerUnavailableError(f"{what}: unexpected answer ({type(error).__name__})") from None


def _conforms(tracker: JiraTracker) -> Tracker:
    """Static check (mypy) that the adapter satisfies the contract."""
    return tracker


def _closed_at(fields: dict[str, Any]) -> datetime | None:
    """When the issue was done.

    `resolutiondate`, which many Cloud workflows never set, else the moment its status category last
    changed (`statuscategorychangedate`).
    """
    return _parse_time(fields.get("resolutiondate")) or _parse_time(fields.get("statuscategorychangedate"))


def _closure(resolution: Any) -> Closure:
    """Done with resolution Duplicate is a duplicate; Won't Do and the like are declined; the rest fixed."""
    name = str((resolution or {}).get("name") or "").casefold().replace("\u2019", "'")
    if name == "duplicate":
        return "duplicate"
    return "declined" if name in _DECLINED else "fixed"
