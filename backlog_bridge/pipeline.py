"""The pipeline: the one place that knows the order of the stages.

ingest -> classify -> themes (embed -> cluster) -> (score -> plan -> sync -> report, as they land).
Each stage gets what it needs passed in; `run_once` records the run in the audit log, and a
stage that fails is recorded and reported without hiding what the others did.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from backlog_bridge.classify import NpsCounts, NpsEstimate, estimate, z_for
from backlog_bridge.embed.embedder import Embedder
from backlog_bridge.errors import BacklogBridgeError
from backlog_bridge.ingest.importer import ImportResult, import_paths
from backlog_bridge.plan.inputs import Weights, gather
from backlog_bridge.plan.model import PlanItem
from backlog_bridge.plan.planner import build_plan
from backlog_bridge.plan.redact import Redactor
from backlog_bridge.plan.rules import Rules, load_rules
from backlog_bridge.settings import Settings
from backlog_bridge.store import repo
from backlog_bridge.store.tables import utcnow
from backlog_bridge.sync.engine import SyncReport
from backlog_bridge.themes import ThemeRunSummary, update_themes

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
    stage_seconds: dict[str, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every stage succeeded."""
        return not self.errors

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
    settings: Settings, engine: Engine, now: datetime | None = None, embedder: Embedder | None = None
) -> RunSummary:
    """Run every stage once, in order, and record the run.

    Args:
        settings: validated settings.
        engine: the store.
        now: the moment the run treats as now (tests and back-fills); None = the clock.
        embedder: the embedding model; None loads the one the settings name.
    """
    summary = RunSummary(run_id=repo.start_run(engine, "run"))
    with _stage(summary, "ingest"):
        summary.imports = ingest_stage(settings, engine, now)
        summary.errors.extend(f"ingest: {r.path}: {r.error}" for r in summary.imports if r.error)
    with _stage(summary, "classify"):
        scores = [r.score for r in repo.scored_responses(engine)]
        summary.nps = estimate(NpsCounts.from_scores(scores), z_for(settings.nps.confidence))
    with _stage(summary, "themes"):
        model = embedder or make_embedder(settings)
        summary.themes = update_themes(engine, model, settings.themes, now, summary.run_id)
    rules: Rules | None = None
    with _stage(summary, "plan"):
        rules = load_team_rules(settings)
        summary.plan = plan_stage(settings, engine, rules, now)
    with _stage(summary, "sync"):
        trackers = configured_trackers(settings)
        if rules is not None and trackers:
            for name in trackers:
                report = sync_stage(settings, engine, rules, summary.plan, name, now)
                summary.syncs.append(report)
                summary.errors.extend(
                    f"sync: {r.theme_key}: {r.message}" for r in report.results if r.outcome.value == "failed"
                )
        elif not trackers:
            summary.notes.append("no tracker configured ([github] or [jira] in settings.toml): plan only")
    repo.finish_run(
        engine,
        summary.run_id,
        "ok" if summary.ok else "failed",
        counts=summary.counts(),
        stages={name: round(seconds, 3) for name, seconds in summary.stage_seconds.items()},
        error="; ".join(summary.errors) or None,
    )
    return summary


@contextmanager
def _stage(summary: RunSummary, name: str) -> Iterator[None]:
    """Time a stage; a BacklogBridgeError fails the stage (recorded), not the whole run."""
    started = time.perf_counter()
    try:
        yield
    except BacklogBridgeError as error:
        summary.errors.append(f"{name}: {error}")
    finally:
        summary.stage_seconds[name] = time.perf_counter() - started


def load_team_rules(settings: Settings) -> Rules:
    """The rules in the settings' rules folder, validated (RulesError names file and key).

    Without a rules folder at the default place, the documented defaults apply (a first run needs
    no rules of its own); a folder named in the settings must exist.
    """
    folder = settings.resolve(settings.rules_dir)
    if not folder.exists() and settings.rules_dir == Path("rules"):
        return Rules()
    return load_rules(folder)


def plan_stage(settings: Settings, engine: Engine, rules: Rules, now: datetime | None = None) -> list[PlanItem]:
    """The sprint plan from the store's themes and the team's rules (writes nothing)."""
    inputs = gather(engine, settings.themes.window_days, weights_from_rules(rules), now)
    return build_plan(inputs, rules, Redactor.from_rules(rules.redaction))


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
    now: datetime | None = None,
    dry_run: bool = False,
) -> SyncReport:
    """Apply the plan to one tracker (through its real client), or say what would happen (dry run)."""
    from backlog_bridge.sync.engine import sync_plan
    from backlog_bridge.sync.registry import build_tracker

    tracker = build_tracker(tracker_name, getattr(settings, tracker_name, None))
    regression = rules.priority.regression
    return sync_plan(
        engine,
        items,
        tracker,
        now=now or utcnow(),
        dry_run=dry_run,
        regression_action=regression.action,
        regression_growth=regression.min_growth,
    )


def make_embedder(settings: Settings, show_progress: bool = False) -> Embedder:
    """The embedding model the settings name, loaded offline from models/manifest.toml."""
    from backlog_bridge.embed.sentence_transformers import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(
        settings.embed.model or None,
        device=settings.embed.device,
        batch_size=settings.embed.batch_size,
        show_progress=show_progress,
    )


def ingest_stage(settings: Settings, engine: Engine, now: datetime | None = None) -> list[ImportResult]:
    """Import the configured inboxes, and the bundled sample when the settings ask for it."""
    results = import_paths(
        engine, [settings.resolve(inbox) for inbox in settings.ingest.inboxes], settings.ingest, now=now
    )
    if settings.ingest.use_sample_data:
        results += import_paths(engine, [sample_data_path()], settings.ingest, source=SAMPLE_SOURCE, now=now)
    return results
