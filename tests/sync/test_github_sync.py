"""The sync engine with the real PyGithub client against an in-process GitHub (assertions on its state)."""

from __future__ import annotations

import hashlib
import logging
import shutil
import socket
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fakes.github import FakeGitHub
from pydantic import SecretStr
from sqlalchemy import Engine
from sqlmodel import Session, select

from backlog_bridge.errors import ConfigError
from backlog_bridge.plan.model import Action, PlanItem, SegmentShare, Target, ThemeBrief
from backlog_bridge.settings import GitHubSettings
from backlog_bridge.store.db import make_engine, open_store
from backlog_bridge.store.tables import TrackerLink
from backlog_bridge.sync import Outcome, RetryPolicy, SyncReport, Tracker, build_tracker, sync_plan
from backlog_bridge.sync.github import GitHubTracker
from backlog_bridge.sync.render import ZWJ
from backlog_bridge.sync.tracker import IssueDraft

A, B, C, D = "theme-aaaaaaaaaa", "theme-bbbbbbbbbb", "theme-cccccccccc", "theme-dddddddddd"
NIGHT1 = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
NIGHT2 = datetime(2026, 3, 9, 3, 0, tzinfo=UTC)
NIGHT3 = datetime(2026, 3, 16, 3, 0, tzinfo=UTC)
B_CLOSED = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


# --- plan values, built by hand -----------------------------------------------------------------


def brief(key: str, label: str, respondents: int, share: float, quotes=None) -> ThemeBrief:
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
        quotes=quotes or (f"{label} @support see #12", "it broke <b>again</b>", "![x](https://evil.example/x.png)"),
        report_url=f"https://reports.example.com/{key}",
    )


def plan_item(
    b: ThemeBrief,
    action: Action,
    priority: str | None,
    *,
    in_sprint=False,
    labels=("nps-feedback",),
    assignee=None,
    reason="test",
) -> PlanItem:
    digest = hashlib.sha256(repr((b, priority, labels, assignee)).encode()).hexdigest()
    return PlanItem(
        brief=b,
        action=action,
        reason=reason,
        score=1.0,
        priority=priority,
        tracker_priority=f"priority: {priority}" if priority else None,
        target=Target("github", "acme/app", labels=labels, assignee=assignee),
        content_hash=digest,
        in_sprint=in_sprint,
    )


def night1() -> list[PlanItem]:
    return [
        plan_item(brief(A, "Checkout fails on mobile", 40, 0.040), Action.CREATE, "P1", in_sprint=True),
        plan_item(brief(B, "Slow dashboard", 24, 0.024), Action.CREATE, "P2", in_sprint=True),
        plan_item(brief(C, "Confusing invoices", 12, 0.012), Action.CREATE, "P3"),
        plan_item(brief(D, "Dark mode", 9, 0.009), Action.SKIP, None, reason="over the sprint budget"),
    ]


def night2() -> list[PlanItem]:
    """A grew a lot (comment), B unchanged, C moved to P2 (comment)."""
    one = night1()
    return [
        plan_item(brief(A, "Checkout fails on mobile", 80, 0.075), Action.UPDATE, "P1"),
        replace(one[1], action=Action.LEAVE),
        plan_item(brief(C, "Confusing invoices", 14, 0.013), Action.UPDATE, "P2"),
        one[3],
    ]


def night3() -> list[PlanItem]:
    """A changed a little (no comment), B (closed by a human) regressed, C unchanged."""
    two = night2()
    return [
        plan_item(brief(A, "Checkout fails on mobile", 84, 0.078), Action.UPDATE, "P1"),
        plan_item(brief(B, "Slow dashboard", 52, 0.05), Action.UPDATE, "P2", reason="regressed"),
        replace(two[2], action=Action.LEAVE),
        two[3],
    ]


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture
def fake():
    with FakeGitHub(prefix="/api/v3") as server:  # GHES layout: the API under /api/v3
        server.add_milestone("Sprint 10", datetime(2026, 2, 27, tzinfo=UTC))
        server.add_milestone("Sprint 12", datetime(2026, 3, 27, tzinfo=UTC))
        server.add_milestone("Sprint 11", datetime(2026, 3, 13, tzinfo=UTC))
        server.add_milestone("Someday", None)
        yield server


def tracker(fake: FakeGitHub, **kwargs) -> GitHubTracker:
    """A fresh client, as a new nightly process would have (per_page=2: every listing paginates)."""
    options = dict(base_url=fake.url, seconds_between_requests=None, seconds_between_writes=None, timeout=1, per_page=2)
    options.update(kwargs)
    return GitHubTracker(fake.repo, SecretStr(fake.token), **options)


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def run(engine: Engine, fake: FakeGitHub, items, now, **kwargs) -> SyncReport:
    kwargs.setdefault("sleep", Sleeps())
    return sync_plan(engine, items, tracker(fake), now=now, **kwargs)


def by_theme(fake: FakeGitHub) -> dict[str, int]:
    found: dict[str, int] = {}
    for number, issue in fake.issues.items():
        for label in issue.labels:
            if label.startswith("nps:theme-"):
                key = "theme-" + label.removeprefix("nps:theme-")
                assert key not in found, f"duplicate issue for {key}"
                found[key] = number
    return found


def links(engine: Engine) -> dict[str, TrackerLink]:
    with Session(engine) as session:
        return {link.theme_key: link for link in session.exec(select(TrackerLink))}


def outcomes(report: SyncReport) -> dict[str, Outcome]:
    return {r.theme_key: r.outcome for r in report.results}


# --- scenarios --------------------------------------------------------------------------------


def test_first_sync_files_one_issue_per_theme(engine, fake):
    report = run(engine, fake, night1(), NIGHT1)

    assert outcomes(report) == {A: Outcome.CREATED, B: Outcome.CREATED, C: Outcome.CREATED, D: Outcome.SKIPPED}
    issues = by_theme(fake)
    assert set(issues) == {A, B, C}
    a = fake.issues[issues[A]]
    assert a.title == "NPS: Checkout fails on mobile"
    assert sorted(a.labels) == ["nps-feedback", "nps:priority: P1", f"nps:{A}"]
    assert fake.milestones[a.milestone].title == "Sprint 11"  # the open milestone due next
    assert fake.issues[issues[C]].milestone is None  # not in the sprint budget
    assert a.body.startswith("<!-- backlog_bridge:begin -->") and f"backlog_bridge:theme={A}" in a.body
    assert "@support" not in a.body and "@" + ZWJ + "support" in a.body
    assert "<b>" not in a.body and "![x]" not in a.body
    stored = links(engine)
    assert {k: (v.state, v.issue_key) for k, v in stored.items()} == {
        A: ("open", f"acme/app#{issues[A]}"),
        B: ("open", f"acme/app#{issues[B]}"),
        C: ("open", f"acme/app#{issues[C]}"),
    }
    assert stored[A].sprint == "Sprint 11" and stored[A].title_written == a.title


def test_resync_without_change_makes_no_write_calls(engine, fake):
    run(engine, fake, night1(), NIGHT1)
    writes = fake.write_count

    report = run(engine, fake, night1(), NIGHT1)

    assert fake.write_count == writes
    assert outcomes(report) == {A: Outcome.UNCHANGED, B: Outcome.UNCHANGED, C: Outcome.UNCHANGED, D: Outcome.SKIPPED}


def test_theme_grew_rewrites_the_section_and_comments_on_significant_change(engine, fake):
    run(engine, fake, night1(), NIGHT1)

    report = run(engine, fake, night2(), NIGHT2)

    assert outcomes(report) == {A: Outcome.UPDATED, B: Outcome.UNCHANGED, C: Outcome.UPDATED, D: Outcome.SKIPPED}
    issues = by_theme(fake)
    a, c = fake.issues[issues[A]], fake.issues[issues[C]]
    assert "80 (60 detractors, 20 passives)" in a.body and "40 (30 detractors" not in a.body
    assert len(a.comments) == 1 and "grew from 40 to 80 respondents" in a.comments[0].body
    assert sorted(c.labels) == ["nps-feedback", "nps:priority: P2", f"nps:{C}"]
    assert len(c.comments) == 1 and "Priority moved from P3 to P2" in c.comments[0].body
    assert fake.issues[issues[B]].comments == []
    assert len(fake.issues) == 3


def test_human_edits_outside_what_we_manage_survive(engine, fake):
    run(engine, fake, night1(), NIGHT1)
    number = by_theme(fake)[A]
    issue = fake.issues[number]
    fake.human_edit(
        number,
        title="Mobile checkout broken (customer escalations)",
        body=f"Triage notes from support.\n\n{issue.body}\n\nSee also the payments runbook.",
        labels=[*issue.labels, "team:payments"],
        assignees=["alice"],
    )
    fake.human_comment(number, "Looking into it")

    run(engine, fake, night2(), NIGHT2)
    run(engine, fake, night3(), NIGHT3)

    issue = fake.issues[number]
    assert issue.title == "Mobile checkout broken (customer escalations)"
    assert issue.body.startswith("Triage notes from support.\n\n<!-- backlog_bridge:begin -->")
    assert issue.body.endswith("<!-- backlog_bridge:end -->\n\nSee also the payments runbook.")
    assert "84 (63 detractors" in issue.body
    assert "team:payments" in issue.labels and "nps-feedback" in issue.labels
    assert issue.assignees == ["alice"]
    assert issue.comments[0].body == "Looking into it"


def test_untouched_title_follows_a_renamed_theme(engine, fake):
    run(engine, fake, night1(), NIGHT1)
    renamed = [plan_item(brief(A, "Mobile checkout freezes", 40, 0.040), Action.UPDATE, "P1")]

    run(engine, fake, renamed, NIGHT2)

    assert fake.issues[by_theme(fake)[A]].title == "NPS: Mobile checkout freezes"


def test_closed_issue_is_fix_shipped_then_a_regression_comments_once(engine, fake):
    run(engine, fake, night1(), NIGHT1)
    number = by_theme(fake)[B]
    fake.human_close(number, at=B_CLOSED)
    run(engine, fake, night2()[1:2], NIGHT2)  # B not grown: nothing to say

    report = run(engine, fake, night2()[1:2], B_CLOSED.replace(day=11))
    link = links(engine)[B]
    assert link.state == "closed" and link.closed_at.replace(tzinfo=UTC) == B_CLOSED
    assert report.results[0].outcome is Outcome.UNCHANGED and "fix shipped on 2026-03-10" in report.results[0].message
    assert fake.issues[number].comments == []

    report = run(engine, fake, night3(), NIGHT3)
    writes = fake.write_count
    again = run(engine, fake, night3(), NIGHT3)

    issue = fake.issues[number]
    assert outcomes(report)[B] is Outcome.UPDATED and "regressed: commented on" in report.results[1].message
    assert issue.state == "closed" and len(issue.comments) == 1
    assert "grown again since the fix shipped on 2026\\-03\\-10" in issue.comments[0].body
    assert outcomes(again)[B] is Outcome.UNCHANGED and fake.write_count == writes
    assert len(fake.issues) == 3 and links(engine)[B].regression_noted_at is not None


def test_regression_can_reopen_instead(engine, fake):
    run(engine, fake, night1(), NIGHT1)
    number = by_theme(fake)[B]
    fake.human_close(number, at=B_CLOSED)

    run(engine, fake, night3(), NIGHT3, regression_action="reopen")

    issue = fake.issues[number]
    assert (issue.state, issue.state_reason, len(issue.comments)) == ("open", "reopened", 1)
    assert "52 (39 detractors" in issue.body
    assert links(engine)[B].state == "open" and len(fake.issues) == 3


def test_database_deleted_between_runs_files_no_duplicate(engine, fake, tmp_path):
    run(engine, fake, night1(), NIGHT1)
    fresh = open_store(f"sqlite:///{tmp_path / 'fresh.db'}")
    as_planned_without_links = [
        replace(i, action=Action.CREATE) if i.action is not Action.SKIP else i for i in night2()
    ]

    report = run(fresh, fake, as_planned_without_links, NIGHT2)

    assert len(fake.issues) == 3
    assert outcomes(report) == {A: Outcome.UPDATED, B: Outcome.UNCHANGED, C: Outcome.UPDATED, D: Outcome.SKIPPED}
    assert {k: v.issue_key for k, v in links(fresh).items()} == {k: f"acme/app#{n}" for k, n in by_theme(fake).items()}
    again = run(fresh, fake, as_planned_without_links, NIGHT2)
    assert set(outcomes(again).values()) == {Outcome.UNCHANGED, Outcome.SKIPPED}
    fresh.dispose()


def test_kill_between_intent_and_confirmation_is_resolved_by_finding(engine, fake):
    class KilledAfterCreate(GitHubTracker):
        def create(self, draft):
            super().create(draft)
            raise KeyboardInterrupt  # the process dies before the link is confirmed

    killed = KilledAfterCreate(
        fake.repo,
        SecretStr(fake.token),
        base_url=fake.url,
        seconds_between_requests=None,
        seconds_between_writes=None,
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
    assert outcomes(report)[A] is Outcome.CREATED and report.results[0].message.startswith("would create in Sprint 11")

    run(engine, fake, night1(), NIGHT1)
    writes = fake.write_count
    report = run(engine, fake, night2(), NIGHT2, dry_run=True)
    assert fake.write_count == writes
    assert "would update" in report.results[0].message and "grew from 40 to 80" in report.results[0].message


def test_terminal_errors_are_reported_and_other_themes_go_on(engine, fake):
    items = night1()
    items[0] = replace(items[0], target=replace(items[0].target, assignee="not-a-collaborator"))

    report = run(engine, fake, items, NIGHT1)

    assert outcomes(report) == {A: Outcome.FAILED, B: Outcome.CREATED, C: Outcome.CREATED, D: Outcome.SKIPPED}
    assert "HTTP 422" in report.results[0].message and not report.complete
    assert links(engine)[A].state == "failed" and "422" in links(engine)[A].last_error
    assert set(by_theme(fake)) == {B, C}

    fake.human_delete(by_theme(fake)[B])
    report = run(engine, fake, night1(), NIGHT1)
    assert outcomes(report)[B] is Outcome.FAILED and "HTTP 404" in report.results[1].message
    assert outcomes(report)[A] is Outcome.CREATED  # the person fixed the assignee: filed now


def test_items_routed_to_another_repo_or_tracker_are_left_alone(engine, fake):
    items = night1()
    items[0] = replace(items[0], target=replace(items[0].target, project="acme/other"))
    jira_brief = replace(items[1].brief, theme_key="theme-jjjjjjjjjj")
    items.append(replace(items[1], brief=jira_brief, target=Target("jira", "FB")))

    report = run(engine, fake, items, NIGHT1)

    assert outcomes(report) == {A: Outcome.SKIPPED, B: Outcome.CREATED, C: Outcome.CREATED, D: Outcome.SKIPPED}
    assert "routed to github acme/other" in report.results[0].message
    assert set(by_theme(fake)) == {B, C}


def test_bad_token_fails_every_theme_clearly_without_leaking_it(engine, fake, caplog):
    caplog.set_level(logging.DEBUG)  # PyGithub and urllib3 log every request at DEBUG
    bad = GitHubTracker(
        fake.repo,
        SecretStr("ghp_wrong_secret_value"),
        base_url=fake.url,
        seconds_between_requests=None,
        seconds_between_writes=None,
    )

    report = sync_plan(engine, night1(), bad, now=NIGHT1)

    assert [r.outcome for r in report.results] == [Outcome.FAILED] * 3 + [Outcome.SKIPPED]
    assert "HTTP 401" in report.results[0].message and "token" in report.results[0].message
    assert all("ghp_wrong" not in r.message for r in report.results) and "ghp_wrong" not in repr(bad)
    assert "ghp_wrong" not in caplog.text
    assert fake.issues == {}


@pytest.mark.parametrize(("kind", "expected_sleep"), [("429", 7.0), ("403", 60.0), ("500", 2.0)])
def test_transient_failures_back_off_honouring_retry_after(engine, fake, kind, expected_sleep):
    fake.fail_write(1, kind, retry_after=60 if kind == "403" else 7)
    sleeps = Sleeps()

    report = run(engine, fake, night1(), NIGHT1, sleep=sleeps)

    assert report.complete and sleeps[0] == expected_sleep and len(fake.issues) == 3


def test_a_too_long_retry_after_leaves_the_theme_pending_for_the_next_run(engine, fake):
    fake.fail_write(1, "429", retry_after=3600)

    report = run(engine, fake, night1(), NIGHT1)

    assert outcomes(report)[A] is Outcome.PENDING and "rate limited" in report.results[0].message
    assert outcomes(run(engine, fake, night1(), NIGHT1))[A] is Outcome.CREATED
    assert len(fake.issues) == 3


def test_pygithub_never_resends_a_create(engine, fake):
    """With the adapter's own retry (not retry=None), a create answered by a dropped connection is sent once."""
    fake.fail_write(3, "drop")  # two label creates, then the first issue create
    t = tracker(fake, timeout=1)

    report = sync_plan(engine, night1(), t, now=NIGHT1, sleep=Sleeps())

    assert [m for m, p in fake.writes if p.endswith("/issues")].count("POST") == 3
    assert report.complete and len(fake.issues) == 3 and set(by_theme(fake)) == {A, B, C}


def test_find_skips_pull_requests_and_issues_stamped_for_another_theme(fake):
    t = tracker(fake)
    label = t.stamp_label(A)
    for n in range(3):
        fake.add_issue(f"copy {n}", body=f"<!-- backlog_bridge:theme={B} -->", labels=[label])
    pr = fake.add_issue("a PR", body=f"<!-- backlog_bridge:theme={A} -->", labels=[label])
    fake.human_edit(pr, pull_request=True)
    assert t.find(A) is None
    ours = fake.add_issue("ours", body=f"notes <!-- backlog_bridge:theme={A} -->", labels=[label])
    found = t.find(A)
    assert found is not None and found.ref.key == f"acme/app#{ours}" and found.theme_key == A


def test_milestone_by_name_pattern(engine, fake):
    fake.add_milestone("Q2 planning", datetime(2026, 3, 5, tzinfo=UTC))
    t = tracker(fake, milestone="pattern", milestone_pattern=r"^Sprint ")
    assert t.upcoming_sprint(date(2026, 3, 2)) == "Sprint 11"
    assert tracker(fake).upcoming_sprint(date(2026, 3, 2)) == "Q2 planning"
    assert tracker(fake).upcoming_sprint(date(2026, 4, 1)) is None
    assert tracker(fake, milestone="none").upcoming_sprint(date(2026, 3, 2)) is None


def test_settings_token_comes_from_the_environment_only():
    settings = GitHubSettings(repo="acme/app", base_url="https://ghe.example.com/api/v3")
    assert settings.token({"BACKLOG_BRIDGE_GITHUB_TOKEN": "a", "GITHUB_TOKEN": "b"}).get_secret_value() == "a"
    assert settings.token({"GITHUB_TOKEN": "b"}).get_secret_value() == "b"
    assert "b" not in repr(settings.token({"GITHUB_TOKEN": "b"}))
    with pytest.raises(ConfigError, match="BACKLOG_BRIDGE_GITHUB_TOKEN"):
        settings.token({})
    with pytest.raises(ValueError):
        GitHubSettings(repo="acme/app", token="x")  # not a settings key


def test_registry_builds_the_github_adapter_from_settings(fake, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", fake.token)
    built: Tracker = build_tracker("github", GitHubSettings(repo=fake.repo, base_url=fake.url))
    assert built.name == "github" and built.find(A) is None
    with pytest.raises(ConfigError, match="unknown tracker"):
        build_tracker("gitlab", None)
    with pytest.raises(ConfigError, match=r"\[github\]"):
        build_tracker("github", None)


# --- the fault matrix: every write of three nights, every kind of failure -------------------------


def three_nights(engine: Engine, fake: FakeGitHub, attempts: int = 3) -> list[SyncReport]:
    """Night 1, night 2, a human closes B, night 3; a night left incomplete is run again (the next run)."""
    reports = []
    for now, items in ((NIGHT1, night1()), (NIGHT2, night2()), (NIGHT3, night3())):
        if now is NIGHT3:
            fake.human_close(by_theme(fake)[B], at=B_CLOSED)
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
    with FakeGitHub() as server:
        server.add_milestone("Sprint 11", datetime(2026, 3, 13, tzinfo=UTC))
        reports = three_nights(engine, server)
        assert all(r.complete for r in reports) and len(reports) == 3
        yield server.snapshot(), server.write_count
    engine.dispose()


WRITES_IN_THREE_NIGHTS = 15  # 6 labels + 3 issues; 2 comments + 2 edits; 1 comment + 1 edit


def test_three_nights_without_faults(baseline):
    snapshot, writes = baseline
    assert writes == WRITES_IN_THREE_NIGHTS
    assert len(snapshot["issues"]) == 3
    assert [len(i["comments"]) for i in snapshot["issues"]] == [1, 1, 1]  # A grew, C moved, B regressed


@pytest.mark.parametrize("at", range(1, WRITES_IN_THREE_NIGHTS + 1))
@pytest.mark.parametrize(
    ("kind", "attempts"),
    # attempts=1: no retry within the run, so the write-ahead link is what the next run recovers from.
    [("drop", 3), ("drop", 1), ("500", 3), ("429", 3), ("403", 3), pytest.param("timeout", 3, marks=pytest.mark.slow)],
)
def test_a_fault_at_any_write_ends_in_the_fault_free_state(template_store, tmp_path, baseline, kind, attempts, at):
    db = tmp_path / "store.db"
    shutil.copy(template_store, db)  # already migrated: a copy is faster than migrating 100 stores
    engine = make_engine(f"sqlite:///{db}")
    with FakeGitHub() as server:
        server.add_milestone("Sprint 11", datetime(2026, 3, 13, tzinfo=UTC))
        server.fail_write(at, kind)

        reports = three_nights(engine, server, attempts)

        assert [f.at for f in server.fired] == [at]
        assert reports[-1].complete
        assert server.snapshot() == baseline[0]
        assert len(server.issues) == 3
    engine.dispose()


def test_notes_are_posted_once_escaped(fake, engine):
    from backlog_bridge.sync.engine import Note, post_notes

    tracker = GitHubTracker(fake.repo, SecretStr(fake.token), base_url=fake.url, seconds_between_writes=0)
    created = tracker.create(
        IssueDraft(theme_key="theme-note", title="NPS: checkout", body="body", labels=(), priority=None)
    )
    note = Note("theme-note", created, "Verdict: improved. @everyone see #12", "verdict-20260310-improved")
    first = post_notes(engine, [note], tracker, now=NIGHT1)
    second = post_notes(engine, [note], tracker, now=NIGHT2)
    assert [r.outcome.value for r in first.results] == ["updated"]
    assert [r.outcome.value for r in second.results] == ["updated"]
    (issue,) = fake.issues.values()
    assert len(issue.comments) == 1
    body = issue.comments[0].body
    assert "Verdict: improved" in body and "@everyone" not in body and " #12" not in body
    dry = post_notes(engine, [replace(note, stamp="other")], tracker, now=NIGHT2, dry_run=True)
    assert [r.outcome.value for r in dry.results] == ["skipped"] and len(issue.comments) == 1


def test_an_unreachable_tracker_costs_one_themes_backoff_not_one_per_theme(engine, fake):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    sleeps = Sleeps()
    policy = RetryPolicy(attempts=3, base_delay=2.0)

    report = sync_plan(engine, night1(), tracker(fake, base_url=closed), now=NIGHT1, retry=policy, sleep=sleeps)

    assert [outcomes(report)[k] for k in (A, B, C)] == [Outcome.PENDING] * 3
    assert report.unreachable is not None
    assert sleeps == [2.0, 4.0]  # the first theme's tries only
    assert "tracker unreachable" in report.results[1].message


def test_backoff_is_bounded_per_run(engine, fake):
    for at in (1, 2, 3):
        fake.fail_write(at, "429", retry_after=20)
    sleeps = Sleeps()

    run(engine, fake, night1(), NIGHT1, retry=RetryPolicy(attempts=2, run_budget=45.0), sleep=sleeps)

    assert sum(sleeps) <= 45.0 and len(sleeps) == 2
