"""The command line, end to end through the real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backlog_bridge.cli import app
from backlog_bridge.pipeline import sample_data_path

runner = CliRunner()


def invoke(settings_file: Path, *args: str):
    return runner.invoke(app, ["--config", str(settings_file), *args], catch_exceptions=False)


def test_every_command_has_help():
    commands = [
        [],
        ["ingest"],
        ["nps"],
        ["quarantine"],
        ["quarantine", "list"],
        ["run"],
        ["runs"],
        ["themes"],
        ["themes", "update"],
        ["themes", "show"],
        ["themes", "rename"],
        ["themes", "merge"],
        ["themes", "split"],
        ["themes", "suppress"],
        ["themes", "unsuppress"],
        ["plan"],
        ["sync"],
        ["report"],
        ["rules"],
        ["rules", "check"],
        ["doctor"],
        ["worker"],
    ]
    for command in commands:
        result = runner.invoke(app, [*command, "--help"], catch_exceptions=False)
        assert result.exit_code == 0, command
        assert "Usage" in result.output


def test_ingest_twice_reports_zero_new(settings_file):
    first = invoke(settings_file, "ingest", str(sample_data_path()), "--format", "json")
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)[0]
    assert report["read"] == report["new"] > 2000
    second = invoke(settings_file, "ingest", str(sample_data_path()), "--format", "json")
    again = json.loads(second.stdout)[0]
    assert (again["new"], again["updated"], again["quarantined"]) == (0, 0, 0)
    assert again["unchanged"] == again["read"] == report["read"]


def _adjusted_wald(p: int, d: int, n: int) -> tuple[float, float]:
    n_adj = n + 3
    pa, da = (p + 0.75) / n_adj, (d + 0.75) / n_adj
    centre = pa - da
    se = math.sqrt((pa + da - centre**2) / n_adj)
    return 100 * max(-1, centre - 1.959964 * se), 100 * min(1, centre + 1.959964 * se)


def _independent(rows, key):
    groups = defaultdict(Counter)
    for row in rows:
        score = int(row["score"])
        bucket = "p" if score >= 9 else "pa" if score >= 7 else "d"
        groups[key(row)][bucket] += 1
    return groups


def test_nps_json_matches_an_independent_computation(settings_file):
    assert invoke(settings_file, "ingest", str(sample_data_path())).exit_code == 0
    with sample_data_path().open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))

    overall = json.loads(invoke(settings_file, "nps", "--format", "json").stdout)["groups"]
    counts = _independent(rows, lambda row: "all")["all"]
    n = len(rows)
    assert len(overall) == 1
    group = overall[0]
    assert (group["n"], group["promoters"], group["detractors"]) == (n, counts["p"], counts["d"])
    assert group["nps"] == pytest.approx(100 * (counts["p"] - counts["d"]) / n, abs=0.01)
    low, high = _adjusted_wald(counts["p"], counts["d"], n)
    assert (group["ci_low"], group["ci_high"]) == (
        pytest.approx(low, abs=0.02),
        pytest.approx(high, abs=0.02),
    )

    by_plan_month = json.loads(
        invoke(settings_file, "nps", "--by", "plan", "--period", "month", "--format", "json").stdout
    )
    expected = _independent(rows, lambda row: (row["plan"], row["responded_at"][:7]))
    assert len(by_plan_month["groups"]) == len(expected)
    for g in by_plan_month["groups"]:
        c = expected[(g["group"], g["period"])]
        size = sum(c.values())
        assert (g["n"], g["promoters"], g["passives"], g["detractors"]) == (size, c["p"], c["pa"], c["d"])
        assert g["too_small"] == (size < 30)
        lo, hi = _adjusted_wald(c["p"], c["d"], size)
        assert g["ci_low"] == pytest.approx(lo, abs=0.02) and g["ci_high"] == pytest.approx(hi, abs=0.02)


def test_nps_since_until_are_inclusive_days(settings_file):
    invoke(settings_file, "ingest", str(sample_data_path()))
    with sample_data_path().open(encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if "2026-04-01" <= r["responded_at"][:10] <= "2026-04-30"]
    result = invoke(settings_file, "nps", "--since", "2026-04-01", "--until", "2026-04-30", "--format", "json")
    assert json.loads(result.stdout)["groups"][0]["n"] == len(rows)


def test_nps_marks_significant_changes_in_the_table(settings_file, tmp_path):
    lines = ["id,date,score"]
    lines += [f"A{i},2026-01-{1 + i % 28:02d},10" for i in range(80)]
    lines += [f"B{i},2026-02-{1 + i % 28:02d},1" for i in range(80)]
    lines += [f"C{i},2026-03-{1 + i % 28:02d},1" for i in range(5)]
    path = tmp_path / "shift.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    invoke(settings_file, "ingest", str(path))
    result = invoke(settings_file, "nps", "--period", "month")
    assert result.exit_code == 0
    feb = next(line for line in result.output.splitlines() if "2026-02" in line)
    mar = next(line for line in result.output.splitlines() if "2026-03" in line)
    assert "-200.0 *" in feb
    assert "too few" in mar


def test_quarantine_list_shows_file_line_reason(settings_file, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("id,date,score\nR1,2026-03-01,eleven\nR2,2026-03-01,9\n", encoding="utf-8")
    result = invoke(settings_file, "ingest", str(path))
    assert result.exit_code == 0
    listed = json.loads(invoke(settings_file, "quarantine", "list", "--format", "json").stdout)
    assert listed == [
        {"path": str(path), "line": 2, "source": "default", "reason": "score 'eleven' is outside 0-10",
         "raw": "R1,2026-03-01,eleven"}
    ]  # fmt: skip
    table = invoke(settings_file, "quarantine", "list")
    assert "outside 0-10" in table.output


def test_malformed_corpus_via_cli_never_shows_a_traceback(settings_file, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "empty.csv").write_bytes(b"")
    (inbox / "binary.csv").write_bytes(b"\x00\x01" * 100)
    (inbox / "bad.json").write_text("[{", encoding="utf-8")
    (inbox / "ok.csv").write_text("id,date,score\nR1,2026-03-01,9\nR2,2026-03-01,11\n", encoding="utf-8")
    result = invoke(settings_file, "ingest", str(inbox), "--format", "json")
    assert result.exit_code == 1  # some files could not be read at all
    assert "Traceback" not in result.output
    reports = {Path(r["path"]).name: r for r in json.loads(result.stdout)}
    assert reports["ok.csv"]["new"] == 1 and reports["ok.csv"]["quarantined"] == 1
    assert reports["empty.csv"]["error"] == "file is empty"
    assert "binary" in reports["binary.csv"]["error"]
    assert "not valid JSON" in reports["bad.json"]["error"]


def test_unknown_settings_key_names_file_and_key(tmp_path):
    path = tmp_path / "settings.toml"
    path.write_text("[nps]\nmin_grup_size = 10\n", encoding="utf-8")
    result = runner.invoke(app, ["--config", str(path), "nps"])
    assert result.exit_code == 2
    assert f"{path}: unknown key 'nps.min_grup_size'" in result.output
    assert "did you mean 'min_group_size'" in result.output


def test_mistyped_value_and_missing_file(tmp_path):
    path = tmp_path / "settings.toml"
    path.write_text('[nps]\nmin_group_size = "many"\n', encoding="utf-8")
    result = runner.invoke(app, ["--config", str(path), "nps"])
    assert result.exit_code == 2 and "nps.min_group_size" in result.output
    missing = runner.invoke(app, ["--config", str(tmp_path / "nope.toml"), "nps"])
    assert missing.exit_code == 2 and "settings file not found" in missing.output


@pytest.mark.slow
def test_run_imports_the_sample_and_records_the_run(tmp_path, store_url, warm_sample_cache):
    settings = tmp_path / "settings.toml"
    settings.write_text(f'database_url = "{store_url}"\n', encoding="utf-8")
    result = invoke(settings, "run")
    assert result.exit_code == 0, result.output
    assert "NPS +" in result.output and "run 1 ok" in result.output
    assert "themes:" in result.output and "active from" in result.output
    assert (tmp_path / "reports" / "latest.html").is_file() and (tmp_path / "reports" / "latest.json").is_file()
    again = invoke(settings, "run")
    assert "run 2 ok" in again.output
    assert "already imported; skipped" in again.output  # the inbox skips known content
    runs = invoke(settings, "runs")
    assert "run" in runs.output and "new=0" in runs.output
    as_json = invoke(settings, "run", "--as-of", "2026-09-30", "--format", "json")
    assert as_json.exit_code == 0, as_json.output
    summary = json.loads(as_json.stdout)
    assert summary["ok"] is True and summary["run_id"] == 3 and summary["as_of"].startswith("2026-10-01")
    assert summary["themes"]["window_end"].startswith("2026-10-01") and summary["themes"]["active_themes"] > 0
    assert summary["nps"]["n"] < 3000  # responses after the --as-of day are left out
    assert summary["plan"] and {"action", "reason", "brief"} <= set(summary["plan"][0])
    assert any(path.endswith("latest.html") or path.endswith(".html") for path in summary["report_files"])
    assert summary["imports"][0]["source"] == "sample" and summary["errors"] == []
    first = json.loads(invoke(settings, "runs", "--format", "json").stdout)[-1]
    assert first["command"] == "run" and first["counts"]["themes"] > 0


def test_python_dash_m_and_environment_database_override(tmp_path):
    database = tmp_path / "from_env.db"
    env = {"BACKLOG_BRIDGE_DATABASE_URL": f"sqlite:///{database}", "PATH": "/usr/bin:/bin"}
    sample = str(sample_data_path())
    completed = subprocess.run(
        [sys.executable, "-m", "backlog_bridge", "ingest", sample, "--format", "json"],
        capture_output=True, text=True, env=env, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert database.exists()


def test_run_says_who_holds_the_run_lock_and_starts_nothing(settings_file):
    from backlog_bridge.settings import load_settings
    from backlog_bridge.store import repo
    from backlog_bridge.store.db import open_store
    from backlog_bridge.store.lock import run_lock

    engine = open_store(load_settings(settings_file).effective_database_url())
    with run_lock(engine) as held:
        assert held
        result = invoke(settings_file, "run")
    assert result.exit_code == 1
    assert "another run is in progress" in result.stderr and f"pid {os.getpid()}" in result.stderr
    assert repo.runs(engine) == []  # nothing started, nothing recorded
    engine.dispose()


def test_help_keeps_every_word_of_each_command_and_option(tmp_path):
    """Help texts print literally: brackets, backticks and the like never swallow a word."""
    import typer.main

    def commands(group, path):
        yield path, group
        for name, command in getattr(group, "commands", {}).items():
            yield from commands(command, [*path, name])

    for path, command in commands(typer.main.get_command(app), []):
        shown = " ".join(runner.invoke(app, [*path, "--help"], catch_exceptions=False).output.split())
        texts = [command.help or ""] + [param.help or "" for param in command.params if hasattr(param, "help")]
        for text in texts:
            assert " ".join(text.split()) in shown, (path, text)


def test_python_dash_m_help_names_the_console_script():
    completed = subprocess.run(
        [sys.executable, "-m", "backlog_bridge", "worker", "--help"], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith("Usage: backlog-bridge worker [OPTIONS]")
