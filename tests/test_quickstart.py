"""The quick start on any date, and the sample data leaving as soon as the user's own data arrives."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backlog_bridge import pipeline
from backlog_bridge.cli import app
from backlog_bridge.settings import load_settings
from backlog_bridge.store import repo
from backlog_bridge.store.db import open_store
from backlog_bridge.store.tables import utcnow

runner = CliRunner()
SAMPLE_END = datetime(2026, 11, 1, tzinfo=UTC)  # the day after the sample's last response


def invoke(settings_file: Path, *args: str):
    return runner.invoke(app, ["--config", str(settings_file), *args], catch_exceptions=False)


def sample_settings(tmp_path: Path, store_url: str, use_sample: bool = True) -> Path:
    path = tmp_path / "settings.toml"
    path.write_text(
        f'database_url = "{store_url}"\n[ingest]\nuse_sample_data = {str(use_sample).lower()}\n', encoding="utf-8"
    )
    return path


def own_export(tmp_path: Path) -> Path:
    path = tmp_path / "my_export.csv"
    rows = "".join(f"{i},{i % 11},comment {i},2026-11-{1 + i % 20:02d}\n" for i in range(40))
    path.write_text("id,score,comment,date\n" + rows, encoding="utf-8")
    return path


def sources(settings_file: Path) -> dict[str, int]:
    result = invoke(settings_file, "nps", "--by", "source", "--format", "json")
    return {group["group"]: group["n"] for group in json.loads(result.stdout)["groups"]}


def test_the_sample_leaves_when_the_users_own_data_arrives(tmp_path, store_url):
    config = sample_settings(tmp_path, store_url)
    settings = load_settings(config)
    engine = open_store(settings.effective_database_url())
    pipeline.ingest_stage(settings, engine)
    assert sources(config) == {"sample": 3000}
    result = invoke(config, "ingest", str(own_export(tmp_path)))
    assert result.exit_code == 0, result.output
    assert "removed the bundled sample data (3000 responses)" in result.output
    assert "your own data is in (source default)" in result.output
    assert sources(config) == {"default": 40}
    notes: list[str] = []
    again = pipeline.ingest_stage(settings, engine, notes=notes)  # what `run` does next: no sample any more
    assert again == [] and notes == []
    assert sources(config) == {"default": 40}
    later = SAMPLE_END + timedelta(days=400)
    assert pipeline.analysis_end(engine, later) == (later, None)  # the user's data: the window ends now


def test_the_sample_can_be_taken_out_without_data_of_ones_own(tmp_path, store_url):
    config = sample_settings(tmp_path, store_url)
    engine = open_store(load_settings(config).effective_database_url())
    pipeline.ingest_stage(load_settings(config), engine)
    off = sample_settings(tmp_path, store_url, use_sample=False)
    notes: list[str] = []
    pipeline.ingest_stage(load_settings(off), engine, notes=notes)
    assert notes == [
        "removed the bundled sample data (3000 responses) from the analysis: ingest.use_sample_data is false"
    ]
    assert repo.source_spans(engine) == []
    assert invoke(off, "quarantine", "list", "--format", "json").stdout.strip() == "[]"


def test_with_only_the_sample_the_window_ends_on_its_last_day(tmp_path, store_url):
    config = sample_settings(tmp_path, store_url)
    settings = load_settings(config)
    engine = open_store(settings.effective_database_url())
    pipeline.ingest_stage(settings, engine)
    a_year_ahead = SAMPLE_END + timedelta(days=365)
    end, note = pipeline.analysis_end(engine, a_year_ahead)
    assert end == SAMPLE_END
    assert note is not None and "2026-10-31" in note
    assert pipeline.analysis_end(engine, SAMPLE_END - timedelta(days=30)) == (SAMPLE_END - timedelta(days=30), None)


@pytest.mark.slow
def test_the_quick_start_shows_themes_a_plan_and_a_report_with_the_clock_a_year_ahead(tmp_path, sample_embedder):
    config = sample_settings(tmp_path, f"sqlite:///{tmp_path / 'store.db'}")
    settings = load_settings(config)
    engine = open_store(settings.effective_database_url())
    a_year_ahead = utcnow() + timedelta(days=365)
    summary = pipeline.run_once(settings, engine, clock=lambda: a_year_ahead, embedder=sample_embedder)
    assert summary.ok, summary.errors
    assert summary.as_of == SAMPLE_END
    assert any("sample data only" in note for note in summary.notes)
    assert summary.themes is not None and summary.themes.active_themes >= 5
    assert summary.themes.window_end == SAMPLE_END
    assert any(item.action.value == "create" for item in summary.plan)
    assert {path.suffix for path in summary.report_files} >= {".html", ".json"}
    # The same clock with the window pinned to it finds nothing: the fallback above is what made it work.
    pinned = pipeline.run_once(
        settings, engine, clock=lambda: a_year_ahead, embedder=sample_embedder, as_of=a_year_ahead
    )
    assert pinned.themes is not None and pinned.themes.comments == 0 and not pinned.plan
