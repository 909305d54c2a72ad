"""One run context: the analysis window decides what is analysed, the wall clock stamps what is written."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fakes.github import FakeGitHub
from sqlmodel import Session, select
from test_themes import NOW, base_comments, write_export

from backlog_bridge import pipeline
from backlog_bridge.context import AnalysisWindow
from backlog_bridge.settings import Settings, load_settings
from backlog_bridge.store.db import open_store
from backlog_bridge.store.tables import TrackerLink

WALL = datetime(2027, 3, 15, 9, 30, tzinfo=UTC)
"""The wall clock of the runs below: long after the window they analyse (`--as-of` in the past)."""


class Steps:
    """A progress factory that records every (done, total) per step label."""

    def __init__(self) -> None:
        self.calls: dict[str, list[tuple[int, int]]] = {}

    def __call__(self, label: str):
        calls = self.calls.setdefault(label, [])
        return lambda done, total: calls.append((done, total))


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def test_the_window_and_the_one_before_it():
    window = AnalysisWindow(NOW, 90)
    assert (window.start, window.previous_start) == (NOW - timedelta(days=90), NOW - timedelta(days=180))


def test_without_as_of_the_window_ends_at_the_clocks_now_and_keeps_the_settings_length(engine):
    settings = Settings(themes={"window_days": 45})
    context = pipeline.run_context(settings, engine, clock=lambda: WALL)
    assert (context.window, context.started_at, context.note) == (AnalysisWindow(WALL, 45), WALL, None)
    pinned = pipeline.run_context(settings, engine, NOW, clock=lambda: WALL)
    assert (pinned.as_of, pinned.started_at, pinned.clock()) == (NOW, WALL, WALL)


def _settings(tmp_path: Path, store_url: str, fake: FakeGitHub) -> Settings:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_export(inbox / "a.csv", base_comments())
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "priority.toml").write_text("[gate]\nmin_respondents = 5\nfdr = 0.5\n", encoding="utf-8")
    path = tmp_path / "settings.toml"
    path.write_text(
        f'database_url = "{store_url}"\nrules_dir = "{rules}"\n[ingest]\nuse_sample_data = false\n'
        f'inboxes = ["{inbox}"]\n[github]\nrepo = "{fake.repo}"\nbase_url = "{fake.url}"\n'
        'seconds_between_writes = 0.0\nmilestone = "none"\n',
        encoding="utf-8",
    )
    return load_settings(path)


@pytest.mark.slow
def test_a_run_analyses_its_window_and_stamps_every_write_with_the_wall_clock(
    tmp_path, store_url, monkeypatch, embedder
):
    steps = Steps()
    with FakeGitHub() as fake:
        settings = _settings(tmp_path, store_url, fake)
        monkeypatch.setenv("BACKLOG_BRIDGE_GITHUB_TOKEN", fake.token)
        engine = open_store(store_url)
        summary = pipeline.run_once(settings, engine, embedder=embedder, as_of=NOW, clock=lambda: WALL, progress=steps)
        filed = len(fake.issues)

    assert summary.ok, summary.errors
    assert summary.as_of == NOW and summary.themes is not None and summary.themes.window_end == NOW
    assert filed and filed == summary.counts()["created"]
    with Session(engine) as session:
        links = list(session.exec(select(TrackerLink)))
    assert len(links) == filed
    assert {(aware(link.created_at), aware(link.updated_at)) for link in links} == {(WALL, WALL)}
    (written,) = [path for path in summary.report_files if path.suffix == ".json" and path.name != "latest.json"]
    assert written.name == "report-20270315T093000Z.json"  # named by the wall clock ...
    report = json.loads(written.read_text(encoding="utf-8"))
    assert (report["generated_at"], report["as_of"]) == (WALL.isoformat(), NOW.isoformat())  # ... about the window
    engine.dispose()

    assert steps.calls["writing the report"] == [(0, 3), (1, 3), (2, 3), (3, 3)]  # gather, files, verdicts
    imported = steps.calls["importing a.csv"]
    assert imported[0] == (0, len(base_comments())) and imported[-1] == (len(base_comments()),) * 2
