import json
import logging

from backlog_bridge.logs import EventFormatter, scrub


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


def test_text_lines_never_carry_terminal_escapes():
    line = EventFormatter(json_lines=False).format(_record("ingest.failed /in/\x1b[2Jx\x1b]8;;http://x\x07.csv"))
    assert "\x1b" not in line and "\x07" not in line
    assert "/in/\\x1b[2Jx\\x1b]8;;http://x\\x07.csv" in line
