"""Command line: thin wrappers that load settings, call one function and print its result.

Every user-facing failure is a `BacklogBridgeError`, printed as one line with exit code 1
(2 for settings and usage problems); a traceback means a bug.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from backlog_bridge import __version__, logs, pipeline
from backlog_bridge import output as ui
from backlog_bridge import themes as theme_stage
from backlog_bridge.classify import NpsGroup, nps_breakdown, z_for
from backlog_bridge.context import AnalysisWindow, RunContext
from backlog_bridge.embed.embedder import Embedder
from backlog_bridge.errors import BacklogBridgeError, ConfigError, RulesError
from backlog_bridge.ingest.importer import ImportResult, import_paths
from backlog_bridge.output import OutputFormat, emit_json, safe, say, styled, table
from backlog_bridge.plan.model import PlanItem
from backlog_bridge.plan.present import impact_text, plan_json, plan_markdown, target_text
from backlog_bridge.plan.redact import Redactor
from backlog_bridge.plan.rules import Rules
from backlog_bridge.settings import Settings, load_settings
from backlog_bridge.store import repo
from backlog_bridge.store.db import open_store, redact_url, store_fault
from backlog_bridge.store.lock import run_lock
from backlog_bridge.store.tables import RunRecord
from backlog_bridge.sync.engine import SyncReport

P = ParamSpec("P")
R = TypeVar("R")


def _reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Print a BacklogBridgeError as one line and exit 2 (settings) or 1 (anything else)."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except BacklogBridgeError as error:
            ui.error(error)
            raise typer.Exit(2 if isinstance(error, ConfigError) else 1) from None
        except SQLAlchemyError as error:  # disk full, read-only, database gone: one line, no row values
            ui.error(store_fault(error))
            raise typer.Exit(1) from None

    return wrapper


app = typer.Typer(
    name="backlog-bridge",
    help="Turn NPS survey feedback into a groomed product backlog.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts print literally: "[schedule]" is a settings table, not markup
)
quarantine_app = typer.Typer(
    help="Rows set aside during ingest, with file, line and reason.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(quarantine_app, name="quarantine")
rules_app = typer.Typer(help="The team's rules in rules/*.toml.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(rules_app, name="rules")
themes_app = typer.Typer(
    help="Themes in detractor and passive comments. Bare `themes` lists those of the window and changes "
    "nothing; `themes update` updates them first; `show` and a team's decisions below.",
    rich_markup_mode=None,
)
app.add_typer(themes_app, name="themes")

logger = logging.getLogger(__name__)
FormatOption = Annotated[OutputFormat, typer.Option("--format", help="Output format.")]


class PeriodChoice(StrEnum):
    """Calendar periods for `nps --period`."""

    week = "week"
    month = "month"
    quarter = "quarter"


@dataclass
class Context:
    """What every command needs: the settings file chosen with --config."""

    config: Path | None

    def settings(self) -> Settings:
        """Load and validate the settings, and configure logging from them."""
        settings = load_settings(self.config)
        logs.configure(settings.logging.level, settings.logging.json_lines)
        return settings

    def store(self, settings: Settings) -> Engine:
        """Open (and migrate) the store the settings name."""
        return open_store(settings.effective_database_url())

    def embedder(self, settings: Settings) -> Embedder:
        """The embedding model the settings name (offline; GPU when present and allowed)."""
        return pipeline.make_embedder(settings, progress=ui.progress("embedding comments"))


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


@app.command()
@_reports_errors
def ingest(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="Export files (CSV, JSON, JSON Lines) or folders of them.")],
    source: Annotated[
        str | None,
        typer.Option(help="Source name (default: the survey tool recognised, else ingest.default_source)."),
    ] = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Import NPS responses; re-importing the same file adds nothing; bad rows go to quarantine."""
    context: Context = ctx.obj
    settings = context.settings()
    engine = context.store(settings)
    run_id = repo.start_run(engine, "ingest")
    results = import_paths(engine, paths, settings.ingest, source=source, progress=ui.progress)
    failed = [r for r in results if r.error]
    repo.finish_run(
        engine,
        run_id,
        "failed" if failed else "ok",
        counts=_totals(results),
        error="; ".join(f"{r.path}: {r.error}" for r in failed) or None,
    )
    removed = pipeline.retire_sample(settings, engine)
    if output is OutputFormat.json:
        emit_json([_result_json(r) for r in results])
    else:
        _print_imports(results)
    if removed:
        ui.note("note", removed)
    if failed:
        raise typer.Exit(1)


def _totals(results: list[ImportResult]) -> dict[str, int]:
    return {
        key: sum(getattr(r, key) for r in results) for key in ("read", "new", "updated", "unchanged", "quarantined")
    }


def _result_json(result: ImportResult) -> dict[str, Any]:
    return {
        "path": result.path,
        "source": result.source,
        "vendor": result.vendor,
        "read": result.read,
        "new": result.new,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "quarantined": result.quarantined,
        "skipped": result.skipped,
        "error": result.error,
        "notices": result.notices,
        "problems": [{"line": line, "reason": reason} for line, reason in result.problems],
    }


def _print_imports(results: list[ImportResult]) -> None:
    keys = ("read", "new", "updated", "unchanged", "quarantined")
    rows: list[list[object]] = [[r.path, r.source, *(getattr(r, k) for k in keys)] for r in results]
    if len(results) > 1:
        totals = _totals(results)
        rows.append(["total", "", *(totals[k] for k in keys)])
    table("ingest", ["file", "source", *keys], rows)
    for r in results:
        if r.error:
            ui.error(f"{r.path}: {r.error}", prefix="error")
        for notice in r.notices:
            ui.note("note", notice)
        for line, reason in r.problems[:20]:
            ui.note("quarantined", f"{r.path}:{line}: {reason}")
        if len(r.problems) > 20:
            say(f"… and {len(r.problems) - 20} more: see `backlog-bridge quarantine list`", err=True)


@quarantine_app.command("list")
@_reports_errors
def quarantine_list(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="Show at most this many rows (0 = all).")] = 100,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Show the rows set aside during ingest and why."""
    context: Context = ctx.obj
    engine = context.store(context.settings())
    rows = repo.quarantined_rows(engine, limit or None)
    if output is OutputFormat.json:
        emit_json(
            [{"path": r.path, "line": r.line, "source": r.source, "reason": r.reason, "raw": r.raw} for r in rows]
        )
        return
    if not rows:
        say("No quarantined rows.")
        return
    table(
        "quarantined rows",
        ["file", "line", "reason", "raw (start)"],
        ([r.path, r.line, r.reason, r.raw[:80].replace("\n", "⏎")] for r in rows),
    )


@app.command()
@_reports_errors
def nps(
    ctx: typer.Context,
    by: Annotated[
        str | None, typer.Option(help="Break down by a segment field (e.g. plan, region) or 'source'.")
    ] = None,
    period: Annotated[PeriodChoice | None, typer.Option(help="Split into calendar periods.")] = None,
    since: Annotated[
        datetime | None,
        typer.Option(help="First day included (UTC).", formats=["%Y-%m-%d"], metavar="YYYY-MM-DD"),
    ] = None,
    until: Annotated[
        datetime | None,
        typer.Option(help="Last day included (UTC).", formats=["%Y-%m-%d"], metavar="YYYY-MM-DD"),
    ] = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """NPS with counts and a 95% adjusted-Wald interval; flags small groups and significant changes."""
    context: Context = ctx.obj
    settings = context.settings()
    engine = context.store(settings)
    start = _day_start(since)
    end = _day_start(until, next_day=True)
    responses = repo.scored_responses(engine, start, end)
    triples = [(r.score, r.responded_at, _group_of(r.source, r.segments, by)) for r in responses]
    groups = nps_breakdown(
        triples, period.value if period else None, settings.nps.min_group_size, z_for(settings.nps.confidence)
    )
    if output is OutputFormat.json:
        emit_json(_nps_json(groups, by, period, settings))
    else:
        _print_nps(groups, by, settings)


def _day_start(moment: datetime | None, next_day: bool = False) -> datetime | None:
    if moment is None:
        return None
    start = datetime.combine(moment.date(), time.min, tzinfo=UTC)
    return start + timedelta(days=1) if next_day else start


def _group_of(source: str, segments: dict[str, Any], by: str | None) -> str:
    if by is None:
        return "all"
    if by == "source":
        return source
    value = segments.get(by)
    return "(none)" if value is None or value == "" else str(value)


def _nps_json(
    groups: list[NpsGroup], by: str | None, period: PeriodChoice | None, settings: Settings
) -> dict[str, Any]:
    return {
        "by": by,
        "period": period.value if period else None,
        "confidence": settings.nps.confidence,
        "method": "adjusted-wald (Rocks 2016)",
        "groups": [
            {
                "group": g.group,
                "period": g.period,
                "n": g.estimate.counts.n,
                "promoters": g.estimate.counts.promoters,
                "passives": g.estimate.counts.passives,
                "detractors": g.estimate.counts.detractors,
                "nps": round(g.estimate.nps, 2),
                "ci_low": round(g.estimate.low, 2),
                "ci_high": round(g.estimate.high, 2),
                "too_small": g.too_small,
                "change": None
                if g.change is None
                else {
                    "delta": round(g.change.delta, 2),
                    "ci_low": round(g.change.low, 2),
                    "ci_high": round(g.change.high, 2),
                    "p_value": round(g.change.p_value, 4),
                    "significant": g.change.significant,
                },
            }
            for g in groups
        ],
    }


def _print_nps(groups: list[NpsGroup], by: str | None, settings: Settings) -> None:
    if not groups:
        say("No responses in range. Import some with `backlog-bridge ingest FILE`.")
        return
    level = f"{settings.nps.confidence:.0%}"
    rows = []
    for g in groups:
        e = g.estimate
        change = "" if g.change is None else f"{g.change.delta:+.1f}" + (" *" if g.change.significant else "")
        rows.append(
            [
                g.group,
                g.period or "",
                e.counts.n,
                e.counts.promoters,
                e.counts.passives,
                e.counts.detractors,
                f"{e.nps:+.1f}" + (" (too few)" if g.too_small else ""),
                f"{e.low:+.1f} to {e.high:+.1f}",
                change,
            ]
        )
    columns = [by or "group", "period", "n", "promoters", "passives", "detractors", "NPS", f"{level} CI", "change"]
    table(f"NPS (adjusted-Wald {level} intervals)", columns, rows)
    say(
        f"(too few) = fewer than {settings.nps.min_group_size} responses; "
        f"* = change from the previous period significant at {level}."
    )


AsOf = Annotated[
    datetime | None,
    typer.Option(
        "--as-of",
        help="Treat this day (UTC) as today: the analysis window ends with it.",
        formats=["%Y-%m-%d"],
        metavar="YYYY-MM-DD",
    ),
]


@app.command()
@_reports_errors
def run(ctx: typer.Context, as_of: AsOf = None, output: FormatOption = OutputFormat.table) -> None:
    """Run the whole pipeline once: import the inboxes (or the sample data), NPS, themes, plan, sync, report."""
    context: Context = ctx.obj
    settings = context.settings()
    engine = context.store(settings)
    lease = timedelta(seconds=settings.schedule.lock_lease_seconds)
    with run_lock(engine, lease=lease) as lock:
        if not lock:
            ui.error(f"another run is in progress ({lock.holder_info}); try again when it ends")
            raise typer.Exit(1)
        repo.mark_interrupted_runs(engine)
        summary = pipeline.run_once(
            settings,
            engine,
            should_stop=lambda: lock.lost,
            as_of=_as_of(as_of),
            progress=ui.progress,
        )
    if output is OutputFormat.json:
        emit_json(_run_json(summary, settings))
    else:
        _print_run(summary, settings)
    if not summary.ok:
        raise typer.Exit(RUN_EXIT_CODES[summary.status])


def _print_run(summary: pipeline.RunSummary, settings: Settings) -> None:
    _print_imports(summary.imports)
    if summary.nps is not None and summary.nps.counts.n:
        e = summary.nps
        say(
            f"NPS {e.nps:+.1f} ({settings.nps.confidence:.0%} CI {e.low:+.1f} to {e.high:+.1f}) from "
            f"{e.counts.n} responses: {e.counts.promoters} promoters, {e.counts.passives} passives, "
            f"{e.counts.detractors} detractors."
        )
    if summary.themes is not None:
        say(_theme_summary_line(summary.themes))
    if summary.plan:
        actions = Counter(item.action.value for item in summary.plan)
        say("plan: " + ", ".join(f"{n} {a}" for a, n in sorted(actions.items())))
    for report in summary.syncs:
        _print_sync(report)
    for note in summary.notes:
        say(f"note: {note}")
    for path in summary.report_files:
        say(f"report: {path}")
    if summary.stopped_before:
        say(f"stopped before {summary.stopped_before}: the next run completes the work")
    for error in summary.errors:
        ui.error(error, prefix="error")
    say(f"run {summary.run_id} {summary.headline}; store: {_where(settings)}")


RUN_EXIT_CODES = {"ok": 0, "failed": 1, "stopped": 1, "partial": 3}
"""`run`'s exit code per run status: a partial run (an unreadable file, themes left pending) is not ok."""


def _run_json(summary: pipeline.RunSummary, settings: Settings) -> dict[str, Any]:
    e = summary.nps
    return {
        "run_id": summary.run_id,
        "ok": summary.ok,
        "status": summary.status,
        "as_of": summary.as_of.isoformat() if summary.as_of else None,
        "imports": [_result_json(r) for r in summary.imports],
        "nps": None
        if e is None
        else {
            "n": e.counts.n,
            "promoters": e.counts.promoters,
            "passives": e.counts.passives,
            "detractors": e.counts.detractors,
            "nps": round(e.nps, 2),
            "ci_low": round(e.low, 2),
            "ci_high": round(e.high, 2),
            "confidence": settings.nps.confidence,
        },
        "themes": None if summary.themes is None else _theme_summary_json(summary.themes),
        "plan": plan_json(summary.plan),
        "syncs": [_sync_json(report) for report in summary.syncs],
        "notes": summary.notes,
        "report_files": [str(path) for path in summary.report_files],
        "stopped_before": summary.stopped_before,
        "errors": summary.errors,
        "store": _where(settings),
    }


def _where(settings: Settings) -> str:
    return redact_url(settings.effective_database_url())


@app.command("runs")
@_reports_errors
def list_runs(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="How many recent runs to show.")] = 20,
    output: FormatOption = OutputFormat.table,
) -> None:
    """List recent runs and commands from the audit log."""
    context: Context = ctx.obj
    engine = context.store(context.settings())
    records = repo.runs(engine, limit)
    if output is OutputFormat.json:
        emit_json([_run_record_json(r) for r in records])
        return
    rows = []
    for r in records:
        seconds = f"{(r.finished_at - r.started_at).total_seconds():.1f}" if r.finished_at else ""
        counts = " ".join(f"{k}={v}" for k, v in r.counts.items())
        started = r.started_at.strftime("%Y-%m-%d %H:%M:%S")
        rows.append([r.id, r.command, started, seconds, r.status, counts, (r.error or "")[:120]])
    table("runs", ["id", "command", "started (UTC)", "seconds", "status", "counts", "error"], rows)


def _run_record_json(record: RunRecord) -> dict[str, Any]:
    finished = record.finished_at
    return {
        "id": record.id,
        "command": record.command,
        "started_at": record.started_at.isoformat(),
        "finished_at": finished.isoformat() if finished else None,
        "seconds": round((finished - record.started_at).total_seconds(), 3) if finished else None,
        "status": record.status,
        "counts": record.counts,
        "stages": record.stages,
        "error": record.error,
    }


def _as_of(moment: datetime | None) -> datetime | None:
    return _day_start(moment, next_day=True)


def _run_context(settings: Settings, engine: Engine, moment: datetime | None) -> RunContext:
    """The command's context: the window ends at --as-of when given; else now, or after the sample's last day."""
    context = pipeline.run_context(settings, engine, _as_of(moment), progress=ui.progress)
    if context.note:
        ui.note("note", context.note)
    return context


ExportOption = Annotated[
    Path | None,
    typer.Option(help="Also write JSON Lines: one line per detractor/passive comment and its theme."),
]


@themes_app.callback(invoke_without_command=True)
@_reports_errors
def themes(
    ctx: typer.Context,
    export: ExportOption = None,
    as_of: AsOf = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """List the stored themes of the window (id, label, counts, share, trend); changes nothing.

    `themes update` updates them from the comments of the window first.
    """
    if ctx.invoked_subcommand is not None:
        return
    context: Context = ctx.obj
    settings = context.settings()
    engine = context.store(settings)
    _list_themes(engine, _run_context(settings, engine, as_of).window, export, output)


@themes_app.command("update")
@_reports_errors
def themes_update(
    ctx: typer.Context,
    export: ExportOption = None,
    as_of: AsOf = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Update themes from the detractor and passive comments of the window, then list them."""
    context: Context = ctx.obj
    settings = context.settings()
    engine = context.store(settings)
    window = _run_context(settings, engine, as_of).window
    run_id = repo.start_run(engine, "themes")
    redactor = Redactor.from_rules(pipeline.load_team_rules(settings).redaction)
    summary = theme_stage.update_themes(engine, context.embedder(settings), settings.themes, window, run_id, redactor)
    repo.finish_run(engine, run_id, "ok", counts=_theme_counts(summary))
    say(_theme_summary_line(summary), err=True)
    _list_themes(engine, window, export, output)


def _list_themes(engine: Engine, window: AnalysisWindow, export: Path | None, output: OutputFormat) -> None:
    stats = theme_stage.theme_stats(engine, window)
    if export is not None:
        records = theme_stage.export_assignments(engine, window)
        export.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
        say(f"wrote {len(records)} lines to {export}", err=True)
    if output is OutputFormat.json:
        emit_json([_stat_json(s) for s in stats])
        return
    _print_themes(stats)


def _theme_counts(summary: theme_stage.ThemeRunSummary) -> dict[str, Any]:
    return {
        "comments": summary.comments,
        "themed": summary.themed,
        "unthemed": summary.unthemed,
        "not_actionable": summary.not_actionable,
        "no_specific_reason": summary.no_specific_reason,
        "embedded": summary.embedded,
        "themes": summary.active_themes,
        "born": len(summary.born),
        "merged": len(summary.merged),
        "retired": len(summary.retired),
    }


def _theme_summary_json(summary: theme_stage.ThemeRunSummary) -> dict[str, Any]:
    return {
        **_theme_counts(summary),
        "active_themes": summary.active_themes,
        "window_start": summary.window_start.isoformat(),
        "window_end": summary.window_end.isoformat(),
    }


def _theme_summary_line(summary: theme_stage.ThemeRunSummary) -> str:
    return (
        f"themes: {summary.active_themes} active from {summary.comments} detractor/passive comments "
        f"({summary.window_start:%Y-%m-%d} to {summary.window_end:%Y-%m-%d}); {summary.themed} themed, "
        f"{summary.unthemed} unthemed ({summary.unthemed_share:.1%}), {summary.not_actionable} with no actionable "
        f"comment, {summary.no_specific_reason} with no specific reason; {len(summary.born)} born, "
        f"{len(summary.merged)} merged, {len(summary.retired)} retired; {summary.embedded} texts embedded"
    )


def _trend_text(stat: theme_stage.ThemeStat) -> str:
    trend = stat.trend
    if trend is None:
        return "n/a"
    arrow = {"growing": "↑", "shrinking": "↓"}.get(trend.direction.value, "→")
    return f"{arrow} {stat.previous_share:.1%}→{stat.share:.1%} (p={trend.p_value:.2g})"


def _stat_json(stat: theme_stage.ThemeStat) -> dict[str, Any]:
    t = stat.theme
    return {
        "id": t.id,
        "key": t.key,
        "label": t.label,
        "detractors": stat.detractors,
        "passives": stat.passives,
        "share": round(stat.share, 4),
        "previous_share": round(stat.previous_share, 4),
        "trend": None if stat.trend is None else stat.trend.direction.value,
        "trend_p_value": None if stat.trend is None else stat.trend.p_value,
        "keywords": t.keywords,
        "suppressed": t.suppressed_reason,
    }


def _print_themes(stats: list[theme_stage.ThemeStat]) -> None:
    if not stats:
        say("No themes yet: import responses with comments, then run `backlog-bridge themes update`.")
        return
    rows = [
        [s.theme.id, s.theme.label, s.detractors, s.passives, f"{s.share:.1%}", _trend_text(s),
         f"suppressed: {s.theme.suppressed_reason}" if s.theme.suppressed_reason else ""]
        for s in stats
    ]  # fmt: skip
    table("themes", ["id", "label", "detractors", "passives", "share", "trend", "note"], rows)
    say("share = theme's detractors and passives / all responses in the window; trend vs the window before.")


@themes_app.command("show")
@_reports_errors
def themes_show(
    ctx: typer.Context,
    theme: Annotated[str, typer.Argument(help="Theme id or key.")],
    as_of: AsOf = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Show one theme: keywords, representative quotes and lineage."""
    context: Context = ctx.obj
    settings = context.settings()
    engine = context.store(settings)
    with Session(engine) as session:
        found = theme_stage.get_theme(session, theme)
        session.expunge(found)
    window = _run_context(settings, engine, as_of).window
    stat = next((s for s in theme_stage.theme_stats(engine, window) if s.theme.id == found.id), None)
    events = theme_stage.theme_events(engine, found.id or 0)
    if output is OutputFormat.json:
        emit_json(
            {
                "id": found.id,
                "key": found.key,
                "label": found.label,
                "status": found.status,
                "suppressed": found.suppressed_reason,
                "keywords": found.keywords,
                "quotes": [quote["text"] for quote in found.quotes],
                "stats": None if stat is None else _stat_json(stat),
                "lineage": [
                    {"at": e.at.isoformat(), "kind": e.kind, "actor": e.actor, "detail": e.detail} for e in events
                ],
            }
        )
        return
    styled(f"[bold]{safe(found.label)}[/bold]  (id {found.id}, key {safe(found.key)}, {safe(found.status)})")
    if found.suppressed_reason:
        say(f"suppressed: {found.suppressed_reason}")
    if stat is not None:
        say(
            f"{stat.detractors} detractors, {stat.passives} passives, share {stat.share:.1%}, trend {_trend_text(stat)}"
        )
    say("keywords: " + ", ".join(found.keywords))
    say("quotes:")
    for quote in found.quotes:
        say(f"  “{quote['text']}”")
    say("lineage:")
    for event in events:
        detail = " ".join(f"{k}={v}" for k, v in event.detail.items())
        say(f"  {event.at:%Y-%m-%d %H:%M} {event.kind} by {event.actor} {detail}")


@themes_app.command("rename")
@_reports_errors
def themes_rename(
    ctx: typer.Context,
    theme: Annotated[str, typer.Argument(help="Theme id or key.")],
    label: Annotated[str, typer.Argument(help="The new label; later runs keep it.")],
) -> None:
    """Rename a theme; later runs keep the name."""
    context: Context = ctx.obj
    renamed = theme_stage.rename_theme(context.store(context.settings()), theme, label)
    say(f"theme {renamed.id} is now “{renamed.label}”")


@themes_app.command("merge")
@_reports_errors
def themes_merge(
    ctx: typer.Context,
    sources: Annotated[list[str], typer.Argument(help="Theme ids or keys to fold in.")],
    into: Annotated[str, typer.Option("--into", help="Theme id or key that absorbs them.")],
) -> None:
    """Merge themes into one; their comments, and similar future ones, belong to it from now on."""
    context: Context = ctx.obj
    target = theme_stage.merge_themes(context.store(context.settings()), sources, into)
    say(f"merged {', '.join(sources)} into theme {target.id} “{target.label}”")


@themes_app.command("split")
@_reports_errors
def themes_split(ctx: typer.Context, theme: Annotated[str, typer.Argument(help="Theme id or key.")]) -> None:
    """Split a theme in two by meaning; later runs never merge the halves back."""
    context: Context = ctx.obj
    settings = context.settings()
    engine = context.store(settings)
    halves = theme_stage.split_theme(engine, context.embedder(settings), theme)
    say("split into " + " and ".join(f"{h.id} “{h.label}” ({h.size})" for h in halves))


@themes_app.command("suppress")
@_reports_errors
def themes_suppress(
    ctx: typer.Context,
    theme: Annotated[str, typer.Argument(help="Theme id or key.")],
    reason: Annotated[str, typer.Option(help="Why it is never filed (shown in the plan).")],
) -> None:
    """Never file a theme (it keeps its comments, so it is not rediscovered)."""
    context: Context = ctx.obj
    done = theme_stage.suppress_theme(context.store(context.settings()), theme, reason)
    say(f"theme {done.id} “{done.label}” suppressed: {reason}")


@themes_app.command("unsuppress")
@_reports_errors
def themes_unsuppress(ctx: typer.Context, theme: Annotated[str, typer.Argument(help="Theme id or key.")]) -> None:
    """Lift a suppression."""
    context: Context = ctx.obj
    done = theme_stage.suppress_theme(context.store(context.settings()), theme, None)
    say(f"theme {done.id} “{done.label}” may be filed again")


class PlanFormat(StrEnum):
    """Output formats of `plan`."""

    table = "table"
    json = "json"
    markdown = "markdown"


@rules_app.command("check")
@_reports_errors
def rules_check(ctx: typer.Context, output: FormatOption = OutputFormat.table) -> None:
    """Validate rules/*.toml, routes against the configured trackers; every problem is listed as file:key."""
    context: Context = ctx.obj
    settings = context.settings()
    folder = settings.resolve(settings.rules_dir)
    if output is OutputFormat.json:
        try:
            rules: Rules | None = pipeline.load_team_rules(settings)
            problems: list[str] = []
        except RulesError as error:
            rules, problems = None, str(error).splitlines()
        emit_json({"folder": str(folder), "ok": rules is not None, "problems": problems, **_rules_counts(rules)})
        if rules is None:
            raise typer.Exit(1)
        return
    rules = pipeline.load_team_rules(settings)
    counts = _rules_counts(rules)
    say(
        f"{folder}: rules OK — {counts['routes']} routes, {counts['priority_levels']} priority levels, "
        f"{counts['suppressions']} suppressions, {counts['redaction_patterns']} team redaction patterns; "
        f"budget {counts['ticket_budget']} new issues per sprint."
    )


def _rules_counts(rules: Rules | None) -> dict[str, int]:
    if rules is None:
        return {}
    return {
        "routes": len(rules.routing.route),
        "priority_levels": len(rules.priority.level),
        "suppressions": len(rules.suppression.suppress),
        "redaction_patterns": len(rules.redaction.pattern),
        "ticket_budget": rules.priority.sprint.ticket_budget,
    }


@app.command()
@_reports_errors
def plan(
    ctx: typer.Context,
    output: Annotated[PlanFormat, typer.Option("--format", help="Output format.")] = PlanFormat.table,
    as_of: AsOf = None,
) -> None:
    """The next sprint's plan: which themes would be filed, updated, left or skipped, and why (writes nothing)."""
    context: Context = ctx.obj
    settings = context.settings()
    engine = context.store(settings)
    rules = pipeline.load_team_rules(settings)
    items = pipeline.plan_stage(settings, engine, rules, _run_context(settings, engine, as_of).window)
    if output is PlanFormat.json:
        emit_json(plan_json(items))
    elif output is PlanFormat.markdown:
        say(plan_markdown(items))
    else:
        _print_plan(items)


def _print_plan(items: list[PlanItem]) -> None:
    if not items:
        say("Nothing to plan: no active themes. Run `backlog-bridge themes update` first.")
        return
    columns = ["action", "priority", "score", "theme", "respondents", "points at stake (95% CI)", "target", "reason"]
    rows = [
        [item.action.value, item.priority or "", f"{item.score:.1f}", item.brief.label, item.brief.respondents,
         impact_text(item), target_text(item), item.reason]
        for item in items
    ]  # fmt: skip
    table("sprint plan", columns, rows)


class TrackerChoice(StrEnum):
    """Trackers `sync` can target."""

    github = "github"
    jira = "jira"


@app.command()
@_reports_errors
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
    context: Context = ctx.obj
    settings = context.settings()
    engine = context.store(settings)
    rules = pipeline.load_team_rules(settings)
    run = _run_context(settings, engine, as_of)
    items = pipeline.plan_stage(settings, engine, rules, run.window)
    names = [tracker.value] if tracker else pipeline.configured_trackers(settings)
    if not names and not dry_run:
        raise ConfigError(
            'no tracker configured: add a [github] (repo = "owner/name") or [jira] table to settings.toml and '
            "set the token in the environment, or use --dry-run to see the plan"
        )
    dry_plans: list[tuple[str | None, list[PlanItem]]] = [] if names else [(None, items)]
    reports = []
    for name in names:
        if getattr(settings, name, None) is None and dry_run:
            dry_plans.append((name, [i for i in items if i.target.tracker == name]))
            continue
        reports.append(pipeline.sync_stage(settings, engine, rules, items, name, run.clock, dry_run=dry_run))
    if output is OutputFormat.json:
        plans = [{"tracker": where, "configured": False, "plan": plan_json(part)} for where, part in dry_plans]
        emit_json({"dry_run": dry_run, "reports": [_sync_json(r) for r in reports], "unconfigured": plans})
    else:
        for where, part in dry_plans:
            _print_dry_plan(part, where)
        for report in reports:
            _print_sync(report)
    if any(r.outcome.value == "failed" for report in reports for r in report.results):
        raise typer.Exit(1)


def _print_dry_plan(items: list[PlanItem], tracker: str | None = None) -> None:
    where = f"{tracker} is not configured" if tracker else "no tracker is configured"
    say(f"dry run ({where}): the plan, without reading any tracker")
    verbs = {"create": "would create", "update": "would update", "leave": "would leave", "skip": "would skip"}
    for item in items:
        priority = f" [{item.priority}]" if item.priority else ""
        say(f"  {verbs[item.action.value]}: {item.brief.label}{priority} — {impact_text(item)} — {item.reason}")


def _print_sync(report: SyncReport) -> None:
    title = f"sync to {report.tracker}" + (" (dry run: nothing written)" if report.dry_run else "")
    rows = [
        [result.theme_key, result.outcome.value, result.ref.url or result.ref.key if result.ref else "", result.message]
        for result in report.results
    ]
    table(title, ["theme", "outcome", "issue", "message"], rows)
    say(" ".join(f"{key}={value}" for key, value in report.counts().items()))


def _sync_json(report: SyncReport) -> dict[str, Any]:
    return {
        "tracker": report.tracker,
        "dry_run": report.dry_run,
        "counts": report.counts(),
        "results": [
            {
                "theme_key": r.theme_key,
                "outcome": r.outcome.value,
                "issue": r.ref.key if r.ref else None,
                "url": r.ref.url if r.ref else None,
                "message": r.message,
            }
            for r in report.results
        ],
    }


class ReportFormat(StrEnum):
    """Output formats of `report`."""

    html = "html"
    md = "md"
    json = "json"


@app.command()
@_reports_errors
def report(
    ctx: typer.Context,
    output: Annotated[ReportFormat, typer.Option("--format", help="html (one self-contained file), md or json.")] = (
        ReportFormat.html
    ),
    out_path: Annotated[Path | None, typer.Option("--out", help="Write to this file instead of stdout.")] = None,
    as_of: AsOf = None,
) -> None:
    """The theme report for leads: what hurts NPS most, how sure we are, what is being done, what fixes achieved."""
    from backlog_bridge.report.render import render

    context: Context = ctx.obj
    settings = context.settings()
    engine = context.store(settings)
    rules = pipeline.load_team_rules(settings)
    run = _run_context(settings, engine, as_of)
    items = pipeline.plan_stage(settings, engine, rules, run.window)
    data = pipeline.report_data(settings, engine, rules, items, run)
    text = render(data, output.value)
    if out_path is None:
        sys.stdout.write(ui.neutralise(text) if sys.stdout.isatty() else text)  # a terminal never runs escapes
        return
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(text, encoding="utf-8")
    say(f"wrote {out_path}", err=True)


@app.command()
@_reports_errors
def worker(ctx: typer.Context) -> None:
    """Run the pipeline on the [schedule] in settings until SIGTERM; one run at a time per database."""
    from backlog_bridge.worker import StopSignal, build_scheduler, run_worker

    context: Context = ctx.obj
    settings = context.settings()
    engine = context.store(settings)
    pipeline.load_team_rules(settings)  # the worker does not start on bad rules
    stop = StopSignal()

    def job(should_stop: Callable[[], bool]) -> None:
        repo.mark_interrupted_runs(engine)  # the job runs under the run lock
        progress = functools.partial(ui.progress, terminal=False)  # a service logs, it draws no bars
        summary = pipeline.run_once(settings, engine, should_stop=should_stop, progress=progress)
        for error in summary.errors:
            logger.error("worker.stage-failed", extra={"run": summary.run_id, "error": error})

    scheduler = build_scheduler(
        settings.schedule, engine, job, sprint_job=job if settings.schedule.sprint_cron else None, stop=stop
    )
    say(
        f"worker: pipeline on '{settings.schedule.cron}' ({settings.schedule.timezone}); store: {_where(settings)}; "
        "stop with SIGTERM or Ctrl-C",
        err=True,
    )
    run_worker(scheduler, stop)


@app.command("doctor")
@_reports_errors
def doctor_command(ctx: typer.Context, output: FormatOption = OutputFormat.table) -> None:
    """Check settings, rules, database, model, schedule and trackers (read-only calls); say what to fix."""
    from backlog_bridge import doctor as checks

    context: Context = ctx.obj
    result = checks.run_doctor(
        context.settings, schedule=lambda s: s.schedule, load_embedder=pipeline.make_embedder, trackers=_probes
    )
    if output is OutputFormat.json:
        emit_json(
            {
                "ok": result.ok,
                "checks": [
                    {"name": c.name, "status": c.status.value, "detail": c.detail, "todo": c.todo or None}
                    for c in result.checks
                ],
            }
        )
    else:
        say(result)
    if not result.ok:
        raise typer.Exit(1)


def _probes(settings: Settings) -> dict[str, Callable[[], str]]:
    def probe(name: str) -> str:
        from backlog_bridge.sync.registry import build_tracker

        tracker = build_tracker(name, getattr(settings, name))
        tracker.find("backlog-bridge-doctor-probe")  # a read-only search
        return "connected; read access OK"

    return {name: functools.partial(probe, name) for name in pipeline.configured_trackers(settings)}


def main() -> None:
    """Console-script entry point."""
    app()
