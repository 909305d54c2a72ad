"""`doctor`: each check says what is wrong and what to do; nothing is written."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from alembic import command

from backlog_bridge.doctor import (
    Status,
    check_database,
    check_model,
    check_schedule,
    check_trackers,
    run_doctor,
)
from backlog_bridge.errors import ConfigError, TrackerTerminalError, TrackerTransientError
from backlog_bridge.settings import ScheduleSettings, load_settings
from backlog_bridge.store.db import alembic_config, make_engine, open_store
from backlog_bridge.store.lock import run_lock


class FakeEmbedder:
    name = "fake-model"

    def __init__(self, dim: int = 8, returned_dim: int | None = None):
        self.dim = dim
        self.returned_dim = returned_dim or dim

    def encode(self, texts):
        vectors = np.ones((len(texts), self.returned_dim), dtype=np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.fixture
def project(settings_file: Path) -> Path:
    (settings_file.parent / "rules").mkdir()
    return settings_file


def doctor(path: Path, **kwargs):
    kwargs.setdefault("load_embedder", lambda settings: FakeEmbedder())
    return run_doctor(lambda: load_settings(path), **kwargs)


def by_name(report):
    return {check.name: check for check in report.checks}


def test_a_healthy_project_passes(project, store_url):
    open_store(store_url).dispose()
    report = doctor(project, schedule=lambda settings: ScheduleSettings(), now=datetime(2026, 6, 1, tzinfo=UTC))
    checks = by_name(report)
    assert report.ok, str(report)
    assert [c.status for c in report.checks] == [Status.OK, Status.OK, Status.OK, Status.OK, Status.OK, Status.SKIP]
    assert "revision 0005" in checks["database"].detail
    assert "2026-06-01 02:00" in checks["schedule"].detail
    assert checks["model"].detail == "fake-model: loaded, 8 dimensions"
    assert "none configured" in checks["trackers"].detail


def test_bad_settings_fail_and_skip_the_rest(tmp_path):
    path = tmp_path / "settings.toml"
    path.write_text("[nps]\nconfidense = 0.9\n", encoding="utf-8")
    report = doctor(path)
    settings, *rest = report.checks
    assert settings.status is Status.FAIL and "confidense" in settings.detail and "did you mean" in settings.detail
    assert {c.status for c in rest} == {Status.SKIP}
    assert not report.ok


def test_bad_rules_name_the_file_and_key(project, store_url):
    (project.parent / "rules" / "priority.toml").write_text("[sprint]\nticket_budgett = 3\n", encoding="utf-8")
    rules = by_name(doctor(project))["rules"]
    assert rules.status is Status.FAIL
    assert "priority.toml" in rules.detail and "ticket_budgett" in rules.detail
    assert "rules check" in rules.todo


def test_missing_sqlite_database_is_a_warning_and_is_not_created(tmp_path):
    path = tmp_path / "none.db"
    check = check_database(f"sqlite:///{path}")
    assert check.status is Status.WARN and "creates it on first use" in check.todo
    assert not path.exists()


def test_a_database_behind_the_code_is_a_warning_with_the_fix(store_url):
    engine = make_engine(store_url)
    command.upgrade(alembic_config(engine), "0003")
    engine.dispose()
    check = check_database(store_url)
    assert check.status is Status.WARN
    assert "revision 0003" in check.detail and "expects 0005" in check.detail
    assert "migrates it on open" in check.todo


def test_the_run_lock_holder_is_shown(engine, store_url):
    with run_lock(engine) as lock:
        assert lock
        check = check_database(store_url)
    assert check.status is Status.OK and "run lock held by" in check.detail


def test_an_unreachable_server_fails_without_showing_the_password():
    check = check_database("postgresql+psycopg://app:hunter2secret@127.0.0.1:1/nps?connect_timeout=2")
    assert check.status is Status.FAIL
    assert "cannot connect" in check.detail and "hunter2secret" not in check.detail + check.todo
    assert "PGPASSWORD" in check.todo


def test_model_problems_are_explained():
    def missing():
        raise ConfigError("models/manifest.toml: unknown embedding model 'big'; known: ['all-MiniLM-L6-v2']")

    failed = check_model(missing)
    assert failed.status is Status.FAIL and "unknown embedding model" in failed.detail
    assert "manifest" in failed.todo
    wrong = check_model(lambda: FakeEmbedder(dim=384, returned_dim=768))
    assert wrong.status is Status.FAIL and "expected (1, 384)" in wrong.detail


@pytest.mark.slow
def test_the_real_offline_model_loads(embedder):
    check = check_model(lambda: embedder)
    assert check.status is Status.OK and "384 dimensions" in check.detail


def test_tracker_probes_map_errors_to_advice(monkeypatch):
    monkeypatch.setenv("BACKLOG_BRIDGE_JIRA_TOKEN", "tok-very-secret-123")

    def unauthorised():
        raise TrackerTerminalError("jira: 401 Unauthorized for token tok-very-secret-123")

    def down():
        raise TrackerTransientError("github: 503 Service Unavailable")

    checks = check_trackers({"jira": unauthorised, "github": down, "gitlab": lambda: "connected as bot"})
    jira, github, gitlab = checks
    assert jira.status is Status.FAIL and "token" in jira.todo
    assert github.status is Status.WARN and "try again later" in github.todo
    assert gitlab.status is Status.OK and gitlab.detail == "connected as bot"


def test_secrets_never_reach_the_report(project, monkeypatch):
    monkeypatch.setenv("BACKLOG_BRIDGE_JIRA_TOKEN", "tok-very-secret-123")

    def leaky():
        raise TrackerTerminalError("jira: 401 for tok-very-secret-123")

    report = doctor(project, trackers=lambda settings: {"jira": leaky})
    assert "tok-very-secret-123" not in str(report)
    assert "***" in by_name(report)["jira"].detail


def test_schedule_warns_about_a_time_inside_the_dst_change():
    now = datetime(2026, 6, 1, tzinfo=UTC)
    check = check_schedule(ScheduleSettings(cron="30 2 * * *", timezone="Europe/Berlin"), now)
    assert check.status is Status.WARN and "2026-10-25" in check.detail
    assert check_schedule(ScheduleSettings(cron="0 4 * * *", timezone="Europe/Berlin"), now).status is Status.OK
    assert check_schedule(ScheduleSettings(cron="30 2 * * *", timezone="UTC"), now).status is Status.OK
