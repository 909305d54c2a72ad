"""The scheduled worker: the pipeline on a cron schedule, one run at a time per database.

APScheduler 3 only. Jobs live in the store's own database (table `apscheduler_jobs`), so a tick
missed while the worker was down runs once when it is back (coalesced), if it is no older than the
misfire grace time. Every job runs under the database run lock (`store/lock.py`) and records the
tick it completed there, so two workers against one database run the pipeline once per tick: the
second finds the lock taken, or the tick already done.

SIGTERM or SIGINT: no new job starts, the running one finishes its current stage (the job gets
`StopSignal.requested` and checks it between stages), then `run_worker` returns. The handler itself
only sets a flag; a watcher thread woken through `signal.set_wakeup_fd` logs and shuts the scheduler
down, so a signal that lands while the main thread holds a lock cannot deadlock the worker.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from types import FrameType
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_SCHEDULER_STARTED, SchedulerEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers import SchedulerNotRunningError
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Engine, inspect

from backlog_bridge.cron import cron_trigger
from backlog_bridge.settings import ScheduleSettings
from backlog_bridge.store.lock import run_lock, utcnow

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]
ShouldStop = Callable[[], bool]
Job = Callable[[ShouldStop], object]
"""A scheduled job: gets a `should_stop()` to check between stages, e.g. `run_once(..., should_stop=...)`."""

JOBSTORE_TABLE = "apscheduler_jobs"
LOCK_NAME = "pipeline"
PIPELINE_JOB = "pipeline"
SPRINT_JOB = "sprint"


class Outcome(StrEnum):
    """What one firing of a scheduled job did."""

    RAN = "ran"
    LOCKED = "locked"
    """Another process holds the run lock: its run covers this tick."""
    ALREADY_RAN = "already-ran"
    """Another worker completed this tick already."""
    STOPPED = "stopped"
    """Asked to stop (SIGTERM) before or during the run; the next run completes the work."""
    FAILED = "failed"


class StopSignal:
    """Set on SIGTERM: running jobs finish their current stage, and nothing new starts."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._signalled = False
        self._idle = threading.Condition()
        self._running = 0

    def requested(self) -> bool:
        """True once a stop was asked for; jobs check it between stages."""
        return self._signalled or self._stop.is_set()

    def request(self) -> None:
        """Ask running jobs to stop after their current stage."""
        self._signalled = True
        self._stop.set()

    def flag(self) -> None:
        """What a signal handler may do: set a flag, take no lock (the thread it interrupts may hold it)."""
        self._signalled = True

    @contextmanager
    def running(self) -> Iterator[None]:
        """Mark a job as in flight, so `wait_idle` waits for it."""
        with self._idle:
            self._running += 1
        try:
            yield
        finally:
            with self._idle:
                self._running -= 1
                self._idle.notify_all()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until no job is in flight; False when `timeout` seconds passed first."""
        with self._idle:
            return self._idle.wait_for(lambda: self._running == 0, timeout)


def last_tick(trigger: CronTrigger, now: datetime, lookback: timedelta) -> datetime | None:
    """The latest fire time of `trigger` at or before `now` (UTC), looking back at most `lookback`.

    This is the schedule tick a firing belongs to, late firings (misfire grace) included.
    """
    now = now.astimezone(UTC)
    found: datetime | None = None
    # Arithmetic in UTC: adding a timedelta to a local time would step over DST changes wrongly.
    fire = trigger.get_next_fire_time(None, now - lookback)
    while fire is not None and fire.astimezone(UTC) <= now:
        found = fire.astimezone(UTC)
        fire = trigger.get_next_fire_time(fire, found + timedelta(seconds=1))
    return found


@dataclass
class GuardedJob:
    """One scheduled job as the scheduler runs it: under the run lock, at most once per tick."""

    job_id: str
    job: Job
    engine: Engine
    trigger: CronTrigger
    stop: StopSignal
    lease: timedelta = timedelta(minutes=10)
    lookback: timedelta = timedelta(hours=1)
    """How far back a late firing still belongs to a tick: the misfire grace time."""
    clock: Clock = field(default=utcnow)

    def __call__(self) -> Outcome:
        """Run the job unless stopping, locked out, or this tick is done; never raises."""
        if self.stop.requested():
            return Outcome.STOPPED
        tick = last_tick(self.trigger, self.clock(), self.lookback)
        context = {"job": self.job_id, "tick": tick.isoformat() if tick else None}
        with self.stop.running(), run_lock(self.engine, LOCK_NAME, self.lease) as lock:
            if not lock:
                logger.info(
                    "worker.job-skipped", extra={**context, "reason": "locked", "held_by": str(lock.holder_info)}
                )
                return Outcome.LOCKED
            done = lock.last_tick(self.job_id)
            if tick is not None and done is not None and done >= tick:
                logger.info("worker.job-skipped", extra={**context, "reason": "tick already done by another worker"})
                return Outcome.ALREADY_RAN
            logger.info("worker.job-started", extra=context)

            def should_stop() -> bool:
                return self.stop.requested() or lock.lost

            try:
                self.job(should_stop)
            except Exception:
                logger.exception(
                    "worker.job-crashed", extra={**context, "todo": "a bug: please report it; the next tick runs again"}
                )
                return Outcome.FAILED
            if should_stop():
                logger.info("worker.job-stopped", extra={**context, "todo": "nothing: the next run completes the work"})
                return Outcome.STOPPED
            if tick is not None:
                lock.record_tick(self.job_id, tick)
            logger.info("worker.job-finished", extra=context)
            return Outcome.RAN


# APScheduler stores a job by a reference to a module-level function, never a closure; `fire` is
# that function and finds what this process should run under the job's id.
_RUNNERS: dict[str, GuardedJob] = {}


def fire(job_id: str) -> None:
    """Entry point of every stored job: run this process's `GuardedJob` for `job_id`."""
    runner = _RUNNERS.get(job_id)
    if runner is None:
        logger.warning("worker.unknown-job", extra={"job": job_id, "todo": "restart the worker to reload jobs"})
        return
    runner()


def build_scheduler(
    schedule: ScheduleSettings,
    engine: Engine,
    job: Job,
    *,
    sprint_job: Job | None = None,
    stop: StopSignal | None = None,
    clock: Clock = utcnow,
) -> BlockingScheduler:
    """A scheduler (not started) that runs `job` on `schedule.cron`, and on `schedule.sprint_cron` if set.

    A stored job whose schedule did not change keeps its next run time, so a tick missed while the
    worker was down is made up on start (within the misfire grace time); a changed schedule starts
    afresh. Jobs stored by an older configuration are removed on start.

    Args:
        schedule: the `[schedule]` settings.
        engine: the store; it also holds the job store and the run lock.
        job: the pipeline run, e.g. `lambda should_stop: run_once(settings, engine, should_stop=should_stop)`.
        sprint_job: what the sprint cadence runs; default `job`.
        stop: shared with `run_worker`, which sets it on SIGTERM.
        clock: the time ticks are computed from (tests).
    """
    zone = ZoneInfo(schedule.timezone)
    store = SQLAlchemyJobStore(engine=engine, tablename=JOBSTORE_TABLE)
    options: dict[str, Any] = {
        "coalesce": schedule.coalesce,
        "max_instances": 1,
        "misfire_grace_time": schedule.misfire_grace_seconds,
    }
    scheduler = BlockingScheduler(
        jobstores={"default": store},
        executors={"default": ThreadPoolExecutor(max_workers=1)},  # jobs of one worker queue, never overlap
        job_defaults=options,
        timezone=zone,
        logger=logging.getLogger(f"{__name__}.scheduler"),
    )
    wanted = {PIPELINE_JOB: (schedule.cron, job)}
    if schedule.sprint_cron:
        wanted[SPRINT_JOB] = (schedule.sprint_cron, sprint_job or job)
    stored = _stored_jobs(store, scheduler, engine)
    stop = stop or StopSignal()
    for job_id, (cron, func) in wanted.items():
        trigger = cron_trigger(cron, schedule.timezone)
        _RUNNERS[job_id] = GuardedJob(
            job_id,
            func,
            engine,
            trigger,
            stop,
            lease=timedelta(seconds=schedule.lock_lease_seconds),
            lookback=timedelta(seconds=schedule.misfire_grace_seconds),
            clock=clock,
        )
        keep: dict[str, Any] = {}
        previous = stored.get(job_id)
        if previous is not None and _same_schedule(previous.trigger, trigger) and previous.next_run_time:
            keep["next_run_time"] = previous.next_run_time
        scheduler.add_job(
            fire,
            trigger,
            args=[job_id],
            id=job_id,
            name=f"backlog-bridge {job_id}",
            replace_existing=True,
            **options,  # on the job too, so it can be inspected before the scheduler starts
            **keep,
        )
    scheduler.add_listener(_on_start(scheduler, set(wanted), stop), EVENT_SCHEDULER_STARTED)
    return scheduler


def run_worker(scheduler: BlockingScheduler, stop: StopSignal, stop_timeout: float | None = None) -> None:
    """Run `scheduler` until SIGTERM or SIGINT, then wait for the running job's current stage, and return.

    Args:
        scheduler: from `build_scheduler`, with the same `stop`.
        stop: set here when a signal arrives.
        stop_timeout: seconds to wait for a running job after the signal; None = as long as it takes
            (systemd's TimeoutStopSec is the outer limit).
    """

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.flag()  # only this: the interrupted main thread may hold any lock (logging's, the scheduler's)

    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    watcher = threading.Thread(target=_watch_signals, args=(read_end, scheduler, stop), name="worker-signals")
    watcher.daemon = True
    watcher.start()
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    previous_fd = signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)  # the C handler writes the number
    try:
        if not stop.requested():
            scheduler.start()  # blocks until shutdown
    finally:
        signal.set_wakeup_fd(previous_fd)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        os.write(write_end, bytes([_WATCHER_EXIT]))
        watcher.join(timeout=5)
        os.close(write_end)
    finished = stop.wait_idle(stop_timeout)
    logger.info("worker.stopped", extra={"clean": finished})


_WATCHER_EXIT = 0
"""Written to the wakeup pipe to end the watcher (no signal has number 0)."""


def _watch_signals(read_end: int, scheduler: BlockingScheduler, stop: StopSignal) -> None:
    """Act on signals in an ordinary thread, where logging and shutting the scheduler down may take locks."""
    try:
        while data := os.read(read_end, 64):
            for number in data:
                if number == _WATCHER_EXIT:
                    return
                logger.info(
                    "worker.stopping",
                    extra={"signal": _signal_name(number), "todo": "nothing: the current stage finishes first"},
                )
                stop.request()
                if scheduler.running:  # else it has not started: _on_start sees the request
                    with suppress(SchedulerNotRunningError):  # it stopped in between
                        scheduler.shutdown(wait=False)
    finally:
        os.close(read_end)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


def _stored_jobs(store: SQLAlchemyJobStore, scheduler: BlockingScheduler, engine: Engine) -> dict[str, Any]:
    """Jobs a previous worker left in the store, by id (empty on a first start)."""
    if not inspect(engine).has_table(JOBSTORE_TABLE):
        return {}
    store.start(scheduler, "default")  # binds the store for unpickling; starting again later is harmless
    jobs: dict[str, Any] = {}
    for job_id in (PIPELINE_JOB, SPRINT_JOB):
        try:
            found = store.lookup_job(job_id)
        except Exception as error:  # a job pickled by another version: start afresh
            logger.warning("worker.stored-job-unreadable", extra={"job": job_id, "error": str(error)})
            continue
        if found is not None:
            jobs[job_id] = found
    return jobs


def _same_schedule(old: Any, new: CronTrigger) -> bool:
    return isinstance(old, CronTrigger) and (str(old), str(old.timezone)) == (str(new), str(new.timezone))


def _on_start(scheduler: BlockingScheduler, wanted: set[str], stop: StopSignal) -> Callable[[SchedulerEvent], None]:
    def started(_event: SchedulerEvent) -> None:
        for job in scheduler.get_jobs():
            if job.id not in wanted:
                scheduler.remove_job(job.id)
                logger.info("worker.job-removed", extra={"job": job.id, "reason": "no longer in the settings"})
            else:
                logger.info("worker.scheduled", extra={"job": job.id, "next_run": str(job.next_run_time)})
        if stop.requested():  # a signal arrived while starting
            scheduler.shutdown(wait=False)

    return started
