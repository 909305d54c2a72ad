"""`[report] public_url` reaches the issues: plan -> brief -> GitHub and Jira bodies link the theme's report section.

The whole path runs for real: a store with one big theme, `pipeline.plan_stage` with the settings, and
`sync_plan` through the real PyGithub / jira clients against the in-process fakes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fakes.github import FakeGitHub
from fakes.jira import FakeJira
from pydantic import SecretStr
from sqlmodel import Session

from backlog_bridge import pipeline
from backlog_bridge.context import AnalysisWindow
from backlog_bridge.plan.model import Action
from backlog_bridge.plan.rules import Rules, for_trackers
from backlog_bridge.settings import ReportSettings, Settings
from backlog_bridge.store.tables import Response, Theme, ThemeMember
from backlog_bridge.sync import sync_plan
from backlog_bridge.sync.github import GitHubTracker
from backlog_bridge.sync.jira import JiraTracker

AS_OF = datetime(2026, 10, 1, tzinfo=UTC)
PUBLIC = "https://reports.example.com/nps/"


@pytest.fixture
def theme_id(engine) -> int:
    """200 responses in the last 30 days; 40 detractors all in one theme (big and significant)."""
    with Session(engine) as session:
        theme = Theme(key="theme-aaaa", label="app crashes", keywords=["app"], model="m", centroid=b"",
                      quotes=[{"response_id": 1, "text": "the app crashes @support"}])  # fmt: skip
        session.add(theme)
        session.flush()
        for i in range(200):
            score = 2 if i < 40 else 9
            response = Response(source="s", external_id=f"R{i}", score=score, comment="c", content_hash="h",
                                responded_at=AS_OF - timedelta(days=30) + timedelta(hours=3 * i),
                                category="detractor" if score < 7 else "promoter", segments={})  # fmt: skip
            session.add(response)
            session.flush()
            if i < 40:
                session.add(ThemeMember(response_id=response.id, theme_id=theme.id, bucket="theme"))
        session.commit()
        return theme.id or 0


def plan(engine, tracker: str, public_url: str | None):
    settings = Settings(report=ReportSettings(public_url=public_url))
    window = AnalysisWindow(AS_OF, settings.themes.window_days)
    items = pipeline.plan_stage(settings, engine, for_trackers(Rules(), [tracker]), window)
    assert [item.action for item in items] == [Action.CREATE], items
    return items


def github_body(engine, items) -> str:
    with FakeGitHub() as fake:
        options = dict(base_url=fake.url, seconds_between_requests=None, seconds_between_writes=None)
        tracker = GitHubTracker(fake.repo, SecretStr(fake.token), milestone="none", timeout=2, **options)
        sync_plan(engine, items, tracker, now=AS_OF)
        (issue,) = fake.issues.values()
        return issue.body


def jira_body(engine, items, deployment: str) -> str:
    with FakeJira(deployment=deployment) as fake:
        email = fake.email if deployment == "Cloud" else None
        tracker = JiraTracker(fake.url, fake.project, SecretStr(fake.token), email=email, sprint="none", timeout=2.0)
        sync_plan(engine, items, tracker, now=AS_OF)
        (issue,) = fake.issues.values()
        return issue.description or ""


def test_settings_decide_the_report_page_and_refuse_unsafe_addresses():
    assert ReportSettings(public_url=PUBLIC).latest_page_url() == "https://reports.example.com/nps/latest.html"
    assert ReportSettings(public_url="https://r.example/x").latest_page_url() == "https://r.example/x/latest.html"
    assert ReportSettings().latest_page_url() is None
    assert ReportSettings(public_url=PUBLIC, formats=["json"]).latest_page_url() is None  # no page to link
    assert ReportSettings(public_url=PUBLIC, enabled=False).latest_page_url() is None
    for bad in ("javascript:alert(1)", "ftp://r.example/", "https://r.example/a b", "https://r.example/[x]"):
        with pytest.raises(ValueError, match="plain http"):
            ReportSettings(public_url=bad)


def test_github_issue_links_its_theme_section_of_the_published_report(engine, theme_id):
    items = plan(engine, "github", PUBLIC)
    assert items[0].brief.report_url == "https://reports.example.com/nps/latest.html"
    body = github_body(engine, items)
    assert f"[Theme report](https://reports.example.com/nps/latest.html#theme-{theme_id})" in body


@pytest.mark.parametrize("deployment", ["Cloud", "Server"])
def test_jira_issue_links_its_theme_section_of_the_published_report(engine, theme_id, deployment):
    body = jira_body(engine, plan(engine, "jira", PUBLIC), deployment)
    assert f"[Theme report|https://reports.example.com/nps/latest.html#theme-{theme_id}]" in body


@pytest.mark.parametrize("tracker", ["github", "jira"])
def test_without_a_public_url_no_issue_has_a_report_link(engine, theme_id, tracker):
    items = plan(engine, tracker, None)
    body = github_body(engine, items) if tracker == "github" else jira_body(engine, items, "Cloud")
    assert "Why this priority" in body and "Theme report" not in body


@pytest.mark.parametrize(
    ("closure", "starts"), [("declined", "declined on 2026-09-20"), ("fixed", "cooldown: fix shipped")]
)
def test_the_plan_reads_what_a_close_meant_from_the_store(engine, theme_id, closure, starts):
    """The link's closure (read back by the sync) reaches the plan: a declined theme is set aside, not cooled down."""
    from backlog_bridge.store.tables import TrackerLink

    closed = AS_OF - timedelta(days=11)
    with Session(engine) as session:
        session.add(TrackerLink(tracker="github", theme_key="theme-aaaa", state="closed", issue_key="acme/app#4",
                                closed_at=closed, closure=closure))  # fmt: skip
        session.commit()
    settings = Settings()
    window = AnalysisWindow(AS_OF, settings.themes.window_days)
    (item,) = pipeline.plan_stage(settings, engine, for_trackers(Rules(), ["github"]), window)
    assert item.action is Action.SKIP and item.reason.startswith(starts), item.reason
