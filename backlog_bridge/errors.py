"""The error hierarchy: every failure a user can act on is a `BacklogBridgeError`.

The CLI prints `str(error)` on one line and exits non-zero; a traceback means a bug in backlog_bridge.
"""

from __future__ import annotations


class BacklogBridgeError(Exception):
    """Base of every error backlog_bridge reports to a user."""


class ConfigError(BacklogBridgeError):
    """The settings file or environment is wrong; the message names the file and the key."""


class RulesError(BacklogBridgeError):
    """A rules/*.toml file is invalid; the message names the file and the key."""


class StoreError(BacklogBridgeError):
    """The database cannot be opened, migrated or written."""


class RunInProgressError(BacklogBridgeError):
    """Another process holds the database's run lock; the message names the holder."""


class IngestError(BacklogBridgeError):
    """A whole input file cannot be read (not a row: bad rows go to quarantine)."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class TrackerError(BacklogBridgeError):
    """A tracker call failed."""


class TrackerTransientError(TrackerError):
    """429, 5xx, timeout: the action stays pending for the next run."""


class TrackerTerminalError(TrackerError):
    """401, 403, 404, 422: retrying will not help; the theme is marked failed and the run goes on."""
