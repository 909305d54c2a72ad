"""Adapters by name, imported only when used: `sync --tracker github` never imports jira, and back."""

from __future__ import annotations

import importlib
from typing import Any, cast

from backlog_bridge.errors import ConfigError
from backlog_bridge.sync.tracker import Tracker

_ADAPTERS: dict[str, tuple[str, str]] = {
    "github": ("backlog_bridge.sync.github", "GitHubTracker"),
    "jira": ("backlog_bridge.sync.jira", "JiraTracker"),
}


def tracker_names() -> list[str]:
    """Names accepted by `--tracker`."""
    return sorted(_ADAPTERS)


def tracker_class(name: str) -> type[Any]:
    """The adapter class for `name`, imported now.

    Raises:
        ConfigError: unknown name, or the adapter's module cannot be imported.
    """
    if name not in _ADAPTERS:
        raise ConfigError(f"unknown tracker {name!r}: expected one of {', '.join(tracker_names())}")
    module_name, class_name = _ADAPTERS[name]
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ConfigError(f"tracker {name!r} is not available: {error}") from error
    return cast(type[Any], getattr(module, class_name))


def build_tracker(name: str, section: Any) -> Tracker:
    """The adapter for `name`, configured from its settings section (`settings.github`, `settings.jira`).

    Each adapter class offers `from_settings(section, token)` and each section `token()`, which reads
    the secret from the environment.

    Raises:
        ConfigError: unknown tracker, section missing, or token missing.
    """
    cls = tracker_class(name)
    if section is None:
        raise ConfigError(f"tracker {name!r} is not configured: add a [{name}] table to settings.toml")
    return cast(Tracker, cls.from_settings(section, section.token()))
