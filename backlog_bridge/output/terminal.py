r"""The terminal end of the output layer: every line, table and JSON document the CLI prints goes through here.

Text that comes from data or paths (comments, labels, file names, error messages) is never read as
Rich markup and never reaches the terminal as a control sequence: a customer's `[/quote]` prints as
written, and `ESC[2J` or an OSC 8 link shows as `\x1b[2J` instead of clearing the screen. Our own
messages print brackets literally too; only `styled` takes markup, with data passed through `safe`.
`--format json` writes plain JSON to stdout (control characters escaped by the encoder).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Column, Table
from rich.text import Text

_WIDTH = None if sys.stdout.isatty() else 160  # pipes and files get full rows, not 80 columns
stdout = Console(width=_WIDTH, highlight=False)
stderr = Console(stderr=True, width=_WIDTH, highlight=False)
logger = logging.getLogger(__name__)

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
"""Control characters except tab and newline, C1 controls, and bidi overrides that reorder text."""
PROGRESS_LOG_SECONDS = 10.0
"""Without a terminal, a long step logs its progress at most this often (and when it ends)."""


class OutputFormat(StrEnum):
    """Machine- or human-readable output."""

    table = "table"
    json = "json"


class PlanFormat(StrEnum):
    """Output formats of a result that also reads as a Markdown document (`plan`)."""

    table = "table"
    json = "json"
    markdown = "markdown"


def neutralise(text: object) -> str:
    r"""The text with control characters shown as `\xNN`, so a raw terminal escape never acts."""
    return _CONTROL.sub(lambda found: f"\\x{ord(found.group()):02x}", str(text))


def safe(text: object) -> str:
    """Data made safe to put inside a markup string for `styled`: neutralised, brackets escaped."""
    return escape(neutralise(text))


def _console(err: bool) -> Console:
    return stderr if err else stdout


def say(text: object, *, err: bool = False) -> None:
    """Print a line literally (brackets and all), with control characters neutralised."""
    _console(err).print(neutralise(text), markup=False, highlight=False, soft_wrap=True)


def styled(markup: str, *, err: bool = False) -> None:
    """Print our own markup (e.g. `[red]error:[/red]`); every piece of data in it must go through `safe`."""
    _console(err).print(markup, highlight=False, soft_wrap=True)


def error(message: object, *, prefix: str = "error:") -> None:
    """One error line on stderr: a red prefix, then the message printed literally."""
    styled(f"[red]{escape(prefix)}[/red] {safe(message)}", err=True)


def note(kind: str, message: object, *, colour: str = "yellow") -> None:
    """One note on stderr (`note`, `quarantined`): a coloured word, then the message literally."""
    styled(f"[{colour}]{escape(kind)}[/{colour}] {safe(message)}", err=True)


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[object]], *, err: bool = False) -> None:
    """A table whose every cell is printed literally (cells are Text, never markup)."""
    grid = Table(*(Column(header=Text(column)) for column in columns), title=Text(title))
    for row in rows:
        grid.add_row(*(cell if isinstance(cell, Text) else Text(neutralise(cell)) for cell in row))
    _console(err).print(grid)


def emit_json(payload: Any) -> None:
    """Write `payload` as JSON to stdout: no markup, no highlighting, control characters escaped."""
    stdout.file.write(json.dumps(payload, indent=2, default=str) + "\n")
    stdout.file.flush()


def document(text: str, path: Path | None = None) -> None:
    """Write a whole document (a report) to `path`, or to stdout: on a terminal with control characters neutralised."""
    if path is None:
        stdout.file.write(neutralise(text) if stdout.file.isatty() else text)
        stdout.file.flush()
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    say(f"wrote {path}", err=True)


def json_lines(records: Sequence[Any], path: Path) -> None:
    """Write one JSON object per line (UTF-8, as written) to `path`, and say so on stderr."""
    path.write_text("".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records), encoding="utf-8")
    say(f"wrote {len(records)} lines to {path}", err=True)


def progress(
    label: str, *, terminal: bool | None = None, clock: Callable[[], float] = time.monotonic
) -> Callable[[int, int], None]:
    """A reporter for a long step, called with (done, total).

    On a terminal it draws a Rich progress bar on stderr; otherwise (pipes, the worker's logs) it
    logs a line at most every `PROGRESS_LOG_SECONDS` seconds and one when the step ends.
    """
    if stderr.is_terminal if terminal is None else terminal:
        return _BarReporter(label)
    return _LogReporter(label, clock)


class _BarReporter:
    def __init__(self, label: str) -> None:
        self.label = label
        self.bar: Progress | None = None
        self.task = TaskID(0)

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            columns = (TextColumn(escape(self.label)), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
            self.bar = Progress(*columns, console=stderr, transient=True)
            self.bar.start()
            self.task = self.bar.add_task(self.label, total=total)
        self.bar.update(self.task, completed=done, total=total)
        if done >= total:
            self.bar.stop()
            self.bar = None


class _LogReporter:
    """Silent for steps shorter than the interval; then a line per interval and one at the end."""

    def __init__(self, label: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.label = label
        self.clock = clock
        self.started: float | None = None
        self.last: float | None = None

    def __call__(self, done: int, total: int) -> None:
        now = self.clock()
        if self.started is None:
            self.started = now
        since = now - (self.last if self.last is not None else self.started)
        finished = done >= total and (self.last is not None or since >= PROGRESS_LOG_SECONDS)
        if finished or (done < total and since >= PROGRESS_LOG_SECONDS):
            self.last = now
            logger.info(f"{self.label}: {done}/{total}", extra={"done": done, "total": total})
