"""An in-process Jira (Cloud or Data Center) for the endpoints the `jira` client calls in sync.

Shapes follow the REST docs: serverInfo (deploymentType "Cloud" or "Server"), myself, field (with the
Sprint and Rank custom fields), project, priority, issue create / get / edit with `properties` in the
create body, JQL search on `/rest/api/2/search` (Data Center; Cloud answers 410 Gone) and
`/rest/api/2/search/jql` (Cloud; nextPageToken pages, no total), issue entity properties, comments
(startAt pages), transitions from a workflow table, and the Agile API: boards by project, sprints by
state, adding issues to a sprint, ranking (204, or 207 with per-issue errors). Errors come back as
Jira writes them: `{"errorMessages": [...], "errors": {field: message}}`.

Users as each deployment names them: Cloud by accountId only (a `name` in a user field is refused,
as GDPR strict mode does), Data Center by user name only; an unknown user is refused (400).

Tests assert on `FakeJira` state and use `human_*` helpers to act like a person in the web UI (not
API calls, not counted). Fault injection as in the GitHub fake (see `fakes.server`): `fail_write(n,
kind)` makes the n-th write (POST/PUT/DELETE, 1-based) fail, `fail_request(regex, kind)` the matching
requests; a "429" carries Retry-After and Cloud's `RateLimit-Reason`.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .server import FakeServer, Fault

SPRINT_FIELD = "customfield_10020"
RANK_FIELD = "customfield_10019"
TEAM_FIELD = "customfield_10050"
CATEGORIES = {
    "new": {"id": 2, "key": "new", "colorName": "blue-gray", "name": "To Do"},
    "indeterminate": {"id": 4, "key": "indeterminate", "colorName": "yellow", "name": "In Progress"},
    "done": {"id": 3, "key": "done", "colorName": "green", "name": "Done"},
}
STATUSES = {"To Do": ("1", "new"), "In Progress": ("3", "indeterminate"), "Done": ("10001", "done")}
PRIORITIES = ["Highest", "High", "Medium", "Low", "Lowest"]
WORKFLOW = [  # (transition id, name, from statuses or None for any, to status)
    ("11", "Start progress", ("To Do",), "In Progress"),
    ("21", "Done", ("To Do", "In Progress"), "Done"),
    ("31", "Reopen", ("Done",), "To Do"),
]


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


MAX_DESCRIPTION = 32_767
"""Jira refuses a description longer than this (400 on the field), Cloud and Data Center alike."""


@dataclass
class Comment:
    id: int
    body: str
    author: str
    created: datetime


@dataclass
class IssueState:
    id: int
    key: str
    summary: str
    description: str | None
    labels: list[str]
    priority: str
    status: str = "To Do"
    components: list[str] = field(default_factory=list)
    assignee: str | None = None
    resolutiondate: datetime | None = None
    resolution: str | None = None
    """Set by the workflow on entering done ("Done", "Won't Do", "Duplicate"); None where it sets none."""
    status_changed: datetime = field(default_factory=_now)
    """`statuscategorychangedate`: Jira keeps it whatever the workflow does with resolutions."""
    custom: dict[str, Any] = field(default_factory=dict)
    properties: dict[str, Any] = field(default_factory=dict)
    comments: list[Comment] = field(default_factory=list)
    sprints: list[int] = field(default_factory=list)
    """Every sprint the issue has been in, oldest first (Jira keeps closed ones in the field)."""
    rank: float = 0.0
    created: datetime = field(default_factory=_now)
    updated: datetime = field(default_factory=_now)


@dataclass
class SprintState:
    id: int
    name: str
    state: str
    board: int
    start: datetime | None = None
    end: datetime | None = None


class FakeJira(FakeServer):
    """A Jira site with one project; `url` is the server URL to give the `jira` client."""

    def __init__(
        self,
        deployment: str = "Cloud",
        project: str = "FB",
        token: str = "test-token",
        email: str = "bot@acme.example",
        context: str = "",
    ) -> None:
        assert deployment in ("Cloud", "Server")
        self.deployment = deployment
        self.project = project
        self.token = token
        self.email = email
        self.context = context
        self.lock = threading.RLock()
        self.issues: dict[int, IssueState] = {}
        self.sprints: dict[int, SprintState] = {}
        self.boards: dict[int, dict[str, Any]] = {1: {"name": f"{project} board", "type": "scrum"}}
        self.components = {"Payments", "Web", "Billing"}
        self.users = {name: f"5b10ac8d82e05b22cc7d{n:04d}" for n, name in enumerate(["backlog-bot", "alice", "bob"])}
        """User name -> Cloud accountId of the people who may be assigned issues."""
        self.required_on_create: dict[str, str] = {}
        """Field id -> name of custom fields the create screen requires (400 when missing)."""
        self.ranking = True
        """False: the board cannot rank; the rank call answers 207 with per-issue errors."""
        self.workflow = list(WORKFLOW)
        self.comment_page = 2
        self.search_page = 2
        self.auth_headers: list[str] = []
        self.timeout_delay = 1.2
        self._ids = 10000
        self._numbers = 0
        self._comment_ids = 20000
        self._serve()

    # --- lifecycle -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self.origin + self.context

    # --- test controls -------------------------------------------------------------------

    def add_sprint(self, name: str, state: str, start: datetime | None = None, board: int = 1) -> int:
        with self.lock:
            sprint_id = 100 + len(self.sprints) + 1
            self.sprints[sprint_id] = SprintState(sprint_id, name, state, board, start)
            return sprint_id

    def sprint_named(self, name: str) -> SprintState:
        return next(s for s in self.sprints.values() if s.name == name)

    def add_issue(self, summary: str, description: str = "", labels: list[str] | None = None, **extra: Any) -> str:
        """An issue someone else filed (not counted as our write)."""
        with self.lock:
            issue = self._new_issue(summary, description, labels or [], "Medium")
            for key, value in extra.items():
                setattr(issue, key, value)
            return issue.key

    def account_id(self, name: str) -> str:
        """A user's Cloud accountId (people not in `users` get one too: they exist, they are not assignable)."""
        return self.users.get(name) or f"5b10ac8d{sum(map(ord, name)):016d}"

    def user_ref(self, name: str) -> str:
        """How the REST API names this user in this deployment: accountId on Cloud, user name on Data Center."""
        return self.account_id(name) if self.deployment == "Cloud" else name

    def issue(self, key: str) -> IssueState:
        return next(i for i in self.issues.values() if i.key == key)

    def by_label(self, label: str) -> list[IssueState]:
        return [i for i in self.issues.values() if label in i.labels]

    def human_edit(self, key: str, **fields: Any) -> None:
        with self.lock:
            issue = self.issue(key)
            for name, value in fields.items():
                setattr(issue, name, value)
            issue.updated = _now()

    def human_transition(
        self, key: str, status: str, at: datetime | None = None, resolution: str | None = "Done"
    ) -> None:
        """Move the issue as a person would; a done status gets `resolution` (None: a workflow without one)."""
        with self.lock:
            issue = self.issue(key)
            self._set_status(issue, status, at, resolution)

    def human_comment(self, key: str, body: str) -> None:
        with self.lock:
            self.issue(key).comments.append(self._comment(body, "alice"))

    def human_move_to_sprint(self, key: str, name: str) -> None:
        with self.lock:
            self._add_to_sprint(self.issue(key), self.sprint_named(name).id)

    def human_complete_sprint(self, name: str, move_open_to: str | None = None) -> None:
        """Complete a sprint the way Jira does: open issues go to the backlog or to another sprint."""
        with self.lock:
            sprint = self.sprint_named(name)
            sprint.state = "closed"
            for issue in self.issues.values():
                if sprint.id in issue.sprints and category_of(issue.status) != "done" and move_open_to:
                    self._add_to_sprint(issue, self.sprint_named(move_open_to).id)

    def human_delete(self, key: str) -> None:
        with self.lock:
            del self.issues[self.issue(key).id]

    def snapshot(self) -> dict[str, Any]:
        """Everything a user would see, without ids, keys and timestamps: equal snapshots = same Jira state."""
        with self.lock:
            issues = sorted(self.issues.values(), key=lambda i: (i.summary, i.id))
            ranked = sorted(self.issues.values(), key=lambda i: i.rank)
            return {
                "issues": [
                    {
                        "summary": i.summary,
                        "description": i.description,
                        "status": i.status,
                        "labels": sorted(i.labels),
                        "priority": i.priority,
                        "components": sorted(i.components),
                        "sprints": [self.sprints[s].name for s in i.sprints],
                        "properties": i.properties,
                        "custom": i.custom,
                        "comments": [c.body for c in i.comments],
                    }
                    for i in issues
                ],
                "rank": [i.summary for i in ranked],
            }

    # --- JSON shapes ---------------------------------------------------------------------

    def _api(self, path: str) -> str:
        return f"{self.url}/rest/api/2{path}"

    def _agile(self, path: str) -> str:
        return f"{self.url}/rest/agile/1.0{path}"

    def _user(self, name: str) -> dict[str, Any]:
        data: dict[str, Any] = {"displayName": name.title(), "active": True}
        if self.deployment == "Cloud":
            data |= {"accountId": self.account_id(name), "accountType": "atlassian"}
            data["self"] = self._api(f"/user?accountId={data['accountId']}")
        else:
            data |= {"name": name, "key": name, "self": self._api(f"/user?username={name}")}
        return data

    def _status_json(self, name: str) -> dict[str, Any]:
        status_id, category = STATUSES[name]
        return {
            "self": self._api(f"/status/{status_id}"),
            "description": "",
            "iconUrl": f"{self.url}/images/icons/statuses/generic.png",
            "name": name,
            "id": status_id,
            "statusCategory": {
                "self": self._api(f"/statuscategory/{CATEGORIES[category]['id']}"),
                **CATEGORIES[category],
            },
        }

    def _priority_json(self, name: str) -> dict[str, Any]:
        number = PRIORITIES.index(name) + 1
        return {"self": self._api(f"/priority/{number}"), "iconUrl": "", "name": name, "id": str(number)}

    def _sprint_json(self, sprint: SprintState) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": sprint.id,
            "self": self._agile(f"/sprint/{sprint.id}"),
            "state": sprint.state,
            "name": sprint.name,
            "originBoardId": sprint.board,
            "goal": "",
        }
        if sprint.start:
            data["startDate"] = _iso(sprint.start)
        return data

    def _sprint_field(self, issue: IssueState) -> Any:
        if not issue.sprints:
            return None
        if self.deployment == "Cloud":
            return [{**self._sprint_json(self.sprints[s]), "boardId": self.sprints[s].board} for s in issue.sprints]
        # Data Center's REST v2 gives the greenhopper toString form.
        return [
            f"com.atlassian.greenhopper.service.sprint.Sprint@{s:x}[id={s},rapidViewId={self.sprints[s].board},"
            f"state={self.sprints[s].state.upper()},name={self.sprints[s].name},startDate=<null>,endDate=<null>,"
            f"completeDate=<null>,activatedDate=<null>,sequence={s},goal=,autoStartStop=false]"
            for s in issue.sprints
        ]

    def _issue_fields(self, issue: IssueState) -> dict[str, Any]:
        resolved = category_of(issue.status) == "done"
        return {
            "summary": issue.summary,
            "description": issue.description,
            "labels": list(issue.labels),
            "priority": self._priority_json(issue.priority),
            "status": self._status_json(issue.status),
            "resolution": {"name": issue.resolution, "id": "10000"} if resolved and issue.resolution else None,
            "resolutiondate": _iso(issue.resolutiondate) if resolved and issue.resolution else None,
            "statuscategorychangedate": _iso(issue.status_changed),
            "components": [{"name": c, "id": str(10 + sorted(self.components).index(c))} for c in issue.components],
            "assignee": self._user(issue.assignee) if issue.assignee else None,
            "reporter": self._user("backlog-bot"),
            "project": {"key": self.project, "id": "10000", "name": "Feedback"},
            "issuetype": {"name": "Task", "id": "10001", "subtask": False},
            "created": _iso(issue.created),
            "updated": _iso(issue.updated),
            SPRINT_FIELD: self._sprint_field(issue),
            RANK_FIELD: f"0|i{int(issue.rank):05d}:",
            **issue.custom,
        }

    def _issue_json(self, issue: IssueState, fields: list[str] | None, properties: list[str]) -> dict[str, Any]:
        everything = self._issue_fields(issue)
        if fields and not any(f in ("*all", "*navigable") for f in fields):
            everything = {k: v for k, v in everything.items() if k in fields}
        data: dict[str, Any] = {
            "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
            "id": str(issue.id),
            "self": self._api(f"/issue/{issue.id}"),
            "key": issue.key,
            "fields": everything,
        }
        if properties:
            data["properties"] = {p: issue.properties[p] for p in properties if p in issue.properties}
        return data

    def _comment_json(self, issue: IssueState, c: Comment) -> dict[str, Any]:
        return {
            "self": self._api(f"/issue/{issue.id}/comment/{c.id}"),
            "id": str(c.id),
            "author": self._user(c.author),
            "body": c.body,
            "updateAuthor": self._user(c.author),
            "created": _iso(c.created),
            "updated": _iso(c.created),
            "jsdPublic": True,
        }

    def _fields_json(self) -> list[dict[str, Any]]:
        def system(fid: str, name: str, kind: str) -> dict[str, Any]:
            return {
                "id": fid,
                "key": fid,
                "name": name,
                "custom": False,
                "orderable": True,
                "navigable": True,
                "searchable": True,
                "clauseNames": [fid],
                "schema": {"type": kind, "system": fid},
            }

        def custom(fid: str, name: str, kind: str, plugin: str) -> dict[str, Any]:
            number = int(fid.removeprefix("customfield_"))
            return {
                "id": fid,
                "key": fid,
                "name": name,
                "custom": True,
                "orderable": True,
                "navigable": True,
                "searchable": True,
                "clauseNames": [f"cf[{number}]", name],
                "schema": {"type": kind, "custom": plugin, "customId": number},
            }

        return [
            system("summary", "Summary", "string"),
            system("description", "Description", "string"),
            system("labels", "Labels", "array"),
            system("priority", "Priority", "priority"),
            system("status", "Status", "status"),
            system("resolutiondate", "Resolved", "datetime"),
            system("components", "Component/s", "array"),
            system("assignee", "Assignee", "user"),
            system("created", "Created", "datetime"),
            custom(SPRINT_FIELD, "Sprint", "array", "com.pyxis.greenhopper.jira:gh-sprint"),
            custom(RANK_FIELD, "Rank", "any", "com.pyxis.greenhopper.jira:gh-lexo-rank"),
            custom(TEAM_FIELD, "Team", "option", "com.atlassian.jira.plugin.system.customfieldtypes:select"),
        ]

    # --- state changes -------------------------------------------------------------------

    def _new_issue(self, summary: str, description: str | None, labels: list[str], priority: str) -> IssueState:
        self._ids += 1
        self._numbers += 1
        issue = IssueState(self._ids, f"{self.project}-{self._numbers}", summary, description, labels, priority)
        issue.rank = max((i.rank for i in self.issues.values()), default=0.0) + 1  # bottom of the backlog
        self.issues[issue.id] = issue
        return issue

    def _comment(self, body: str, author: str) -> Comment:
        self._comment_ids += 1
        return Comment(self._comment_ids, body, author, _now())

    def _set_status(
        self, issue: IssueState, status: str, at: datetime | None = None, resolution: str | None = "Done"
    ) -> None:
        was_done = category_of(issue.status) == "done"
        issue.status = status
        if category_of(status) == "done" and not was_done:
            issue.resolution = resolution
            issue.resolutiondate = (at or _now()) if resolution else None
            issue.status_changed = at or _now()
        elif category_of(status) != "done":
            issue.resolution, issue.resolutiondate = None, None
            if was_done:
                issue.status_changed = _now()
        issue.updated = _now()

    def _add_to_sprint(self, issue: IssueState, sprint_id: int) -> None:
        # An issue is in at most one open sprint; closed sprints stay in its history.
        issue.sprints = [s for s in issue.sprints if self.sprints[s].state == "closed" and s != sprint_id]
        issue.sprints.append(sprint_id)
        issue.updated = _now()

    def _find(self, id_or_key: str) -> IssueState | None:
        for issue in self.issues.values():
            if id_or_key in (issue.key, str(issue.id)):
                return issue
        return None

    # --- HTTP ----------------------------------------------------------------------------

    def _authorised(self, header: str) -> bool:
        if self.deployment == "Cloud":
            expected = base64.b64encode(f"{self.email}:{self.token}".encode()).decode()
            return header == f"Basic {expected}"
        return header == f"Bearer {self.token}"

    def _dispatch(self, h: BaseHTTPRequestHandler, method: str) -> None:
        split = urlsplit(h.path)
        path, query = split.path, parse_qs(split.query)
        length = int(h.headers.get("Content-Length") or 0)
        payload = json.loads(h.rfile.read(length) or b"null") if length else None
        if self.context and path.startswith(self.context):
            path = path[len(self.context) :]
        auth = h.headers.get("Authorization", "")
        self.auth_headers.append(auth)
        if not self._authorised(auth):
            return self._send(h, 401, {"errorMessages": ["You are not authenticated. Authentication required."]})
        with self.lock:
            fault = self._record(method, path)
            if fault is not None and fault.kind not in self.applied_kinds:
                return self._send(h, *self._refusal(fault))
            status, body, headers = self._route(method, path, query, payload)
        return self._answer(h, fault, status, body, headers)

    def _refusal(self, fault: Fault) -> tuple[int, Any, dict[str, str]]:
        if fault.kind == "429":
            headers = {"Retry-After": str(fault.retry_after), "RateLimit-Reason": "jira-burst-based"}
            return 429, {"errorMessages": ["Rate limit exceeded."]}, headers
        if fault.kind == "502":
            return 502, None, {}  # a proxy's answer: no Jira error body
        status = int(fault.kind.removeprefix("refuse-"))
        message = {
            401: "You are not authenticated. Authentication required to perform this operation.",
            403: "You do not have permission to perform this operation in this project.",
            404: "Issue does not exist or you do not have permission to see it.",
            422: "The request could not be processed.",
        }[status]
        return status, {"errorMessages": [message], "errors": {}}, {}

    def _server_error(self) -> Any:
        return {"errorMessages": ["Internal server error"], "errors": {}}

    def _send(self, h: BaseHTTPRequestHandler, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        raw = b"" if body is None else json.dumps(body).encode()
        h.send_response(status)
        if body is not None:
            h.send_header("Content-Type", "application/json;charset=UTF-8")
        h.send_header("Content-Length", str(len(raw)))
        for key, value in (headers or {}).items():
            h.send_header(key, value)
        h.end_headers()
        h.wfile.write(raw)

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], payload: Any
    ) -> tuple[int, Any, dict[str, str]]:
        routes: list[tuple[str, str, Any]] = [
            ("GET", r"/rest/api/2/serverInfo", self._server_info),
            ("GET", r"/rest/api/2/myself", self._myself),
            ("GET", r"/rest/api/2/field", lambda **kw: (200, self._fields_json(), {})),
            ("GET", r"/rest/api/2/priority", self._priorities),
            ("GET", r"/rest/api/2/project/([^/]+)", self._project),
            ("POST", r"/rest/api/2/issue", self._create_issue),
            ("GET", r"/rest/api/2/issue/([^/]+)", self._get_issue),
            ("PUT", r"/rest/api/2/issue/([^/]+)", self._edit_issue),
            ("GET", r"/rest/api/2/search", self._search_v2),
            ("GET", r"/rest/api/2/search/jql", self._search_jql),
            ("GET", r"/rest/api/2/issue/([^/]+)/properties", self._list_properties),
            ("GET", r"/rest/api/2/issue/([^/]+)/properties/([^/]+)", self._get_property),
            ("PUT", r"/rest/api/2/issue/([^/]+)/properties/([^/]+)", self._put_property),
            ("GET", r"/rest/api/2/issue/([^/]+)/comment", self._list_comments),
            ("POST", r"/rest/api/2/issue/([^/]+)/comment", self._add_comment),
            ("GET", r"/rest/api/2/issue/([^/]+)/transitions", self._list_transitions),
            ("POST", r"/rest/api/2/issue/([^/]+)/transitions", self._do_transition),
            ("GET", r"/rest/agile/1.0/board", self._boards),
            ("GET", r"/rest/agile/1.0/board/(\d+)/sprint", self._board_sprints),
            ("POST", r"/rest/agile/1.0/sprint/(\d+)/issue", self._sprint_add),
            ("PUT", r"/rest/agile/1.0/issue/rank", self._rank),
        ]
        for verb, pattern, handler in routes:
            match = re.fullmatch(pattern, path)
            if verb == method and match:
                result: tuple[int, Any, dict[str, str]] = handler(*match.groups(), query=query, payload=payload)
                return result
        return 404, {"errorMessages": [f"No resource for {method} {path}"], "errors": {}}, {}

    # --- endpoints -------------------------------------------------------------------------

    def _server_info(self, **kw: Any) -> tuple[int, Any, dict[str, str]]:
        cloud = self.deployment == "Cloud"
        return (
            200,
            {
                "baseUrl": self.url,
                "version": "1001.0.0-SNAPSHOT" if cloud else "9.12.4",
                "versionNumbers": [1001, 0, 0] if cloud else [9, 12, 4],
                "deploymentType": self.deployment,
                "buildNumber": 100280 if cloud else 9120004,
                "serverTime": _iso(_now()),
                "scmInfo": "0",
                "serverTitle": "Jira",
            },
            {},
        )

    def _myself(self, **kw: Any) -> tuple[int, Any, dict[str, str]]:
        return 200, self._user("backlog-bot"), {}

    def _priorities(self, **kw: Any) -> tuple[int, Any, dict[str, str]]:
        return 200, [self._priority_json(p) for p in PRIORITIES], {}

    def _project(self, key: str, **kw: Any) -> tuple[int, Any, dict[str, str]]:
        if key not in (self.project, "10000"):
            return 404, {"errorMessages": [f"No project could be found with key '{key}'."], "errors": {}}, {}
        return 200, {"self": self._api("/project/10000"), "id": "10000", "key": self.project, "name": "Feedback"}, {}

    def _validate_fields(self, fields: dict[str, Any], creating: bool) -> dict[str, str]:
        errors: dict[str, str] = {}
        if len(fields.get("description") or "") > MAX_DESCRIPTION:
            errors["description"] = (
                f"The entered text is too long. It exceeds the allowed limit of {MAX_DESCRIPTION:,} characters."
            )
        if creating:
            if (fields.get("project") or {}).get("key") != self.project and (fields.get("project") or {}).get(
                "id"
            ) != "10000":
                errors["project"] = "valid project is required"
            if (fields.get("issuetype") or {}).get("name") not in ("Task", None) or not fields.get("issuetype"):
                errors["issuetype"] = "The issue type selected is invalid."
            if not fields.get("summary"):
                errors["summary"] = "You must specify a summary of the issue."
            for fid, name in self.required_on_create.items():
                if not fields.get(fid):
                    errors[fid] = f"{name} is required."
        if "priority" in fields and (fields["priority"] or {}).get("name") not in PRIORITIES:
            errors["priority"] = f"Priority name '{(fields['priority'] or {}).get('name')}' is not valid"
        for component in fields.get("components") or []:
            if component.get("name") not in self.components:
                errors["components"] = f"Component name '{component.get('name')}' is not valid"
        if any(" " in label for label in fields.get("labels") or []):
            errors["labels"] = "The label can't contain spaces."
        if fields.get("assignee") and self._assignee(fields["assignee"]) is None:
            identifier = "accountId" if self.deployment == "Cloud" else "name"
            errors["assignee"] = f"Specify a valid '{identifier}' for a user who can be assigned issues."
        if len(fields.get("summary") or "") > 255:
            errors["summary"] = "Summary must be less than 255 characters."
        for fid in fields:
            if fid.startswith("customfield_") and fid not in (TEAM_FIELD,):
                errors[fid] = f"Field '{fid}' cannot be set. It is not on the appropriate screen, or unknown."
        return errors

    def _apply_fields(self, issue: IssueState, fields: dict[str, Any]) -> None:
        if "summary" in fields:
            issue.summary = fields["summary"]
        if "description" in fields:
            issue.description = fields["description"]
        if "labels" in fields:
            issue.labels = list(fields["labels"])
        if "priority" in fields:
            issue.priority = fields["priority"]["name"]
        if "components" in fields:
            issue.components = [c["name"] for c in fields["components"]]
        if "assignee" in fields:
            issue.assignee = self._assignee(fields["assignee"])
        for fid, value in fields.items():
            if fid.startswith("customfield_"):
                issue.custom[fid] = value
        issue.updated = _now()

    def _assignee(self, value: Any) -> str | None:
        """The user name an assignee field names, or None when this deployment would refuse it."""
        if not isinstance(value, dict):
            return None
        if self.deployment == "Cloud":  # accountId only: GDPR strict mode refuses `name`
            wanted = value.get("accountId") if "name" not in value else None
            return next((name for name, account in self.users.items() if account == wanted), None)
        wanted = value.get("name") if "accountId" not in value else None
        return wanted if wanted in self.users else None

    def _create_issue(self, payload: Any, **kw: Any) -> tuple[int, Any, dict[str, str]]:
        fields = (payload or {}).get("fields") or {}
        errors = self._validate_fields(fields, creating=True)
        if errors:
            return 400, {"errorMessages": [], "errors": errors}, {}
        issue = self._new_issue(fields["summary"], None, [], "Medium")
        self._apply_fields(issue, fields)
        for prop in (payload or {}).get("properties") or []:
            issue.properties[prop["key"]] = prop["value"]
        return 201, {"id": str(issue.id), "key": issue.key, "self": self._api(f"/issue/{issue.id}")}, {}

    def _get_issue(self, id_or_key: str, query: dict[str, list[str]], **kw: Any) -> tuple[int, Any, dict[str, str]]:
        issue = self._find(id_or_key)
        if issue is None:
            return 404, {"errorMessages": ["Issue does not exist or you do not have permission to see it."]}, {}
        fields = [f for v in query.get("fields", []) for f in v.split(",") if f]
        properties = [p for v in query.get("properties", []) for p in v.split(",") if p]
        return 200, self._issue_json(issue, fields or None, properties), {}

    def _edit_issue(self, id_or_key: str, payload: Any, **kw: Any) -> tuple[int, Any, dict[str, str]]:
        issue = self._find(id_or_key)
        if issue is None:
            return 404, {"errorMessages": ["Issue does not exist or you do not have permission to see it."]}, {}
        fields = (payload or {}).get("fields") or {}
        errors = self._validate_fields(fields, creating=False)
        if errors:
            return 400, {"errorMessages": [], "errors": errors}, {}
        self._apply_fields(issue, fields)
        for name, operations in ((payload or {}).get("update") or {}).items():
            assert name == "labels", f"the fake edits labels only through update, got {name}"
            for op in operations:
                if "add" in op and op["add"] not in issue.labels:
                    issue.labels.append(op["add"])
                if "remove" in op and op["remove"] in issue.labels:
                    issue.labels.remove(op["remove"])
        return 204, None, {}

    # JQL: only what the adapter sends ("a = b" clauses joined by AND, "labels in (...)", ORDER BY).
    _CLAUSE = re.compile(r'^\s*(project|labels|sprint)\s*=\s*"?([^"]+?)"?\s*$')

    def _jql(self, jql: str) -> list[IssueState] | str:
        body, _, order = jql.partition(" ORDER BY ")
        found = list(self.issues.values())
        for clause in body.split(" AND "):
            match = self._CLAUSE.match(clause)
            if match is None:
                return f"Error in the JQL Query: unsupported clause '{clause.strip()}'."
            name, value = match.groups()
            if name == "project":
                found = [i for i in found if value == self.project]
            elif name == "labels":
                found = [i for i in found if value in i.labels]
            else:
                found = [i for i in found if i.sprints and i.sprints[-1] == int(value)]
        sort = order.strip().lower()
        if sort.startswith("rank"):
            found.sort(key=lambda i: i.rank)
        else:
            found.sort(key=lambda i: (i.created, i.id), reverse=sort.endswith("desc"))
        return found

    def _search_args(self, query: dict[str, list[str]]) -> tuple[list[str] | None, list[str]]:
        fields = [f for v in query.get("fields", []) for f in v.split(",") if f]
        properties = [p for v in query.get("properties", []) for p in v.split(",") if p]
        return fields or None, properties

    def _search_v2(self, query: dict[str, list[str]], **kw: Any) -> tuple[int, Any, dict[str, str]]:
        if self.deployment == "Cloud":
            return (
                410,
                {
                    "errorMessages": [
                        "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API."
                    ]
                },
                {},
            )
        found = self._jql(query.get("jql", [""])[0])
        if isinstance(found, str):
            return 400, {"errorMessages": [found], "errors": {}}, {}
        start = int(query.get("startAt", ["0"])[0])
        size = min(int(query.get("maxResults", ["50"])[0]), self.search_page)
        fields, properties = self._search_args(query)
        return (
            200,
            {
                "expand": "schema,names",
                "startAt": start,
                "maxResults": size,
                "total": len(found),
                "issues": [self._issue_json(i, fields, properties) for i in found[start : start + size]],
            },
            {},
        )

    def _search_jql(self, query: dict[str, list[str]], **kw: Any) -> tuple[int, Any, dict[str, str]]:
        if self.deployment != "Cloud":
            return 404, {"errorMessages": ["null for uri: /rest/api/2/search/jql"]}, {}
        found = self._jql(query.get("jql", [""])[0])
        if isinstance(found, str):
            return 400, {"errorMessages": [found], "errors": {}}, {}
        start = int(query.get("nextPageToken", ["0"])[0] or 0)
        size = min(int(query.get("maxResults", ["50"])[0]), self.search_page)
        fields, properties = self._search_args(query)
        fields = fields or ["id"]  # the enhanced search returns issue ids only unless fields are named
        page = found[start : start + size]
        data: dict[str, Any] = {"issues": [self._issue_json(i, fields, properties) for i in page]}
        if start + size < len(found):
            data["nextPageToken"] = str(start + size)  # present only when there is a next page
            data["isLast"] = False
        else:
            data["isLast"] = True
        return 200, data, {}

    def _list_properties(self, key: str, **kw: Any) -> tuple[int, Any, dict[str, str]]:
        issue = self._find(key)
        if issue is None:
            return 404, {"errorMessages": ["Issue does not exist or you do not have permission to see it."]}, {}
        keys = [{"self": self._api(f"/issue/{issue.id}/properties/{p}"), "key": p} for p in issue.properties]
        return 200, {"keys": keys}, {}

    def _get_property(self, key: str, prop: str, **kw: Any) -> tuple[int, Any, dict[str, str]]:
        issue = self._find(key)
        if issue is None or prop not in issue.properties:
            return 404, {"errorMessages": [f"The property with key '{prop}' does not exist."], "errors": {}}, {}
        return 200, {"key": prop, "value": issue.properties[prop]}, {}

    def _put_property(self, key: str, prop: str, payload: Any, **kw: Any) -> tuple[int, Any, dict[str, str]]:
        issue = self._find(key)
        if issue is None:
            return 404, {"errorMessages": ["Issue does not exist or you do not have permission to see it."]}, {}
        existed = prop in issue.properties
        issue.properties[prop] = payload
        return (200 if existed else 201), None, {}

    def _list_comments(self, key: str, query: dict[str, list[str]], **kw: Any) -> tuple[int, Any, dict[str, str]]:
        issue = self._find(key)
        if issue is None:
            return 404, {"errorMessages": ["Issue does not exist or you do not have permission to see it."]}, {}
        start = int(query.get("startAt", ["0"])[0])
        size = min(int(query.get("maxResults", ["5000"])[0]), self.comment_page)
        page = issue.comments[start : start + size]
        return (
            200,
            {
                "startAt": start,
                "maxResults": size,
                "total": len(issue.comments),
                "comments": [self._comment_json(issue, c) for c in page],
            },
            {},
        )

    def _add_comment(self, key: str, payload: Any, **kw: Any) -> tuple[int, Any, dict[str, str]]:
        issue = self._find(key)
        if issue is None:
            return 404, {"errorMessages": ["Issue does not exist or you do not have permission to see it."]}, {}
        if not (payload or {}).get("body"):
            return 400, {"errorMessages": [], "errors": {"comment": "Comment body can not be empty!"}}, {}
        comment = self._comment(payload["body"], "backlog-bot")
        issue.comments.append(comment)
        issue.updated = _now()
        return 201, self._comment_json(issue, comment), {}

    def _offered(self, issue: IssueState) -> list[tuple[str, str, str]]:
        return [(tid, name, to) for tid, name, sources, to in self.workflow if issue.status in sources]

    def _list_transitions(self, key: str, **kw: Any) -> tuple[int, Any, dict[str, str]]:
        issue = self._find(key)
        if issue is None:
            return 404, {"errorMessages": ["Issue does not exist or you do not have permission to see it."]}, {}
        transitions = [
            {
                "id": tid,
                "name": name,
                "to": self._status_json(to),
                "hasScreen": False,
                "isGlobal": False,
                "isInitial": False,
                "isAvailable": True,
                "isConditional": False,
                "fields": {},
            }
            for tid, name, to in self._offered(issue)
        ]
        return 200, {"expand": "transitions", "transitions": transitions}, {}

    def _do_transition(self, key: str, payload: Any, **kw: Any) -> tuple[int, Any, dict[str, str]]:
        issue = self._find(key)
        if issue is None:
            return 404, {"errorMessages": ["Issue does not exist or you do not have permission to see it."]}, {}
        wanted = str(((payload or {}).get("transition") or {}).get("id"))
        for tid, _name, to in self._offered(issue):
            if tid == wanted:
                self._set_status(issue, to)
                return 204, None, {}
        return 400, {"errorMessages": [f"Transition id '{wanted}' is not valid for this issue."], "errors": {}}, {}

    def _boards(self, query: dict[str, list[str]], **kw: Any) -> tuple[int, Any, dict[str, str]]:
        project = query.get("projectKeyOrId", [None])[0]
        kind = query.get("type", [None])[0]
        values = [
            {
                "id": board_id,
                "self": self._agile(f"/board/{board_id}"),
                "name": board["name"],
                "type": board["type"],
                "location": {"projectId": 10000, "projectKey": self.project, "projectName": "Feedback"},
            }
            for board_id, board in self.boards.items()
            if project in (None, self.project, "10000") and kind in (None, board["type"])
        ]
        return 200, {"maxResults": 50, "startAt": 0, "total": len(values), "isLast": True, "values": values}, {}

    def _board_sprints(self, board: str, query: dict[str, list[str]], **kw: Any) -> tuple[int, Any, dict[str, str]]:
        if int(board) not in self.boards:
            return 404, {"errorMessages": ["The requested board cannot be viewed because it either does not exist"]}, {}
        if self.boards[int(board)]["type"] != "scrum":
            return 400, {"errorMessages": ["The board does not support sprints"]}, {}
        states = query.get("state", ["active,future,closed"])[0].split(",")
        found = [s for s in self.sprints.values() if s.board == int(board) and s.state in states]
        start = int(query.get("startAt", ["0"])[0])
        size = min(int(query.get("maxResults", ["50"])[0]), 2)  # small pages: the client must follow them
        page = found[start : start + size]
        return (
            200,
            {
                "maxResults": size,
                "startAt": start,
                "isLast": start + size >= len(found),
                "values": [self._sprint_json(s) for s in page],
            },
            {},
        )

    def _sprint_add(self, sprint: str, payload: Any, **kw: Any) -> tuple[int, Any, dict[str, str]]:
        target = self.sprints.get(int(sprint))
        if target is None:
            return 404, {"errorMessages": [f"Sprint with id {sprint} does not exist."], "errors": {}}, {}
        if target.state == "closed":
            return 400, {"errorMessages": ["Cannot add issues to a completed sprint."], "errors": {}}, {}
        keys = (payload or {}).get("issues") or []
        if len(keys) > 50:
            return 400, {"errorMessages": ["No more than 50 issues can be moved at once."], "errors": {}}, {}
        for key in keys:
            issue = self._find(key)
            if issue is None:
                return 400, {"errorMessages": [f"Issue {key} does not exist."], "errors": {}}, {}
            self._add_to_sprint(issue, target.id)
        return 204, None, {}

    def _rank(self, payload: Any, **kw: Any) -> tuple[int, Any, dict[str, str]]:
        keys = (payload or {}).get("issues") or []
        before, after = payload.get("rankBeforeIssue"), payload.get("rankAfterIssue")
        anchor = self._find(before or after or "")
        if not self.ranking or anchor is None:
            reason = "Ranking is not enabled for this board." if not self.ranking else "Anchor issue does not exist."
            entries = [
                {
                    "issueId": (self._find(k).id if self._find(k) else 0),
                    "issueKey": k,
                    "status": 400,
                    "errors": [reason],
                }
                for k in keys
            ]
            return 207, {"entries": entries}, {}
        ordered = sorted(self.issues.values(), key=lambda i: i.rank)
        moving = [self._find(k) for k in keys]
        rest = [i for i in ordered if i not in moving]
        at = rest.index(anchor) + (0 if before else 1)
        for position, issue in enumerate([*rest[:at], *moving, *rest[at:]]):
            assert issue is not None
            issue.rank = float(position + 1)
        return 204, None, {}


def category_of(status: str) -> str:
    return STATUSES[status][1]
