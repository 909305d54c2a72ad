"""What each result of the library shows on the command line: one view per result type.

Each view declares a result's fields once (JSON key and value, table column and cell), so a command
prints `--format json` and its table from the same description. Views that depend on a setting (the
confidence level in headers) are made by a function of it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from operator import attrgetter
from typing import TYPE_CHECKING

from backlog_bridge import pipeline
from backlog_bridge.classify import NpsChange, NpsEstimate, NpsGroup
from backlog_bridge.ingest.importer import ImportResult
from backlog_bridge.output.terminal import error, note, safe, say, styled
from backlog_bridge.output.view import Document, Each, Field, Part, Rows, json_only, nested
from backlog_bridge.plan.model import PlanItem
from backlog_bridge.plan.present import impact_text, plan_json, plan_markdown, target_text
from backlog_bridge.plan.rules import Rules
from backlog_bridge.store.tables import QuarantinedRow, RunRecord
from backlog_bridge.sync.engine import SyncReport, ThemeResult
from backlog_bridge.themes import ThemeRunSummary, ThemeStat

if TYPE_CHECKING:  # doctor imports the scheduler: loaded only when `doctor` runs
    from backlog_bridge.doctor import Report as DoctorReport


SHOWN_PROBLEMS = 20
"""Quarantined rows listed per file after the ingest table; `quarantine list` shows them all."""


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


# --- ingest and quarantine --------------------------------------------------------------------------


def _import_notes(results: Sequence[ImportResult]) -> None:
    for result in results:
        if result.error:
            error(f"{result.path}: {result.error}", prefix="error")
        for notice in result.notices:
            note("note", notice)
        for line, reason in result.problems[:SHOWN_PROBLEMS]:
            note("quarantined", f"{result.path}:{line}: {reason}")
        if len(result.problems) > SHOWN_PROBLEMS:
            more = len(result.problems) - SHOWN_PROBLEMS
            say(f"… and {more} more: see `backlog-bridge quarantine list`", err=True)


IMPORTS = Rows[ImportResult](
    "ingest",
    [
        Field("path", header="file"),
        Field("source"),
        json_only("vendor"),
        *(Field[ImportResult](key, summed=True) for key in pipeline.IMPORT_COUNTS),
        json_only("skipped"),
        json_only("error"),
        json_only("notices"),
        json_only("problems", lambda r: [{"line": line, "reason": reason} for line, reason in r.problems]),
    ],
    total=True,
    after=_import_notes,
)
"""Each file's counts, with a total row under several files; errors and quarantined rows on stderr."""

QUARANTINE = Rows[QuarantinedRow](
    "quarantined rows",
    [
        Field("path", header="file"),
        Field("line"),
        json_only("source"),
        Field("reason"),
        Field("raw", header="raw (start)", cell=lambda row: row.raw[:80].replace("\n", "⏎")),
    ],
    empty="No quarantined rows.",
)


# --- NPS ---------------------------------------------------------------------------------------------


def _estimate_fields(level: str) -> list[Field[NpsEstimate]]:
    return [
        Field("n", attrgetter("counts.n")),
        Field("promoters", attrgetter("counts.promoters")),
        Field("passives", attrgetter("counts.passives")),
        Field("detractors", attrgetter("counts.detractors")),
        Field("nps", lambda e: round(e.nps, 2), header="NPS", cell=lambda e: f"{e.nps:+.1f}"),
        Field(
            "ci_low", lambda e: round(e.low, 2), header=f"{level} CI", cell=lambda e: f"{e.low:+.1f} to {e.high:+.1f}"
        ),
        json_only("ci_high", lambda e: round(e.high, 2)),
    ]


def _of_group(field: Field[NpsEstimate]) -> Field[NpsGroup]:
    """An estimate's field, read from the group that holds the estimate."""
    return Field(field.key, lambda g: field.json(g.estimate), field.header, lambda g: field.text(g.estimate))


def _change_json(change: NpsChange | None) -> dict[str, object] | None:
    if change is None:
        return None
    return {
        "delta": round(change.delta, 2),
        "ci_low": round(change.low, 2),
        "ci_high": round(change.high, 2),
        "p_value": round(change.p_value, 4),
        "significant": change.significant,
    }


def _change_text(change: NpsChange | None) -> str:
    return "" if change is None else f"{change.delta:+.1f}" + (" *" if change.significant else "")


def nps_view(by: str | None, period: str | None, confidence: float, min_group_size: int) -> Document[list[NpsGroup]]:
    """NPS per group and period, with the settings' confidence level and smallest reliable group."""
    level = f"{confidence:.0%}"
    estimate = {field.key: _of_group(field) for field in _estimate_fields(level)}
    estimate["nps"] = replace(
        estimate["nps"], cell=lambda g: f"{g.estimate.nps:+.1f}" + (" (too few)" if g.too_small else "")
    )
    groups = Rows[NpsGroup](
        f"NPS (adjusted-Wald {level} intervals)",
        [
            Field("group", header=by or "group"),
            Field("period", cell=lambda g: g.period or ""),
            *estimate.values(),
            json_only("too_small"),
            Field("change", lambda g: _change_json(g.change), cell=lambda g: _change_text(g.change)),
        ],
        empty="No responses in range. Import some with `backlog-bridge ingest FILE`.",
        footnote=f"(too few) = fewer than {min_group_size} responses; "
        f"* = change from the previous period significant at {level}.",
    )
    return Document(
        [
            Part("by", lambda _: by),
            Part("period", lambda _: period),
            Part("confidence", lambda _: confidence),
            Part("method", lambda _: "adjusted-wald (Rocks 2016)"),
            Part("groups", groups.json, groups.text),
        ]
    )


def _run_nps(confidence: float) -> Document[NpsEstimate]:
    """The NPS of a run: the estimate's fields, and one line saying them."""

    def line(e: NpsEstimate) -> None:
        if e.counts.n:
            say(
                f"NPS {e.nps:+.1f} ({confidence:.0%} CI {e.low:+.1f} to {e.high:+.1f}) from {e.counts.n} responses: "
                f"{e.counts.promoters} promoters, {e.counts.passives} passives, {e.counts.detractors} detractors."
            )

    fields = _estimate_fields(f"{confidence:.0%}")
    return Document([*(Part(f.key, f.json) for f in fields), Part("confidence", lambda _: confidence, line)])


# --- themes ------------------------------------------------------------------------------------------


def trend_text(stat: ThemeStat) -> str:
    """The trend as a lead reads it: '↑ 4.0%→6.5% (p=0.01)'."""
    trend = stat.trend
    if trend is None:
        return "n/a"
    arrow = {"growing": "↑", "shrinking": "↓"}.get(trend.direction.value, "→")
    return f"{arrow} {stat.previous_share:.1%}→{stat.share:.1%} (p={trend.p_value:.2g})"


THEMES = Rows[ThemeStat](
    "themes",
    [
        Field("id", attrgetter("theme.id")),
        json_only("key", attrgetter("theme.key")),
        Field("label", attrgetter("theme.label")),
        Field("detractors"),
        Field("passives"),
        Field("share", lambda s: round(s.share, 4), cell=lambda s: f"{s.share:.1%}"),
        json_only("previous_share", lambda s: round(s.previous_share, 4)),
        Field("trend", lambda s: None if s.trend is None else s.trend.direction.value, cell=trend_text),
        json_only("trend_p_value", lambda s: None if s.trend is None else s.trend.p_value),
        json_only("keywords", attrgetter("theme.keywords")),
        Field(
            "suppressed",
            attrgetter("theme.suppressed_reason"),
            header="note",
            cell=lambda s: f"suppressed: {s.theme.suppressed_reason}" if s.theme.suppressed_reason else "",
        ),
    ],
    empty="No themes yet: import responses with comments, then run `backlog-bridge themes update`.",
    footnote="share = theme's detractors and passives / all responses in the window; trend vs the window before.",
)
"""The themes of the window, largest first."""


def theme_run_line(summary: ThemeRunSummary) -> str:
    """What a theme update did, in one line."""
    return (
        f"themes: {summary.active_themes} active from {summary.comments} detractor/passive comments "
        f"({summary.window_start:%Y-%m-%d} to {summary.window_end:%Y-%m-%d}); {summary.themed} themed, "
        f"{summary.unthemed} unthemed ({summary.unthemed_share:.1%}), {summary.not_actionable} with no actionable "
        f"comment, {summary.no_specific_reason} with no specific reason; {len(summary.born)} born, "
        f"{len(summary.merged)} merged, {len(summary.retired)} retired; {summary.embedded} texts embedded"
    )


def _theme_run_json(summary: ThemeRunSummary) -> dict[str, object]:
    return {
        **pipeline.theme_run_counts(summary),
        "active_themes": summary.active_themes,
        "window_start": summary.window_start.isoformat(),
        "window_end": summary.window_end.isoformat(),
    }


def _theme_heading(detail: pipeline.ThemeDetail) -> None:
    theme = detail.theme
    styled(f"[bold]{safe(theme.label)}[/bold]  (id {theme.id}, key {safe(theme.key)}, {safe(theme.status)})")


def _suppressed(detail: pipeline.ThemeDetail) -> None:
    if detail.theme.suppressed_reason:
        say(f"suppressed: {detail.theme.suppressed_reason}")


def _figures(detail: pipeline.ThemeDetail) -> None:
    if (s := detail.stat) is not None:
        say(f"{s.detractors} detractors, {s.passives} passives, share {s.share:.1%}, trend {trend_text(s)}")


def _quotes(detail: pipeline.ThemeDetail) -> None:
    say("quotes:")
    for quote in detail.theme.quotes:
        say(f"  “{quote['text']}”")


def _lineage(detail: pipeline.ThemeDetail) -> None:
    say("lineage:")
    for event in detail.events:
        facts = " ".join(f"{key}={value}" for key, value in event.detail.items())
        say(f"  {event.at:%Y-%m-%d %H:%M} {event.kind} by {event.actor} {facts}")


THEME_DETAIL = Document[pipeline.ThemeDetail](
    [
        Part("id", attrgetter("theme.id")),
        Part("key", attrgetter("theme.key")),
        Part("label", attrgetter("theme.label"), _theme_heading),
        Part("status", attrgetter("theme.status")),
        Part("suppressed", attrgetter("theme.suppressed_reason"), _suppressed),
        Part("stats", lambda d: None if d.stat is None else THEMES.record(d.stat), _figures),
        Part("keywords", attrgetter("theme.keywords"), lambda d: say("keywords: " + ", ".join(d.theme.keywords))),
        Part("quotes", lambda d: [quote["text"] for quote in d.theme.quotes], _quotes),
        Part(
            "lineage",
            lambda d: [
                {"at": e.at.isoformat(), "kind": e.kind, "actor": e.actor, "detail": e.detail} for e in d.events
            ],
            _lineage,
        ),
    ]
)
"""One theme: heading, figures, keywords, quotes and lineage."""


# --- plan and sync -----------------------------------------------------------------------------------

PLAN = Rows[PlanItem](
    "sprint plan",
    [
        Field("action", lambda item: item.action.value),
        Field("priority", cell=lambda item: item.priority or ""),
        Field("score", cell=lambda item: f"{item.score:.1f}"),
        Field("theme", attrgetter("brief.label")),
        Field("respondents", attrgetter("brief.respondents")),
        Field("impact", impact_text, header="points at stake (95% CI)"),
        Field("target", target_text),
        Field("reason"),
    ],
    empty="Nothing to plan: no active themes. Run `backlog-bridge themes update` first.",
    records=plan_json,
    document=plan_markdown,
)
"""The sprint plan: a table, every field of every item as JSON, or a Markdown document for a wiki."""

SYNC_RESULTS = Rows[ThemeResult](
    "sync",
    [
        Field("theme_key", header="theme"),
        Field("outcome", lambda r: r.outcome.value),
        Field(
            "issue", lambda r: r.ref.key if r.ref else None, cell=lambda r: (r.ref.url or r.ref.key) if r.ref else ""
        ),
        json_only("url", lambda r: r.ref.url if r.ref else None),
        Field("message"),
    ],
)


def _sync_table(report: SyncReport) -> None:
    title = f"sync to {report.tracker}" + (" (dry run: nothing written)" if report.dry_run else "")
    SYNC_RESULTS.text(report.results, title=title)
    say(" ".join(f"{key}={value}" for key, value in report.counts().items()))


SYNC_REPORT = Document[SyncReport](
    [
        Part("tracker", attrgetter("tracker")),
        Part("dry_run", attrgetter("dry_run")),
        Part("counts", lambda r: r.counts()),
        Part("results", lambda r: SYNC_RESULTS.json(r.results), _sync_table),
    ]
)
"""One tracker's sync: a line per theme, then the count of each outcome."""

_WOULD = {"create": "would create", "update": "would update", "leave": "would leave", "skip": "would skip"}


def _dry_plan_lines(plan: pipeline.DryPlan) -> None:
    where = f"{plan.tracker} is not configured" if plan.tracker else "no tracker is configured"
    say(f"dry run ({where}): the plan, without reading any tracker")
    for item in plan.items:
        priority = f" [{item.priority}]" if item.priority else ""
        say(f"  {_WOULD[item.action.value]}: {item.brief.label}{priority} — {impact_text(item)} — {item.reason}")


DRY_PLAN = Document[pipeline.DryPlan](
    [
        Part("tracker", attrgetter("tracker")),
        Part("configured", lambda _: False),
        Part("plan", lambda plan: plan_json(plan.items), _dry_plan_lines),
    ]
)
"""A dry run's plan for a tracker that is not configured."""

SYNC = Document[pipeline.TrackerSyncs](
    [
        Part("dry_run", attrgetter("dry_run")),
        nested("reports", attrgetter("reports"), Each(SYNC_REPORT)),
        nested("unconfigured", attrgetter("unconfigured"), Each(DRY_PLAN)),
    ]
)
"""`sync`: each tracker's report, and the plans of trackers a dry run could not read."""


# --- runs --------------------------------------------------------------------------------------------


def _seconds(record: RunRecord) -> float | None:
    finished = record.finished_at
    return round((finished - record.started_at).total_seconds(), 3) if finished else None


RUNS = Rows[RunRecord](
    "runs",
    [
        Field("id"),
        Field("command"),
        Field(
            "started_at",
            lambda r: r.started_at.isoformat(),
            header="started (UTC)",
            cell=lambda r: r.started_at.strftime("%Y-%m-%d %H:%M:%S"),
        ),
        json_only("finished_at", lambda r: _iso(r.finished_at)),
        Field("seconds", _seconds, cell=lambda r: "" if (s := _seconds(r)) is None else f"{s:.1f}"),
        Field("status"),
        Field("counts", cell=lambda r: " ".join(f"{key}={value}" for key, value in r.counts.items())),
        json_only("stages"),
        Field("error", cell=lambda r: (r.error or "")[:120]),
    ],
)
"""Recent runs and commands from the audit log, newest first."""


def run_view(confidence: float, store: str) -> Document[pipeline.RunSummary]:
    """What one run did, stage by stage; `store` names the database (password masked)."""
    nps = _run_nps(confidence)

    def nps_json(summary: pipeline.RunSummary) -> object:
        return None if summary.nps is None else nps.json(summary.nps)

    def nps_line(summary: pipeline.RunSummary) -> None:
        if summary.nps is not None:
            nps.text(summary.nps)

    def closing_line(summary: pipeline.RunSummary) -> None:
        if summary.stopped_before:
            say(f"stopped before {summary.stopped_before}: the next run completes the work")
        for problem in summary.errors:
            error(problem, prefix="error")
        say(f"run {summary.run_id} {summary.headline}; store: {store}")

    return Document(
        [
            Part("run_id", attrgetter("run_id")),
            Part("ok", attrgetter("ok")),
            Part("status", attrgetter("status")),
            Part("as_of", lambda s: _iso(s.as_of)),
            nested("imports", attrgetter("imports"), IMPORTS),
            Part("nps", nps_json, nps_line),
            Part("themes", _run_themes_json, _run_themes_line),
            Part("plan", lambda s: plan_json(s.plan), _run_plan_line),
            nested("syncs", attrgetter("syncs"), Each(SYNC_REPORT)),
            Part("notes", attrgetter("notes"), lambda s: _each_line("note: ", s.notes)),
            Part(
                "report_files",
                lambda s: [str(path) for path in s.report_files],
                lambda s: _each_line("report: ", s.report_files),
            ),
            Part("stopped_before", attrgetter("stopped_before")),
            Part("errors", attrgetter("errors")),
            Part("store", lambda _: store, closing_line),
        ]
    )


def _run_themes_json(summary: pipeline.RunSummary) -> object:
    return None if summary.themes is None else _theme_run_json(summary.themes)


def _run_themes_line(summary: pipeline.RunSummary) -> None:
    if summary.themes is not None:
        say(theme_run_line(summary.themes))


def _run_plan_line(summary: pipeline.RunSummary) -> None:
    if summary.plan:
        actions = Counter(item.action.value for item in summary.plan)
        say("plan: " + ", ".join(f"{n} {action}" for action, n in sorted(actions.items())))


def _each_line(prefix: str, values: Sequence[object]) -> None:
    for value in values:
        say(f"{prefix}{value}")


# --- rules and doctor --------------------------------------------------------------------------------


_RULES_COUNTS: dict[str, Callable[[Rules], int]] = {
    "routes": lambda rules: len(rules.routing.route),
    "priority_levels": lambda rules: len(rules.priority.level),
    "suppressions": lambda rules: len(rules.suppression.suppress),
    "redaction_patterns": lambda rules: len(rules.redaction.pattern),
    "ticket_budget": lambda rules: rules.priority.sprint.ticket_budget,
}


def _rules_count(count: Callable[[Rules], int]) -> Callable[[pipeline.RulesCheck], int | None]:
    return lambda check: None if check.rules is None else count(check.rules)


def _rules_line(check: pipeline.RulesCheck) -> None:
    if check.rules is None:
        error("\n".join(check.problems))
        return
    n = {key: count(check.rules) for key, count in _RULES_COUNTS.items()}
    say(
        f"{check.folder}: rules OK — {n['routes']} routes, {n['priority_levels']} priority levels, "
        f"{n['suppressions']} suppressions, {n['redaction_patterns']} team redaction patterns; "
        f"budget {n['ticket_budget']} new issues per sprint."
    )


RULES_CHECK = Document[pipeline.RulesCheck](
    [
        Part("folder", lambda check: str(check.folder)),
        Part("ok", attrgetter("ok")),
        Part("problems", attrgetter("problems"), _rules_line),
        *(Part(key, _rules_count(count), optional=True) for key, count in _RULES_COUNTS.items()),
    ]
)
"""`rules check`: OK with the rules' counts, or every problem as file:key."""

DOCTOR: Document[DoctorReport] = Document(
    [
        Part("ok", attrgetter("ok")),
        Part(
            "checks",
            lambda report: [
                {"name": c.name, "status": c.status.value, "detail": c.detail, "todo": c.todo or None}
                for c in report.checks
            ],
            say,
        ),
    ]
)
"""`doctor`: each check with what to do; the text is the report's own lines."""
