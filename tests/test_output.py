"""The CLI's one output layer: nothing from data is markup or a terminal escape; every report has JSON."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from sqlmodel import Session
from typer.testing import CliRunner

from backlog_bridge import output
from backlog_bridge.cli import app
from backlog_bridge.store.db import open_store
from backlog_bridge.store.tables import Theme, ThemeEvent

runner = CliRunner()
HOSTILE = ["[/quote]", "[link|x]", "\x1b[2J", "\x1b]8;;http://x\x07"]
EVIL = "".join(HOSTILE)


def invoke(settings_file: Path, *args: str):
    return runner.invoke(app, ["--config", str(settings_file), *args], catch_exceptions=False)


def assert_inert(text: str) -> None:
    """Every hostile string shows as written (brackets kept), and no raw control character reaches the terminal."""
    assert "\x1b" not in text and "\x07" not in text, repr(text)
    flat = "".join(text.split())  # tables may wrap long cells
    for shown in ["[/quote]", "[link|x]", "\\x1b[2J", "\\x1b]8;;http:", "\\x07"]:  # a path has no "//"
        assert shown in flat, (shown, text)


def hostile_export(tmp_path: Path) -> Path:
    folder = tmp_path / "[" / "quote]"  # the path reads .../[/quote]/...
    folder.mkdir(parents=True)
    path = folder / "evil[link|x]\x1b[2J\x1b]8;;http:" / "x\x07.csv"  # the name carries every escape too
    path.parent.mkdir()
    path.write_text(
        f'id,score,comment,date\n1,3,"{EVIL} sync breaks",2026-05-01\n2,eleven,"{EVIL}",2026-05-02\n',
        encoding="utf-8",
    )
    return path


def test_neutralise_and_safe():
    assert output.neutralise("a\x1b[2Jb\x07\tc\n") == "a\\x1b[2Jb\\x07\tc\n"
    assert output.safe("[bold]x[/bold]") == "\\[bold]x\\[/bold]"
    assert output.neutralise("\u202eevil") == "\\x202eevil"


def test_ingest_and_quarantine_list_print_data_literally(settings_file, tmp_path):
    path = hostile_export(tmp_path)
    result = invoke(settings_file, "ingest", str(path))
    assert result.exit_code == 0, result.output
    assert_inert(result.output)  # the file's path, in the table and the quarantine line
    listed = invoke(settings_file, "quarantine", "list")
    assert_inert(listed.output)
    rows = json.loads(invoke(settings_file, "quarantine", "list", "--format", "json").stdout)
    assert len(rows) == 1 and EVIL in rows[0]["raw"] and rows[0]["reason"]


def test_runs_prints_errors_with_paths_literally_and_as_json(settings_file, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "[" / "quote]").mkdir(parents=True)
    bad = Path("[", "quote]", "[link|x]\x1b[2J\x07.csv")  # relative: short enough for one table row
    bad.write_text("", encoding="utf-8")
    failed = invoke(settings_file, "ingest", str(bad))
    assert failed.exit_code == 1
    assert "[/quote]/[link|x]\\x1b[2J\\x07.csv" in failed.output and "\x1b" not in failed.output
    shown = invoke(settings_file, "runs")
    assert shown.exit_code == 0
    assert "\x1b" not in shown.output and "\x07" not in shown.output
    assert "[/quote]/[link|x]\\x1b[2J\\x07.csv" in shown.output, shown.output
    (record,) = json.loads(invoke(settings_file, "runs", "--format", "json").stdout)
    assert record["command"] == "ingest" and record["status"] == "failed"
    assert str(bad) in record["error"] and record["counts"]["read"] == 0
    assert {"id", "started_at", "finished_at", "seconds", "stages"} <= set(record)


def test_themes_show_and_list_print_labels_and_quotes_literally(settings_file):
    from backlog_bridge.settings import load_settings

    engine = open_store(load_settings(settings_file).effective_database_url())
    with Session(engine) as session:
        theme = Theme(key="t-evil", label=f"label {EVIL}", keywords=[EVIL], quotes=[{"text": f"quote {EVIL}"}],
                      model="m", centroid=b"\0")  # fmt: skip
        session.add(theme)
        session.commit()
        session.add(ThemeEvent(theme_id=theme.id, kind="born", detail={"note": EVIL}))
        session.commit()
        theme_id = theme.id
    shown = invoke(settings_file, "themes", "show", str(theme_id))
    assert shown.exit_code == 0, shown.output
    assert_inert(shown.output)
    assert "quote [/quote]" in shown.output and "label [/quote]" in shown.output
    data = json.loads(invoke(settings_file, "themes", "show", str(theme_id), "--format", "json").stdout)
    assert data["label"] == f"label {EVIL}" and data["quotes"] == [f"quote {EVIL}"]
    assert data["lineage"][0]["kind"] == "born" and data["key"] == "t-evil"
    listed = invoke(settings_file, "themes")
    assert_inert(listed.output)
    (item,) = json.loads(invoke(settings_file, "themes", "--format", "json").stdout)
    assert item["label"] == f"label {EVIL}" and {"detractors", "passives", "share", "trend"} <= set(item)


def test_errors_keep_brackets_from_data(tmp_path):
    settings = tmp_path / "settings.toml"
    settings.write_text("[ingest]\nuse_sample_data = false\n", encoding="utf-8")
    result = invoke(settings, "ingest", str(tmp_path / "missing[/quote].csv"))
    assert "missing[/quote].csv" in result.output


def test_help_prints_brackets_literally():
    result = runner.invoke(app, ["worker", "--help"])
    assert result.exit_code == 0
    assert "[schedule]" in result.output


def test_themes_lists_without_side_effects(settings_file):
    from backlog_bridge.pipeline import sample_data_path

    assert invoke(settings_file, "ingest", str(sample_data_path())).exit_code == 0
    listed = invoke(settings_file, "themes")
    assert listed.exit_code == 0 and "No themes yet" in listed.output and "themes update" in listed.output
    commands = [r["command"] for r in json.loads(invoke(settings_file, "runs", "--format", "json").stdout)]
    assert commands == ["ingest"]  # nothing embedded, no themes run recorded


def test_rules_check_doctor_plan_and_sync_have_json(settings_file, tmp_path):
    checked = json.loads(invoke(settings_file, "rules", "check", "--format", "json").stdout)
    assert checked["ok"] is True and checked["problems"] == [] and checked["ticket_budget"] >= 0
    doctor = invoke(settings_file, "doctor", "--format", "json")
    report = json.loads(doctor.stdout)
    assert report["ok"] is (doctor.exit_code == 0)
    names = [check["name"] for check in report["checks"]]
    assert names[:2] == ["settings", "schedule"] and "model" in names
    assert all(check["status"] in ("ok", "warn", "fail", "skip") for check in report["checks"])
    assert json.loads(invoke(settings_file, "plan", "--format", "json").stdout) == []
    dry = json.loads(invoke(settings_file, "sync", "--dry-run", "--format", "json").stdout)
    assert dry == {"dry_run": True, "reports": [], "unconfigured": [{"tracker": None, "configured": False, "plan": []}]}


def test_rules_check_json_lists_the_problems(tmp_path, store_url):
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "priority.toml").write_text("[sprint]\nticket_budjet = 3\n", encoding="utf-8")
    settings = tmp_path / "settings.toml"
    settings.write_text(f'database_url = "{store_url}"\nrules_dir = "{folder}"\n', encoding="utf-8")
    result = invoke(settings, "rules", "check", "--format", "json")
    assert result.exit_code == 1
    checked = json.loads(result.stdout)
    assert checked["ok"] is False and any("priority.toml:sprint.ticket_budjet" in p for p in checked["problems"])


def test_progress_logs_periodically_without_a_terminal(caplog):
    ticks = iter([0.0, 1.0, 12.0, 13.0, 30.0])
    report = output.progress("embedding comments", terminal=False, clock=lambda: next(ticks))
    with caplog.at_level(logging.INFO, logger="backlog_bridge.output"):
        for done in (0, 100, 200, 300, 400):
            report(done, 400)
    assert [r.getMessage() for r in caplog.records] == ["embedding comments: 200/400", "embedding comments: 400/400"]


def test_a_short_step_logs_no_progress(caplog):
    ticks = iter([0.0, 0.5])
    report = output.progress("embedding comments", terminal=False, clock=lambda: next(ticks))
    with caplog.at_level(logging.INFO, logger="backlog_bridge.output"):
        report(0, 10)
        report(10, 10)
    assert caplog.records == []
