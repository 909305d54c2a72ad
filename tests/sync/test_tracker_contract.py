"""The tracker contract, written once: every scenario runs against GitHub, Jira Cloud and Jira Data Center.

The engine drives the real adapter (the real PyGithub or `jira` client) against an in-process fake
of the tracker; assertions are on the fake's state and the store, never on calls made. What only
one tracker does lives in test_github_sync.py and test_jira_sync.py.
"""

from __future__ import annotations

import logging
import shutil
import socket
from dataclasses import replace
from datetime import UTC, date
from pathlib import Path

import pytest
from sqlalchemy import Engine

from backlog_bridge.errors import ConfigError
from backlog_bridge.plan.model import Action, Target
from backlog_bridge.store.db import make_engine, open_store
from backlog_bridge.sync import Outcome, RetryPolicy, SyncReport, build_tracker, sync_plan
from backlog_bridge.sync.engine import Note, post_notes
from backlog_bridge.sync.tracker import IssueDraft
from sync.trackers import (
    B_CLOSED,
    NIGHT1,
    NIGHT2,
    NIGHT3,
    TRACKERS,
    UPCOMING,
    A,
    B,
    C,
    D,
    E,
    GitHubHarness,
    Harness,
    JiraHarness,
    Sleeps,
    brief,
    links,
    message,
    night1,
    night2,
    night3,
    open_harness,
    outcomes,
    plan_item,
    run,
)


@pytest.fixture(params=TRACKERS)
def h(request):
    with open_harness(request.param) as harness:
        yield harness


# --- creating, updating, reading back -------------------------------------------------------------


def test_first_sync_files_one_issue_per_theme(engine, h):
    report = run(engine, h, night1(h), NIGHT1)

    assert outcomes(report) == {A: Outcome.CREATED, B: Outcome.CREATED, C: Outcome.CREATED, D: Outcome.SKIPPED}
    issues = h.by_theme()
    assert set(issues) == {A, B, C} and h.issue_count() == 3
    a, c = h.seen(issues[A]), h.seen(issues[C])
    assert a.title == "NPS: Checkout fails on mobile"
    assert a.labels == ("nps-feedback",) and a.priorities == (h.priority("P1"),)
    assert c.priorities == (h.priority("P3"),)
    assert a.sprint == UPCOMING and c.sprint is None  # C is not in the sprint budget
    markup = h.tracker().markup
    assert markup.theme_key(a.body) == A and markup.figures(a.body).respondents == 40
    stored = links(engine)
    assert {k: (v.state, v.issue_key) for k, v in stored.items()} == {
        A: ("open", issues[A]),
        B: ("open", issues[B]),
        C: ("open", issues[C]),
    }
    assert stored[A].sprint == UPCOMING and stored[A].title_written == a.title
    assert stored[A].url.endswith(issues[A].rsplit("#", 1)[-1])


def test_resync_without_change_makes_no_write_calls(engine, h):
    run(engine, h, night1(h), NIGHT1)
    writes = h.fake.write_count

    report = run(engine, h, night1(h), NIGHT1)

    assert h.fake.write_count == writes
    assert outcomes(report) == {A: Outcome.UNCHANGED, B: Outcome.UNCHANGED, C: Outcome.UNCHANGED, D: Outcome.SKIPPED}


def test_theme_grew_rewrites_the_section_and_comments_on_significant_change(engine, h):
    run(engine, h, night1(h), NIGHT1)

    report = run(engine, h, night2(h), NIGHT2)

    assert outcomes(report) == {
        A: Outcome.UPDATED,
        B: Outcome.UNCHANGED,
        C: Outcome.UPDATED,
        D: Outcome.SKIPPED,
        E: Outcome.CREATED,
    }
    issues = h.by_theme()
    a, b, c = h.seen(issues[A]), h.seen(issues[B]), h.seen(issues[C])
    assert "80 (60 detractors, 20 passives)" in a.body and "40 (30 detractors" not in a.body
    assert len(a.comments) == 1 and "grew from 40 to 80 respondents" in a.comments[0]
    assert c.priorities == (h.priority("P2"),) and c.labels == ("nps-feedback",)  # ours swapped, not added
    assert len(c.comments) == 1 and "Priority moved from P3 to P2" in c.comments[0]
    assert b.comments == ()
    assert h.issue_count() == 4 and h.seen(issues[E]).sprint == UPCOMING


def test_human_edits_outside_what_we_manage_survive(engine, h):
    run(engine, h, night1(h), NIGHT1)
    key = h.by_theme()[A]
    before = h.seen(key)
    h.human_edit(
        key,
        title="Mobile checkout broken (customer escalations)",
        body=f"Triage notes from support.\n\n{before.body}\n\nSee also the payments runbook.",
        label="team-payments",
        assignee="alice",
    )
    h.human_comment(key, "Looking into it")

    run(engine, h, night2(h), NIGHT2)
    run(engine, h, night3(h), NIGHT3)

    issue = h.seen(key)
    markup = h.tracker().markup
    assert issue.title == "Mobile checkout broken (customer escalations)"
    assert issue.body.startswith("Triage notes from support.\n\n")
    assert issue.body.endswith("\n\nSee also the payments runbook.")
    assert markup.figures(issue.body).respondents == 84 and "84 (63 detractors" in issue.body
    assert markup.merge(issue.body, markup.section(night3(h)[0])) == issue.body  # one managed section
    assert issue.labels == ("nps-feedback", "team-payments") and issue.assignees == ("alice",)
    assert issue.comments[0] == "Looking into it"


def test_untouched_title_follows_a_renamed_theme(engine, h):
    run(engine, h, night1(h), NIGHT1)
    renamed = [plan_item(h, brief(A, "Mobile checkout freezes", 40, 0.040), Action.UPDATE, "P1")]

    run(engine, h, renamed, NIGHT2)

    assert h.seen(h.by_theme()[A]).title == "NPS: Mobile checkout freezes"


def test_the_routing_assignee_is_set_on_create_in_the_trackers_own_terms(engine, h):
    """GitHub names people by login, Jira Cloud by accountId only, Data Center by user name only."""
    items = night1(h)[:1]
    items[0] = replace(items[0], target=replace(items[0].target, assignee=h.user("alice")))

    report = run(engine, h, items, NIGHT1)

    assert report.complete and h.seen(h.by_theme()[A]).assignees == ("alice",)


# --- closed, reopened ------------------------------------------------------------------------------


def test_closed_issue_is_fix_shipped_then_a_regression_comments_once(engine, h):
    run(engine, h, night1(h), NIGHT1)
    key = h.by_theme()[B]
    h.human_close(key, at=B_CLOSED)
    run(engine, h, night2(h)[1:2], NIGHT2)  # B not grown: nothing to say

    report = run(engine, h, night2(h)[1:2], B_CLOSED.replace(day=11))
    link = links(engine)[B]
    assert link.state == "closed" and link.closed_at.replace(tzinfo=UTC) == B_CLOSED  # the tracker's close date
    assert link.closure == "fixed"
    assert report.results[0].outcome is Outcome.UNCHANGED and "fix shipped on 2026-03-10" in report.results[0].message
    assert h.seen(key).comments == ()

    report = run(engine, h, night3(h), NIGHT3)
    writes = h.fake.write_count
    again = run(engine, h, night3(h), NIGHT3)

    issue = h.seen(key)
    assert outcomes(report)[B] is Outcome.UPDATED and "regressed: commented on" in message(report, B)
    assert issue.state == "closed" and len(issue.comments) == 1
    assert "grown again since the fix shipped on 2026\\-03\\-10" in issue.comments[0]
    assert outcomes(again)[B] is Outcome.UNCHANGED and h.fake.write_count == writes
    assert h.issue_count() == 3 and links(engine)[B].regression_noted_at is not None


@pytest.mark.parametrize(("closure", "said"), [("declined", "declined (not planned)"), ("duplicate", "duplicate")])
def test_closed_as_declined_or_duplicate_ships_no_fix_and_never_regresses(engine, h, closure, said):
    """Not planned / Won't Do / Duplicate is not "fixed": no fix date to judge, no "grown again" note, no reopen."""
    run(engine, h, night1(h), NIGHT1)
    key = h.by_theme()[B]
    h.human_close(key, at=B_CLOSED, closure=closure)

    report = run(engine, h, night3(h), NIGHT3, regression_action="reopen")  # B has grown a lot

    issue = h.seen(key)
    assert outcomes(report)[B] is Outcome.UNCHANGED and said in message(report, B), message(report, B)
    assert (issue.state, issue.comments) == ("closed", ())
    link = links(engine)[B]
    assert (link.state, link.closure, link.regression_noted_at) == ("closed", closure, None)
    assert link.closed_at is not None and link.closed_at.replace(tzinfo=UTC) == B_CLOSED


def test_issues_of_themes_the_plan_skips_are_still_read_back(engine, h):
    """A suppressed (or merged, retired) theme's issue is closed and reopened by people all the same."""
    run(engine, h, night1(h), NIGHT1)
    key = h.by_theme()[B]
    skipped = [replace(i, action=Action.SKIP, reason="suppressed: owned by billing") if i.brief.theme_key == B
               else i for i in night2(h)]  # fmt: skip
    h.human_close(key, at=B_CLOSED, closure="declined")

    report = run(engine, h, skipped, NIGHT2)

    assert outcomes(report)[B] is Outcome.SKIPPED and report.read_back == 1
    link = links(engine)[B]
    assert (link.state, link.closure) == ("closed", "declined")
    assert link.closed_at is not None and link.closed_at.replace(tzinfo=UTC) == B_CLOSED
    h.human_reopen(key)
    run(engine, h, skipped, NIGHT3)
    assert links(engine)[B].state == "open"
    assert h.seen(key).comments == () and h.seen(key).state == "open"  # read, never written to
    dry = run(engine, h, skipped, NIGHT3, dry_run=True)
    assert dry.read_back == 0  # a dry run writes nothing, the store included


def test_regression_can_reopen_instead(engine, h):
    run(engine, h, night1(h), NIGHT1)
    key = h.by_theme()[B]
    h.human_close(key, at=B_CLOSED)

    run(engine, h, night3(h), NIGHT3, regression_action="reopen")

    issue = h.seen(key)
    assert (issue.state, issue.closed_at, len(issue.comments)) == ("open", None, 1)
    assert "52 (39 detractors" in issue.body
    assert links(engine)[B].state == "open" and h.issue_count() == 3


def test_an_issue_a_person_reopened_is_followed_again(engine, h):
    run(engine, h, night1(h), NIGHT1)
    key = h.by_theme()[B]
    h.human_close(key, at=B_CLOSED)
    run(engine, h, night2(h)[1:2], NIGHT2.replace(day=11))
    assert links(engine)[B].state == "closed"
    h.human_reopen(key)

    report = run(engine, h, night3(h)[1:2], NIGHT3)

    link = links(engine)[B]
    assert link.state == "open" and link.closed_at.replace(tzinfo=UTC) == B_CLOSED  # the last fix, still judged
    assert report.results[0].outcome is Outcome.UPDATED and "52 (39 detractors" in h.seen(key).body
    assert h.issue_count() == 3


# --- finding instead of filing again --------------------------------------------------------------------


def test_database_deleted_between_runs_files_no_duplicate(engine, h, tmp_path):
    run(engine, h, night1(h), NIGHT1)
    fresh = open_store(f"sqlite:///{tmp_path / 'fresh.db'}")
    as_planned_without_links = [
        replace(i, action=Action.CREATE) if i.action is not Action.SKIP else i for i in night2(h)
    ]

    report = run(fresh, h, as_planned_without_links, NIGHT2)

    assert h.issue_count() == 4
    assert outcomes(report) == {
        A: Outcome.UPDATED,
        B: Outcome.UNCHANGED,
        C: Outcome.UPDATED,
        D: Outcome.SKIPPED,
        E: Outcome.CREATED,
    }
    assert {k: v.issue_key for k, v in links(fresh).items()} == h.by_theme()
    again = run(fresh, h, as_planned_without_links, NIGHT2)
    assert set(outcomes(again).values()) == {Outcome.UNCHANGED, Outcome.SKIPPED}
    fresh.dispose()


def test_find_confirms_the_marker_and_skips_issues_stamped_for_another_theme(h):
    tracker = h.tracker()
    label = h.stamp_label(A)
    for n in range(3):  # more than a page: the client must follow the pages
        h.add_issue(f"copy {n}", body=f"notes {h.marker(B)}", labels=[label])
    assert tracker.find(A) is None
    ours = h.add_issue("ours", body=f"notes {h.marker(A)}", labels=[label])

    found = tracker.find(A)

    assert found is not None and found.ref.key == ours and found.theme_key == A


class Killed:
    """The process dies at a create: before the request is sent, or after its answer came back."""

    def __init__(self, tracker, when: str) -> None:
        self.tracker, self.when = tracker, when

    def __getattr__(self, name):
        return getattr(self.tracker, name)

    def create(self, draft):
        if self.when == "after":
            self.tracker.create(draft)
        raise KeyboardInterrupt


@pytest.mark.parametrize(
    "point",
    [
        "killed before the request",
        "drop",  # applied, the answer lost
        "500",  # applied, answered 500
        pytest.param("timeout", marks=pytest.mark.slow),  # applied, answered after the client gave up
        "killed after the answer",
    ],
)
def test_a_create_interrupted_at_any_point_is_found_not_filed_again_and_the_next_update_lands(engine, h, point):
    """attempts=1: nothing is retried within the run, so the next run recovers from the write-ahead link."""
    once = RetryPolicy(attempts=1)
    if point.startswith("killed"):
        with pytest.raises(KeyboardInterrupt):
            sync_plan(engine, night1(h), Killed(h.tracker(), point.split()[1]), now=NIGHT1, retry=once)
        assert links(engine)[A].state == "creating"
    else:
        h.fake.fail_request(h.create_request, point)
        first = run(engine, h, night1(h), NIGHT1, retry=once)
        assert outcomes(first)[A] is Outcome.PENDING and links(engine)[A].state == "creating"

    recovered = run(engine, h, night1(h), NIGHT1, retry=once)
    updated = run(engine, h, night2(h), NIGHT2, retry=once)

    assert recovered.complete and updated.complete
    assert set(h.by_theme()) == {A, B, C, E} and h.issue_count() == 4
    a = h.seen(h.by_theme()[A])
    assert h.tracker().markup.figures(a.body).respondents == 80 and len(a.comments) == 1
    assert links(engine)[A].state == "open"


def test_the_client_never_resends_a_create(engine, h):
    """A create answered by a dropped connection is sent once; the engine finds it instead."""
    h.fake.fail_request(h.create_request, "drop")

    report = run(engine, h, night1(h), NIGHT1)

    assert h.fake.requested("POST", h.create_request.removeprefix("^POST ").removesuffix("$")) == 3
    assert report.complete and h.issue_count() == 3 and set(h.by_theme()) == {A, B, C}
    assert h.seen(h.by_theme()[A]).sprint == UPCOMING  # placed after the create was found


# --- sprints and milestones ---------------------------------------------------------------------------


def test_an_issue_a_person_moved_to_another_sprint_is_never_moved_back(engine, h):
    run(engine, h, night1(h), NIGHT1)
    key = h.by_theme()[A]
    h.human_move_to_sprint(key, "Sprint 11")
    grown = [plan_item(h, brief(A, "Checkout fails on mobile", 80, 0.075), Action.UPDATE, "P1", in_sprint=True)]

    report = run(engine, h, grown, NIGHT2)

    assert report.results[0].outcome is Outcome.UPDATED and h.seen(key).sprint == "Sprint 11"


def test_an_issue_in_the_backlog_is_placed_when_the_plan_puts_it_in_budget(engine, h):
    run(engine, h, night1(h), NIGHT1)
    key = h.by_theme()[C]
    in_budget = [
        plan_item(
            h, brief(C, "Confusing invoices", 14, 0.013), Action.UPDATE, "P2", in_sprint=True, component="Billing"
        )
    ]

    run(engine, h, in_budget, NIGHT2)

    assert h.seen(key).sprint == UPCOMING


# --- what is left alone ------------------------------------------------------------------------------


def test_dry_run_writes_nothing_anywhere(engine, h):
    report = run(engine, h, night1(h), NIGHT1, dry_run=True)

    assert h.fake.write_count == 0 and links(engine) == {}
    assert outcomes(report)[A] is Outcome.CREATED and message(report, A).startswith(f"would create in {UPCOMING}")

    run(engine, h, night1(h), NIGHT1)
    writes = h.fake.write_count
    report = run(engine, h, night2(h), NIGHT2, dry_run=True)
    assert h.fake.write_count == writes
    assert "would update" in message(report, A) and "grew from 40 to 80" in message(report, A)


def test_items_routed_to_another_project_or_tracker_are_left_alone(engine, h):
    items = night1(h)
    items[0] = replace(items[0], target=replace(items[0].target, project=h.other_project))
    other = "jira" if h.tracker_name == "github" else "github"
    items.append(
        replace(items[1], brief=replace(items[1].brief, theme_key="theme-oooooooooo"), target=Target(other, "X"))
    )

    report = run(engine, h, items, NIGHT1)

    assert outcomes(report) == {A: Outcome.SKIPPED, B: Outcome.CREATED, C: Outcome.CREATED, D: Outcome.SKIPPED}
    assert f"routed to {h.tracker_name} {h.other_project}" in message(report, A)
    assert set(h.by_theme()) == {B, C}


# --- refusals: a person must act ---------------------------------------------------------------------


def test_terminal_errors_are_reported_and_other_themes_go_on(engine, h):
    items = night1(h)
    items[0] = replace(items[0], target=replace(items[0].target, assignee=h.user("mallory")))  # not assignable

    report = run(engine, h, items, NIGHT1)

    assert outcomes(report) == {A: Outcome.FAILED, B: Outcome.CREATED, C: Outcome.CREATED, D: Outcome.SKIPPED}
    assert f"HTTP {h.invalid_status}" in message(report, A) and not report.complete
    assert links(engine)[A].state == "failed" and str(h.invalid_status) in links(engine)[A].last_error
    assert set(h.by_theme()) == {B, C}

    h.human_delete(h.by_theme()[B])
    report = run(engine, h, night1(h), NIGHT1)
    assert outcomes(report)[B] is Outcome.FAILED and "HTTP 404" in message(report, B)
    assert outcomes(report)[A] is Outcome.CREATED  # the person fixed the assignee: filed now


@pytest.mark.parametrize("status", [401, 403, 404, 422])
def test_a_refused_create_fails_that_theme_at_once_and_is_filed_once_allowed(engine, h, status):
    h.fake.fail_request(h.create_request, f"refuse-{status}")
    sleeps = Sleeps()

    report = run(engine, h, night1(h), NIGHT1, sleep=sleeps)

    assert outcomes(report)[A] is Outcome.FAILED and f"HTTP {status}" in message(report, A)
    assert sleeps == [] and set(h.by_theme()) == {B, C}
    assert outcomes(run(engine, h, night1(h), NIGHT1))[A] is Outcome.CREATED
    assert h.issue_count() == 3


def test_bad_token_fails_every_theme_clearly_without_leaking_it(engine, h, caplog):
    caplog.set_level(logging.DEBUG)  # the clients, requests and urllib3 log every request at DEBUG
    bad = h.tracker(token="wrong_secret_value")

    report = sync_plan(engine, night1(h), bad, now=NIGHT1, sleep=Sleeps())

    assert [r.outcome for r in report.results] == [Outcome.FAILED] * 3 + [Outcome.SKIPPED]
    assert "HTTP 401" in report.results[0].message and "token" in report.results[0].message
    assert all("wrong_secret" not in r.message for r in report.results) and "wrong_secret" not in repr(bad)
    assert "wrong_secret" not in caplog.text
    assert all("wrong_secret" not in (link.last_error or "") for link in links(engine).values())
    assert h.issue_count() == 0


# --- transient failures: retried in one layer, within a budget ------------------------------------------


@pytest.mark.parametrize(("kind", "expected_sleep"), [("429", 7.0), ("500", 2.0)])
def test_transient_failures_back_off_honouring_retry_after(engine, h, kind, expected_sleep):
    h.fake.fail_write(1, kind, retry_after=7)
    sleeps = Sleeps()

    report = run(engine, h, night1(h), NIGHT1, sleep=sleeps)

    assert report.complete and sleeps == [expected_sleep] and h.issue_count() == 3


def test_a_too_long_retry_after_leaves_the_theme_pending_for_the_next_run(engine, h):
    h.fake.fail_write(1, "429", retry_after=3600)

    report = run(engine, h, night1(h), NIGHT1)

    assert outcomes(report)[A] is Outcome.PENDING and "rate limited" in message(report, A)
    assert outcomes(run(engine, h, night1(h), NIGHT1))[A] is Outcome.CREATED
    assert h.issue_count() == 3


@pytest.mark.parametrize("attempts", [1, 3, 4])
def test_a_502_on_a_read_is_tried_exactly_as_often_as_configured(engine, h, attempts):
    """One retry layer: the client retries nothing underneath, so the server sees `attempts` reads."""
    run(engine, h, night1(h), NIGHT1)
    read = h.read_path(h.by_theme()[A])
    before = h.fake.requested("GET", read)
    h.fake.fail_request(f"^GET {read}$", "502", times=99)
    sleeps = Sleeps()

    report = run(engine, h, night2(h), NIGHT2, retry=RetryPolicy(attempts=attempts), sleep=sleeps)

    assert h.fake.requested("GET", read) - before == attempts
    assert sleeps == [2.0 * 2**n for n in range(attempts - 1)]
    assert outcomes(report)[A] is Outcome.PENDING and report.unreachable is not None


def test_a_read_that_fails_once_is_retried_and_the_theme_goes_on(engine, h):
    run(engine, h, night1(h), NIGHT1)
    read = h.read_path(h.by_theme()[A])
    h.fake.fail_request(f"^GET {read}$", "502")
    sleeps = Sleeps()

    report = run(engine, h, night2(h), NIGHT2, sleep=sleeps)

    assert report.complete and outcomes(report)[A] is Outcome.UPDATED and sleeps == [2.0]


def test_an_unreachable_tracker_costs_one_themes_backoff_not_one_per_theme(engine, h):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    sleeps = Sleeps()

    report = sync_plan(
        engine, night1(h), h.tracker(url=closed), now=NIGHT1, retry=RetryPolicy(attempts=3), sleep=sleeps
    )

    assert [outcomes(report)[k] for k in (A, B, C)] == [Outcome.PENDING] * 3
    assert report.unreachable is not None and sleeps == [2.0, 4.0]  # the first theme's tries only
    assert "tracker unreachable" in message(report, B)


def test_backoff_is_bounded_per_run(engine, h):
    for at in (1, 2, 3):
        h.fake.fail_write(at, "429", retry_after=20)
    sleeps = Sleeps()

    report = run(engine, h, night1(h), NIGHT1, retry=RetryPolicy(attempts=2, run_budget=45.0), sleep=sleeps)

    assert sleeps == [20.0, 20.0] and not report.complete  # a third wait would pass the run's 45 s


# --- notes, registry ----------------------------------------------------------------------------------


def test_notes_are_posted_once_escaped(engine, h):
    tracker = h.tracker()
    created = tracker.create(IssueDraft(theme_key="theme-note", title="NPS: checkout", body="body", priority=None))
    text, stamp = "Verdict: improved. @everyone see #12", "verdict-20260310-improved"
    note = Note("theme-note", created, text, stamp)

    first = post_notes(engine, [note], tracker, now=NIGHT1)
    second = post_notes(engine, [note], h.tracker(), now=NIGHT2)

    assert [r.outcome for r in first.results + second.results] == [Outcome.UPDATED, Outcome.UPDATED]
    (comment,) = h.seen(created.key).comments
    assert "Verdict: improved" in comment and comment == tracker.markup.stamped(tracker.markup.escape(text), stamp)
    dry = post_notes(engine, [replace(note, stamp="other")], tracker, now=NIGHT2, dry_run=True)
    assert [r.outcome for r in dry.results] == [Outcome.SKIPPED] and len(h.seen(created.key).comments) == 1


def test_registry_builds_the_adapter_from_settings(h, monkeypatch):
    section, env = h.settings()
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    built = build_tracker(h.tracker_name, section)

    assert built.name == h.tracker_name and built.project == h.project and built.find(A) is None
    assert built.upcoming_sprint(date(2026, 3, 2)) == UPCOMING
    with pytest.raises(ConfigError, match=rf"\[{h.tracker_name}\]"):
        build_tracker(h.tracker_name, None)
    with pytest.raises(ConfigError, match="unknown tracker"):
        build_tracker("gitlab", section)


# --- the fault matrix: every write of three nights, every kind of failure -------------------------------


def three_nights(engine: Engine, h: Harness, attempts: int = 3) -> list[SyncReport]:
    """Night 1, night 2, a person closes B, night 3; a night left incomplete is run again (the next run)."""
    reports = []
    for now, items in ((NIGHT1, night1(h)), (NIGHT2, night2(h)), (NIGHT3, night3(h))):
        if now is NIGHT3:
            h.human_close(h.by_theme()[B], at=B_CLOSED)
        report = run(engine, h, items, now, retry=RetryPolicy(attempts=attempts))
        reports.append(report)
        if not report.complete:
            reports.append(run(engine, h, items, now, retry=RetryPolicy(attempts=attempts)))
    return reports


@pytest.fixture(scope="module")
def template_store(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("store") / "template.db"
    open_store(f"sqlite:///{path}").dispose()
    return path


@pytest.fixture(scope="module")
def baselines(template_store, tmp_path_factory):
    """Per tracker: its state and writes after three nights without a fault (computed once, on first use)."""
    cache: dict[str, tuple[dict, list]] = {}

    def baseline(name: str) -> tuple[dict, list]:
        if name not in cache:
            db = tmp_path_factory.mktemp("baseline") / "store.db"
            shutil.copy(template_store, db)
            engine = make_engine(f"sqlite:///{db}")
            with open_harness(name) as harness:
                reports = three_nights(engine, harness)
                assert all(r.complete for r in reports) and len(reports) == 3
                cache[name] = harness.fake.snapshot(), list(harness.fake.writes)
            engine.dispose()
        return cache[name]

    return baseline


@pytest.mark.parametrize("name", TRACKERS)
def test_three_nights_without_faults(baselines, name):
    snapshot, writes = baselines(name)
    with open_harness(name) as harness:
        assert len(writes) == harness.writes_in_three_nights, writes
    assert len(snapshot["issues"]) == 4
    comments = sorted((i.get("title") or i.get("summary"), len(i["comments"])) for i in snapshot["issues"])
    assert [n for _, n in comments] == [1, 1, 0, 1]  # A grew, C moved, E new, B regressed (sorted by title)


FAULTS = [("drop", 3), ("drop", 1), ("500", 3), ("429", 3)]
"""attempts=1: no retry within the run, so the write-ahead link is what the next run recovers from."""
WRITES = {"github": GitHubHarness.writes_in_three_nights, "jira-cloud": JiraHarness.writes_in_three_nights}
WRITES["jira-datacenter"] = WRITES["jira-cloud"]
MATRIX = [
    pytest.param(name, kind, attempts, at, id=f"{name}-{kind}x{attempts}-write{at}")
    for name in TRACKERS
    for kind, attempts in [*FAULTS, *([("403", 3)] if name == "github" else [])]
    for at in range(1, WRITES[name] + 1)
] + [
    pytest.param(name, "timeout", 3, at, id=f"{name}-timeout-write{at}", marks=pytest.mark.slow)
    for name in TRACKERS
    for at in range(1, WRITES[name] + 1)
]


@pytest.mark.parametrize(("name", "kind", "attempts", "at"), MATRIX)
def test_a_fault_at_any_write_ends_in_the_fault_free_state(
    template_store, tmp_path, baselines, name, kind, attempts, at
):
    db = tmp_path / "store.db"
    shutil.copy(template_store, db)  # already migrated: a copy is faster than migrating hundreds of stores
    engine = make_engine(f"sqlite:///{db}")
    expected = baselines(name)[0]
    with open_harness(name) as harness:
        harness.fake.fail_write(at, kind)

        reports = three_nights(engine, harness, attempts)

        assert [f.at for f in harness.fake.fired] == [at]
        assert reports[-1].complete
        assert harness.fake.snapshot() == expected
        assert harness.issue_count() == 4
    engine.dispose()


def test_long_customer_quotes_are_cut_so_the_tracker_accepts_the_issue(engine, h):
    """Comments may hold 20,000 characters; GitHub refuses a body over 65,536, Jira a description over 32,767."""
    essay = ("The export keeps failing on large boards and nobody answers our tickets. " * 300).strip()
    item = night1(h)[0]
    long = replace(item, brief=replace(item.brief, quotes=(essay,) * 5))

    report = run(engine, h, [long], NIGHT1)

    assert [r.outcome for r in report.results] == [Outcome.CREATED], report.results
    body = h.seen(h.by_theme()[long.brief.theme_key]).body
    assert body.count(" …") == 5  # each quote cut at a word, marked
    assert essay not in body and len(body) < 32_767
