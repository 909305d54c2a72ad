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
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from backlog_bridge import __version__, logs, pipeline
from backlog_bridge import themes as theme_stage
from backlog_bridge.classify import NpsGroup, nps_breakdown, z_for
from backlog_bridge.embed.embedder import Embedder
from backlog_bridge.errors import BacklogBridgeError, ConfigError
from backlog_bridge.ingest.importer import ImportResult, import_paths
from backlog_bridge.plan.model import PlanItem
from backlog_bridge.plan.present import impact_text, plan_json, plan_markdown, target_text
from backlog_bridge.settings import Settings, load_settings
from backlog_bridge.store import repo
from backlog_bridge.store.db import open_store, redact_url, store_fault
from backlog_bridge.store.lock import run_lock
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
            err.print(f"[red]error:[/red] {error}", highlight=False)
            raise typer.Exit(2 if isinstance(error, ConfigError) else 1) from None
        except SQLAlchemyError as error:  # disk full, read-only, database gone: one line, no row values
            err.print(f"[red]error:[/red] {store_fault(error)}", highlight=False)
            raise typer.Exit(1) from None

    return wrapper


app = typer.Typer(
    name="backlog-bridge",
    help="Turn NPS survey feedback into a groomed product backlog.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
quarantine_app = typer.Typer(help="Rows set aside during ingest, with file, line and reason.", no_args_is_help=True)
app.add_typer(quarantine_app, name="quarantine")
rules_app = typer.Typer(help="The team's rules in rules/*.toml.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")
themes_app = typer.Typer(help="Themes in detractor and passive comments: update, list, show, and a team's decisions.")
app.add_typer(themes_app, name="themes")

_WIDTH = None if sys.stdout.isatty() else 160  # pipes and files get full rows, not 80 columns
logger = logging.getLogger(__name__)
out = Console(width=_WIDTH)
err = Console(stderr=True, width=_WIDTH)


class OutputFormat(StrEnum):
    """Machine- or human-readable output."""

    table = "table"
    json = "json"


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
        return pipeline.make_embedder(settings, show_progress=out.is_terminal)


def _version(value: bool) -> None:
    if value:
        out.print(f"backlog-bridge {__version__}")
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
    output: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = OutputFormat.table,
) -> None:
    """Import NPS responses; re-importing the same file adds nothing; bad rows go to quarantine."""
    context: Context = ctx.obj
    settings = context.settings()
    engine = context.store(settings)
    run_id = repo.start_run(engine, "ingest")
    results = import_paths(engine, paths, settings.ingest, source=source)
    failed = [r for r in results if r.error]
    repo.finish_run(
        engine,
        run_id,
        "failed" if failed else "ok",
        counts=_totals(results),
        error="; ".join(f"{r.path}: {r.error}" for r in failed) or None,
    )
    if output is OutputFormat.json:
        out.print_json(json.dumps([_result_json(r) for r in results]))
    else:
        _print_imports(results)
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
    table = Table("file", "source", "read", "new", "updated", "unchanged", "quarantined", title="ingest")
    for r in results:
        table.add_row(
            r.path,
            r.source,
            *(str(getattr(r, k)) for k in ("read", "new", "updated", "unchanged")),
            str(r.quarantined),
        )
    if len(results) > 1:
        totals = _totals(results)
        table.add_row("total", "", *(str(totals[k]) for k in ("read", "new", "updated", "unchanged", "quarantined")))
    out.print(table)
    for r in results:
        if r.error:
            err.print(f"[red]error[/red] {r.path}: {r.error}", highlight=False)
        for notice in r.notices:
            err.print(f"[yellow]note[/yellow] {notice}", highlight=False)
        for line, reason in r.problems[:20]:
            err.print(f"[yellow]quarantined[/yellow] {r.path}:{line}: {reason}", highlight=False)
        if len(r.problems) > 20:
            err.print(f"… and {len(r.problems) - 20} more: see `backlog-bridge quarantine list`", highlight=False)


@quarantine_app.command("list")
@_reports_errors
def quarantine_list(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="Show at most this many rows (0 = all).")] = 100,
    output: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = OutputFormat.table,
) -> None:
    """Show the rows set aside during ingest and why."""
    context: Context = ctx.obj
    engine = context.store(context.settings())
    rows = repo.quarantined_rows(engine, limit or None)
    if output is OutputFormat.json:
        payload = [{"path": r.path, "line": r.line, "source": r.source, "reason": r.reason, "raw": r.raw} for r in rows]
        out.print_json(json.dumps(payload))
        return
    if not rows:
        out.print("No quarantined rows.")
        return
    table = Table("file", "line", "reason", "raw (start)", title="quarantined rows")
    for r in rows:
        table.add_row(r.path, str(r.line), r.reason, r.raw[:80].replace("\n", "⏎"))
    out.print(table)


@app.command()
@_reports_errors
def nps(
    ctx: typer.Context,
    by: Annotated[
        str | None, typer.Option(help="Break down by a segment field (e.g. plan, region) or 'source'.")
    ] = None,
    period: Annotated[PeriodChoice | None, typer.Option(help="Split into calendar periods.")] = None,
    since: Annotated[
        datetime | None, typer.Option(help="First day included (YYYY-MM-DD).", formats=["%Y-%m-%d"])
    ] = None,
    until: Annotated[
        datetime | None, typer.Option(help="Last day included (YYYY-MM-DD).", formats=["%Y-%m-%d"])
    ] = None,
    output: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = OutputFormat.table,
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
        out.print_json(json.dumps(_nps_json(groups, by, period, settings)))
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
        out.print("No responses in range. Import some with `backlog-bridge ingest FILE`.")
        return
    level = f"{settings.nps.confidence:.0%}"
    table = Table(
        by or "group",
        "period",
        "n",
        "promoters",
        "passives",
        "detractors",
        "NPS",
        f"{level} CI",
        "change",
        title=f"NPS (adjusted-Wald {level} intervals)",
    )
    for g in groups:
        e = g.estimate
        nps_text = f"{e.nps:+.1f}" + (" [dim](too few)[/dim]" if g.too_small else "")
        change = ""
        if g.change is not None:
            change = f"{g.change.delta:+.1f}" + (" [bold]*[/bold]" if g.change.significant else "")
        table.add_row(
            g.group,
            g.period or "",
            str(e.counts.n),
            str(e.counts.promoters),
            str(e.counts.passives),
            str(e.counts.detractors),
            nps_text,
            f"{e.low:+.1f} to {e.high:+.1f}",
            change,
        )
    out.print(table)
    out.print(
        f"(too few) = fewer than {settings.nps.min_group_size} responses; "
        f"* = change from the previous period significant at {level}.",
        highlight=False,
    )


@app.command()
@_reports_errors
def run(ctx: typer.Context) -> None:
    """Run the whole pipeline once: import the inboxes (and the sample data), NPS, then update themes."""
    context: Context = ctx.obj
    settings = context.settings()
    engine = context.store(settings)
    lease = timedelta(seconds=settings.schedule.lock_lease_seconds)
    with run_lock(engine, lease=lease) as lock:
        if not lock:
            err.print(f"[red]error:[/red] another run is in progress ({lock.holder_info}); try again when it ends")
            raise typer.Exit(1)
        repo.mark_interrupted_runs(engine)
        summary = pipeline.run_once(settings, engine, should_stop=lambda: lock.lost)
    _print_imports(summary.imports)
    if summary.nps is not None and summary.nps.counts.n:
        e = summary.nps
        out.print(
            f"NPS {e.nps:+.1f} ({settings.nps.confidence:.0%} CI {e.low:+.1f} to {e.high:+.1f}) from "
            f"{e.counts.n} responses: {e.counts.promoters} promoters, {e.counts.passives} passives, "
            f"{e.counts.detractors} detractors.",
            highlight=False,
        )
    if summary.themes is not None:
        out.print(_theme_summary_line(summary.themes), highlight=False)
    if summary.plan:
        actions = Counter(item.action.value for item in summary.plan)
        out.print("plan: " + ", ".join(f"{n} {a}" for a, n in sorted(actions.items())), highlight=False)
    for report in summary.syncs:
        _print_sync(report)
    for note in summary.notes:
        out.print(f"note: {note}", markup=False, highlight=False)
    for path in summary.report_files:
        out.print(f"report: {path}", highlight=False)
    if summary.stopped_before:
        out.print(f"stopped before {summary.stopped_before}: the next run completes the work", highlight=False)
    for error in summary.errors:
        err.print(f"[red]error[/red] {error}", highlight=False)
    out.print(f"run {summary.run_id} {summary.headline}; store: {_where(settings)}", markup=False, highlight=False)
    if not summary.ok:
        raise typer.Exit(RUN_EXIT_CODES[summary.status])


RUN_EXIT_CODES = {"ok": 0, "failed": 1, "stopped": 1, "partial": 3}
"""`run`'s exit code per run status: a partial run (an unreadable file, themes left pending) is not ok."""


def _where(settings: Settings) -> str:
    return redact_url(settings.effective_database_url())


@app.command("runs")
@_reports_errors
def list_runs(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="How many recent runs to show.")] = 20,
) -> None:
    """List recent runs and commands from the audit log."""
    context: Context = ctx.obj
    engine = context.store(context.settings())
    table = Table("id", "command", "started (UTC)", "seconds", "status", "counts", "error", title="runs")
    for r in repo.runs(engine, limit):
        seconds = f"{(r.finished_at - r.started_at).total_seconds():.1f}" if r.finished_at else ""
        counts = " ".join(f"{k}={v}" for k, v in r.counts.items())
        table.add_row(
            str(r.id),
            r.command,
            r.started_at.strftime("%Y-%m-%d %H:%M:%S"),
            seconds,
            r.status,
            counts,
            (r.error or "")[:120],
        )
    out.print(table)


AsOf = Annotated[
    datetime | None,
    typer.Option(
        "--as-of",
        help="Treat this day (YYYY-MM-DD, UTC) as today: the window ends here.",
        formats=["%Y-%m-%d"],
    ),
]


def _as_of(moment: datetime | None) -> datetime | None:
    return _day_start(moment, next_day=True)


@themes_app.callback(invoke_without_command=True)
@_reports_errors
def themes(
    ctx: typer.Context,
    export: Annotated[
        Path | None,
        typer.Option(help="Also write JSON Lines: one line per detractor/passive comment and its theme."),
    ] = None,
    as_of: AsOf = None,
    no_update: Annotated[bool, typer.Option("--no-update", help="List the stored themes without updating.")] = False,
    output: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = OutputFormat.table,
) -> None:
    """Update themes from the comments of the window, then list them (id, label, counts, share, trend)."""
    if ctx.invoked_subcommand is not None:
        return
    context: Context = ctx.obj
    settings = context.settings()
    engine = context.store(settings)
    now = _as_of(as_of)
    if not no_update:
        run_id = repo.start_run(engine, "themes")
        summary = theme_stage.update_themes(engine, context.embedder(settings), settings.themes, now, run_id)
        repo.finish_run(engine, run_id, "ok", counts=_theme_counts(summary))
        err.print(_theme_summary_line(summary), highlight=False)
    stats = theme_stage.theme_stats(engine, settings.themes, now)
    if export is not None:
        records = theme_stage.export_assignments(engine, settings.themes, now)
        export.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
        err.print(f"wrote {len(records)} lines to {export}", highlight=False)
    if output is OutputFormat.json:
        out.print_json(json.dumps([_stat_json(s) for s in stats]))
        return
    _print_themes(stats)


def _theme_counts(summary: theme_stage.ThemeRunSummary) -> dict[str, Any]:
    return {
        "comments": summary.comments,
        "themed": summary.themed,
        "unthemed": summary.unthemed,
        "not_actionable": summary.not_actionable,
        "embedded": summary.embedded,
        "themes": summary.active_themes,
        "born": len(summary.born),
        "merged": len(summary.merged),
        "retired": len(summary.retired),
    }


def _theme_summary_line(summary: theme_stage.ThemeRunSummary) -> str:
    return (
        f"themes: {summary.active_themes} active from {summary.comments} detractor/passive comments "
        f"({summary.window_start:%Y-%m-%d} to {summary.window_end:%Y-%m-%d}); {summary.themed} themed, "
        f"{summary.unthemed} unthemed ({summary.unthemed_share:.1%}), {summary.not_actionable} with no actionable "
        f"comment; {len(summary.born)} born, {len(summary.merged)} merged, {len(summary.retired)} retired; "
        f"{summary.embedded} comments embedded"
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
        out.print("No themes yet: import responses with comments, then run `backlog-bridge themes`.")
        return
    table = Table("id", "label", "detractors", "passives", "share", "trend", "note", title="themes")
    for s in stats:
        note = f"suppressed: {s.theme.suppressed_reason}" if s.theme.suppressed_reason else ""
        table.add_row(
            str(s.theme.id), s.theme.label, str(s.detractors), str(s.passives), f"{s.share:.1%}", _trend_text(s), note
        )
    out.print(table)
    out.print("share = theme's detractors and passives / all responses in the window; trend vs the window before.")


@themes_app.command("show")
@_reports_errors
def themes_show(
    ctx: typer.Context, theme: Annotated[str, typer.Argument(help="Theme id or key.")], as_of: AsOf = None
) -> None:
    """Show one theme: keywords, representative quotes and lineage."""
    context: Context = ctx.obj
    settings = context.settings()
    engine = context.store(settings)
    with Session(engine) as session:
        found = theme_stage.get_theme(session, theme)
        session.expunge(found)
    stat = next(
        (s for s in theme_stage.theme_stats(engine, settings.themes, _as_of(as_of)) if s.theme.id == found.id),
        None,
    )
    out.print(f"[bold]{found.label}[/bold]  (id {found.id}, key {found.key}, {found.status})", highlight=False)
    if found.suppressed_reason:
        out.print(f"suppressed: {found.suppressed_reason}", highlight=False)
    if stat is not None:
        out.print(
            f"{stat.detractors} detractors, {stat.passives} passives, share {stat.share:.1%}, "
            f"trend {_trend_text(stat)}",
            highlight=False,
        )
    out.print("keywords: " + ", ".join(found.keywords), highlight=False)
    out.print("quotes:")
    for quote in found.quotes:
        out.print(f"  “{quote['text']}”", highlight=False)
    out.print("lineage:")
    for event in theme_stage.theme_events(engine, found.id or 0):
        detail = " ".join(f"{k}={v}" for k, v in event.detail.items())
        out.print(f"  {event.at:%Y-%m-%d %H:%M} {event.kind} by {event.actor} {detail}", highlight=False)


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
    out.print(f"theme {renamed.id} is now “{renamed.label}”", highlight=False)


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
    out.print(f"merged {', '.join(sources)} into theme {target.id} “{target.label}”", highlight=False)


@themes_app.command("split")
@_reports_errors
def themes_split(ctx: typer.Context, theme: Annotated[str, typer.Argument(help="Theme id or key.")]) -> None:
    """Split a theme in two by meaning; later runs never merge the halves back."""
    context: Context = ctx.obj
    settings = context.settings()
    engine = context.store(settings)
    halves = theme_stage.split_theme(engine, context.embedder(settings), theme)
    out.print("split into " + " and ".join(f"{h.id} “{h.label}” ({h.size})" for h in halves), highlight=False)


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
    out.print(f"theme {done.id} “{done.label}” suppressed: {reason}", highlight=False)


@themes_app.command("unsuppress")
@_reports_errors
def themes_unsuppress(ctx: typer.Context, theme: Annotated[str, typer.Argument(help="Theme id or key.")]) -> None:
    """Lift a suppression."""
    context: Context = ctx.obj
    done = theme_stage.suppress_theme(context.store(context.settings()), theme, None)
    out.print(f"theme {done.id} “{done.label}” may be filed again", highlight=False)


class PlanFormat(StrEnum):
    """Output formats of `plan`."""

    table = "table"
    json = "json"
    markdown = "markdown"


@rules_app.command("check")
@_reports_errors
def rules_check(ctx: typer.Context) -> None:
    """Validate rules/*.toml; every problem is listed as file:key."""
    context: Context = ctx.obj
    settings = context.settings()
    folder = settings.resolve(settings.rules_dir)
    rules = pipeline.load_team_rules(settings)
    out.print(
        f"{folder}: rules OK — {len(rules.routing.route)} routes, {len(rules.priority.level)} priority levels, "
        f"{len(rules.suppression.suppress)} suppressions, {len(rules.redaction.pattern)} team redaction patterns; "
        f"budget {rules.priority.sprint.ticket_budget} new issues per sprint.",
        highlight=False,
    )


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
    items = pipeline.plan_stage(settings, engine, rules, _as_of(as_of))
    if output is PlanFormat.json:
        out.print_json(json.dumps(plan_json(items), default=str))
    elif output is PlanFormat.markdown:
        out.print(plan_markdown(items), markup=False, highlight=False)
    else:
        _print_plan(items)


def _print_plan(items: list[PlanItem]) -> None:
    if not items:
        out.print("Nothing to plan: no active themes. Run `backlog-bridge themes` first.")
        return
    table = Table("action", "priority", "score", "theme", "respondents", "points at stake (95% CI)", "target", "reason",
                  title="sprint plan")  # fmt: skip
    for item in items:
        table.add_row(item.action.value, item.priority or "", f"{item.score:.1f}", item.brief.label,
                      str(item.brief.respondents), impact_text(item), target_text(item), item.reason)  # fmt: skip
    out.print(table)


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
) -> None:
    """File the sprint plan in the tracker: one issue per theme, created once, then updated; never a duplicate."""
    context: Context = ctx.obj
    settings = context.settings()
    engine = context.store(settings)
    rules = pipeline.load_team_rules(settings)
    now = _as_of(as_of)
    items = pipeline.plan_stage(settings, engine, rules, now)
    names = [tracker.value] if tracker else pipeline.configured_trackers(settings)
    if not names:
        if not dry_run:
            raise ConfigError(
                'no tracker configured: add a [github] (repo = "owner/name") or [jira] table to settings.toml and '
                "set the token in the environment, or use --dry-run to see the plan"
            )
        _print_dry_plan(items)
        return
    failed = False
    for name in names:
        if getattr(settings, name, None) is None and dry_run:
            _print_dry_plan([i for i in items if i.target.tracker == name], name)
            continue
        report = pipeline.sync_stage(settings, engine, rules, items, name, now, dry_run=dry_run)
        _print_sync(report)
        failed = failed or any(r.outcome.value == "failed" for r in report.results)
    if failed:
        raise typer.Exit(1)


def _print_dry_plan(items: list[PlanItem], tracker: str | None = None) -> None:
    where = f"{tracker} is not configured" if tracker else "no tracker is configured"
    out.print(f"dry run ({where}): the plan, without reading any tracker", highlight=False)
    verbs = {"create": "would create", "update": "would update", "leave": "would leave", "skip": "would skip"}
    for item in items:
        priority = f" [{item.priority}]" if item.priority else ""
        out.print(
            f"  {verbs[item.action.value]}: {item.brief.label}{priority} — {impact_text(item)} — {item.reason}",
            highlight=False,
        )


def _print_sync(report: SyncReport) -> None:
    title = f"sync to {report.tracker}" + (" (dry run: nothing written)" if report.dry_run else "")
    table = Table("theme", "outcome", "issue", "message", title=title)
    for result in report.results:
        ref = result.ref.url or result.ref.key if result.ref else ""
        table.add_row(result.theme_key, result.outcome.value, ref, result.message)
    out.print(table)
    out.print(" ".join(f"{key}={value}" for key, value in report.counts().items()), highlight=False)


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
    from backlog_bridge.report.data import gather_report
    from backlog_bridge.report.render import render

    context: Context = ctx.obj
    settings = context.settings()
    engine = context.store(settings)
    rules = pipeline.load_team_rules(settings)
    data = gather_report(settings, engine, rules, _as_of(as_of), settings.report.loop_params())
    text = render(data, output.value)
    if out_path is None:
        sys.stdout.write(text)
        return
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(text, encoding="utf-8")
    err.print(f"wrote {out_path}", highlight=False)


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
        summary = pipeline.run_once(settings, engine, should_stop=should_stop)
        for error in summary.errors:
            logger.error("worker.stage-failed", extra={"run": summary.run_id, "error": error})

    scheduler = build_scheduler(
        settings.schedule, engine, job, sprint_job=job if settings.schedule.sprint_cron else None, stop=stop
    )
    err.print(
        f"worker: pipeline on '{settings.schedule.cron}' ({settings.schedule.timezone}); store: {_where(settings)}; "
        "stop with SIGTERM or Ctrl-C",
        highlight=False,
    )
    run_worker(scheduler, stop)


@app.command("doctor")
@_reports_errors
def doctor_command(ctx: typer.Context) -> None:
    """Check settings, rules, database, model, schedule and trackers (read-only calls); say what to fix."""
    from backlog_bridge import doctor as checks

    context: Context = ctx.obj
    result = checks.run_doctor(
        context.settings, schedule=lambda s: s.schedule, load_embedder=pipeline.make_embedder, trackers=_probes
    )
    out.print(str(result), markup=False, highlight=False)
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
