"""Command line: each command parses its options, calls one library function and hands the result on.

What a result prints, as a table, JSON or Markdown, is described once in `output/results.py`.
Every user-facing failure is a `BacklogBridgeError`, printed as one line with exit code 1
(2 for settings and usage problems); a traceback means a bug.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, ParamSpec

import typer
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from backlog_bridge import __version__, logs, pipeline
from backlog_bridge import output as ui
from backlog_bridge import themes as theme_stage
from backlog_bridge.classify import Period
from backlog_bridge.context import AnalysisWindow, RunContext
from backlog_bridge.errors import BacklogBridgeError, ConfigError
from backlog_bridge.output import OutputFormat, PlanFormat, say, show
from backlog_bridge.output import results as views
from backlog_bridge.settings import Settings, load_settings
from backlog_bridge.store import repo
from backlog_bridge.store.db import open_store, redact_url, store_fault

P = ParamSpec("P")
logger = logging.getLogger(__name__)

RUN_EXIT_CODES = {"ok": 0, "failed": 1, "stopped": 1, "partial": 3}
"""`run`'s exit code per run status: a partial run (an unreadable file, themes left pending) is not ok."""


def _reports_errors(command: Callable[P, None]) -> Callable[P, None]:
    """Print a BacklogBridgeError as one line and exit 2 (settings) or 1 (anything else)."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            command(*args, **kwargs)
        except BacklogBridgeError as error:
            ui.error(error)
            raise typer.Exit(2 if isinstance(error, ConfigError) else 1) from None
        except SQLAlchemyError as error:  # disk full, read-only, database gone: one line, no row values
            ui.error(store_fault(error))
            raise typer.Exit(1) from None

    return wrapper


def _group(help_text: str, **options: Any) -> typer.Typer:
    # Help texts print literally: "[schedule]" is a settings table, not Rich markup.
    return typer.Typer(help=help_text, **{"no_args_is_help": True, "rich_markup_mode": None, **options})


app = _group(
    "Turn NPS survey feedback into a groomed product backlog.",
    name="backlog-bridge",
    add_completion=False,
    pretty_exceptions_enable=False,
)
quarantine_app = _group("Rows set aside during ingest, with file, line and reason.")
rules_app = _group("The team's rules in rules/*.toml.")
themes_app = _group(
    "Themes in detractor and passive comments. Bare `themes` lists those of the window and changes nothing; "
    "`themes update` updates them first; `show` tells one theme, and rename, merge, split, suppress and "
    "unsuppress record a team's decisions.",
    no_args_is_help=False,
)
app.add_typer(quarantine_app, name="quarantine")
app.add_typer(rules_app, name="rules")
app.add_typer(themes_app, name="themes")


def _command(group: typer.Typer, name: str | None = None) -> Callable[[Callable[P, None]], Callable[P, None]]:
    """Register a command on `group`, with its errors reported as one line and an exit code."""

    def register(command: Callable[P, None]) -> Callable[P, None]:
        group.command(name)(_reports_errors(command))
        return command

    return register


def _exit(code: int) -> None:
    """End with a non-zero exit code; 0 lets the command end normally."""
    if code:
        raise typer.Exit(code)


# --- options several commands share -----------------------------------------------------------------


def _day_option(help_text: str, *names: str) -> Any:
    return typer.Option(*names, help=help_text, formats=["%Y-%m-%d"], metavar="YYYY-MM-DD")


FormatOption = Annotated[OutputFormat, typer.Option("--format", help="Output format.")]
AsOf = Annotated[
    datetime | None, _day_option("Treat this day (UTC) as today: the analysis window ends with it.", "--as-of")
]
ThemeRef = Annotated[str, typer.Argument(help="Theme id or key.")]
ExportOption = Annotated[
    Path | None, typer.Option(help="Also write JSON Lines: one line per detractor/passive comment and its theme.")
]


class PeriodChoice(StrEnum):
    """Calendar periods for `nps --period`."""

    week = "week"
    month = "month"
    quarter = "quarter"


class TrackerChoice(StrEnum):
    """Trackers `sync` can target."""

    github = "github"
    jira = "jira"


class ReportFormat(StrEnum):
    """Output formats of `report`."""

    html = "html"
    md = "md"
    json = "json"


@dataclass
class Context:
    """What every command needs: the settings file chosen with --config."""

    config: Path | None

    def settings(self) -> Settings:
        """Load and validate the settings, and configure logging from them."""
        settings = load_settings(self.config)
        logs.configure(settings.logging.level, settings.logging.json_lines)
        return settings

    def open(self) -> tuple[Settings, Engine]:
        """The settings, and the store they name (opened and migrated)."""
        settings = self.settings()
        return settings, open_store(settings.effective_database_url())

    def store(self) -> Engine:
        """The store the settings name (opened and migrated)."""
        return self.open()[1]


def _context(ctx: typer.Context) -> Context:
    context: Context = ctx.obj
    return context


def _day_start(moment: datetime | None, next_day: bool = False) -> datetime | None:
    if moment is None:
        return None
    start = datetime.combine(moment.date(), time.min, tzinfo=UTC)
    return start + timedelta(days=1) if next_day else start


def _run_context(settings: Settings, engine: Engine, moment: datetime | None) -> RunContext:
    """The command's analysis window and clock, decided once.

    The window ends after the --as-of day when given; else now, or after the sample's last day (said
    in a note). Progress is drawn on a terminal and logged otherwise.
    """
    context = pipeline.run_context(settings, engine, _day_start(moment, next_day=True), progress=ui.progress)
    if context.note:
        ui.note("note", context.note)
    return context


def _where(settings: Settings) -> str:
    return redact_url(settings.effective_database_url())


def _version(value: bool) -> None:
    if value:
        say(f"backlog-bridge {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="Settings file (default: BACKLOG_BRIDGE_CONFIG or ./settings.toml)."),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Turn NPS survey feedback into a groomed product backlog."""
    ctx.obj = Context(config)


# --- the pipeline, stage by stage -------------------------------------------------------------------


@_command(app)
def ingest(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="Export files (CSV, JSON, JSON Lines) or folders of them.")],
    source: Annotated[
        str | None,
        typer.Option(help="Source name (default: the survey tool recognised, else ingest.default_source)."),
    ] = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Import NPS responses from survey exports; re-importing the same file adds nothing; bad rows go to quarantine."""
    settings, engine = _context(ctx).open()
    imported = pipeline.ingest_files(settings, engine, paths, source, progress=ui.progress)
    show(views.IMPORTS, imported.results, output)
    if imported.sample_note:
        ui.note("note", imported.sample_note)
    _exit(0 if imported.ok else 1)


@_command(quarantine_app, "list")
def quarantine_list(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="Show at most this many rows (0 = all).")] = 100,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Show the rows set aside during ingest and why."""
    engine = _context(ctx).store()
    show(views.QUARANTINE, repo.quarantined_rows(engine, limit or None), output)


@_command(app)
def nps(
    ctx: typer.Context,
    by: Annotated[
        str | None, typer.Option(help="Break down by a segment field (e.g. plan, region) or 'source'.")
    ] = None,
    period: Annotated[PeriodChoice | None, typer.Option(help="Split into calendar periods.")] = None,
    since: Annotated[datetime | None, _day_option("First day included (UTC).")] = None,
    until: Annotated[datetime | None, _day_option("Last day included (UTC).")] = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Show NPS with counts and an adjusted-Wald interval; flag small groups and significant changes.

    The interval's level is nps.confidence in settings (95% by default).
    """
    settings, engine = _context(ctx).open()
    per: Period | None = period.value if period else None
    groups = pipeline.nps_groups(settings, engine, by, per, _day_start(since), _day_start(until, next_day=True))
    show(views.nps_view(by, per, settings.nps.confidence, settings.nps.min_group_size), groups, output)


@_command(app)
def run(ctx: typer.Context, as_of: AsOf = None, output: FormatOption = OutputFormat.table) -> None:
    """Run the whole pipeline once: ingest the inboxes (or the sample data), then NPS, themes, plan, sync, report."""
    settings, engine = _context(ctx).open()
    summary = pipeline.run_exclusively(settings, engine, _day_start(as_of, next_day=True), ui.progress)
    show(views.run_view(settings.nps.confidence, _where(settings)), summary, output)
    _exit(RUN_EXIT_CODES[summary.status])


@_command(app, "runs")
def list_runs(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="How many recent runs to show.")] = 20,
    output: FormatOption = OutputFormat.table,
) -> None:
    """List recent runs and commands from the audit log."""
    engine = _context(ctx).store()
    show(views.RUNS, repo.runs(engine, limit), output)


# --- themes: the list, and a team's decisions -------------------------------------------------------


@themes_app.callback(invoke_without_command=True)
@_reports_errors
def themes(
    ctx: typer.Context, export: ExportOption = None, as_of: AsOf = None, output: FormatOption = OutputFormat.table
) -> None:
    """List the stored themes of the window (id, label, counts, share, trend); change nothing.

    `themes update` updates them from the comments of the window first.
    """
    if ctx.invoked_subcommand is None:
        settings, engine = _context(ctx).open()
        _list_themes(engine, _run_context(settings, engine, as_of).window, export, output)


@_command(themes_app, "update")
def themes_update(
    ctx: typer.Context, export: ExportOption = None, as_of: AsOf = None, output: FormatOption = OutputFormat.table
) -> None:
    """Update themes from the detractor and passive comments of the window, then list them."""
    settings, engine = _context(ctx).open()
    run = _run_context(settings, engine, as_of)
    summary = pipeline.refresh_themes(settings, engine, run)
    say(views.theme_run_line(summary), err=True)
    _list_themes(engine, run.window, export, output)


def _list_themes(engine: Engine, window: AnalysisWindow, export: Path | None, output: OutputFormat) -> None:
    if export is not None:
        ui.json_lines(theme_stage.export_assignments(engine, window), export)
    show(views.THEMES, theme_stage.theme_stats(engine, window), output)


@_command(themes_app, "show")
def themes_show(
    ctx: typer.Context, theme: ThemeRef, as_of: AsOf = None, output: FormatOption = OutputFormat.table
) -> None:
    """Show one theme: figures, keywords, representative quotes and lineage."""
    settings, engine = _context(ctx).open()
    show(views.THEME_DETAIL, pipeline.theme_detail(engine, theme, _run_context(settings, engine, as_of).window), output)


@_command(themes_app, "rename")
def themes_rename(
    ctx: typer.Context,
    theme: ThemeRef,
    label: Annotated[str, typer.Argument(help="The new label; later runs keep it.")],
) -> None:
    """Rename a theme; later runs keep the name."""
    renamed = theme_stage.rename_theme(_context(ctx).store(), theme, label)
    say(f"theme {renamed.id} is now “{renamed.label}”")


@_command(themes_app, "merge")
def themes_merge(
    ctx: typer.Context,
    sources: Annotated[list[str], typer.Argument(help="Theme ids or keys to fold in.")],
    into: Annotated[str, typer.Option("--into", help="Theme id or key that absorbs them.")],
) -> None:
    """Merge themes into one; their comments, and similar future ones, belong to it from now on."""
    target = theme_stage.merge_themes(_context(ctx).store(), sources, into)
    say(f"merged {', '.join(sources)} into theme {target.id} “{target.label}”")


@_command(themes_app, "split")
def themes_split(ctx: typer.Context, theme: ThemeRef) -> None:
    """Split a theme in two by meaning; later runs never merge the halves back."""
    settings, engine = _context(ctx).open()
    embedder = pipeline.make_embedder(settings, progress=ui.progress("embedding comments"))
    halves = theme_stage.split_theme(engine, embedder, theme)
    say("split into " + " and ".join(f"{half.id} “{half.label}” ({half.size})" for half in halves))


@_command(themes_app, "suppress")
def themes_suppress(
    ctx: typer.Context,
    theme: ThemeRef,
    reason: Annotated[str, typer.Option(help="Why it is never filed (shown in the plan).")],
) -> None:
    """Never file a theme (it keeps its comments, so it is not rediscovered)."""
    done = theme_stage.suppress_theme(_context(ctx).store(), theme, reason)
    say(f"theme {done.id} “{done.label}” suppressed: {reason}")


@_command(themes_app, "unsuppress")
def themes_unsuppress(ctx: typer.Context, theme: ThemeRef) -> None:
    """Lift a suppression: the theme may be filed again."""
    done = theme_stage.suppress_theme(_context(ctx).store(), theme, None)
    say(f"theme {done.id} “{done.label}” may be filed again")


# --- rules, plan, sync, report ----------------------------------------------------------------------


@_command(rules_app, "check")
def rules_check(ctx: typer.Context, output: FormatOption = OutputFormat.table) -> None:
    """Validate rules/*.toml, and the routes against the configured trackers; list every problem as file:key."""
    checked = pipeline.check_team_rules(_context(ctx).settings())
    show(views.RULES_CHECK, checked, output)
    _exit(0 if checked.ok else 1)


@_command(app)
def plan(
    ctx: typer.Context,
    output: Annotated[PlanFormat, typer.Option("--format", help="Output format.")] = PlanFormat.table,
    as_of: AsOf = None,
) -> None:
    """Show the next sprint's plan: which themes would be filed, updated, left or skipped, and why (writes nothing)."""
    settings, engine = _context(ctx).open()
    show(views.PLAN, pipeline.sprint_plan(settings, engine, _run_context(settings, engine, as_of).window), output)


@_command(app)
def sync(
    ctx: typer.Context,
    tracker: Annotated[
        TrackerChoice | None, typer.Option(help="Tracker to sync (default: the configured ones).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Read only: say what would be created or updated.")
    ] = False,
    as_of: AsOf = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """File the sprint plan in the tracker: one issue per theme, created once, then updated; never a duplicate."""
    settings, engine = _context(ctx).open()
    synced = pipeline.sync_trackers(settings, engine, _run_context(settings, engine, as_of), tracker, dry_run)
    show(views.SYNC, synced, output)
    _exit(1 if synced.failed else 3 if synced.pending else 0)  # 3: partial, as for `run`


@_command(app)
def report(
    ctx: typer.Context,
    output: Annotated[ReportFormat, typer.Option("--format", help="html (one self-contained file), md or json.")] = (
        ReportFormat.html
    ),
    out_path: Annotated[Path | None, typer.Option("--out", help="Write to this file instead of stdout.")] = None,
    as_of: AsOf = None,
) -> None:
    """Write the theme report for leads: what hurts NPS most, how sure we are, what is being done, what fixes achieved.

    Without --out it goes to stdout.
    """
    settings, engine = _context(ctx).open()
    ui.document(pipeline.report_text(settings, engine, output.value, _run_context(settings, engine, as_of)), out_path)


# --- running as a service, and checking the set-up --------------------------------------------------


@_command(app)
def worker(ctx: typer.Context) -> None:
    """Run the pipeline on the [schedule] in settings until SIGTERM; one run at a time per database."""
    from backlog_bridge.worker import StopSignal, build_scheduler, run_worker

    settings, engine = _context(ctx).open()
    pipeline.load_team_rules(settings)  # the worker does not start on bad rules
    stop = StopSignal()

    def job(should_stop: Callable[[], bool]) -> None:  # runs under the run lock
        progress = functools.partial(ui.progress, terminal=False)  # a service logs, it draws no bars
        summary = pipeline.run_holding_lock(settings, engine, should_stop, progress=progress)
        for error in summary.errors:
            logger.error("worker.stage-failed", extra={"run": summary.run_id, "error": error})

    schedule = settings.schedule
    scheduler = build_scheduler(schedule, engine, job, sprint_job=job if schedule.sprint_cron else None, stop=stop)
    say(
        f"worker: pipeline on '{schedule.cron}' ({schedule.timezone}); store: {_where(settings)}; "
        "stop with SIGTERM or Ctrl-C",
        err=True,
    )
    run_worker(scheduler, stop)


@_command(app, "doctor")
def doctor_command(ctx: typer.Context, output: FormatOption = OutputFormat.table) -> None:
    """Check settings, rules, database, model, schedule and trackers (read-only calls); say what to fix."""
    from backlog_bridge.doctor import run_doctor

    checked = run_doctor(
        _context(ctx).settings,
        schedule=lambda settings: settings.schedule,
        load_embedder=pipeline.make_embedder,
        trackers=pipeline.tracker_probes,
    )
    show(views.DOCTOR, checked, output)
    _exit(0 if checked.ok else 1)


def main() -> None:
    """Console-script entry point (also `python -m backlog_bridge`: its help names the command the same)."""
    app(prog_name="backlog-bridge")
