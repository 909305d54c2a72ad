"""`plan` and `rules check` through the CLI, on the bundled sample data and the shipped rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backlog_bridge.cli import app
from backlog_bridge.plan.redact import Redactor
from backlog_bridge.plan.rules import load_rules

RULES = Path(__file__).parent.parent / "rules"
runner = CliRunner()


def settings(tmp_path: Path, store_url: str, rules: Path = RULES, sample: bool = True) -> Path:
    path = tmp_path / "settings.toml"
    path.write_text(
        f'database_url = "{store_url}"\nrules_dir = "{rules}"\n[ingest]\nuse_sample_data = {str(sample).lower()}\n',
        encoding="utf-8",
    )
    return path


def test_shipped_rules_pass_rules_check(tmp_path, store_url):
    result = runner.invoke(app, ["--config", str(settings(tmp_path, store_url)), "rules", "check"])
    assert result.exit_code == 0, result.output
    assert "rules OK" in result.output


def test_bad_rules_name_file_and_key(tmp_path, store_url):
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "priority.toml").write_text("[sprint]\nticket_budjet = 3\n", encoding="utf-8")
    result = runner.invoke(app, ["--config", str(settings(tmp_path, store_url, folder)), "rules", "check"])
    assert result.exit_code == 1
    assert "priority.toml:sprint.ticket_budjet" in result.output


@pytest.mark.slow
def test_plan_on_the_sample_data_is_actionable_and_carries_no_personal_data(tmp_path, store_url, warm_sample_cache):
    config = settings(tmp_path, store_url)
    assert runner.invoke(app, ["--config", str(config), "run"], catch_exceptions=False).exit_code == 0
    assert runner.invoke(app, ["--config", str(config), "themes", "update", "--as-of", "2026-10-31"]).exit_code == 0
    result = runner.invoke(app, ["--config", str(config), "plan", "--format", "json", "--as-of", "2026-10-31"])
    assert result.exit_code == 0, result.output
    items = json.loads(result.stdout)
    assert items and all(item["reason"] for item in items)
    actions = {item["action"] for item in items}
    assert "create" in actions and "skip" in actions
    created = [item for item in items if item["action"] == "create"]
    assert all(item["priority"] and item["brief"]["impact_high"] < 0 for item in created)
    assert [i["score"] for i in items] == sorted((i["score"] for i in items), reverse=True)
    redactor = Redactor.from_rules(load_rules(RULES).redaction)
    for item in items:
        for quote in item["brief"]["quotes"]:
            assert redactor.findings(quote) == [], quote
    markdown = runner.invoke(app, ["--config", str(config), "plan", "--format", "markdown", "--as-of", "2026-10-31"])
    assert "# Sprint plan" in markdown.output and "## To file this sprint" in markdown.output
    table = runner.invoke(app, ["--config", str(config), "plan", "--as-of", "2026-10-31"])
    assert "sprint plan" in table.output and "create" in table.output
    # A window before the first response: the stored themes have nobody to weigh, so nothing is planned.
    for command in (["plan", "--format", "json"], ["sync", "--dry-run", "--format", "json"]):
        before = runner.invoke(app, ["--config", str(config), *command, "--as-of", "2020-01-01"])
        assert before.exit_code == 0, before.output
        assert "Traceback" not in before.output and "create" not in before.stdout, before.output


def jira_only(tmp_path: Path, store_url: str, routing: str | None) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    if routing is not None:
        (folder / "routing.toml").write_text(routing, encoding="utf-8")
    path = tmp_path / "settings.toml"
    path.write_text(
        f'database_url = "{store_url}"\nrules_dir = "{folder}"\n[ingest]\nuse_sample_data = false\n'
        '[jira]\nurl = "http://127.0.0.1:9"\nproject = "FB"\n',
        encoding="utf-8",
    )
    return path


GITHUB_ROUTE = "[[route]]\nname = 'mobile'\ntracker = 'github'\n[route.match]\nkeywords_any = ['app']\n"


@pytest.mark.parametrize("command", [["rules", "check"], ["plan"], ["sync"], ["sync", "--dry-run"], ["doctor"]])
def test_a_route_to_an_unconfigured_tracker_is_an_error_everywhere(tmp_path, store_url, command):
    config = jira_only(tmp_path, store_url, GITHUB_ROUTE)
    result = runner.invoke(app, ["--config", str(config), *command])
    assert result.exit_code != 0, result.output
    text = " ".join(result.output.split())
    assert "route 'mobile' routes to tracker 'github', which is not configured" in text
    assert "add a [github] table" in text


def test_with_only_jira_the_default_routing_goes_to_jira(tmp_path, store_url):
    shipped = (RULES / "routing.toml").read_text(encoding="utf-8")
    config = jira_only(tmp_path, store_url, shipped)
    result = runner.invoke(app, ["--config", str(config), "rules", "check"])
    assert result.exit_code == 0, result.output
    from backlog_bridge.pipeline import load_team_rules
    from backlog_bridge.plan.rules import ThemeFacts, route_for
    from backlog_bridge.settings import load_settings

    rules = load_team_rules(load_settings(config))
    assert route_for(ThemeFacts("slow exports", ("export",), 40), rules).tracker == "jira"
