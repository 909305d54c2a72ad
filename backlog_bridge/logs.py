"""Logging: one event per line (text or JSON), with secrets scrubbed from every message."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from typing import Any

from backlog_bridge.output import neutralise

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
_SECRET_ENV = re.compile(r"(TOKEN|PASSWORD|SECRET|API_KEY)", re.IGNORECASE)
_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^\s/?#]*@")
"""user:password@ in a URL; the password runs to the authority's *last* @ (an unencoded @ in it is common)."""


def secret_values() -> list[str]:
    """Values of environment variables that look like secrets (long enough to be worth hiding)."""
    return [value for name, value in os.environ.items() if _SECRET_ENV.search(name) and len(value) >= 6]


def scrub(text: str, secrets: list[str]) -> str:
    """`text` with secret values and URL passwords replaced by ***."""
    for secret in secrets:
        text = text.replace(secret, "***")
    return mask_url_passwords(text)


def mask_url_passwords(text: str) -> str:
    """`text` with the password of every URL in it replaced by *** (postgresql://u:p@ss@h/db too)."""
    return _URL_PASSWORD.sub(r"\1***@", text)


class EventFormatter(logging.Formatter):
    """`time level event key=value ...`, or one JSON object per line."""

    def __init__(self, json_lines: bool) -> None:
        super().__init__()
        self.json_lines = json_lines
        self.secrets = secret_values()

    def format(self, record: logging.LogRecord) -> str:
        """One line for `record`, secrets replaced by ***."""
        extras = {key: value for key, value in vars(record).items() if key not in _STANDARD}
        if self.json_lines:
            payload: dict[str, Any] = {
                "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
                "level": record.levelname.lower(),
                "event": record.getMessage(),
                "logger": record.name,
                **extras,
            }
            if record.exc_info:
                payload["exception"] = self.formatException(record.exc_info)
            text = json.dumps(payload, default=str, ensure_ascii=False)
        else:
            fields = " ".join(f"{key}={value!r}" for key, value in extras.items())
            text = f"{self.formatTime(record, '%Y-%m-%dT%H:%M:%S')} {record.levelname:<7} {record.getMessage()}"
            text = f"{text} {fields}" if fields else text
            if record.exc_info:
                text += "\n" + self.formatException(record.exc_info)
            text = neutralise(text)  # a comment or path in a message never drives the terminal
        return scrub(text, self.secrets)


def configure(level: str = "INFO", json_lines: bool = False) -> None:
    """Send backlog_bridge's events to stderr in the chosen format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(EventFormatter(json_lines))
    root = logging.getLogger("backlog_bridge")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
