"""The pipeline: the one place that knows the order of the stages, and the one that decides "now".

ingest -> classify -> themes (embed -> cluster) -> plan (score + rules) -> sync -> report.
`run_once` (and each single-stage command, through `run_context`) fixes one `RunContext`: the
analysis window and the wall clock. Each stage gets the values it needs passed in and returns its
result; `run_once` records the run in the audit log, and a stage that fails is recorded and
reported without hiding what the others did.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from backlog_bridge.classify import NpsCounts, NpsEstimate, NpsGroup, Period, estimate, nps_breakdown, z_for
from backlog_bridge.context import AnalysisWindow, Clock, ProgressFactory, RunContext, no_progress
from backlog_bridge.embed.embedder import Embedder
from backlog_bridge.errors import BacklogBridgeError, ConfigError, RulesError, RunInProgressError
from backlog_bridge.ingest.importer import ImportResult, import_paths
from backlog_bridge.plan.inputs import Weights, gather
from backlog_bridge.plan.model import PlanItem
from backlog_bridge.plan.planner import build_plan
from backlog_bridge.plan.redact import Redactor
from backlog_bridge.plan.rules import Rules, for_trackers, load_rules
from backlog_bridge.report.data import Report, gather_report
from backlog_bridge.settings import GitHubSettings, Settings
from backlog_bridge.store import repo
from backlog_bridge.store.db import store_fault
from backlog_bridge.store.lock import RunLock, run_lock
from backlog_bridge.store.tables import Theme, ThemeEvent, utcnow
from backlog_bridge.sync.engine import Note, SyncReport, post_notes
from backlog_bridge.sync.retry import RetryPolicy
from backlog_bridge.sync.tracker import IssueRef
from backlog_bridge.themes import ThemeRunSummary, ThemeStat, get_theme, theme_events, theme_stats, update_themes

SAMPLE_SOURCE = "sample"


def sample_data_path() -> Path:
    """The sample NPS export bundled with the package."""
    return Path(str(resources.files("backlog_bridge") / "data" / "sample_nps.csv"))


@dataclass
class RunSummary:
    """What one pipeline run did, stage by stage."""

    run_id: int
    imports: list[ImportResult] = field(default_factory=list)
    nps: NpsEstimate | None = None
    themes: ThemeRunSummary | None = None
    plan: list[PlanItem] = field(default_factory=list)
    syncs: list[SyncReport] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    report_files: list[Path] = field(default_factory=list)
    stopped_before: str | None = None
    """The stage a stop request (SIGTERM) ended the run before; None when it ran to the end."""
    stage_seconds: dict[str, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    """Every problem, "stage: reason" (a failed stage, an unreadable file, a theme left pending or failed)."""
    failed_stages: list[str] = field(default_factory=list)
    as_of: datetime | None = None
    """End of the analysis window (exclusive); None when the run ended before ingest fixed it."""

    @property
    def status(self) -> str:
        """The outcome: failed (a stage could not run), stopped (a stop request), partial (ran, with problems), ok."""
        if self.failed_stages:
            return "failed"
        if self.stopped_before:
            return "stopped"
        return "partial" if self.errors else "ok"

    @property
    def headline(self) -> str:
        """The status with its first reasons, e.g. "partial: sync: tracker unreachable (github), 3 themes pending…"."""
        if self.ok:
            return self.status
        shown = self.errors[:3] or [f"stopped before {self.stopped_before}"]
        return f"{self.status}: " + "; ".join(shown) + (" …" if len(self.errors) > 3 else "")

    @property
    def ok(self) -> bool:
        """True when every stage ran and nothing is left over."""
        return self.status == "ok"

    def counts(self) -> dict[str, Any]:
        """Totals for the audit log."""
        return {
            "files": len(self.imports),
            "read": sum(r.read for r in self.imports),
            "new": sum(r.new for r in self.imports),
            "updated": sum(r.updated for r in self.imports),
            "unchanged": sum(r.unchanged for r in self.imports),
            "quarantined": sum(r.quarantined for r in self.imports),
            "responses": self.nps.counts.n if self.nps else 0,
            "themes": self.themes.active_themes if self.themes else 0,
            "themed": self.themes.themed if self.themes else 0,
            "unthemed": self.themes.unthemed if self.themes else 0,
            "planned": sum(1 for item in self.plan if item.action.value in ("create", "update")),
            **{key: sum(report.counts()[key] for report in self.syncs)
               for key in ("created", "updated", "unchanged", "skipped", "pending", "failed")},
        }  # fmt: skip


def run_once(
    settings: Settings,
    engine: Engine,
    *,
    embedder: Embedder | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    as_of: datetime | None = None,
    progress: ProgressFactory = no_progress,
    clock: Clock = utcnow,
) -> RunSummary:
    """Run every stage once, in order, and record the run.

    Args:
        settings: validated settings.
        engine: the store.
        embedder: the embedding model; None loads the one the settings name.
        should_stop: checked before each stage (SIGTERM, lost run lock): the run then ends there,
            recorded as stopped, and the next run completes the work (every stage is idempotent).
        as_of: the end of the analysis window (`run --as-of`); None = now, or the end of the
            sample data while the store holds nothing else (so the quick start works on any date).
        progress: makes a reporter for each long step (importing a file, embedding comments,
            writing the report); the CLI draws bars on a terminal and logs lines otherwise.
        clock: the wall clock (tests pass a fixed one): audit stamps, and "now" for the window.
    """
    summary = RunSummary(run_id=repo.start_run(engine, "run"))
    run = _Stages(settings, engine, summary, embedder, as_of, clock, clock(), progress)
    current = "start"
    try:
        for current, stage in (
            ("ingest", run.ingest),
            ("classify", run.classify),
            ("themes", run.themes),
            ("plan", run.plan),
            ("sync", run.sync),
            ("report", run.report),
        ):
            if should_stop():
                summary.stopped_before = current
                break
            with _stage(summary, current):
                stage()
    except BaseException as error:  # closed as such, then raised on: a run never stays "running"
        interrupted = isinstance(error, KeyboardInterrupt | SystemExit)
        summary.errors.append(f"{current}: {_reason(error) if not interrupted else 'interrupted'}")
        _finish(engine, summary, "interrupted" if interrupted else "failed")
        raise
    _finish(engine, summary, summary.status)
    return summary


def run_context(
    settings: Settings,
    engine: Engine,
    as_of: datetime | None = None,
    *,
    clock: Clock = utcnow,
    started_at: datetime | None = None,
    progress: ProgressFactory = no_progress,
) -> RunContext:
    """The context of one run or command: the analysis window, fixed once, and the wall clock.

    The window ends at `as_of` when given (`--as-of`); else now, or after the sample's last day while
    the store holds only the bundled sample (the context's `note` then says so).

    Args:
        settings: validated settings (the window's length).
        engine: the store (which sources it holds).
        as_of: the end of the analysis window; None decides it as above.
        clock: the wall clock.
        started_at: when the run began (default: the clock's now).
        progress: makes a reporter for each long step.
    """
    started_at = started_at or clock()
    end, note = (as_of, None) if as_of is not None else analysis_end(engine, started_at)
    window = AnalysisWindow(end, settings.themes.window_days)
    return RunContext(window=window, started_at=started_at, clock=clock, progress=progress, note=note)


def _reason(error: BaseException) -> str:
    """A stage's unexpected failure in one line, without a driver's message (it can quote a row)."""
    if isinstance(error, SQLAlchemyError):
        return str(store_fault(error))
    return f"unexpected {type(error).__name__}"


def _finish(engine: Engine, summary: RunSummary, status: str) -> None:
    stopped = [f"stopped before {summary.stopped_before}; the next run completes the work"]
    try:
        repo.finish_run(
            engine,
            summary.run_id,
            status,
            counts=summary.counts(),
            stages={name: round(seconds, 3) for name, seconds in summary.stage_seconds.items()},
            error="; ".join(summary.errors + (stopped if summary.stopped_before else [])) or None,
        )
    except SQLAlchemyError:  # the store itself is gone: the next run closes this record as interrupted
        if status not in ("failed", "interrupted"):
            raise


@dataclass
class _Stages:
    """The stages of one run, in the order `run_once` calls them; each reads what the earlier ones left."""

    settings: Settings
    engine: Engine
    summary: RunSummary
    embedder: Embedder | None
    as_of: datetime | None
    """The requested end of the analysis window (`--as-of`); None lets `run_context` decide."""
    clock: Clock
    started_at: datetime
    progress: ProgressFactory
    rules: Rules | None = None
    _context: RunContext | None = None

    def context(self) -> RunContext:
        """The run's context, fixed once, after ingest: the sample's end depends on what ingest left."""
        if self._context is None:
            self._context = run_context(
                self.settings, self.engine, self.as_of, clock=self.clock, started_at=self.started_at,
                progress=self.progress,
            )  # fmt: skip
            self.summary.as_of = self._context.as_of
            self.summary.notes.extend([self._context.note] if self._context.note else [])
        return self._context

    def ingest(self) -> None:
        notes = self.summary.notes
        self.summary.imports = ingest_stage(self.settings, self.engine, self.started_at, notes, self.progress)
        self.summary.errors.extend(f"ingest: {r.path}: {r.error}" for r in self.summary.imports if r.error)
        self.context()

    def classify(self) -> None:
        scores = [r.score for r in repo.scored_responses(self.engine, until=self.context().as_of)]
        self.summary.nps = estimate(NpsCounts.from_scores(scores), z_for(self.settings.nps.confidence))

    def themes(self) -> None:
        # Labels become issue titles: they are made from comments redacted by the team's rules, so
        # rules that do not load stop this stage rather than fall back to fewer detectors.
        self.rules = load_team_rules(self.settings)
        context = self.context()
        model = self.embedder or make_embedder(self.settings, progress=context.progress("embedding comments"))
        redactor = Redactor.from_rules(self.rules.redaction)
        self.summary.themes = update_themes(
            self.engine, model, self.settings.themes, context.window, self.summary.run_id, redactor
        )

    def plan(self) -> None:
        self.rules = self.rules or load_team_rules(self.settings)
        self.summary.plan = plan_stage(self.settings, self.engine, self.rules, self.context().window)

    def sync(self) -> None:
        trackers = configured_trackers(self.settings)
        if not trackers:
            self.summary.notes.append("no tracker configured ([github] or [jira] in settings.toml): plan only")
            return
        if self.rules is None:
            raise BacklogBridgeError("not synced: the plan stage failed")
        for name in trackers:
            report = sync_stage(self.settings, self.engine, self.rules, self.summary.plan, name, self.context().clock)
            self.summary.syncs.append(report)
            self.summary.errors.extend(
                f"sync: {r.theme_key}: {r.message}" for r in report.results if r.outcome.value == "failed"
            )
            pending = report.counts()["pending"]
            if pending:
                why = "tracker unreachable" if report.unreachable else "tracker busy or rate limited"
                self.summary.errors.append(f"sync: {why} ({name}), {pending} themes pending for the next run")

    def report(self) -> None:
        settings = self.settings.report
        if not settings.enabled:
            return
        if self.rules is None or "plan" in self.summary.failed_stages:
            raise BacklogBridgeError("report not written: the plan stage failed")
        from backlog_bridge.report.render import publish

        context = self.context()
        trackers = configured_trackers(self.settings) if settings.post_verdicts else []
        steps = context.progress("writing the report")
        total = 2 + len(trackers)  # gather, write the files, then post verdicts to each tracker
        steps(0, total)
        try:
            data = report_data(self.settings, self.engine, self.rules, self.summary.plan, context)
            steps(1, total)
            folder = self.settings.resolve(settings.folder)
            self.summary.report_files = publish(data, folder, settings.formats, settings.keep)
            steps(2, total)
        except (OSError, ValueError, RuntimeError) as error:
            raise BacklogBridgeError(f"report not written: {error}") from error
        for done, name in enumerate(trackers, start=3):
            notes = verdict_notes(data.verdicts, name)
            if notes:
                self.summary.syncs.append(post_verdicts(self.settings, self.engine, notes, name, context.clock))
            steps(done, total)


@contextmanager
def _stage(summary: RunSummary, name: str) -> Iterator[None]:
    """Time a stage; a BacklogBridgeError fails the stage (recorded), not the whole run."""
    started = time.perf_counter()
    try:
        yield
    except BacklogBridgeError as error:
        summary.errors.append(f"{name}: {error}")
        summary.failed_stages.append(name)
    finally:
        summary.stage_seconds[name] = time.perf_counter() - started


def load_team_rules(settings: Settings) -> Rules:
    """The rules in the settings' rules folder, validated (RulesError names file and key).

    Without a rules folder at the default place, the documented defaults apply (a first run needs
    no rules of its own); a folder named in the settings must exist. With a tracker configured,
    a route to one that is not is an error (a plan that files nowhere must not pass silently).
    """
    folder = settings.resolve(settings.rules_dir)
    trackers = configured_trackers(settings) or None
    if rules_default_only(settings):
        return for_trackers(Rules(), trackers)
    return load_rules(folder, trackers)


def rules_default_only(settings: Settings) -> bool:
    """True when no rules folder exists at the default place: the documented defaults apply."""
    return settings.rules_dir == Path("rules") and not settings.resolve(settings.rules_dir).exists()


def plan_stage(settings: Settings, engine: Engine, rules: Rules, window: AnalysisWindow) -> list[PlanItem]:
    """The sprint plan for the window from the store's themes and the team's rules (writes nothing)."""
    scoring = settings.scoring
    lift_shares = (scoring.lift_detractors_to_passives, scoring.lift_passives_to_promoters)
    inputs = gather(
        engine,
        window,
        weights_from_rules(rules),
        report_url=settings.report.latest_page_url(),
        lift_shares=lift_shares,
    )
    return build_plan(inputs, rules, Redactor.from_rules(rules.redaction))


def report_data(
    settings: Settings, engine: Engine, rules: Rules, plan: Sequence[PlanItem], context: RunContext
) -> Report:
    """The theme report's content for the context's window, built around the plan made for it."""
    redactor = Redactor.from_rules(rules.redaction)
    loop = settings.report.loop_params()
    return gather_report(engine, plan, context.window, settings.nps, redactor, context.clock(), loop)


def weights_from_rules(rules: Rules) -> Weights:
    """Recency and segment weights as priority.toml sets them."""
    weights = rules.priority.weights
    return Weights(weights.half_life_days or None, weights.segment, weights.revenue_field or None)


def configured_trackers(settings: Settings) -> list[str]:
    """Trackers with a settings table (github, jira)."""
    return [name for name in ("github", "jira") if getattr(settings, name, None) is not None]


def sync_stage(
    settings: Settings,
    engine: Engine,
    rules: Rules,
    items: Sequence[PlanItem],
    tracker_name: str,
    clock: Clock = utcnow,
    dry_run: bool = False,
) -> SyncReport:
    """Apply the plan to one tracker (through its real client), or say what would happen (dry run).

    Links and comments are stamped with the wall clock (`clock`), never the analysis window's end.
    """
    from backlog_bridge.sync.engine import sync_plan
    from backlog_bridge.sync.registry import build_tracker

    section = getattr(settings, tracker_name, None)
    tracker = build_tracker(tracker_name, section)
    regression = rules.priority.regression
    return sync_plan(
        engine,
        items,
        tracker,
        now=clock(),
        dry_run=dry_run,
        regression_action=regression.action,
        regression_growth=regression.min_growth,
        retry=retry_policy(section),
    )


def retry_policy(section: object) -> RetryPolicy:
    """The sync's retry policy for one tracker: its `retries` and longest wait where it sets them."""
    if isinstance(section, GitHubSettings):
        return RetryPolicy(attempts=section.retries + 1, max_delay=section.max_rate_limit_wait)
    return RetryPolicy()


def verdict_notes(verdicts: Sequence[Any], tracker: str) -> list[Note]:
    """The final fix verdicts on issues of `tracker`, as comments to post once."""
    from backlog_bridge.report.loop import verdict_comment, verdict_stamp

    return [
        Note(v.theme_key, IssueRef(tracker, v.issue_key, v.url or ""), verdict_comment(v), verdict_stamp(v))
        for v in verdicts
        if v.final and v.tracker == tracker and v.issue_key
    ]


def post_verdicts(
    settings: Settings, engine: Engine, notes: Sequence[Note], tracker_name: str, clock: Clock = utcnow
) -> SyncReport:
    """Comment each verdict on its issue once (escaped, retried; a repeat run posts nothing); wall-clock stamps."""
    from backlog_bridge.sync.registry import build_tracker

    section = getattr(settings, tracker_name, None)
    return post_notes(engine, notes, build_tracker(tracker_name, section), now=clock(), retry=retry_policy(section))


def make_embedder(
    settings: Settings, show_progress: bool = False, progress: Callable[[int, int], None] | None = None
) -> Embedder:
    """The embedding model the settings name, loaded offline from the packaged or the team's manifest."""
    from backlog_bridge.embed.sentence_transformers import DEFAULT_MANIFEST, SentenceTransformerEmbedder

    manifest = settings.embed.manifest
    return SentenceTransformerEmbedder(
        settings.embed.model or None,
        manifest=settings.resolve(manifest) if manifest else DEFAULT_MANIFEST,
        device=settings.embed.device,
        batch_size=settings.embed.batch_size,
        show_progress=show_progress,
        progress=progress,
    )


def ingest_stage(
    settings: Settings,
    engine: Engine,
    now: datetime | None = None,
    notes: list[str] | None = None,
    progress: ProgressFactory = no_progress,
) -> list[ImportResult]:
    """Import the configured inboxes, and the bundled sample while the store holds no data of the user's.

    `now` is the wall clock (rows dated after it are refused as misread); None = the clock's now.
    """
    now = now or utcnow()
    inboxes = [settings.resolve(inbox) for inbox in settings.ingest.inboxes]
    results = import_paths(engine, inboxes, settings.ingest, now=now, skip_imported=True, progress=progress)
    removed = retire_sample(settings, engine)
    if removed and notes is not None:
        notes.append(removed)
    if settings.ingest.use_sample_data and not own_sources(engine):
        sample = [sample_data_path()]
        results += import_paths(
            engine, sample, settings.ingest, source=SAMPLE_SOURCE, now=now, skip_imported=True, progress=progress
        )
    return results


def own_sources(engine: Engine) -> list[str]:
    """Sources in the store other than the bundled sample: the user's own data."""
    return [span.source for span in repo.source_spans(engine) if span.source != SAMPLE_SOURCE]


def retire_sample(settings: Settings, engine: Engine) -> str | None:
    """Take the bundled sample out of the store once the user's own data is in (or the settings turn it off).

    The sample is only a first look: mixed with real answers it would distort NPS, themes and the
    plan. Returns the note to show when it went, None when nothing changed.
    """
    own = own_sources(engine)
    if settings.ingest.use_sample_data and not own:
        return None
    removed = repo.remove_source(engine, SAMPLE_SOURCE)
    if not removed:
        return None
    why = f"your own data is in (source {', '.join(own)})" if own else "ingest.use_sample_data is false"
    return f"removed the bundled sample data ({removed} responses) from the analysis: {why}"


def analysis_end(engine: Engine, now: datetime) -> tuple[datetime, str | None]:
    """Where the analysis window ends when no --as-of is given, and a note when it is not `now`.

    While the store holds only the bundled sample, the window ends after the sample's last day,
    so the quick start shows themes and a plan on any date; with the user's own data it is now.
    """
    spans = repo.source_spans(engine)
    if [span.source for span in spans] != [SAMPLE_SOURCE]:
        return now, None
    end = datetime.combine(spans[0].last.date(), dt_time.min, tzinfo=UTC) + timedelta(days=1)
    if end >= now:
        return now, None
    return end, f"sample data only: analysed up to its last day, {spans[0].last:%Y-%m-%d} (--as-of DATE to change)"


# --- what each command runs: the whole run under the run lock, or one stage alone, recorded as a run is ---


def run_exclusively(
    settings: Settings, engine: Engine, as_of: datetime | None = None, progress: ProgressFactory = no_progress
) -> RunSummary:
    """`run_once` under the database's run lock (`backlog-bridge run`): one run at a time per database.

    The run stops at the next stage when the lock is lost (a stall longer than the lease).

    Raises:
        RunInProgressError: another process holds the lock; the message names it.
    """
    with exclusive(settings, engine) as lock:
        return run_holding_lock(settings, engine, lambda: lock.lost, as_of=as_of, progress=progress)


@contextmanager
def exclusive(settings: Settings, engine: Engine) -> Iterator[RunLock]:
    """The database's run lock, held for the block: every writer of themes or tracker issues takes it.

    A hand-run `sync` or `themes update` during the worker's run would otherwise read the same
    links and file the same themes twice.

    Raises:
        RunInProgressError: another process holds the lock; the message names it.
    """
    with run_lock(engine, lease=timedelta(seconds=settings.schedule.lock_lease_seconds)) as lock:
        if not lock:
            raise RunInProgressError(f"another run is in progress ({lock.holder_info}); try again when it ends")
        yield lock


def run_holding_lock(
    settings: Settings,
    engine: Engine,
    should_stop: Callable[[], bool],
    as_of: datetime | None = None,
    progress: ProgressFactory = no_progress,
) -> RunSummary:
    """`run_once` for a caller that holds the run lock (the worker's jobs, `run_exclusively`).

    Under the lock no other run goes on, so records still "running" are of runs that died: they are
    closed as interrupted first.
    """
    repo.mark_interrupted_runs(engine)
    return run_once(settings, engine, should_stop=should_stop, as_of=as_of, progress=progress)


IMPORT_COUNTS = ("read", "new", "updated", "unchanged", "quarantined")
"""The counts of an `ImportResult` that add up over files (`adds_up` holds for the totals too)."""


@dataclass(frozen=True)
class FilesImported:
    """What `ingest` did: one result per file, and the note when the bundled sample left the analysis."""

    results: list[ImportResult]
    sample_note: str | None = None

    @property
    def ok(self) -> bool:
        """True when every file could be read (bad rows are quarantined, not errors)."""
        return not any(result.error for result in self.results)


def ingest_files(
    settings: Settings,
    engine: Engine,
    paths: Sequence[Path],
    source: str | None = None,
    progress: ProgressFactory = no_progress,
) -> FilesImported:
    """Import export files or folders of them (`ingest`), recorded in the audit log."""
    run_id = repo.start_run(engine, "ingest")
    results = import_paths(engine, paths, settings.ingest, source=source, progress=progress)
    failed = "; ".join(f"{result.path}: {result.error}" for result in results if result.error)
    counts = {key: sum(getattr(result, key) for result in results) for key in IMPORT_COUNTS}
    repo.finish_run(engine, run_id, "failed" if failed else "ok", counts=counts, error=failed or None)
    return FilesImported(results, retire_sample(settings, engine))


def nps_groups(
    settings: Settings,
    engine: Engine,
    by: str | None = None,
    period: Period | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[NpsGroup]:
    """NPS of the responses answered in [since, until), per group and calendar period (`nps`).

    Args:
        settings: validated settings (minimum group size, confidence level).
        engine: the store.
        by: a segment field (plan, region) or "source" to break down by; None: one group, "all".
        period: split into calendar weeks, months or quarters, each compared with the one before.
        since: first moment included; None: from the first response.
        until: first moment left out; None: up to the last response.
    """
    responses = repo.scored_responses(engine, since, until)
    rows = [(r.score, r.responded_at, _group_of(r.source, r.segments, by)) for r in responses]
    return nps_breakdown(rows, period, settings.nps.min_group_size, z_for(settings.nps.confidence))


def _group_of(source: str, segments: dict[str, Any], by: str | None) -> str:
    if by is None:
        return "all"
    if by == "source":
        return source
    value = segments.get(by)
    return "(none)" if value is None or value == "" else str(value)


def refresh_themes(settings: Settings, engine: Engine, run: RunContext) -> ThemeRunSummary:
    """Update the themes from the comments of the window (`themes update`), recorded in the audit log.

    Rules are loaded before the model (labels are made from comments redacted by the team's rules),
    and the model before the run lock is taken; the update itself holds the lock, as a run's does.
    """
    redactor = Redactor.from_rules(load_team_rules(settings).redaction)
    model = make_embedder(settings, progress=run.progress("embedding comments"))
    with exclusive(settings, engine):
        run_id = repo.start_run(engine, "themes")
        summary = update_themes(engine, model, settings.themes, run.window, run_id, redactor)
        repo.finish_run(engine, run_id, "ok", counts=theme_run_counts(summary))
    return summary


def theme_run_counts(summary: ThemeRunSummary) -> dict[str, int]:
    """A theme update's counts, for the audit log."""
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


@dataclass(frozen=True)
class ThemeDetail:
    """One theme as `themes show` tells it: the theme, its figures in the window, its lineage."""

    theme: Theme
    stat: ThemeStat | None
    """None when the theme has no comments in the window (retired, merged, or older)."""
    events: list[ThemeEvent]


def theme_detail(engine: Engine, theme_ref: str, window: AnalysisWindow) -> ThemeDetail:
    """The theme named by id or key (raises `ThemeError` when there is none), with figures and lineage."""
    with Session(engine) as session:
        theme = get_theme(session, theme_ref)
        session.expunge(theme)
    stats = theme_stats(engine, window)
    stat = next((s for s in stats if s.theme.id == theme.id), None)
    return ThemeDetail(theme, stat, theme_events(engine, theme.id or 0))


@dataclass(frozen=True)
class RulesCheck:
    """What `rules check` found: the rules, or every problem as `file:key: message`."""

    folder: Path
    rules: Rules | None
    problems: list[str]

    @property
    def ok(self) -> bool:
        """True when the rules loaded without a problem."""
        return self.rules is not None


def check_team_rules(settings: Settings) -> RulesCheck:
    """Load the team's rules as a run would, keeping the problems instead of raising them."""
    folder = settings.resolve(settings.rules_dir)
    try:
        return RulesCheck(folder, load_team_rules(settings), [])
    except RulesError as error:
        return RulesCheck(folder, None, str(error).splitlines())


def sprint_plan(settings: Settings, engine: Engine, window: AnalysisWindow) -> list[PlanItem]:
    """The next sprint's plan under the team's rules (`plan`; writes nothing)."""
    return plan_stage(settings, engine, load_team_rules(settings), window)


@dataclass(frozen=True)
class DryPlan:
    """A dry run's plan for a tracker that is not configured: shown without reading any tracker."""

    tracker: str | None
    """The tracker asked for; None when no tracker is configured at all."""
    items: list[PlanItem]


@dataclass(frozen=True)
class TrackerSyncs:
    """What `sync` did to each tracker (or, dry run, would do)."""

    dry_run: bool
    reports: list[SyncReport]
    unconfigured: list[DryPlan]

    @property
    def failed(self) -> bool:
        """True when a tracker refused a theme for good (pending themes are not failures)."""
        return any(result.outcome.value == "failed" for report in self.reports for result in report.results)

    @property
    def pending(self) -> int:
        """Themes left for the next run (tracker unreachable, busy or rate limited)."""
        return sum(report.counts()["pending"] for report in self.reports)


def sync_trackers(
    settings: Settings, engine: Engine, run: RunContext, tracker: str | None = None, dry_run: bool = False
) -> TrackerSyncs:
    """Apply the sprint plan to one tracker or every configured one (`sync`).

    A dry run reads the trackers and writes nothing; for a tracker that is not configured it shows
    the plan alone.

    Raises:
        ConfigError: no tracker is configured and this is not a dry run.
        RunInProgressError: not a dry run, and a run or another sync holds the run lock.
    """
    names = [tracker] if tracker else configured_trackers(settings)
    if not names and not dry_run:
        raise ConfigError(
            'no tracker configured: add a [github] (repo = "owner/name") or [jira] table to settings.toml and '
            "set the token in the environment, or use --dry-run to see the plan"
        )
    with nullcontext() if dry_run else exclusive(settings, engine):
        rules = load_team_rules(settings)
        items = plan_stage(settings, engine, rules, run.window)
        unconfigured = [] if names else [DryPlan(None, items)]
        reports = []
        for name in names:
            if dry_run and getattr(settings, name, None) is None:
                unconfigured.append(DryPlan(name, [item for item in items if item.target.tracker == name]))
            else:
                reports.append(sync_stage(settings, engine, rules, items, name, run.clock, dry_run=dry_run))
        return TrackerSyncs(dry_run, reports, unconfigured)


def report_text(settings: Settings, engine: Engine, fmt: Literal["html", "md", "json"], run: RunContext) -> str:
    """The theme report for leads as one document (`report`): "html", "md" or "json"."""
    from backlog_bridge.report.render import render

    rules = load_team_rules(settings)
    items = plan_stage(settings, engine, rules, run.window)
    return render(report_data(settings, engine, rules, items, run), fmt)


def tracker_probes(settings: Settings) -> dict[str, Callable[[], str]]:
    """A read-only call per configured tracker (a search), for `doctor`."""

    def probe(name: str) -> str:
        from backlog_bridge.sync.registry import build_tracker

        build_tracker(name, getattr(settings, name)).find("backlog-bridge-doctor-probe")
        return "connected; read access OK"

    return {name: functools.partial(probe, name) for name in configured_trackers(settings)}
