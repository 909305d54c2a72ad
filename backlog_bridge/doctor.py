"""`backlog-bridge doctor`: check the settings, rules, database, model, schedule and trackers.

Every check says plainly what is wrong and what to do about it. Nothing is written: the database
is not created or migrated, trackers get read-only calls only.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from backlog_bridge import logs, pipeline
from backlog_bridge.cron import cron_trigger
from backlog_bridge.embed.embedder import Embedder
from backlog_bridge.errors import BacklogBridgeError, TrackerTerminalError, TrackerTransientError
from backlog_bridge.logs import mask_url_passwords, scrub, secret_values
from backlog_bridge.plan.rules import check_rules
from backlog_bridge.settings import ScheduleSettings, Settings
from backlog_bridge.store.db import alembic_config, make_engine, redact_url, sqlite_path
from backlog_bridge.store.lock import current_holder, utcnow

TrackerProbe = Callable[[], str]
"""A read-only tracker call (server info, a search); returns what it saw, raises `TrackerError`."""


class Status(StrEnum):
    """Outcome of one check."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True)
class Check:
    """One line of the report: what was checked, what was found, and what to do."""

    name: str
    status: Status
    detail: str
    todo: str = ""

    def __str__(self) -> str:
        line = f"{self.status.value.upper():<4}  {self.name:<9} {self.detail}"
        return f"{line}\n      → {self.todo}" if self.todo else line


@dataclass(frozen=True)
class Report:
    """All checks, in order; `ok` when none failed (warnings do not fail)."""

    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        """True when no check failed."""
        return all(check.status is not Status.FAIL for check in self.checks)

    def __str__(self) -> str:
        return "\n".join(str(check) for check in self.checks)


def run_doctor(
    load_settings: Callable[[], Settings],
    *,
    schedule: Callable[[Settings], ScheduleSettings] | None = None,
    load_embedder: Callable[[Settings], Embedder] = pipeline.make_embedder,
    trackers: Callable[[Settings], Mapping[str, TrackerProbe]] | None = None,
    now: datetime | None = None,
) -> Report:
    """Run every check; a check that needs the settings is skipped when they do not load.

    Args:
        load_settings: loads and validates the settings (the CLI's `Context.settings`).
        schedule: the `[schedule]` section of the settings; None skips the schedule check.
        load_embedder: loads the model the settings name.
        trackers: read-only probes per configured tracker; None or empty: no tracker configured.
        now: the moment the schedule's next runs are computed from (tests).
    """
    secrets = logs.secret_values()
    first, settings = check_settings(load_settings)
    checks = [first]
    if settings is None:
        names = ("schedule", "rules", "database", "model", "trackers")
        checks += [Check(name, Status.SKIP, "needs valid settings") for name in names]
    else:
        if schedule is not None:
            checks.append(check_schedule(schedule(settings), now or utcnow()))
        default_only = pipeline.rules_default_only(settings)
        trackers_named = pipeline.configured_trackers(settings) or None
        folder = settings.resolve(settings.rules_dir)
        checks.append(check_rule_files(folder, defaults_only=default_only, trackers=trackers_named))
        checks.append(check_database(settings.effective_database_url()))
        checks.append(check_model(lambda: load_embedder(settings)))
        checks += check_trackers(trackers(settings) if trackers else {})
    return Report(tuple(_scrubbed(check, secrets) for check in checks))


def check_settings(load: Callable[[], Settings]) -> tuple[Check, Settings | None]:
    """Load the settings; the error names the file and the key."""
    try:
        settings = load()
    except BacklogBridgeError as error:
        return Check("settings", Status.FAIL, str(error), "fix the key named above (see settings.toml)"), None
    return Check("settings", Status.OK, f"loaded (relative paths from {settings.base_dir})"), settings


def check_schedule(schedule: ScheduleSettings, now: datetime) -> Check:
    """The next runs of the worker, and a warning when a run falls in a daylight-saving change."""
    runs = []
    for name, cron in (("pipeline", schedule.cron), ("sprint", schedule.sprint_cron)):
        if not cron:
            continue
        trigger = cron_trigger(cron, schedule.timezone)
        nxt = trigger.get_next_fire_time(None, now)
        runs.append(f"{name} '{cron}' next at {nxt:%Y-%m-%d %H:%M %Z}")
        shifted = _dst_shifted(trigger, now)
        if shifted is not None:
            return Check(
                "schedule",
                Status.WARN,
                f"{name} '{cron}' in {schedule.timezone} falls in a daylight-saving change on {shifted:%Y-%m-%d} "
                "(it runs twice or an hour late that night)",
                'pick a time outside 02:00-03:00, or set schedule.timezone = "UTC"',
            )
    return Check("schedule", Status.OK, f"{'; '.join(runs)} ({schedule.timezone})")


def check_rule_files(folder: Path, defaults_only: bool = False, trackers: Collection[str] | None = None) -> Check:
    """The team's rules, routes checked against the configured trackers; each problem as file:key."""
    if defaults_only:
        return Check("rules", Status.OK, f"no rules folder at {folder}: the documented defaults apply")
    problems = check_rules(folder, trackers)
    if problems:
        listed = "; ".join(str(problem) for problem in problems)
        return Check(
            "rules", Status.FAIL, listed, "fix the file:key named above; `backlog-bridge rules check` lists them"
        )
    return Check("rules", Status.OK, f"{folder}: valid")


def check_database(url: str) -> Check:
    """Connect, and compare the schema revision with the code's newest migration (nothing is written)."""
    where = redact_url(url)
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        path = Path(sqlite_path(url))
        if not path.is_file():
            return Check(
                "database", Status.WARN, f"{where}: no database yet", "`backlog-bridge run` creates it on first use"
            )
    try:
        engine = make_engine(url)
        try:
            return _check_revision(engine, where)
        finally:
            engine.dispose()
    except (SQLAlchemyError, BacklogBridgeError) as error:
        detail = scrub(_first_line(error), secret_values())
        return Check("database", Status.FAIL, f"{where}: cannot connect: {detail}", _connect_todo(url, detail))


def _connect_todo(url: str, detail: str) -> str:
    """What to do about a failed connection; a password belongs in the root-only secrets file, never a command line."""
    secrets_file = "the service's root-only secrets file (/etc/backlog-bridge/secrets.env, see deploy/)"
    if mask_url_passwords(url) != url:
        return f"take the password out of database_url and set PGPASSWORD in {secrets_file}; then check the server"
    if "password" in detail.lower() or "authentication" in detail.lower():
        return f"check the user in database_url and PGPASSWORD in {secrets_file}"
    return "check that the server is up and database_url (host, port, database name) is right"


def _check_revision(engine: Engine, where: str) -> Check:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
        current = MigrationContext.configure(connection).get_current_revision()
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    if current == head:
        holder = current_holder(engine)
        busy = f"; run lock held by {holder}" if holder and holder.expires_at > utcnow() else ""
        return Check("database", Status.OK, f"{where}: schema at revision {head}{busy}")
    known = {script.revision for script in ScriptDirectory.from_config(alembic_config(engine)).walk_revisions()}
    if current is not None and current not in known:
        return Check(
            "database",
            Status.FAIL,
            f"{where}: schema revision {current} is newer than this backlog_bridge knows (newest {head})",
            "upgrade backlog_bridge to the version that migrated this database",
        )
    return Check(
        "database",
        Status.WARN,
        f"{where}: schema at revision {current or 'none'}, this version expects {head}",
        "any backlog-bridge command migrates it on open, e.g. `backlog-bridge runs`",
    )


def check_model(load: Callable[[], Embedder]) -> Check:
    """Load the embedding model offline and embed one sentence; the vector size must match."""
    try:
        model = load()
        vectors = model.encode(["doctor check"])
    except BacklogBridgeError as error:
        return Check(
            "model", Status.FAIL, str(error), "check embed.model and embed.manifest in the settings (models/README.md)"
        )
    if vectors.shape != (1, model.dim):
        return Check(
            "model",
            Status.FAIL,
            f"{model.name}: vectors of shape {vectors.shape}, expected (1, {model.dim})",
            "the model folder does not match its manifest entry: fix its `dim` in the manifest",
        )
    return Check("model", Status.OK, f"{model.name}: loaded, {model.dim} dimensions")


def check_trackers(probes: Mapping[str, TrackerProbe]) -> list[Check]:
    """One read-only call per configured tracker."""
    if not probes:
        return [Check("trackers", Status.SKIP, "none configured (no [jira] or [github] table in the settings)")]
    return [_probe(name, probe) for name, probe in probes.items()]


def _probe(name: str, probe: TrackerProbe) -> Check:
    try:
        return Check(name, Status.OK, probe())
    except TrackerTerminalError as error:
        todo = "check the token (environment only), its permissions, and the project or repository in the settings"
        return Check(name, Status.FAIL, str(error), todo)
    except TrackerTransientError as error:
        return Check(name, Status.WARN, f"not reachable now: {error}", "try again later; runs keep actions pending")
    except BacklogBridgeError as error:
        return Check(name, Status.FAIL, str(error), "fix the tracker's table in settings.toml")


def _dst_shifted(trigger: CronTrigger, now: datetime, horizon: timedelta = timedelta(days=366)) -> datetime | None:
    """The first run within `horizon` whose local time is skipped or repeated by a DST change."""
    fire = trigger.get_next_fire_time(None, now)
    end = now + horizon
    for _ in range(400):  # daily crons: a year; finer ones: what 400 runs cover
        if fire is None or fire > end:
            return None
        local = fire.replace(tzinfo=None)
        zone = fire.tzinfo
        if local.replace(tzinfo=zone, fold=0).utcoffset() != local.replace(tzinfo=zone, fold=1).utcoffset():
            return fire  # type: ignore[no-any-return]
        fire = trigger.get_next_fire_time(fire, fire.astimezone(UTC) + timedelta(seconds=1))
    return None


def _first_line(error: BaseException) -> str:
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return mask_url_passwords(first)


def _scrubbed(check: Check, secrets: list[str]) -> Check:
    return Check(check.name, check.status, logs.scrub(check.detail, secrets), check.todo)
