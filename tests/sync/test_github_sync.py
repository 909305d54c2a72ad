"""What only GitHub does: Markdown that must stay inert, pull requests, milestones by name, its rate limits.

Every scenario GitHub shares with Jira is in test_tracker_contract.py.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from backlog_bridge.errors import ConfigError
from backlog_bridge.settings import GitHubSettings
from backlog_bridge.sync import Outcome
from backlog_bridge.sync.engine import Note, post_notes
from backlog_bridge.sync.render import ZWJ
from backlog_bridge.sync.tracker import IssueDraft
from sync.trackers import NIGHT1, A, B, Sleeps, links, night1, open_harness, outcomes, run


@pytest.fixture
def h():
    with open_harness("github") as harness:
        yield harness


def test_customer_text_is_inert_markdown_on_the_filed_issue(engine, h):
    run(engine, h, night1(h), NIGHT1)

    body = h.seen(h.by_theme()[A]).body

    assert body.startswith("<!-- backlog_bridge:begin -->") and f"backlog_bridge:theme={A}" in body
    assert "@support" not in body and "@" + ZWJ + "support" in body  # no mention
    assert "<b>" not in body and "![x]" not in body  # no HTML, no image
    number = int(h.by_theme()[A].rsplit("#", 1)[1])
    assert sorted(h.fake.issues[number].labels) == ["nps-feedback", "nps:priority: P1", f"nps:{A}"]


def test_a_note_cannot_mention_or_cross_link(engine, h):
    tracker = h.tracker()
    created = tracker.create(IssueDraft(theme_key="theme-note", title="NPS: checkout", body="body", priority=None))

    post_notes(engine, [Note("theme-note", created, "Verdict: improved. @everyone see #12", "v")], tracker, now=NIGHT1)

    (comment,) = h.seen(created.key).comments
    assert "@everyone" not in comment and " #12" not in comment


def test_find_skips_pull_requests(h):
    tracker = h.tracker()
    label = h.stamp_label(A)
    pr = h.fake.add_issue("a PR", body=h.marker(A), labels=[label])
    h.fake.human_edit(pr, pull_request=True)
    assert tracker.find(A) is None
    ours = h.add_issue("ours", body=f"notes {h.marker(A)}", labels=[label])
    assert tracker.find(A).ref.key == ours


def test_milestone_by_name_pattern(h):
    h.fake.add_milestone("Q2 planning", datetime(2026, 3, 5, tzinfo=UTC))
    assert (
        h.tracker(milestone="pattern", milestone_pattern=r"^Sprint ").upcoming_sprint(date(2026, 3, 2)) == "Sprint 12"
    )
    assert h.tracker().upcoming_sprint(date(2026, 3, 2)) == "Q2 planning"
    assert h.tracker().upcoming_sprint(date(2026, 4, 1)) is None
    assert h.tracker(milestone="none").upcoming_sprint(date(2026, 3, 2)) is None


def test_the_secondary_rate_limit_is_a_403_that_waits_for_its_retry_after(engine, h):
    h.fake.fail_write(1, "403", retry_after=60)
    sleeps = Sleeps()

    report = run(engine, h, night1(h), NIGHT1, sleep=sleeps)

    assert report.complete and sleeps == [60.0] and h.issue_count() == 3


def test_the_primary_rate_limit_waits_until_its_reset(engine, h):
    """No Retry-After: the wait is X-RateLimit-Reset less the answer's Date (whole seconds, so 29 or 30)."""
    h.fake.fail_write(1, "quota", retry_after=30)
    sleeps = Sleeps()

    report = run(engine, h, night1(h), NIGHT1, sleep=sleeps)

    assert report.complete and len(sleeps) == 1 and 29.0 <= sleeps[0] <= 30.0


def test_a_primary_rate_limit_resetting_after_the_runs_patience_leaves_the_theme_pending(engine, h):
    h.fake.fail_write(1, "quota", retry_after=3600)

    report = run(engine, h, night1(h), NIGHT1)

    assert outcomes(report)[A] is Outcome.PENDING and "rate limited" in report.results[0].message
    assert links(engine)[A].state == "creating" and outcomes(report)[B] is Outcome.CREATED


def test_settings_token_comes_from_the_environment_only():
    settings = GitHubSettings(repo="acme/app", base_url="https://ghe.example.com/api/v3")
    assert settings.token({"BACKLOG_BRIDGE_GITHUB_TOKEN": "a", "GITHUB_TOKEN": "b"}).get_secret_value() == "a"
    assert settings.token({"GITHUB_TOKEN": "b"}).get_secret_value() == "b"
    assert "b" not in repr(settings.token({"GITHUB_TOKEN": "b"}))
    with pytest.raises(ConfigError, match="BACKLOG_BRIDGE_GITHUB_TOKEN"):
        settings.token({})
    with pytest.raises(ValueError):
        GitHubSettings(repo="acme/app", token="x")  # not a settings key
