"""The command line's one output layer: each result described once, printed safely as a table, JSON or Markdown.

- `terminal`: every line, table and JSON document goes through here; text from data is never markup
  and never a control sequence.
- `view`: how a result is described (its fields, once) and shown in the format a command asks for.
- `results`: the view of each result the library returns (imports, NPS, themes, plan, sync, runs...).
"""

from backlog_bridge.output.terminal import (
    PROGRESS_LOG_SECONDS,
    OutputFormat,
    PlanFormat,
    document,
    emit_json,
    error,
    json_lines,
    neutralise,
    note,
    progress,
    safe,
    say,
    styled,
    table,
)
from backlog_bridge.output.view import show

__all__ = [
    "PROGRESS_LOG_SECONDS",
    "OutputFormat",
    "PlanFormat",
    "document",
    "emit_json",
    "error",
    "json_lines",
    "neutralise",
    "note",
    "progress",
    "safe",
    "say",
    "show",
    "styled",
    "table",
]
