"""What only Jira does: wiki markup that must stay inert, its two search endpoints, entity properties,
ranking, workflows, required fields, components and the sprint lifecycle.

Every scenario Jira shares with GitHub is in test_tracker_contract.py (against Cloud and Data Center).
"""

from __future__ import annotations

import logging
from datetime import UTC, date

import pytest
from fakes.jira import TEAM_FIELD

from backlog_bridge.errors import ConfigError
from backlog_bridge.plan.model import Action
from backlog_bridge.settings import JIRA_EMAIL_ENV, JIRA_TOKEN_ENV, JiraSettings
from backlog_bridge.sync import Outcome, Tracker, build_tracker
from backlog_bridge.sync.jira import PROPERTY_KEY
from backlog_bridge.sync.jira_markup import ZWJ
from backlog_bridge.sync.tracker import IssueDraft, TrackerRejectedError
from sync.trackers import (
    B_CLOSED,
    NIGHT1,
    NIGHT2,
    NIGHT3,
    A,
    B,
    C,
    D,
    E,
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


@pytest.fixture(params=["jira-cloud", "jira-datacenter"])
def jira(request):
    with open_harness(request.param) as harness:
        yield harness


@pytest.fixture
def cloud():
    with open_harness("jira-cloud") as harness:
        yield harness


def test_customer_text_is_inert_wiki_markup_and_the_issue_carries_its_property(engine, jira):
    run(engine, jira, night1(jira), NIGHT1)

    issues = jira.by_theme()
    a = jira.fake.issue(issues[A])
    assert (a.priority, a.components, a.properties) == ("Highest", ["Web"], {PROPERTY_KEY: {"theme_key": A}})
    assert jira.fake.issue(issues[C]).components == ["Billing"]
    assert a.description.startswith("{color:#97a0af}{{backlog-bridge:begin}}")
    assert f"{{{{backlog-bridge:theme={A}}}}}" in a.description
    # Customer text is inert: no mention, macro, link or image survives as markup.
    assert "[~accountid" not in a.description and "\\[\\~accountid:5b10ac8d82e05b22cc7d4ef5\\]" in a.description
    assert "{html}" not in a.description and "\\{html\\}" in a.description
    assert "https://evil" not in a.description and f"https{ZWJ}://evil" in a.description
    assert "\\!https" in a.description and " !https" not in a.description
    assert "\\[click\\|https" in a.description and " [click|" not in a.description
    assert "[Theme report|https://reports.example.com/" in a.description  # our own link stays a link
    assert links(engine)[A].url.endswith(f"/browse/{issues[A]}")


def test_each_deployment_uses_the_search_endpoint_and_sign_in_it_has(engine, jira):
    run(engine, jira, night1(jira), NIGHT1)
    assert jira.tracker().find(A) is not None
    searched = {path for method, path in jira.fake.requests if "/search" in path}
    if jira.cloud:
        assert searched == {"/rest/api/2/search/jql"}  # /rest/api/2/search answers 410 on Cloud
    else:
        assert searched == {"/rest/api/2/search"}
    assert all(h.startswith("Basic " if jira.cloud else "Bearer ") for h in jira.fake.auth_headers)


def test_find_prefers_the_property_and_falls_back_to_the_marker(jira):
    tracker = jira.tracker()
    label = jira.stamp_label(A)
    for n in range(3):
        jira.fake.add_issue(f"copy {n}", labels=[label], properties={PROPERTY_KEY: {"theme_key": B}})
    assert tracker.find(A) is None
    marker_only = jira.add_issue("marker only", body=jira.marker(A), labels=[label])
    ours = jira.fake.add_issue("ours", labels=[label], properties={PROPERTY_KEY: {"theme_key": A}})
    found = tracker.find(A)
    assert found is not None and found.ref.key == marker_only and found.theme_key == A
    jira.human_delete(marker_only)
    assert tracker.find(A).ref.key == ours


# --- rank ---------------------------------------------------------------------------------------


def test_a_new_higher_priority_issue_is_ranked_above_ours_of_lower_priority(engine, jira):
    someone = jira.add_issue("Team's own work")  # ranked by the team: never moved by us
    jira.human_move_to_sprint(someone, "Sprint 12")
    run(engine, jira, night1(jira), NIGHT1)
    run(engine, jira, night2(jira), NIGHT2)

    issues = jira.by_theme()
    in_sprint = sorted((i for i in jira.fake.issues.values() if i.sprints), key=lambda i: i.rank)
    assert [i.key for i in in_sprint] == [someone, issues[A], issues[E], issues[B]]
    assert jira.sprint_names(issues[E]) == ["Sprint 12"]
    assert [p for m, p in jira.fake.writes if p.endswith("/issue/rank")] == ["/rest/agile/1.0/issue/rank"]


def test_a_board_that_cannot_rank_answers_207_and_nothing_fails(engine, cloud, caplog):
    cloud.fake.ranking = False
    run(engine, cloud, night1(cloud), NIGHT1)
    caplog.set_level(logging.WARNING, logger="backlog_bridge.sync.jira")

    report = run(engine, cloud, night2(cloud), NIGHT2)

    assert report.complete and outcomes(report)[E] is Outcome.CREATED
    assert cloud.sprint_names(cloud.by_theme()[E]) == ["Sprint 12"]
    assert any(r.message == "jira.rank-refused" for r in caplog.records)


# --- workflow -----------------------------------------------------------------------------------


def test_reopen_goes_through_the_transition_the_workflow_offers(engine, jira):
    run(engine, jira, night1(jira), NIGHT1)
    key = jira.by_theme()[B]
    jira.human_close(key, at=B_CLOSED)

    run(engine, jira, night3(jira), NIGHT3, regression_action="reopen")

    assert (jira.fake.issue(key).status, jira.fake.issue(key).resolutiondate) == ("To Do", None)
    assert ("POST", f"/rest/api/2/issue/{key}/transitions") in jira.fake.writes


def test_a_workflow_without_a_way_out_of_done_fails_that_theme_clearly(engine, cloud):
    cloud.fake.workflow = [w for w in cloud.fake.workflow if w[1] != "Reopen"]
    run(engine, cloud, night1(cloud), NIGHT1)
    cloud.human_close(cloud.by_theme()[B], at=B_CLOSED)

    report = run(engine, cloud, night3(cloud), NIGHT3, regression_action="reopen")

    assert outcomes(report)[B] is Outcome.FAILED and "no transition out of done" in message(report, B)
    assert outcomes(report)[A] is Outcome.UPDATED


def test_named_reopen_transition_is_used(engine, cloud):
    cloud.fake.workflow.append(("41", "Back to work", ("Done",), "In Progress"))
    run(engine, cloud, night1(cloud), NIGHT1)
    key = cloud.by_theme()[B]
    cloud.human_close(key, at=B_CLOSED)

    run(
        engine,
        cloud,
        night3(cloud),
        NIGHT3,
        regression_action="reopen",
        tracker_options={"reopen_transition": "back to WORK"},
    )

    assert cloud.fake.issue(key).status == "In Progress"


# --- fields -------------------------------------------------------------------------------------


def test_a_component_the_project_lacks_fails_that_theme_only(engine, jira):
    items = night1(jira)
    items[0] = plan_item(jira, items[0].brief, Action.CREATE, "P1", component="No such component")

    report = run(engine, jira, items, NIGHT1)

    assert outcomes(report) == {A: Outcome.FAILED, B: Outcome.CREATED, C: Outcome.CREATED, D: Outcome.SKIPPED}
    assert "HTTP 400" in message(report, A) and "No such component" in message(report, A)


def test_a_required_custom_field_comes_from_the_field_mapping(engine, jira):
    jira.fake.required_on_create = {TEAM_FIELD: "Team"}

    report = run(engine, jira, night1(jira), NIGHT1)
    assert [r.outcome for r in report.results[:3]] == [Outcome.FAILED] * 3
    assert "Team is required" in report.results[0].message and jira.fake.issues == {}

    report = run(engine, jira, night1(jira), NIGHT1, tracker_options={"fields": {"Team": {"value": "Growth"}}})
    assert report.complete and len(jira.fake.issues) == 3
    assert all(i.custom == {TEAM_FIELD: {"value": "Growth"}} for i in jira.fake.issues.values())

    with pytest.raises(TrackerRejectedError, match="no field id or name"):
        jira.tracker(fields={"Tema": "typo"}).create(IssueDraft(E, "t", "b", None))


# --- sprints ------------------------------------------------------------------------------------


def test_upcoming_sprint_per_setting(cloud):
    assert cloud.tracker().upcoming_sprint(date(2026, 3, 2)) == "Sprint 12"
    assert cloud.tracker(sprint="active").upcoming_sprint(date(2026, 3, 2)) == "Sprint 11"
    assert cloud.tracker(sprint="none").upcoming_sprint(date(2026, 3, 2)) is None
    with pytest.raises(TrackerRejectedError, match="board 99: HTTP 404"):
        cloud.tracker(board=99).upcoming_sprint(date(2026, 3, 2))  # a configured board that is gone: say so
    cloud.fake.boards[1]["type"] = "kanban"
    assert cloud.tracker().upcoming_sprint(date(2026, 3, 2)) is None  # no scrum board: backlog


def test_sprint_closed_between_runs(engine, jira):
    run(engine, jira, night1(jira), NIGHT1)
    a = jira.by_theme()[A]
    jira.fake.human_complete_sprint("Sprint 11")
    jira.fake.sprint_named("Sprint 12").state = "active"
    jira.fake.human_complete_sprint("Sprint 12")  # A not done: back to the backlog, by the person closing it
    grown = [plan_item(jira, brief(A, "Checkout fails on mobile", 80, 0.075), Action.UPDATE, "P1", in_sprint=True)]

    report = run(engine, jira, [*grown, night2(jira)[4]], NIGHT2)

    assert report.complete
    assert jira.sprint_names(a) == ["Sprint 12"]  # left where the person closing the sprint put it
    assert jira.sprint_names(jira.by_theme()[E]) == ["Sprint 13"]  # new issues go to the next open sprint


# --- settings -----------------------------------------------------------------------------------


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


def test_sprint_and_field_settings_reach_the_adapter(jira, monkeypatch):
    section, env = jira.settings()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    section = section.model_copy(update={"sprint": "active", "fields": {"Team": {"value": "Web"}}})

    built: Tracker = build_tracker("jira", section)

    assert built.upcoming_sprint(date(2026, 3, 2)) == "Sprint 11"
    ref = built.create(IssueDraft(E, "t", "b", None))
    assert jira.fake.issue(ref.key).custom == {TEAM_FIELD: {"value": "Web"}}


def test_a_workflow_without_resolutions_dates_the_fix_by_the_status_category_change(engine, jira):
    """Many Cloud workflows never set a resolution, so `resolutiondate` stays null; the fix date is when
    the status category became done, not the night the run noticed it."""
    run(engine, jira, night1(jira), NIGHT1)
    key = jira.by_theme()[B]
    jira.fake.human_transition(key, "Done", at=B_CLOSED, resolution=None)

    report = run(engine, jira, night2(jira)[1:2], NIGHT2)

    link = links(engine)[B]
    assert (link.state, link.closure) == ("closed", "fixed")
    assert link.closed_at is not None and link.closed_at.replace(tzinfo=UTC) == B_CLOSED != NIGHT2
    assert "fix shipped on 2026-03-10" in message(report, B)
