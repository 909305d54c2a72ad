"""`sync` through the CLI: the real PyGithub client against the in-process GitHub, on a real store."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC

import pytest
from fakes.github import FakeGitHub
from sqlmodel import Session, select
from test_themes import NOW, base_comments, write_export
from typer.testing import CliRunner

from backlog_bridge.cli import app
from backlog_bridge.ingest.importer import import_file
from backlog_bridge.settings import IngestSettings
from backlog_bridge.store.db import open_store
from backlog_bridge.store.tables import TrackerLink, utcnow

pytestmark = pytest.mark.slow
runner = CliRunner()
AS_OF = ["--as-of", "2026-06-29"]


@pytest.fixture
def configured(tmp_path, store_url, monkeypatch):
    rules = tmp_path / "rules"
    rules.mkdir()
    # Small fixture themes (10 respondents each): lower the gate so they are filed.
    (rules / "priority.toml").write_text("[gate]\nmin_respondents = 5\nfdr = 0.5\n", encoding="utf-8")
    engine = open_store(store_url)
    import_file(engine, write_export(tmp_path / "a.csv", base_comments()), IngestSettings(), now=NOW)
    engine.dispose()
    with FakeGitHub() as fake:
        path = tmp_path / "settings.toml"
        path.write_text(
            f'database_url = "{store_url}"\nrules_dir = "{rules}"\n[ingest]\nuse_sample_data = false\n'
            f'[github]\nrepo = "{fake.repo}"\nbase_url = "{fake.url}"\nseconds_between_writes = 0.0\n'
            'milestone = "none"\n',
            encoding="utf-8",
        )
        monkeypatch.setenv("BACKLOG_BRIDGE_GITHUB_TOKEN", fake.token)
        assert runner.invoke(app, ["--config", str(path), "themes", "update", *AS_OF]).exit_code == 0
        yield path, fake


def test_dry_run_writes_nothing_and_sync_files_each_theme_once(configured):
    path, fake = configured
    plan = json.loads(runner.invoke(app, ["--config", str(path), "plan", "--format", "json", *AS_OF]).stdout)
    to_file = [item for item in plan if item["action"] == "create"]
    assert to_file, plan

    dry = runner.invoke(app, ["--config", str(path), "sync", "--dry-run", *AS_OF])
    assert dry.exit_code == 0, dry.output
    assert "dry run" in dry.output and fake.write_count == 0 and not fake.issues

    first = runner.invoke(app, ["--config", str(path), "sync", *AS_OF])
    assert first.exit_code == 0, first.output
    assert len(fake.issues) == len(to_file)
    assert "created=" in first.output
    writes = fake.write_count

    for _ in range(2):
        again = runner.invoke(app, ["--config", str(path), "sync", *AS_OF])
        assert again.exit_code == 0, again.output
    assert len(fake.issues) == len(to_file)
    assert fake.write_count == writes  # nothing changed: no write call at all
    assert "ghp_" not in first.output and fake.token not in first.output


def test_sync_as_of_a_past_day_stamps_its_writes_with_the_time_they_happen(configured, store_url):
    path, fake = configured
    before = utcnow()
    result = runner.invoke(app, ["--config", str(path), "sync", *AS_OF])
    after = utcnow()
    assert result.exit_code == 0, result.output
    engine = open_store(store_url)
    with Session(engine) as session:
        links = list(session.exec(select(TrackerLink)))
    engine.dispose()
    assert len(links) == len(fake.issues) > 0
    for link in links:  # today's writes, not dated on the analysed day (2026-06-29)
        assert before <= link.created_at.replace(tzinfo=UTC) <= link.updated_at.replace(tzinfo=UTC) <= after


def test_sync_without_a_tracker_says_what_to_configure(tmp_path, store_url):
    path = tmp_path / "settings.toml"
    path.write_text(f'database_url = "{store_url}"\n[ingest]\nuse_sample_data = false\n', encoding="utf-8")
    result = runner.invoke(app, ["--config", str(path), "sync"])
    assert result.exit_code == 2
    assert "no tracker configured" in result.output
    dry = runner.invoke(app, ["--config", str(path), "sync", "--dry-run"])
    assert dry.exit_code == 0 and "no tracker is configured" in dry.output


def test_missing_token_is_a_clear_error(configured, monkeypatch):
    path, fake = configured
    monkeypatch.delenv("BACKLOG_BRIDGE_GITHUB_TOKEN")
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    result = runner.invoke(app, ["--config", str(path), "sync", *AS_OF])
    assert result.exit_code == 2, result.output
    assert "BACKLOG_BRIDGE_GITHUB_TOKEN" in result.output
    assert not fake.issues


def test_sync_killed_mid_create_in_a_subprocess_resumes_without_duplicates(configured):
    """SIGKILL right after the tracker applied a create, before the store confirmed it; then run again."""
    path, fake = configured
    plan = json.loads(runner.invoke(app, ["--config", str(path), "plan", "--format", "json", *AS_OF]).stdout)
    to_file = sum(1 for item in plan if item["action"] == "create")
    assert to_file >= 2
    fake.timeout_delay = 120.0  # the second create is applied, then the answer never comes in time
    fake.fail_request(r"^POST /repos/[^/]+/[^/]+/issues$", "timeout")
    fake.fail_request(r"^POST /repos/[^/]+/[^/]+/issues$", "timeout")
    env = {**os.environ, "BACKLOG_BRIDGE_GITHUB_TOKEN": fake.token}
    child = subprocess.Popen(
        [sys.executable, "-m", "backlog_bridge", "--config", str(path), "sync", *AS_OF],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while len(fake.issues) < 1 and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.05)
    assert len(fake.issues) == 1, "the child should be hanging on its first create"
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    fake.faults.clear()
    fake.timeout_delay = 1.1
    resumed = runner.invoke(app, ["--config", str(path), "sync", *AS_OF])
    assert resumed.exit_code == 0, resumed.output
    titles = [issue.title for issue in fake.issues.values()]
    assert len(titles) == to_file == len(set(titles))  # each theme exactly once
    again = runner.invoke(app, ["--config", str(path), "sync", *AS_OF])
    assert again.exit_code == 0 and len(fake.issues) == to_file


@pytest.mark.parametrize("deployment", ["Cloud", "Server"])
def test_jira_dry_run_then_sync_through_the_cli(tmp_path, store_url, monkeypatch, deployment):
    from datetime import UTC, datetime

    from fakes.jira import FakeJira

    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "priority.toml").write_text("[gate]\nmin_respondents = 5\nfdr = 0.5\n", encoding="utf-8")
    (rules / "routing.toml").write_text('[default]\ntracker = "jira"\nlabels = ["nps-feedback"]\n', encoding="utf-8")
    engine = open_store(store_url)
    import_file(engine, write_export(tmp_path / "a.csv", base_comments()), IngestSettings(), now=NOW)
    engine.dispose()
    with FakeJira(deployment=deployment) as fake:
        fake.add_sprint("Sprint 7", "future", datetime(2026, 7, 6, tzinfo=UTC))
        path = tmp_path / "settings.toml"
        path.write_text(
            f'database_url = "{store_url}"\nrules_dir = "{rules}"\n[ingest]\nuse_sample_data = false\n'
            f'[jira]\nurl = "{fake.url}"\nproject = "{fake.project}"\ntimeout = 5.0\n',
            encoding="utf-8",
        )
        monkeypatch.setenv("BACKLOG_BRIDGE_JIRA_TOKEN", fake.token)
        if deployment == "Cloud":
            monkeypatch.setenv("BACKLOG_BRIDGE_JIRA_EMAIL", fake.email)
        assert runner.invoke(app, ["--config", str(path), "themes", "update", *AS_OF]).exit_code == 0
        plan = json.loads(runner.invoke(app, ["--config", str(path), "plan", "--format", "json", *AS_OF]).stdout)
        to_file = sum(1 for item in plan if item["action"] == "create")
        assert to_file and all(item["target"]["tracker"] == "jira" for item in plan)

        dry = runner.invoke(app, ["--config", str(path), "sync", "--tracker", "jira", "--dry-run", *AS_OF])
        assert dry.exit_code == 0, dry.output
        assert "dry run" in dry.output and not fake.issues
        for _ in range(2):
            result = runner.invoke(app, ["--config", str(path), "sync", "--tracker", "jira", *AS_OF])
            assert result.exit_code == 0, result.output
            assert len(fake.issues) == to_file
        assert fake.token not in result.output


@pytest.mark.parametrize("retries", [0, 1])
def test_github_retries_setting_is_how_often_a_failing_call_is_tried_again(configured, retries):
    """`[github] retries` reaches the sync's one retry layer: the server sees 1 + retries reads."""
    path, fake = configured
    assert runner.invoke(app, ["--config", str(path), "sync", *AS_OF]).exit_code == 0
    with path.open("a", encoding="utf-8") as settings:
        settings.write(f"retries = {retries}\n")  # [github] is the file's last table
    read = r"/repos/[^/]+/[^/]+/issues/1"
    before = fake.requested("GET", read)
    fake.fail_request(f"^GET {read}$", "502", times=99)

    result = runner.invoke(app, ["--config", str(path), "sync", *AS_OF])

    assert fake.requested("GET", read) - before == 1 + retries
    assert "pending=" in result.output and "pending=0" not in result.output, result.output
    assert result.exit_code == 3  # partial, as for `run`: a cron job sees the themes left for the next run


def test_sync_and_themes_update_wait_for_nobody_while_a_run_holds_the_lock(configured, store_url):
    """Every writer takes the run lock: a hand-run `sync` during the worker's run would file duplicates."""
    from backlog_bridge.store.lock import run_lock

    path, fake = configured
    engine = open_store(store_url)
    with run_lock(engine) as held:
        assert held
        synced = runner.invoke(app, ["--config", str(path), "sync", *AS_OF])
        updated = runner.invoke(app, ["--config", str(path), "themes", "update", *AS_OF])
        dry = runner.invoke(app, ["--config", str(path), "sync", "--dry-run", *AS_OF])
    for refused in (synced, updated):
        assert refused.exit_code == 1, refused.output
        assert "another run is in progress" in refused.output and f"pid {os.getpid()}" in refused.output
    assert not fake.issues and fake.write_count == 0
    assert dry.exit_code == 0, dry.output  # reading is never locked out
    after = runner.invoke(app, ["--config", str(path), "sync", *AS_OF])
    assert after.exit_code == 0, after.output
    assert fake.issues
    engine.dispose()
