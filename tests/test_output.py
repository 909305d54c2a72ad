"""The CLI's one output layer: nothing from data is markup or a terminal escape; every report has JSON."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from backlog_bridge import output
from backlog_bridge.cli import app
from backlog_bridge.output import view
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


README = Path(__file__).parent.parent / "README.md"


def documented_json_keys() -> dict[str, tuple[set[str], bool]]:
    """README's table of what `--format json` prints: command -> (top-level keys, more keys allowed ("…"))."""
    text = README.read_text(encoding="utf-8")
    table_text = text[text.index("| command | JSON on stdout: its keys |") :].split("\n\n")[0]
    documented = {}
    for row in table_text.splitlines()[2:]:
        command, keys = (cell.strip() for cell in row.strip("|").split("|"))
        top_level = re.sub(r"\([^)]*\)", "", keys)  # keys in brackets are those of nested objects
        documented[command.strip("`")] = (set(re.findall(r"`([a-z_]+)`", top_level)), top_level.endswith("…"))
    return documented


WINDOW = ["--as-of", "2026-05-31"]
REPORTS = {
    "quarantine list": ["quarantine", "list"],
    "nps": ["nps", "--by", "plan"],
    "runs": ["runs"],
    "themes": ["themes", *WINDOW],
    "themes show": ["themes", "show", "{theme}", *WINDOW],
    "plan": ["plan", *WINDOW],
    "sync": ["sync", "--dry-run", *WINDOW],
    "rules check": ["rules", "check"],
}
"""Reporting commands (besides `ingest`) that need no embedding model; `run` and `doctor` load it."""


def store_with_every_kind_of_row(settings_file: Path, tmp_path: Path):
    """Responses with a segment, a quarantined row, an ingest run and a theme: no report prints an empty list."""
    export = tmp_path / "export.csv"
    export.write_text(
        "id,date,score,comment,plan\nR1,2026-05-01,2,sync breaks,pro\nR2,2026-05-02,eleven,x,pro\n"
        "R3,2026-05-03,9,fine,free\n",
        encoding="utf-8",
    )
    ingested = invoke(settings_file, "ingest", str(export), "--format", "json")
    from backlog_bridge.settings import load_settings

    engine = open_store(load_settings(settings_file).effective_database_url())
    with Session(engine) as session:
        theme = Theme(key="t-sync", label="sync breaks", keywords=["sync"], quotes=[{"text": "sync breaks"}],
                      model="m", centroid=b"\0")  # fmt: skip
        session.add(theme)
        session.commit()
        return ingested, str(theme.id)


def assert_documented_keys(name: str, result) -> None:
    keys, more_allowed = documented_json_keys()[name]
    assert result.exit_code in (0, 1), (name, result.output)  # 1: doctor without a tracker's token
    printed = json.loads(result.stdout)
    records = printed if isinstance(printed, list) else [printed]
    assert records or name == "plan", name  # every list but the plan has rows in this store
    for record in records:
        assert keys <= set(record) if more_allowed else keys == set(record), (name, sorted(record))


def test_every_report_prints_json_with_its_documented_keys(settings_file, tmp_path):
    assert set(documented_json_keys()) == {"ingest", *REPORTS, "run", "doctor"}
    ingested, theme_id = store_with_every_kind_of_row(settings_file, tmp_path)
    assert_documented_keys("ingest", ingested)
    for name, args in REPORTS.items():
        command = [theme_id if arg == "{theme}" else arg for arg in args]
        assert_documented_keys(name, invoke(settings_file, *command, "--format", "json"))


@pytest.mark.slow
def test_run_and_doctor_print_json_with_their_documented_keys(settings_file, tmp_path):
    store_with_every_kind_of_row(settings_file, tmp_path)
    assert_documented_keys("doctor", invoke(settings_file, "doctor", "--format", "json"))
    run = invoke(settings_file, "run", *WINDOW, "--format", "json")
    assert_documented_keys("run", run)
    assert json.loads(run.stdout)["nps"]["n"] == 2  # the two valid rows of the window


def test_report_goes_to_stdout_or_to_the_file_named(settings_file, tmp_path):
    store_with_every_kind_of_row(settings_file, tmp_path)
    printed = invoke(settings_file, "report", "--format", "json", *WINDOW)
    assert printed.exit_code == 0, printed.output
    out = tmp_path / "reports" / "theme-report.json"
    written = invoke(settings_file, "report", "--format", "json", "--out", str(out), *WINDOW)
    assert written.exit_code == 0 and f"wrote {out}" in written.stderr
    from_file, from_stdout = json.loads(out.read_text(encoding="utf-8")), json.loads(printed.stdout)
    from_file.pop("generated_at"), from_stdout.pop("generated_at")  # the wall clock, read once per report
    assert from_file == from_stdout and from_file["themes"]


@dataclass
class Thing:
    name: str
    count: int
    note: str


def test_a_view_declares_each_field_once_for_the_table_and_the_json(capsys):
    things = view.Rows[Thing](
        "things",
        [view.Field("name"), view.Field("count", summed=True, cell=lambda t: f"{t.count} pcs"), view.json_only("note")],
        total=True,
    )
    items = [Thing("[b]bold[/b]", 2, "x"), Thing("plain", 3, "y")]
    assert things.json(items) == [{"name": "[b]bold[/b]", "count": 2, "note": "x"},
                                  {"name": "plain", "count": 3, "note": "y"}]  # fmt: skip
    things.text(items)
    table = capsys.readouterr().out
    assert "[b]bold[/b]" in table and "2 pcs" in table and "note" not in table
    total = next(line for line in table.splitlines() if "total" in line)
    assert [cell.strip() for cell in total.split("│")][1:3] == ["total", "5"]


def test_a_document_leaves_out_only_the_optional_parts_that_are_none():
    parts = view.Document[Thing](
        [
            view.Part("name", lambda t: t.name),
            view.Part("missing", lambda t: None),
            view.Part("figures", lambda t: None, optional=True),
            view.Part(None, show=lambda t: None),
        ]
    )
    assert parts.json(Thing("a", 1, "")) == {"name": "a", "missing": None}
