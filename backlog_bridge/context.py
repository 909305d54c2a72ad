"""What one run knows before any stage starts: the analysis window and the wall clock, kept apart.

The analysis window says *what is analysed*: responses before `end` (`--as-of`), the theme window
of `days` before it and the window before that (trends compare the two). The wall clock says *when
things happen*: audit stamps on tracker links, comments and reports are real times, even when the
window ends in the past (`sync --as-of 2026-01-01` writes today's date, analyses January's data).

`pipeline.run_context` makes the one `RunContext` of a run or command; stages get the values they
need from it (a window, a clock, a progress reporter) and never decide "now" themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from backlog_bridge.store.tables import utcnow

Clock = Callable[[], datetime]
"""The wall clock: timezone-aware UTC now (tests pass a fixed one)."""
Reporter = Callable[[int, int], None]
"""Told (done, total) as a long step goes on; the last call has done == total."""
ProgressFactory = Callable[[str], Reporter]
"""A reporter for the step with this label ("embedding comments", "importing a.csv")."""


def no_progress(label: str) -> Reporter:
    """A reporter that shows nothing (the library's default: only the CLI draws or logs progress)."""
    del label
    return _ignore


def _ignore(done: int, total: int) -> None:
    del done, total


@dataclass(frozen=True)
class AnalysisWindow:
    """The period a run analyses: [start, end), and the period of the same length before it.

    Attributes:
        end: the end of the window, exclusive (`--as-of D` means up to the end of day D).
        days: the window's length (settings `themes.window_days`).
    """

    end: datetime
    days: int

    @property
    def start(self) -> datetime:
        """First moment of the window."""
        return self.end - timedelta(days=self.days)

    @property
    def previous_start(self) -> datetime:
        """First moment of the window before, which trends compare against ([previous_start, start))."""
        return self.start - timedelta(days=self.days)


@dataclass(frozen=True)
class RunContext:
    """The values one run (or one single-stage command) shares between its stages.

    Attributes:
        window: what is analysed; fixed once for the whole run.
        started_at: the wall clock when the run began.
        clock: the wall clock, for audit stamps written as the run goes (never the window's end).
        progress: makes a reporter for each long step.
        note: why the window ends where it does, when that is not the clock's now (only the
            bundled sample in the store); None otherwise.
    """

    window: AnalysisWindow
    started_at: datetime
    clock: Clock = utcnow
    progress: ProgressFactory = field(default=no_progress)
    note: str | None = None

    @property
    def as_of(self) -> datetime:
        """The end of the analysis window."""
        return self.window.end
