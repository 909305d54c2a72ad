"""An in-process GitHub REST server for the endpoints PyGithub calls in sync, with state in memory.

Shapes follow the REST docs (issues, labels, comments, milestones; pagination by `page`/`per_page`
with RFC 8288 `Link` headers; 422 `already_exists` on a duplicate label; 401 `Bad credentials`;
secondary rate limits as 403/429 with Retry-After). Tests assert on `FakeGitHub` state, and use
`human_*` helpers to act like a person in the web UI (those are not API calls and are not counted).

Fault injection (see `fakes.server`): `fail_write(n, kind)` makes the n-th write call (POST/PATCH/
PUT/DELETE, 1-based, counted from server start) fail, `fail_request(regex, kind)` the matching ones.
Besides the common kinds, "403" is GitHub's secondary rate limit (403 with Retry-After) and "quota"
its primary one (403, `X-RateLimit-Remaining: 0`, reset `retry_after` seconds after the answer's Date).
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from .server import FakeServer, Fault

SECONDARY_LIMIT = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID 0000:0000."
)
DOCS = "https://docs.github.com/rest"
MAX_BODY = 65_536
"""GitHub refuses an issue body longer than this (422, "body is too long")."""


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@dataclass
class Comment:
    id: int
    body: str
    user: str
    created_at: datetime


@dataclass
class IssueState:
    number: int
    title: str
    body: str | None
    labels: list[str]
    assignees: list[str]
    milestone: int | None
    state: str = "open"
    state_reason: str | None = None
    user: str = "backlog-bot"
    created_at: datetime = field(default_factory=_now)
    updated_at: datetime = field(default_factory=_now)
    closed_at: datetime | None = None
    comments: list[Comment] = field(default_factory=list)
    pull_request: bool = False


@dataclass
class MilestoneState:
    number: int
    title: str
    due_on: datetime | None
    state: str = "open"


class FakeGitHub(FakeServer):
    """A GitHub for one repository; `url` is the API root to give PyGithub as base_url."""

    fault_kinds = (*FakeServer.fault_kinds, "403", "quota")

    def __init__(self, repo: str = "acme/app", token: str = "test-token", prefix: str = "") -> None:
        self.repo = repo
        self.token = token
        self.prefix = prefix
        self.lock = threading.RLock()
        self.issues: dict[int, IssueState] = {}
        self.labels: dict[str, dict[str, Any]] = {}
        self.milestones: dict[int, MilestoneState] = {}
        self.collaborators = {"owner", "backlog-bot", "alice", "bob"}
        self.timeout_delay = 1.1  # PyGithub's shortest timeout is 1 s (an int)
        self._ids = 1000
        self._numbers = 0
        self._serve()

    # --- lifecycle -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self.origin + self.prefix

    # --- test controls -------------------------------------------------------------------

    def add_milestone(self, title: str, due_on: datetime | None, state: str = "open") -> int:
        with self.lock:
            number = len(self.milestones) + 1
            self.milestones[number] = MilestoneState(number, title, due_on, state)
            return number

    def add_issue(self, title: str, body: str = "", labels: list[str] | None = None, user: str = "someone") -> int:
        """An issue someone else filed (not counted as our write)."""
        with self.lock:
            for name in labels or []:
                self._ensure_label(name)
            return self._new_issue(title, body, labels or [], [], None, user)

    def human_edit(self, number: int, **fields: Any) -> None:
        with self.lock:
            issue = self.issues[number]
            for name in fields.get("labels", []):
                self._ensure_label(name)
            for key, value in fields.items():
                setattr(issue, key, value)
            issue.updated_at = _now()

    def human_close(self, number: int, at: datetime, reason: str = "completed") -> None:
        self.human_edit(number, state="closed", state_reason=reason, closed_at=at)

    def human_delete(self, number: int) -> None:
        with self.lock:
            del self.issues[number]

    def human_comment(self, number: int, body: str) -> None:
        with self.lock:
            self.issues[number].comments.append(Comment(self._next_id(), body, "someone", _now()))

    def snapshot(self) -> dict[str, Any]:
        """Everything a user would see, without ids and timestamps: equal snapshots = same tracker state."""
        with self.lock:
            issues = sorted(self.issues.values(), key=lambda i: (i.title, i.number))
            return {
                "issues": [
                    {
                        "title": i.title,
                        "body": i.body,
                        "state": i.state,
                        "labels": sorted(i.labels),
                        "assignees": sorted(i.assignees),
                        "milestone": self.milestones[i.milestone].title if i.milestone else None,
                        "comments": [c.body for c in i.comments],
                    }
                    for i in issues
                ],
                "labels": sorted(self.labels),
            }

    # --- JSON shapes ---------------------------------------------------------------------

    def _api(self, path: str) -> str:
        return f"{self.url}/repos/{self.repo}{path}"

    def _user(self, login: str) -> dict[str, Any]:
        return {
            "login": login,
            "id": abs(hash(login)) % 10**6,
            "node_id": f"U_{login}",
            "type": "User",
            "url": f"{self.url}/users/{login}",
            "html_url": f"{self.origin}/{login}",
            "site_admin": False,
        }

    def _label_json(self, name: str) -> dict[str, Any]:
        label = self.labels[name.lower()]
        return {**label, "url": self._api(f"/labels/{label['name']}")}

    def _milestone_json(self, number: int) -> dict[str, Any]:
        m = self.milestones[number]
        issues = [i for i in self.issues.values() if i.milestone == number]
        return {
            "url": self._api(f"/milestones/{number}"),
            "html_url": f"{self.origin}/{self.repo}/milestone/{number}",
            "labels_url": self._api(f"/milestones/{number}/labels"),
            "id": 500 + number,
            "node_id": f"MI_{number}",
            "number": number,
            "state": m.state,
            "title": m.title,
            "description": None,
            "creator": self._user("owner"),
            "open_issues": sum(i.state == "open" for i in issues),
            "closed_issues": sum(i.state == "closed" for i in issues),
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
            "closed_at": None,
            "due_on": _iso(m.due_on),
        }

    def _issue_json(self, issue: IssueState) -> dict[str, Any]:
        n = issue.number
        kind = "pull" if issue.pull_request else "issues"
        data: dict[str, Any] = {
            "id": 9000 + n,
            "node_id": f"I_{n}",
            "url": self._api(f"/issues/{n}"),
            "repository_url": f"{self.url}/repos/{self.repo}",
            "labels_url": self._api(f"/issues/{n}/labels{{/name}}"),
            "comments_url": self._api(f"/issues/{n}/comments"),
            "events_url": self._api(f"/issues/{n}/events"),
            "html_url": f"{self.origin}/{self.repo}/{kind}/{n}",
            "number": n,
            "state": issue.state,
            "state_reason": issue.state_reason,
            "title": issue.title,
            "body": issue.body,
            "user": self._user(issue.user),
            "labels": [self._label_json(x) for x in issue.labels],
            "assignee": self._user(issue.assignees[0]) if issue.assignees else None,
            "assignees": [self._user(a) for a in issue.assignees],
            "milestone": self._milestone_json(issue.milestone) if issue.milestone else None,
            "locked": False,
            "active_lock_reason": None,
            "comments": len(issue.comments),
            "created_at": _iso(issue.created_at),
            "updated_at": _iso(issue.updated_at),
            "closed_at": _iso(issue.closed_at),
            "closed_by": None,
            "author_association": "OWNER",
        }
        if issue.pull_request:
            data["pull_request"] = {"url": self._api(f"/pulls/{n}"), "html_url": data["html_url"]}
        return data

    def _comment_json(self, number: int, c: Comment) -> dict[str, Any]:
        return {
            "id": c.id,
            "node_id": f"IC_{c.id}",
            "url": self._api(f"/issues/comments/{c.id}"),
            "html_url": f"{self.origin}/{self.repo}/issues/{number}#issuecomment-{c.id}",
            "body": c.body,
            "user": self._user(c.user),
            "created_at": _iso(c.created_at),
            "updated_at": _iso(c.created_at),
            "issue_url": self._api(f"/issues/{number}"),
            "author_association": "OWNER",
        }

    # --- state changes -------------------------------------------------------------------

    def _next_id(self) -> int:
        self._ids += 1
        return self._ids

    def _ensure_label(self, name: str, color: str = "ededed", description: str | None = None) -> None:
        if name.lower() not in self.labels:  # GitHub creates unknown labels named on an issue
            self.labels[name.lower()] = {
                "id": self._next_id(),
                "node_id": f"LA_{name}",
                "name": name,
                "color": color,
                "default": False,
                "description": description,
            }

    def _new_issue(
        self, title: str, body: str | None, labels: list[str], assignees: list[str], milestone: int | None, user: str
    ) -> int:
        self._numbers += 1
        number = self._numbers
        self.issues[number] = IssueState(number, title, body, labels, assignees, milestone, user=user)
        return number

    # --- HTTP ----------------------------------------------------------------------------

    def _dispatch(self, h: BaseHTTPRequestHandler, method: str) -> None:
        split = urlsplit(h.path)
        path, query = split.path, parse_qs(split.query)
        length = int(h.headers.get("Content-Length") or 0)
        payload = json.loads(h.rfile.read(length) or b"null") if length else None
        if self.prefix and path.startswith(self.prefix):
            path = path[len(self.prefix) :]
        auth = h.headers.get("Authorization", "")
        if auth not in (f"token {self.token}", f"Bearer {self.token}"):
            return self._send(h, 401, {"message": "Bad credentials", "documentation_url": DOCS})
        with self.lock:
            fault = self._record(method, path)
            if fault is not None and fault.kind not in self.applied_kinds:
                return self._send(h, *self._refusal(fault))
            status, body, headers = self._route(method, path, query, payload)
        return self._answer(h, fault, status, body, headers)

    def _refusal(self, fault: Fault) -> tuple[int, Any, dict[str, str]]:
        if fault.kind in ("429", "403"):
            return int(fault.kind), {"message": SECONDARY_LIMIT, "documentation_url": DOCS}, self._wait(fault)
        if fault.kind == "quota":
            reset = str(int(time.time()) + fault.retry_after)
            message = "API rate limit exceeded for installation ID 1."
            return (
                403,
                {"message": message, "documentation_url": DOCS},
                {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset},
            )
        if fault.kind == "502":
            return 502, {"message": "Server Error"}, {}
        status = int(fault.kind.removeprefix("refuse-"))
        message = {
            401: "Bad credentials",
            403: "Resource not accessible by integration",
            404: "Not Found",
            422: "Validation Failed",
        }[status]
        return status, {"message": message, "documentation_url": DOCS}, {}

    @staticmethod
    def _wait(fault: Fault) -> dict[str, str]:
        return {"Retry-After": str(fault.retry_after)}

    def _server_error(self) -> Any:
        return {"message": "Server Error", "documentation_url": DOCS}

    def _send(self, h: BaseHTTPRequestHandler, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        raw = b"" if body is None else json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json; charset=utf-8")
        h.send_header("Content-Length", str(len(raw)))
        headers = {"X-RateLimit-Remaining": "4999", "X-RateLimit-Reset": str(int(time.time()) + 3600)} | (headers or {})
        h.send_header("X-RateLimit-Limit", "5000")
        for key, value in headers.items():
            h.send_header(key, value)
        h.end_headers()
        h.wfile.write(raw)

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], payload: Any
    ) -> tuple[int, Any, dict[str, str]]:
        base = f"/repos/{self.repo}"
        not_found = (404, {"message": "Not Found", "documentation_url": DOCS}, {})
        if not path.startswith(base):
            return not_found
        rest = path[len(base) :]
        routes: list[tuple[str, str, Any]] = [
            ("GET", r"", self._get_repo),
            ("GET", r"/issues", self._list_issues),
            ("POST", r"/issues", self._create_issue),
            ("GET", r"/issues/(\d+)", self._get_issue),
            ("PATCH", r"/issues/(\d+)", self._patch_issue),
            ("GET", r"/issues/(\d+)/comments", self._list_comments),
            ("POST", r"/issues/(\d+)/comments", self._create_comment),
            ("GET", r"/labels", self._list_labels),
            ("POST", r"/labels", self._create_label),
            ("GET", r"/milestones", self._list_milestones),
            ("GET", r"/milestones/(\d+)", self._get_milestone),
        ]
        for verb, pattern, handler in routes:
            match = re.fullmatch(pattern, rest)
            if verb == method and match:
                result: tuple[int, Any, dict[str, str]] = handler(
                    *match.groups(), query=query, payload=payload, path=path
                )
                return result
        return not_found

    def _page(self, path: str, query: dict[str, list[str]], items: list[Any]) -> tuple[int, Any, dict[str, str]]:
        per_page = min(int(query.get("per_page", ["30"])[0]), 100)
        page = int(query.get("page", ["1"])[0])
        last = max(1, -(-len(items) // per_page))
        links = []

        def link(n: int, rel: str) -> str:
            params = {k: v[0] for k, v in query.items()} | {"page": str(n), "per_page": str(per_page)}
            return f'<{self.url}{path}?{urlencode(params)}>; rel="{rel}"'

        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        if page > 1:
            links += [link(1, "first"), link(page - 1, "prev")]
        headers = {"Link": ", ".join(links)} if links else {}
        return 200, items[(page - 1) * per_page : page * per_page], headers

    def _get_repo(self, **kw: Any) -> tuple[int, Any, dict[str, str]]:
        owner, name = self.repo.split("/")
        return (
            200,
            {
                "id": 1,
                "node_id": "R_1",
                "name": name,
                "full_name": self.repo,
                "owner": self._user(owner),
                "private": True,
                "url": f"{self.url}/repos/{self.repo}",
                "html_url": f"{self.origin}/{self.repo}",
                "has_issues": True,
            },
            {},
        )

    def _get_issue_state(self, number: str) -> IssueState | None:
        return self.issues.get(int(number))

    def _list_issues(self, query: dict[str, list[str]], path: str, **kw: Any) -> tuple[int, Any, dict[str, str]]:
        state = query.get("state", ["open"])[0]
        wanted = [x.lower() for x in query.get("labels", [""])[0].split(",") if x]
        since = query.get("since", [None])[0]
        found = [
            i
            for i in self.issues.values()
            if state in ("all", i.state)
            and all(w in [x.lower() for x in i.labels] for w in wanted)
            and (since is None or _iso(i.updated_at) >= since)
        ]
        key = "updated_at" if query.get("sort", ["created"])[0] == "updated" else "created_at"
        found.sort(key=lambda i: (getattr(i, key), i.number), reverse=query.get("direction", ["desc"])[0] == "desc")
        return self._page(path, query, [self._issue_json(i) for i in found])

    def _too_long(self) -> tuple[int, Any, dict[str, str]]:
        error = {"resource": "Issue", "code": "custom", "field": "body",
                 "message": f"body is too long (maximum is {MAX_BODY} characters)"}  # fmt: skip
        return 422, {"message": "Validation Failed", "errors": [error], "documentation_url": DOCS}, {}

    def _create_issue(self, payload: Any, **kw: Any) -> tuple[int, Any, dict[str, str]]:
        if not isinstance(payload, dict) or not payload.get("title"):
            return (
                422,
                {
                    "message": "Validation Failed",
                    "errors": [{"resource": "Issue", "code": "missing_field", "field": "title"}],
                    "documentation_url": DOCS,
                },
                {},
            )
        if len(payload.get("body") or "") > MAX_BODY:
            return self._too_long()
        milestone = payload.get("milestone")
        if milestone is not None and int(milestone) not in self.milestones:
            return (
                422,
                {
                    "message": "Validation Failed",
                    "errors": [{"resource": "Issue", "code": "invalid", "field": "milestone"}],
                    "documentation_url": DOCS,
                },
                {},
            )
        if any(a not in self.collaborators for a in payload.get("assignees", [])):
            return (
                422,
                {
                    "message": "Validation Failed",
                    "errors": [{"resource": "Issue", "code": "invalid", "field": "assignees"}],
                    "documentation_url": DOCS,
                },
                {},
            )
        for name in payload.get("labels", []):
            self._ensure_label(name)
        number = self._new_issue(
            payload["title"],
            payload.get("body"),
            list(payload.get("labels", [])),
            list(payload.get("assignees", [])),
            milestone,
            "backlog-bot",
        )
        issue = self.issues[number]
        return 201, self._issue_json(issue), {"Location": self._api(f"/issues/{number}")}

    def _get_issue(self, number: str, **kw: Any) -> tuple[int, Any, dict[str, str]]:
        issue = self._get_issue_state(number)
        if issue is None:
            return 404, {"message": "Not Found", "documentation_url": DOCS}, {}
        return 200, self._issue_json(issue), {}

    def _patch_issue(self, number: str, payload: Any, **kw: Any) -> tuple[int, Any, dict[str, str]]:
        issue = self._get_issue_state(number)
        if issue is None:
            return 404, {"message": "Not Found", "documentation_url": DOCS}, {}
        if len(payload.get("body") or "") > MAX_BODY:
            return self._too_long()
        for key in ("title", "body"):
            if key in payload:
                setattr(issue, key, payload[key])
        if "labels" in payload:
            for name in payload["labels"]:
                self._ensure_label(name)
            issue.labels = list(payload["labels"])
        if "assignees" in payload:
            issue.assignees = list(payload["assignees"])
        if "milestone" in payload:
            issue.milestone = int(payload["milestone"]) if payload["milestone"] else None
        if payload.get("state") and payload["state"] != issue.state:
            issue.state = payload["state"]
            issue.closed_at = _now() if issue.state == "closed" else None
            issue.state_reason = payload.get("state_reason") or ("completed" if issue.state == "closed" else "reopened")
        issue.updated_at = _now()
        return 200, self._issue_json(issue), {}

    def _list_comments(
        self, number: str, query: dict[str, list[str]], path: str, **kw: Any
    ) -> tuple[int, Any, dict[str, str]]:
        issue = self._get_issue_state(number)
        if issue is None:
            return 404, {"message": "Not Found", "documentation_url": DOCS}, {}
        return self._page(path, query, [self._comment_json(issue.number, c) for c in issue.comments])

    def _create_comment(self, number: str, payload: Any, **kw: Any) -> tuple[int, Any, dict[str, str]]:
        issue = self._get_issue_state(number)
        if issue is None:
            return 404, {"message": "Not Found", "documentation_url": DOCS}, {}
        comment = Comment(self._next_id(), payload["body"], "backlog-bot", _now())
        issue.comments.append(comment)
        issue.updated_at = _now()
        return 201, self._comment_json(issue.number, comment), {}

    def _list_labels(self, query: dict[str, list[str]], path: str, **kw: Any) -> tuple[int, Any, dict[str, str]]:
        return self._page(path, query, [self._label_json(x) for x in sorted(self.labels)])

    def _create_label(self, payload: Any, **kw: Any) -> tuple[int, Any, dict[str, str]]:
        name = payload["name"]
        if name.lower() in self.labels:
            return (
                422,
                {
                    "message": "Validation Failed",
                    "errors": [{"resource": "Label", "code": "already_exists", "field": "name"}],
                    "documentation_url": "https://docs.github.com/rest/issues/labels#create-a-label",
                },
                {},
            )
        self._ensure_label(name, payload.get("color", "ededed"), payload.get("description"))
        return 201, self._label_json(name), {}

    def _list_milestones(self, query: dict[str, list[str]], path: str, **kw: Any) -> tuple[int, Any, dict[str, str]]:
        state = query.get("state", ["open"])[0]
        found = [m for m in self.milestones.values() if state in ("all", m.state)]
        if query.get("sort", ["due_on"])[0] == "due_on":
            found.sort(key=lambda m: (m.due_on is None, m.due_on or datetime.max.replace(tzinfo=UTC), m.number))
        if query.get("direction", ["asc"])[0] == "desc":
            found.reverse()
        return self._page(path, query, [self._milestone_json(m.number) for m in found])

    def _get_milestone(self, number: str, **kw: Any) -> tuple[int, Any, dict[str, str]]:
        if int(number) not in self.milestones:
            return 404, {"message": "Not Found", "documentation_url": DOCS}, {}
        return 200, self._milestone_json(int(number)), {}
