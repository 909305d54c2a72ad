"""The sync engine with the real `jira` client against an in-process Jira (assertions on its state)."""

from __future__ import annotations

import hashlib
import logging
import shutil
import socket
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fakes.jira import TEAM_FIELD, FakeJira
from pydantic import SecretStr
from sqlalchemy import Engine
from sqlmodel import Session, select

from backlog_bridge.errors import ConfigError
from backlog_bridge.plan.model import Action, PlanItem, SegmentShare, Target, ThemeBrief
from backlog_bridge.settings import JIRA_EMAIL_ENV, JIRA_TOKEN_ENV, JiraSettings
from backlog_bridge.store.db import make_engine, open_store
from backlog_bridge.store.tables import TrackerLink
from backlog_bridge.sync import Outcome, RetryPolicy, SyncReport, Tracker, build_tracker, sync_plan
from backlog_bridge.sync.jira import PROPERTY_KEY, JiraTracker
from backlog_bridge.sync.jira_markup import ZWJ
from backlog_bridge.sync.tracker import IssueDraft, TrackerRejectedError

A, B, C, D, E = "theme-aaaaaaaaaa", "theme-bbbbbbbbbb", "theme-cccccccccc", "theme-dddddddddd", "theme-eeeeeeeeee"
NIGHT1 = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
NIGHT2 = datetime(2026, 3, 9, 3, 0, tzinfo=UTC)
NIGHT3 = datetime(2026, 3, 16, 3, 0, tzinfo=UTC)
B_CLOSED = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
JIRA_PRIORITY = {"P1": "Highest", "P2": "High", "P3": "Medium"}
EVIL_QUOTES = (
    "ping [~accountid:5b10ac8d82e05b22cc7d4ef5] now",
    "{html}<script>alert(1)</script>{html} broke *again*",
    "see https://evil.example/x and [click|https://evil.example] !https://evil.example/x.png!",
)


# --- plan values, built by hand -----------------------------------------------------------------


def brief(key: str, label: str, respondents: int, share: float, quotes=EVIL_QUOTES) -> ThemeBrief:
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
        quotes=quotes,
        report_url=f"https://reports.example.com/{key}",
    )


def plan_item(
    b: ThemeBrief,
    action: Action,
    priority: str | None,
    *,
    in_sprint=False,
    labels=("nps-feedback",),
    component: str | None = "Web",
    assignee=None,
    reason="test",
) -> PlanItem:
    digest = hashlib.sha256(repr((b, priority, labels, component, assignee)).encode()).hexdigest()
    return PlanItem(
        brief=b,
        action=action,
        reason=reason,
        score=1.0,
        priority=priority,
        tracker_priority=JIRA_PRIORITY[priority] if priority else None,
        target=Target("jira", "FB", component=component, labels=labels, assignee=assignee),
        content_hash=digest,
        in_sprint=in_sprint,
    )


def night1() -> list[PlanItem]:
    return [
        plan_item(brief(A, "Checkout fails on mobile", 40, 0.040), Action.CREATE, "P1", in_sprint=True),
        plan_item(brief(B, "Slow dashboard", 24, 0.024), Action.CREATE, "P2", in_sprint=True),
        plan_item(brief(C, "Confusing invoices", 12, 0.012), Action.CREATE, "P3", component="Billing"),
        plan_item(brief(D, "Dark mode", 9, 0.009), Action.SKIP, None, reason="over the sprint budget"),
    ]


def night2() -> list[PlanItem]:
    """A grew a lot (comment), B unchanged, C moved to P2 (comment), E is new and P1 (ranked above B)."""
    one = night1()
    return [
        plan_item(brief(A, "Checkout fails on mobile", 80, 0.075), Action.UPDATE, "P1"),
        replace(one[1], action=Action.LEAVE),
        plan_item(brief(C, "Confusing invoices", 14, 0.013), Action.UPDATE, "P2", component="Billing"),
        one[3],
        plan_item(brief(E, "Password reset email never arrives", 30, 0.03), Action.CREATE, "P1", in_sprint=True),
    ]


def night3() -> list[PlanItem]:
    """A changed a little (no comment), B (closed by a human) regressed, C and E unchanged."""
    two = night2()
    return [
        plan_item(brief(A, "Checkout fails on mobile", 84, 0.078), Action.UPDATE, "P1"),
        plan_item(brief(B, "Slow dashboard", 52, 0.05), Action.UPDATE, "P2", reason="regressed"),
        replace(two[2], action=Action.LEAVE),
        two[3],
        replace(two[4], action=Action.LEAVE),
    ]


# --- fixtures -------------------------------------------------------------------------------


def sprints(fake: FakeJira) -> None:
    fake.add_sprint("Sprint 11", "active", datetime(2026, 2, 27, tzinfo=UTC))
    fake.add_sprint("Sprint 13", "future", datetime(2026, 3, 27, tzinfo=UTC))
    fake.add_sprint("Sprint 12", "future", datetime(2026, 3, 13, tzinfo=UTC))


@pytest.fixture(params=["Cloud", "Server"])
def fake(request):
    context = "" if request.param == "Cloud" else "/jira"  # Data Center often lives under a context path
    with FakeJira(deployment=request.param, context=context) as server:
        sprints(server)
        yield server


@pytest.fixture
def cloud():
    with FakeJira() as server:
        sprints(server)
        yield server


def tracker(fake: FakeJira, **kwargs) -> JiraTracker:
    """A fresh client, as a new nightly process would have (the fake pages every listing by 2)."""
    options = dict(email=fake.email if fake.deployment == "Cloud" else None, timeout=1.0)
    options.update(kwargs)
    return JiraTracker(fake.url, fake.project, SecretStr(fake.token), **options)


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def run(engine: Engine, fake: FakeJira, items, now, tracker_options=None, **kwargs) -> SyncReport:
    kwargs.setdefault("sleep", Sleeps())
    return sync_plan(engine, items, tracker(fake, **(tracker_options or {})), now=now, **kwargs)


def by_theme(fake: FakeJira) -> dict[str, str]:
    found: dict[str, str] = {}
    for issue in fake.issues.values():
        for label in issue.labels:
            if label.startswith("nps-theme-"):
                key = "theme-" + label.removeprefix("nps-theme-")
                assert key not in found, f"duplicate issue for {key}"
                found[key] = issue.key
    return found


def links(engine: Engine) -> dict[str, TrackerLink]:
    with Session(engine) as session:
        return {link.theme_key: link for link in session.exec(select(TrackerLink))}


def outcomes(report: SyncReport) -> dict[str, Outcome]:
    return {r.theme_key: r.outcome for r in report.results}


def sprint_names(fake: FakeJira, key: str) -> list[str]:
    return [fake.sprints[s].name for s in fake.issue(key).sprints]


# --- scenarios --------------------------------------------------------------------------------


def test_first_sync_files_one_issue_per_theme(engine, fake):
    report = run(engine, fake, night1(), NIGHT1)

    assert outcomes(report) == {A: Outcome.CREATED, B: Outcome.CREATED, C: Outcome.CREATED, D: Outcome.SKIPPED}
    issues = by_theme(fake)
    assert set(issues) == {A, B, C}
    a = fake.issue(issues[A])
    assert a.summary == "NPS: Checkout fails on mobile"
    assert sorted(a.labels) == ["nps-feedback", f"nps-{A}"]
    assert (a.priority, a.components, a.properties) == ("Highest", ["Web"], {PROPERTY_KEY: {"theme_key": A}})
    assert sprint_names(fake, issues[A]) == ["Sprint 12"]  # the earliest future sprint
    assert fake.issue(issues[C]).sprints == [] and fake.issue(issues[C]).components == ["Billing"]
    assert a.description.startswith("{color:#97a0af}{{backlog-bridge:begin}}")
    assert f"{{{{backlog-bridge:theme={A}}}}}" in a.description
    # Customer text is inert: no mention, macro, link or image survives as markup.
    assert "[~accountid" not in a.description and "\\[\\~accountid:5b10ac8d82e05b22cc7d4ef5\\]" in a.description
    assert "{html}" not in a.description and "\\{html\\}" in a.description
    assert "https://evil" not in a.description and f"https{ZWJ}://evil" in a.description
    assert "\\!https" in a.description and " !https" not in a.description
    assert "\\[click\\|https" in a.description and " [click|" not in a.description
    assert "[Theme report|https://reports.example.com/" in a.description  # our own link stays a link
    stored = links(engine)
    assert {k: (v.state, v.issue_key) for k, v in stored.items()} == {
        A: ("open", issues[A]),
        B: ("open", issues[B]),
        C: ("open", issues[C]),
    }
    assert stored[A].sprint == "Sprint 12" and stored[A].title_written == a.summary
    assert stored[A].url.endswith(f"/browse/{issues[A]}")


def test_each_deployment_uses_the_search_endpoint_it_has(engine, fake):
    run(engine, fake, night1(), NIGHT1)
    fresh_db = links(engine)  # noqa: F841 - the store is not what find() reads
    t = tracker(fake)
    assert t.find(A) is not None
    searched = {path for method, path in fake.requests if "/search" in path}
    if fake.deployment == "Cloud":
        assert searched == {"/rest/api/2/search/jql"}  # /rest/api/2/search answers 410 on Cloud
    else:
        assert searched == {"/rest/api/2/search"}
    assert all(h.startswith("Basic " if fake.deployment == "Cloud" else "Bearer ") for h in fake.auth_headers)


def test_resync_without_change_makes_no_write_calls(engine, fake):
    run(engine, fake, night1(), NIGHT1)
    writes = fake.write_count

    report = run(engine, fake, night1(), NIGHT1)

    assert fake.write_count == writes
    assert outcomes(report) == {A: Outcome.UNCHANGED, B: Outcome.UNCHANGED, C: Outcome.UNCHANGED, D: Outcome.SKIPPED}


def test_theme_grew_rewrites_the_section_and_comments_on_significant_change(engine, fake):
    run(engine, fake, night1(), NIGHT1)

    report = run(engine, fake, night2(), NIGHT2)

    assert outcomes(report) == {
        A: Outcome.UPDATED,
        B: Outcome.UNCHANGED,
        C: Outcome.UPDATED,
        D: Outcome.SKIPPED,
        E: Outcome.CREATED,
    }
    issues = by_theme(fake)
    a, c = fake.issue(issues[A]), fake.issue(issues[C])
    assert "80 (60 detractors, 20 passives)" in a.description and "40 (30 detractors" not in a.description
    assert len(a.comments) == 1 and "grew from 40 to 80 respondents" in a.comments[0].body
    assert "{{backlog-bridge:comment=change-" in a.comments[0].body
    assert c.priority == "High" and len(c.comments) == 1 and "Priority moved from P3 to P2" in c.comments[0].body
    assert fake.issue(issues[B]).comments == []
    assert len(fake.issues) == 4


def test_a_new_higher_priority_issue_is_ranked_above_ours_of_lower_priority(engine, fake):
    someone = fake.add_issue("Team's own work")  # ranked by the team: never moved by us
    fake.human_move_to_sprint(someone, "Sprint 12")
    run(engine, fake, night1(), NIGHT1)
    run(engine, fake, night2(), NIGHT2)

    issues = by_theme(fake)
    in_sprint = sorted((i for i in fake.issues.values() if i.sprints), key=lambda i: i.rank)
    assert [i.key for i in in_sprint] == [someone, issues[A], issues[E], issues[B]]
    assert sprint_names(fake, issues[E]) == ["Sprint 12"]
    assert [p for m, p in fake.writes if p.endswith("/issue/rank")] == ["/rest/agile/1.0/issue/rank"]


def test_a_board_that_cannot_rank_answers_207_and_nothing_fails(engine, cloud, caplog):
    cloud.ranking = False
    run(engine, cloud, night1(), NIGHT1)
    caplog.set_level(logging.WARNING, logger="backlog_bridge.sync.jira")

    report = run(engine, cloud, night2(), NIGHT2)

    assert report.complete and outcomes(report)[E] is Outcome.CREATED
    assert sprint_names(cloud, by_theme(cloud)[E]) == ["Sprint 12"]
    assert any(r.message == "jira.rank-refused" for r in caplog.records)


def test_human_edits_outside_what_we_manage_survive(engine, fake):
    run(engine, fake, night1(), NIGHT1)
    key = by_theme(fake)[A]
    issue = fake.issue(key)
    fake.human_edit(
        key,
        summary="Mobile checkout broken (customer escalations)",
        description=f"Triage notes from support.\n\n{issue.description}\n\nSee also the payments runbook.",
        labels=[*issue.labels, "team-payments"],
        components=["Web", "Payments"],
        assignee="alice",
    )
    fake.human_comment(key, "Looking into it")

    run(engine, fake, night2(), NIGHT2)
    run(engine, fake, night3(), NIGHT3)

    issue = fake.issue(key)
    assert issue.summary == "Mobile checkout broken (customer escalations)"
    assert issue.description.startswith("Triage notes from support.\n\n{color:#97a0af}{{backlog-bridge:begin}}")
    assert issue.description.endswith("{{backlog-bridge:end}}{color}\n\nSee also the payments runbook.")
    assert issue.description.count("{{backlog-bridge:begin}}") == 1
    assert "84 (63 detractors" in issue.description
    assert sorted(issue.labels) == ["nps-feedback", f"nps-{A}", "team-payments"]
    assert issue.components == ["Web", "Payments"] and issue.assignee == "alice"
    assert issue.comments[0].body == "Looking into it"


def test_untouched_summary_follows_a_renamed_theme(engine, fake):
    run(engine, fake, night1(), NIGHT1)
    renamed = [plan_item(brief(A, "Mobile checkout freezes", 40, 0.040), Action.UPDATE, "P1")]

    run(engine, fake, renamed, NIGHT2)

    assert fake.issue(by_theme(fake)[A]).summary == "NPS: Mobile checkout freezes"


def test_done_issue_is_fix_shipped_then_a_regression_comments_once(engine, fake):
    run(engine, fake, night1(), NIGHT1)
    key = by_theme(fake)[B]
    fake.human_transition(key, "Done", at=B_CLOSED)
    run(engine, fake, night2()[1:2], NIGHT2)  # B not grown: nothing to say

    report = run(engine, fake, night2()[1:2], B_CLOSED.replace(day=11))
    link = links(engine)[B]
    assert link.state == "closed" and link.closed_at.replace(tzinfo=UTC) == B_CLOSED  # the resolution date
    assert report.results[0].outcome is Outcome.UNCHANGED and "fix shipped on 2026-03-10" in report.results[0].message
    assert fake.issue(key).comments == []

    report = run(engine, fake, night3(), NIGHT3)
    writes = fake.write_count
    again = run(engine, fake, night3(), NIGHT3)

    issue = fake.issue(key)
    assert outcomes(report)[B] is Outcome.UPDATED and "regressed: commented on" in report.results[1].message
    assert issue.status == "Done" and len(issue.comments) == 1
    assert "grown again since the fix shipped on 2026\\-03\\-10" in issue.comments[0].body
    assert outcomes(again)[B] is Outcome.UNCHANGED and fake.write_count == writes
    assert len(fake.issues) == 3 and links(engine)[B].regression_noted_at is not None


def test_regression_can_reopen_through_the_transition_the_workflow_offers(engine, fake):
    run(engine, fake, night1(), NIGHT1)
    key = by_theme(fake)[B]
    fake.human_transition(key, "Done", at=B_CLOSED)

    run(engine, fake, night3(), NIGHT3, regression_action="reopen")

    issue = fake.issue(key)
    assert (issue.status, issue.resolutiondate, len(issue.comments)) == ("To Do", None, 1)
    assert "52 (39 detractors" in issue.description
    assert ("POST", f"/rest/api/2/issue/{key}/transitions") in fake.writes
    assert links(engine)[B].state == "open" and len(fake.issues) == 3


def test_a_workflow_without_a_way_out_of_done_fails_that_theme_clearly(engine, cloud):
    cloud.workflow = [w for w in cloud.workflow if w[1] != "Reopen"]
    run(engine, cloud, night1(), NIGHT1)
    cloud.human_transition(by_theme(cloud)[B], "Done", at=B_CLOSED)

    report = run(engine, cloud, night3(), NIGHT3, regression_action="reopen")

    assert outcomes(report)[B] is Outcome.FAILED and "no transition out of done" in report.results[1].message
    assert outcomes(report)[A] is Outcome.UPDATED


def test_named_reopen_transition_is_used(engine, cloud):
    cloud.workflow.append(("41", "Back to work", ("Done",), "In Progress"))
    run(engine, cloud, night1(), NIGHT1)
    key = by_theme(cloud)[B]
    cloud.human_transition(key, "Done", at=B_CLOSED)

    run(
        engine,
        cloud,
        night3(),
        NIGHT3,
        regression_action="reopen",
        tracker_options={"reopen_transition": "back to WORK"},
    )

    assert cloud.issue(key).status == "In Progress"


def test_database_deleted_between_runs_files_no_duplicate(engine, fake, tmp_path):
    run(engine, fake, night1(), NIGHT1)
    fresh = open_store(f"sqlite:///{tmp_path / 'fresh.db'}")
    as_planned_without_links = [
        replace(i, action=Action.CREATE) if i.action is not Action.SKIP else i for i in night2()
    ]

    report = run(fresh, fake, as_planned_without_links, NIGHT2)

    assert len(fake.issues) == 4
    assert outcomes(report) == {
        A: Outcome.UPDATED,
        B: Outcome.UNCHANGED,
        C: Outcome.UPDATED,
        D: Outcome.SKIPPED,
        E: Outcome.CREATED,
    }
    assert {k: v.issue_key for k, v in links(fresh).items()} == by_theme(fake)
    again = run(fresh, fake, as_planned_without_links, NIGHT2)
    assert set(outcomes(again).values()) == {Outcome.UNCHANGED, Outcome.SKIPPED}
    fresh.dispose()


def test_find_confirms_by_property_and_skips_issues_stamped_for_another_theme(fake):
    t = tracker(fake)
    label = t.stamp_label(A)
    for n in range(3):  # more than a search page: the client must follow the pages
        fake.add_issue(f"copy {n}", labels=[label], properties={PROPERTY_KEY: {"theme_key": B}})
    assert t.find(A) is None
    marker_only = fake.add_issue("marker only", description=f"{{{{backlog-bridge:theme={A}}}}}", labels=[label])
    ours = fake.add_issue("ours", labels=[label], properties={PROPERTY_KEY: {"theme_key": A}})
    found = t.find(A)
    assert found is not None and found.ref.key == marker_only and found.theme_key == A
    fake.human_delete(marker_only)
    assert t.find(A).ref.key == ours


def test_kill_between_intent_and_confirmation_is_resolved_by_finding(engine, fake):
    class KilledAfterCreate(JiraTracker):
        def create(self, draft):
            super().create(draft)
            raise KeyboardInterrupt  # the process dies before the link is confirmed

    killed = KilledAfterCreate(
        fake.url, fake.project, SecretStr(fake.token), email=fake.email if fake.deployment == "Cloud" else None
    )
    with pytest.raises(KeyboardInterrupt):
        sync_plan(engine, night1(), killed, now=NIGHT1)
    assert links(engine)[A].state == "creating" and len(fake.issues) == 1

    report = run(engine, fake, night1(), NIGHT1)

    assert len(fake.issues) == 3 and set(by_theme(fake)) == {A, B, C}
    assert outcomes(report)[A] is Outcome.UNCHANGED  # found, already what the plan says
    assert links(engine)[A].state == "open"


def test_dry_run_writes_nothing_anywhere(engine, fake):
    report = run(engine, fake, night1(), NIGHT1, dry_run=True)

    assert fake.write_count == 0 and links(engine) == {}
    assert outcomes(report)[A] is Outcome.CREATED and report.results[0].message.startswith("would create in Sprint 12")


def test_terminal_errors_are_reported_and_other_themes_go_on(engine, fake):
    items = night1()
    items[0] = replace(items[0], target=replace(items[0].target, component="No such component"))

    report = run(engine, fake, items, NIGHT1)

    assert outcomes(report) == {A: Outcome.FAILED, B: Outcome.CREATED, C: Outcome.CREATED, D: Outcome.SKIPPED}
    assert "HTTP 400" in report.results[0].message and "No such component" in report.results[0].message
    assert links(engine)[A].state == "failed" and "400" in links(engine)[A].last_error
    assert set(by_theme(fake)) == {B, C}

    fake.human_delete(by_theme(fake)[B])
    report = run(engine, fake, night1(), NIGHT1)
    assert outcomes(report)[B] is Outcome.FAILED and "HTTP 404" in report.results[1].message
    assert outcomes(report)[A] is Outcome.CREATED  # the person fixed the component: filed now


def test_a_required_custom_field_comes_from_the_field_mapping(engine, fake):
    fake.required_on_create = {TEAM_FIELD: "Team"}

    report = run(engine, fake, night1(), NIGHT1)
    assert [r.outcome for r in report.results[:3]] == [Outcome.FAILED] * 3
    assert "Team is required" in report.results[0].message and fake.issues == {}

    report = run(engine, fake, night1(), NIGHT1, tracker_options={"fields": {"Team": {"value": "Growth"}}})
    assert report.complete and len(fake.issues) == 3
    assert all(i.custom == {TEAM_FIELD: {"value": "Growth"}} for i in fake.issues.values())

    with pytest.raises(TrackerRejectedError, match="no field id or name"):
        tracker(fake, fields={"Tema": "typo"}).create(IssueDraft(E, "t", "b", None))


def test_items_routed_to_another_project_or_tracker_are_left_alone(engine, fake):
    items = night1()
    items[0] = replace(items[0], target=replace(items[0].target, project="OTHER"))
    github_brief = replace(items[1].brief, theme_key="theme-gggggggggg")
    items.append(replace(items[1], brief=github_brief, target=Target("github", "acme/app")))

    report = run(engine, fake, items, NIGHT1)

    assert outcomes(report) == {A: Outcome.SKIPPED, B: Outcome.CREATED, C: Outcome.CREATED, D: Outcome.SKIPPED}
    assert "routed to jira OTHER" in report.results[0].message


def test_bad_token_fails_every_theme_clearly_without_leaking_it(engine, fake, caplog):
    caplog.set_level(logging.DEBUG)  # the jira client, requests and urllib3 log at DEBUG
    bad = JiraTracker(
        fake.url,
        fake.project,
        SecretStr("ATATT3x_wrong_secret_value"),
        email=fake.email if fake.deployment == "Cloud" else None,
    )

    report = sync_plan(engine, night1(), bad, now=NIGHT1)

    assert [r.outcome for r in report.results] == [Outcome.FAILED] * 3 + [Outcome.SKIPPED]
    assert "HTTP 401" in report.results[0].message and "token" in report.results[0].message
    assert all("wrong_secret" not in r.message for r in report.results) and "wrong_secret" not in repr(bad)
    assert "wrong_secret" not in caplog.text and "ATATT3x" not in caplog.text
    assert all("wrong_secret" not in (link.last_error or "") for link in links(engine).values())
    assert fake.issues == {}


@pytest.mark.parametrize(("kind", "expected_sleep"), [("429", 7.0), ("500", 2.0)])
def test_transient_failures_back_off_honouring_retry_after(engine, cloud, kind, expected_sleep):
    cloud.fail_write(1, kind)
    sleeps = Sleeps()

    report = run(engine, cloud, night1(), NIGHT1, sleep=sleeps)

    assert report.complete and sleeps[0] == expected_sleep and len(cloud.issues) == 3


def test_a_too_long_retry_after_leaves_the_theme_pending_for_the_next_run(engine, cloud):
    cloud.fail_write(1, "429", retry_after=3600)

    report = run(engine, cloud, night1(), NIGHT1)

    assert outcomes(report)[A] is Outcome.PENDING and "rate limited" in report.results[0].message
    assert outcomes(run(engine, cloud, night1(), NIGHT1))[A] is Outcome.CREATED
    assert len(cloud.issues) == 3


def test_the_jira_client_never_resends_a_create(engine, cloud):
    """The adapter's own client (max_retries=0): a create answered by a dropped connection is sent once."""
    cloud.fail_write(1, "drop")

    report = run(engine, cloud, night1(), NIGHT1)

    assert [p for m, p in cloud.writes if m == "POST" and p == "/rest/api/2/issue"] == ["/rest/api/2/issue"] * 3
    assert report.complete and len(cloud.issues) == 3 and set(by_theme(cloud)) == {A, B, C}
    assert sprint_names(cloud, by_theme(cloud)[A]) == ["Sprint 12"]  # placed after the create was found


# --- sprints ----------------------------------------------------------------------------------


def test_upcoming_sprint_per_setting(cloud):
    assert tracker(cloud).upcoming_sprint(date(2026, 3, 2)) == "Sprint 12"
    assert tracker(cloud, sprint="active").upcoming_sprint(date(2026, 3, 2)) == "Sprint 11"
    assert tracker(cloud, sprint="none").upcoming_sprint(date(2026, 3, 2)) is None
    with pytest.raises(TrackerRejectedError, match="board 99: HTTP 404"):
        tracker(cloud, board=99).upcoming_sprint(date(2026, 3, 2))  # a configured board that is gone: say so
    cloud.boards[1]["type"] = "kanban"
    assert tracker(cloud).upcoming_sprint(date(2026, 3, 2)) is None  # no scrum board: backlog


def test_sprint_closed_between_runs(engine, fake):
    run(engine, fake, night1(), NIGHT1)
    a = by_theme(fake)[A]
    fake.human_complete_sprint("Sprint 11")
    fake.sprint_named("Sprint 12").state = "active"
    fake.human_complete_sprint("Sprint 12")  # A not done: back to the backlog, by the person closing it
    grown = [plan_item(brief(A, "Checkout fails on mobile", 80, 0.075), Action.UPDATE, "P1", in_sprint=True)]

    report = run(engine, fake, [*grown, night2()[4]], NIGHT2)

    assert report.complete
    assert sprint_names(fake, a) == ["Sprint 12"]  # left where the person closing the sprint put it
    assert sprint_names(fake, by_theme(fake)[E]) == ["Sprint 13"]  # new issues go to the next open sprint


def test_an_issue_a_human_moved_to_another_sprint_is_never_moved_back(engine, fake):
    run(engine, fake, night1(), NIGHT1)
    a = by_theme(fake)[A]
    fake.human_move_to_sprint(a, "Sprint 11")
    grown = [plan_item(brief(A, "Checkout fails on mobile", 80, 0.075), Action.UPDATE, "P1", in_sprint=True)]

    run(engine, fake, grown, NIGHT2)

    assert sprint_names(fake, a) == ["Sprint 11"]
    assert not any(p.startswith("/rest/agile/1.0/sprint/") for m, p in fake.writes[-3:])


def test_an_issue_in_the_backlog_is_placed_when_the_plan_puts_it_in_budget(engine, cloud):
    run(engine, cloud, night1(), NIGHT1)
    c = by_theme(cloud)[C]
    in_budget = [
        plan_item(brief(C, "Confusing invoices", 14, 0.013), Action.UPDATE, "P2", in_sprint=True, component="Billing")
    ]

    run(engine, cloud, in_budget, NIGHT2)

    assert sprint_names(cloud, c) == ["Sprint 12"]


# --- settings and registry --------------------------------------------------------------------


def test_settings_credentials_come_from_the_environment_only():
    cloud = JiraSettings(url="https://acme.atlassian.net", project="FB", deployment="cloud")
    env = {JIRA_TOKEN_ENV: "t0k", JIRA_EMAIL_ENV: "bot@acme.example"}
    assert cloud.token(env).get_secret_value() == "t0k" and "t0k" not in repr(cloud.token(env))
    assert cloud.email(env) == "bot@acme.example"
    with pytest.raises(ConfigError, match=JIRA_TOKEN_ENV):
        cloud.token({})
    with pytest.raises(ConfigError, match=JIRA_EMAIL_ENV):
        cloud.email({JIRA_TOKEN_ENV: "t0k"})
    dc = JiraSettings(url="https://jira.acme.com/jira", project="FB", deployment="datacenter")
    assert dc.email(env) is None  # a personal access token, never basic auth
    with pytest.raises(ValueError):
        JiraSettings(url="https://acme.atlassian.net", project="FB", token="x")  # not a settings key
    with pytest.raises(ValueError):
        JiraSettings(url="https://acme.atlassian.net", project="fb")  # not a project key


def test_registry_builds_the_jira_adapter_from_settings(fake, monkeypatch):
    monkeypatch.setenv(JIRA_TOKEN_ENV, fake.token)
    if fake.deployment == "Cloud":
        monkeypatch.setenv(JIRA_EMAIL_ENV, fake.email)
    section = JiraSettings(url=fake.url, project=fake.project, sprint="active", fields={"Team": {"value": "Web"}})
    built: Tracker = build_tracker("jira", section)
    assert built.name == "jira" and built.find(A) is None
    assert built.upcoming_sprint(date(2026, 3, 2)) == "Sprint 11"
    with pytest.raises(ConfigError, match=r"\[jira\]"):
        build_tracker("jira", None)


# --- the fault matrix: every write of three nights, every kind of failure -------------------------


def three_nights(engine: Engine, fake: FakeJira, attempts: int = 3) -> list[SyncReport]:
    """Night 1, night 2, a human closes B, night 3; a night left incomplete is run again (the next run)."""
    reports = []
    for now, items in ((NIGHT1, night1()), (NIGHT2, night2()), (NIGHT3, night3())):
        if now is NIGHT3:
            fake.human_transition(by_theme(fake)[B], "Done", at=B_CLOSED)
        report = run(engine, fake, items, now, retry=RetryPolicy(attempts=attempts))
        reports.append(report)
        if not report.complete:
            reports.append(run(engine, fake, items, now, retry=RetryPolicy(attempts=attempts)))
    return reports


@pytest.fixture(scope="module")
def template_store(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("store") / "template.db"
    open_store(f"sqlite:///{path}").dispose()
    return path


@pytest.fixture(scope="module")
def baseline(template_store, tmp_path_factory):
    db = tmp_path_factory.mktemp("baseline") / "store.db"
    shutil.copy(template_store, db)
    engine = open_store(f"sqlite:///{db}")
    with FakeJira() as server:
        sprints(server)
        reports = three_nights(engine, server)
        assert all(r.complete for r in reports) and len(reports) == 3
        yield server.snapshot(), list(server.writes)
    engine.dispose()


WRITES_IN_THREE_NIGHTS = 14
"""Night 1: 3 creates + 2 sprint adds. Night 2: 2 comments + 2 edits, E: create + rank + sprint add.
Night 3: 1 edit (A), B: 1 comment."""


def test_three_nights_without_faults(baseline):
    snapshot, writes = baseline
    assert len(writes) == WRITES_IN_THREE_NIGHTS, writes
    assert len(snapshot["issues"]) == 4
    assert [len(i["comments"]) for i in snapshot["issues"]] == [1, 1, 0, 1]  # A grew, C moved, B regressed


@pytest.mark.parametrize("at", range(1, WRITES_IN_THREE_NIGHTS + 1))
@pytest.mark.parametrize(
    ("kind", "attempts"),
    # attempts=1: no retry within the run, so the write-ahead link is what the next run recovers from.
    [("drop", 3), ("drop", 1), ("500", 3), ("429", 3), pytest.param("timeout", 3, marks=pytest.mark.slow)],
)
def test_a_fault_at_any_write_ends_in_the_fault_free_state(template_store, tmp_path, baseline, kind, attempts, at):
    db = tmp_path / "store.db"
    shutil.copy(template_store, db)  # already migrated: a copy is faster than migrating 75 stores
    engine = make_engine(f"sqlite:///{db}")
    with FakeJira() as server:
        sprints(server)
        server.fail_write(at, kind)

        reports = three_nights(engine, server, attempts)

        assert [f.at for f in server.fired] == [at]
        assert reports[-1].complete
        assert server.snapshot() == baseline[0]
        assert len(server.issues) == 4
    engine.dispose()


def test_an_unreachable_jira_costs_one_themes_backoff_not_one_per_theme(engine, cloud):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    sleeps = Sleeps()
    unreachable = JiraTracker(closed, cloud.project, SecretStr(cloud.token), email=cloud.email, timeout=1.0)

    report = sync_plan(engine, night1(), unreachable, now=NIGHT1, retry=RetryPolicy(attempts=3), sleep=sleeps)

    routed = [r for r in report.results if r.outcome is not Outcome.SKIPPED]
    assert routed and all(r.outcome is Outcome.PENDING for r in routed)
    assert report.unreachable is not None and sleeps == [2.0, 4.0]
