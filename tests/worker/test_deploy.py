"""The shipped systemd unit names only environment variables the tool really reads."""

from __future__ import annotations

import re
from pathlib import Path

from backlog_bridge.settings import (
    GITHUB_TOKEN_ENV,
    JIRA_EMAIL_ENV,
    JIRA_TOKEN_ENV,
    known_environment_variables,
    load_settings,
)

UNIT = Path(__file__).parents[2] / "deploy" / "backlog-bridge-worker.service"


def test_every_backlog_bridge_name_in_the_unit_file_is_one_the_tool_reads():
    names = set(re.findall(r"\bBACKLOG_BRIDGE_[A-Z0-9_]+", UNIT.read_text(encoding="utf-8")))
    assert names, "the unit file should name the secret variables"
    assert names <= known_environment_variables(), names - known_environment_variables()
    assert {GITHUB_TOKEN_ENV[0], JIRA_TOKEN_ENV, JIRA_EMAIL_ENV} <= names


def test_the_secret_names_in_the_unit_file_do_not_stop_the_tool(monkeypatch, tmp_path):
    (tmp_path / "settings.toml").write_text("[ingest]\nuse_sample_data = false\n", encoding="utf-8")
    for name in re.findall(r"^#\s+(BACKLOG_BRIDGE_[A-Z0-9_]+)=", UNIT.read_text(encoding="utf-8"), re.MULTILINE):
        monkeypatch.setenv(name, "value-from-secrets-env")
    load_settings(tmp_path / "settings.toml")  # raises ConfigError on a name read as an unknown key


def test_known_names_reject_the_old_double_underscore_token():
    assert "BACKLOG_BRIDGE_JIRA__TOKEN" not in known_environment_variables()
    assert "BACKLOG_BRIDGE_JIRA__URL" in known_environment_variables()
