"""Every run ends with a status in `runs` (ok / partial / failed / interrupted), whatever a stage meets."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from fakes.github import FakeGitHub
from test_themes import NOW, base_comments, write_export

from backlog_bridge import pipeline
from backlog_bridge.cli import RUN_EXIT_CODES
from backlog_bridge.settings import load_settings
from backlog_bridge.store import repo
from backlog_bridge.store.db import open_store


def _settings(tmp_path: Path, store_url: str, tracker: str = ""):
    inbox = tmp_path / "inbox"
    inbox.mkdir(exist_ok=True)
    write_export(inbox / "a.csv", base_comments())
    rules = tmp_path / "rules"
    rules.mkdir(exist_ok=True)
    (rules / "priority.toml").write_text("[gate]\nmin_respondents = 5\nfdr = 0.5\n", encoding="utf-8")
    path = tmp_path / "settings.toml"
    path.write_text(
        f'database_url = "{store_url}"\nrules_dir = "{rules}"\n[ingest]\nuse_sample_data = false\n'
        f'inboxes = ["{inbox}"]\n[report]\nenabled = false\n{tracker}',
        encoding="utf-8",
    )
    return load_settings(path), inbox


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class BrokenEmbedder:
    """An embedding model that fails the way a broken install does (not a BacklogBridgeError)."""

    name = "broken"
    dim = 3

    def encode(self, texts):
        raise RuntimeError("CUDA error: device-side assert triggered")


def test_an_unexpected_error_fails_the_run_in_runs_instead_of_leaving_it_running(tmp_path, store_url):
    settings, _ = _settings(tmp_path, store_url)
    engine = open_store(store_url)

    with pytest.raises(RuntimeError):
        pipeline.run_once(settings, engine, clock=lambda: NOW, embedder=BrokenEmbedder())

    record = repo.runs(engine)[0]
    assert record.status == "failed" and record.finished_at is not None
    assert record.error == "themes: unexpected RuntimeError"
    assert record.counts["new"] > 0  # what ingest did is kept
    engine.dispose()


def test_a_keyboard_interrupt_closes_the_run_as_interrupted(tmp_path, store_url):
    settings, _ = _settings(tmp_path, store_url)
    engine = open_store(store_url)

    class Interrupting(BrokenEmbedder):
        def encode(self, texts):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        pipeline.run_once(settings, engine, clock=lambda: NOW, embedder=Interrupting())

    assert (repo.runs(engine)[0].status, repo.runs(engine)[0].error) == ("interrupted", "themes: interrupted")
    engine.dispose()


@pytest.mark.slow
def test_an_unreadable_inbox_file_makes_the_run_partial_and_the_later_stages_still_run(tmp_path, store_url, embedder):
    settings, inbox = _settings(tmp_path, store_url)
    (inbox / "broken.json").write_text('[{"id": 1,', encoding="utf-8")
    engine = open_store(store_url)

    summary = pipeline.run_once(settings, engine, clock=lambda: NOW, embedder=embedder)

    assert summary.status == "partial" and RUN_EXIT_CODES[summary.status] != 0
    assert summary.themes is not None and summary.plan  # themes and plan ran after the bad file
    record = repo.runs(engine)[0]
    assert record.status == "partial"
    assert record.error.count("\n") == 0 and "broken.json" in record.error and "not valid JSON" in record.error
    engine.dispose()


@pytest.mark.slow
def test_an_unreachable_tracker_makes_the_run_partial_with_themes_pending(tmp_path, store_url, monkeypatch, embedder):
    port = _closed_port()
    tracker = f'[github]\nrepo = "acme/app"\nbase_url = "http://127.0.0.1:{port}"\nseconds_between_writes = 0.0\nmilestone = "none"\n'
    settings, _ = _settings(tmp_path, store_url, tracker)
    monkeypatch.setenv("BACKLOG_BRIDGE_GITHUB_TOKEN", FakeGitHub().token)
    engine = open_store(store_url)

    summary = pipeline.run_once(settings, engine, clock=lambda: NOW, embedder=embedder)

    planned = sum(1 for item in summary.plan if item.action.value in ("create", "update"))
    assert planned >= 2
    assert summary.status == "partial" and RUN_EXIT_CODES["partial"] not in (0, RUN_EXIT_CODES["ok"])
    assert summary.syncs[0].counts()["pending"] == planned
    assert f"tracker unreachable (github), {planned} themes pending" in summary.headline
    assert summary.headline.startswith("partial: ")
    record = repo.runs(engine)[0]
    assert record.status == "partial" and "tracker unreachable" in record.error
    engine.dispose()


@pytest.mark.slow
def test_the_run_command_says_partial_and_exits_3_for_an_unreadable_inbox_file(tmp_path, store_url):
    from typer.testing import CliRunner

    from backlog_bridge.cli import app

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "good.csv").write_text("id,score,date,comment\ng1,9,2026-03-01,fine\n", encoding="utf-8")
    (inbox / "broken.json").write_text('[{"id": 1,', encoding="utf-8")
    path = tmp_path / "settings.toml"
    path.write_text(
        f'database_url = "{store_url}"\n[ingest]\nuse_sample_data = false\ninboxes = ["{inbox}"]\n'
        "[report]\nenabled = false\n",
        encoding="utf-8",
    )

    result = CliRunner().invoke(app, ["--config", str(path), "run"])

    assert result.exit_code == RUN_EXIT_CODES["partial"] == 3, result.output
    assert "partial: ingest:" in result.output and "broken.json" in result.output
    engine = open_store(store_url)
    record = repo.runs(engine)[0]
    assert record.status == "partial" and record.counts["new"] == 1
    engine.dispose()
