"""backlog_bridge: turn NPS survey feedback into a groomed product backlog."""

__version__ = "0.1.0"
