import json
import logging

import pytest

from backlog_bridge.logs import EventFormatter, mask_url_passwords, scrub
from backlog_bridge.store.db import redact_url


def _record(message: str, **extra) -> logging.LogRecord:
    record = logging.makeLogRecord({"msg": message, "levelname": "INFO", "name": "backlog_bridge.x"})
    record.__dict__.update(extra)
    return record


def test_secrets_from_the_environment_never_reach_a_log_line(monkeypatch):
    monkeypatch.setenv("BACKLOG_BRIDGE_GITHUB_TOKEN", "ghp_supersecretvalue123")
    formatter = EventFormatter(json_lines=True)
    line = formatter.format(_record("sync.failed token ghp_supersecretvalue123", url="postgresql://u:pw123@h/db"))
    assert "ghp_supersecretvalue123" not in line and "pw123" not in line
    payload = json.loads(line)
    assert payload["event"] == "sync.failed token ***"
    assert payload["url"] == "postgresql://u:***@h/db"


def test_text_lines_carry_the_extra_fields():
    line = EventFormatter(json_lines=False).format(_record("ingest.file-imported", new=3))
    assert "ingest.file-imported" in line and "new=3" in line


def test_scrub_leaves_ordinary_text_alone():
    assert scrub("nothing to hide", ["secret1"]) == "nothing to hide"


@pytest.mark.parametrize(
    ("url", "password"),
    [("postgresql://u:p@ss@host/db", "p@ss"), ("postgresql+psycopg://app:s3cr3t@db:5432/nps", "s3cr3t"),
     ("postgresql://u:a@b@c@h:5432/db?sslmode=require", "a@b@c"), ("postgresql://:only@pw@h/db", "only@pw"),
     ("postgresql://u:pa:ss@h/db", "pa:ss")],
)  # fmt: skip
def test_a_url_password_is_masked_however_it_is_written(url, password):
    for masked in (redact_url(url), scrub(f"cannot connect to {url}: refused", []), mask_url_passwords(url)):
        assert "***" in masked
        assert password not in masked and password.split("@")[-1] not in masked.split("***")[1].split("/")[0]
    assert redact_url(url).endswith(url.split("@")[-1])  # the host stays readable


def test_masking_leaves_urls_without_a_password_and_emails_alone():
    text = "postgresql://app@db/nps; mail me at a@b.example; sqlite:///x.db"
    assert redact_url(text) == text


def test_text_lines_never_carry_terminal_escapes():
    line = EventFormatter(json_lines=False).format(_record("ingest.failed /in/\x1b[2Jx\x1b]8;;http://x\x07.csv"))
    assert "\x1b" not in line and "\x07" not in line
    assert "/in/\\x1b[2Jx\\x1b]8;;http://x\\x07.csv" in line
