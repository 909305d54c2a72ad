"""The worker: scheduler jobs inspected (never started), ticks from a controlled clock, the guarded job,
and two real processes against one database running the job once."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.job import Job
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.triggers.cron import CronTrigger
from pydantic import ValidationError
from sqlmodel import Session, select

from backlog_bridge.store import repo
from backlog_bridge.store.lock import run_lock
from backlog_bridge.store.tables import RunRecord
from backlog_bridge.worker import (
    JOBSTORE_TABLE,
    GuardedJob,
    Outcome,
    ScheduleSettings,
    StopSignal,
    build_scheduler,
    cron_trigger,
    fire,
    last_tick,
)

BERLIN = ZoneInfo("Europe/Berlin")


def at(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def nothing(should_stop) -> None:
    return None


def fire_times(trigger: CronTrigger, start: datetime, count: int) -> list[datetime]:
    """The next `count` fire times from a controlled clock, in UTC."""
    times, now, previous = [], start, None
    for _ in range(count):
        previous = trigger.get_next_fire_time(previous, now)
        times.append(previous.astimezone(UTC))
        now = times[-1] + timedelta(seconds=1)
    return times


# --- settings -------------------------------------------------------------------------------------


def test_schedule_settings_defaults_are_nightly_utc():
    schedule = ScheduleSettings()
    assert (schedule.cron, schedule.timezone, schedule.coalesce, schedule.sprint_cron) == (
        "0 2 * * *",
        "UTC",
        True,
        None,
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("cron", "0 25 * * *", "crontab"),
        ("timezone", "Mars/Olympus", "IANA"),
        ("sprint_cron", "every monday", "crontab"),
    ],
)
def test_schedule_settings_reject_bad_values_with_a_hint(field, value, message):
    with pytest.raises(ValidationError, match=message):
        ScheduleSettings(**{field: value})


def test_weekday_numbers_mean_what_they_mean_in_cron():
    """APScheduler 3 alone would read 1 as Tuesday (0 = Monday); cron reads 1 as Monday, 0 and 7 as Sunday."""
    monday_june_1 = at(2026, 6, 1, 6)
    for expression in ("0 6 * * 1", "0 6 * * mon", "0 6 * * 1-5", "0 6 * * 1,3"):
        assert fire_times(cron_trigger(expression, "UTC"), at(2026, 5, 30), 1) == [monday_june_1], expression
    for expression in ("0 6 * * 0", "0 6 * * 7", "0 6 * * sun"):
        assert fire_times(cron_trigger(expression, "UTC"), at(2026, 5, 30), 1) == [at(2026, 5, 31, 6)], expression
    assert fire_times(cron_trigger("0 6 * * 5-7", "UTC"), at(2026, 6, 1), 3) == [
        at(2026, 6, 5, 6),
        at(2026, 6, 6, 6),
        at(2026, 6, 7, 6),
    ]


def test_day_of_month_and_weekday_together_are_refused():
    """cron fires when either matches, APScheduler when both do: ambiguous, so an error."""
    with pytest.raises(ValueError, match="not both"):
        cron_trigger("0 6 1 * 1", "UTC")


# --- the scheduler, inspected ------------------------------------------------------------------------


def test_pipeline_job_has_the_settings_and_a_persistent_store(engine):
    schedule = ScheduleSettings(cron="30 3 * * *", timezone="Europe/Berlin", misfire_grace_seconds=900, coalesce=True)
    scheduler = build_scheduler(schedule, engine, nothing)
    (job,) = scheduler.get_jobs()
    assert (job.id, job.func_ref, job.args) == ("pipeline", "backlog_bridge.worker:fire", ("pipeline",))
    assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, 900)
    assert str(job.trigger) == "cron[month='*', day='*', day_of_week='*', hour='3', minute='30']"
    assert job.trigger.timezone == BERLIN and scheduler.timezone == BERLIN
    store = scheduler._lookup_jobstore("default")
    assert isinstance(store, SQLAlchemyJobStore)
    assert store.engine is engine and store.jobs_t.name == JOBSTORE_TABLE


def test_sprint_job_only_when_the_settings_ask_for_it(engine):
    assert [j.id for j in build_scheduler(ScheduleSettings(), engine, nothing).get_jobs()] == ["pipeline"]
    scheduler = build_scheduler(ScheduleSettings(sprint_cron="0 6 * * 1"), engine, nothing)
    sprint = next(j for j in scheduler.get_jobs() if j.id == "sprint")
    assert (sprint.args, sprint.coalesce, sprint.max_instances) == (("sprint",), True, 1)
    # Monday 2026-06-01 06:00 UTC, then a week later
    assert fire_times(sprint.trigger, at(2026, 5, 30), 2) == [at(2026, 6, 1, 6), at(2026, 6, 8, 6)]


def test_next_fire_times_follow_local_time_across_dst(engine):
    scheduler = build_scheduler(ScheduleSettings(cron="0 4 * * *", timezone="Europe/Berlin"), engine, nothing)
    trigger = scheduler.get_jobs()[0].trigger
    # 04:00 Berlin is 03:00 UTC in winter and 02:00 UTC in summer (switch on 2026-03-29)
    assert fire_times(trigger, at(2026, 3, 27, 12), 3) == [at(2026, 3, 28, 3), at(2026, 3, 29, 2), at(2026, 3, 30, 2)]
    assert fire_times(trigger, at(2026, 10, 24, 12), 2) == [at(2026, 10, 25, 3), at(2026, 10, 26, 3)]


def test_a_time_inside_the_dst_change_runs_late_in_spring_and_twice_in_autumn():
    """APScheduler 3.11's behaviour, which the settings docstring and `doctor` warn about."""
    trigger = cron_trigger("30 2 * * *", "Europe/Berlin")
    # 2026-03-29 02:30 does not exist: it runs at 01:30 UTC (03:30 summer time), once
    assert fire_times(trigger, at(2026, 3, 28, 12), 2) == [at(2026, 3, 29, 1, 30), at(2026, 3, 30, 0, 30)]
    # 2026-10-25 02:30 happens twice: it runs at both
    assert fire_times(trigger, at(2026, 10, 24, 12), 3) == [
        at(2026, 10, 25, 0, 30),
        at(2026, 10, 25, 1, 30),
        at(2026, 10, 26, 1, 30),
    ]


def test_a_stored_job_keeps_its_missed_run_while_the_schedule_is_unchanged(engine):
    schedule = ScheduleSettings(cron="0 2 * * *")
    missed = at(2026, 6, 1, 2)
    # what a previous worker left in the job store: it was down at the 02:00 tick
    previous = build_scheduler(schedule, engine, nothing)
    store = SQLAlchemyJobStore(engine=engine, tablename=JOBSTORE_TABLE)
    store.start(previous, "default")
    for pending in (
        previous.get_jobs() + build_scheduler(ScheduleSettings(sprint_cron="0 6 * * 1"), engine, nothing).get_jobs()[1:]
    ):
        options = {
            k: getattr(pending, k)
            for k in ("func", "trigger", "args", "kwargs", "name", "misfire_grace_time", "coalesce", "max_instances")
        }
        store.add_job(Job(previous, id=pending.id, executor="default", next_run_time=missed, **options))

    (job,) = build_scheduler(schedule, engine, nothing).get_jobs()
    assert job.next_run_time == missed  # made up on start, within the misfire grace time

    (changed,) = build_scheduler(ScheduleSettings(cron="0 3 * * *"), engine, nothing).get_jobs()
    assert not hasattr(changed, "next_run_time")  # a new schedule starts afresh on start


# --- ticks ---------------------------------------------------------------------------------------------


def test_last_tick_is_the_scheduled_time_of_a_late_firing():
    trigger = cron_trigger("0 2 * * *", "UTC")
    assert last_tick(trigger, at(2026, 6, 1, 2, 0, 0), timedelta(hours=1)) == at(2026, 6, 1, 2)
    assert last_tick(trigger, at(2026, 6, 1, 2, 40), timedelta(hours=1)) == at(2026, 6, 1, 2)
    assert last_tick(trigger, at(2026, 6, 1, 3, 30), timedelta(hours=1)) is None  # outside the grace time


def test_last_tick_in_local_time_on_the_autumn_night():
    trigger = cron_trigger("30 2 * * *", "Europe/Berlin")
    assert last_tick(trigger, at(2026, 10, 25, 0, 31), timedelta(hours=1)) == at(2026, 10, 25, 0, 30)
    assert last_tick(trigger, at(2026, 10, 25, 1, 31), timedelta(hours=1)) == at(2026, 10, 25, 1, 30)


# --- the guarded job ------------------------------------------------------------------------------------


class Recorder:
    """A job that records a RunRecord, like run_once does."""

    def __init__(self, engine, stop_after_first_stage: StopSignal | None = None):
        self.engine = engine
        self.calls = 0
        self.stop = stop_after_first_stage

    def __call__(self, should_stop) -> None:
        self.calls += 1
        run_id = repo.start_run(self.engine, "scheduled")
        if self.stop is not None:
            self.stop.request()  # SIGTERM arrives during the first stage
        status = "stopped" if should_stop() else "ok"
        repo.finish_run(self.engine, run_id, status)


def guarded(engine, job, now: datetime, stop: StopSignal | None = None) -> GuardedJob:
    return GuardedJob(
        "pipeline", job, engine, cron_trigger("0 2 * * *", "UTC"), stop or StopSignal(), clock=lambda: now
    )


def test_guarded_job_runs_once_per_tick(engine):
    job = Recorder(engine)
    assert guarded(engine, job, at(2026, 6, 1, 2, 0, 3))() is Outcome.RAN
    assert guarded(engine, job, at(2026, 6, 1, 2, 0, 9))() is Outcome.ALREADY_RAN  # a second worker, later
    assert guarded(engine, job, at(2026, 6, 2, 2, 0, 1))() is Outcome.RAN  # the next night
    assert job.calls == 2


def test_guarded_job_skips_while_another_run_holds_the_lock(engine):
    job = Recorder(engine)
    with run_lock(engine) as lock:
        assert lock
        assert guarded(engine, job, at(2026, 6, 1, 2))() is Outcome.LOCKED
    assert job.calls == 0


def test_guarded_job_stops_between_stages_and_leaves_the_tick_open(engine):
    stop = StopSignal()
    job = Recorder(engine, stop_after_first_stage=stop)
    assert guarded(engine, job, at(2026, 6, 1, 2), stop)() is Outcome.STOPPED
    assert [r.status for r in repo.runs(engine)] == ["stopped"]
    assert guarded(engine, Recorder(engine), at(2026, 6, 1, 2, 5))() is Outcome.RAN  # the tick is still open
    assert guarded(engine, Recorder(engine), at(2026, 6, 1, 2, 6), stop)() is Outcome.STOPPED  # nothing new starts


def test_guarded_job_reports_a_crash_and_releases_the_lock(engine, caplog):
    def crashing(should_stop):
        raise ZeroDivisionError("bug")

    assert guarded(engine, crashing, at(2026, 6, 1, 2))() is Outcome.FAILED
    assert "worker.job-crashed" in caplog.text
    with run_lock(engine) as lock:
        assert lock


def test_fire_finds_this_process_runner_by_job_id(engine):
    job = Recorder(engine)
    build_scheduler(ScheduleSettings(), engine, job, clock=lambda: at(2026, 6, 1, 2, 0, 2))
    fire("pipeline")
    fire("no-such-job")  # a job stored by another configuration: logged, not raised
    assert job.calls == 1


def test_stop_signal_waits_for_jobs_in_flight():
    stop = StopSignal()
    with stop.running():
        assert not stop.wait_idle(timeout=0.01)
    assert stop.wait_idle(timeout=0.01)


# --- two real processes ------------------------------------------------------------------------------------

CHILD = """
import sys, time
from datetime import datetime
from pathlib import Path
from backlog_bridge.store import repo
from backlog_bridge.store.db import make_engine
from backlog_bridge.worker import GuardedJob, StopSignal, cron_trigger
url, barrier, now = sys.argv[1], Path(sys.argv[2]), datetime.fromisoformat(sys.argv[3])
engine = make_engine(url)

def job(should_stop):
    run_id = repo.start_run(engine, "scheduled")
    time.sleep(0.5)
    repo.finish_run(engine, run_id, "ok")

runner = GuardedJob("pipeline", job, engine, cron_trigger("0 2 * * *", "UTC"), StopSignal(), clock=lambda: now)
(barrier / f"ready-{sys.argv[4]}").touch()
while not (barrier / "go").exists():  # the barrier: both fire at the same moment
    time.sleep(0.001)
print(runner().value)
"""


def run_children(store_url: str, barrier: Path, now: datetime, count: int = 2) -> list[str]:
    for stale in barrier.glob("*"):
        stale.unlink()
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, store_url, str(barrier), now.isoformat(), str(n)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(count)
    ]
    deadline = time.monotonic() + 60
    while len(list(barrier.glob("ready-*"))) < count and time.monotonic() < deadline:
        time.sleep(0.005)
    (barrier / "go").touch()
    outcomes = []
    for child in children:
        stdout, stderr = child.communicate(timeout=60)
        assert child.returncode == 0, stderr
        outcomes.append(stdout.strip())
    return sorted(outcomes)


def recorded_runs(engine) -> int:
    with Session(engine) as session:
        return len(session.exec(select(RunRecord).where(RunRecord.command == "scheduled")).all())


def test_two_worker_processes_run_the_tick_exactly_once(engine, store_url, tmp_path):
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    outcomes = run_children(store_url, barrier, at(2026, 6, 1, 2, 0, 1))
    assert outcomes in (["locked", "ran"], ["already-ran", "ran"])
    assert recorded_runs(engine) == 1
    # a late third worker on the same tick does nothing
    assert run_children(store_url, barrier, at(2026, 6, 1, 2, 10), count=1) == ["already-ran"]
    assert recorded_runs(engine) == 1


# --- SIGTERM ---------------------------------------------------------------------------------------------------

WORKER = """
import sys
from backlog_bridge import logs
from backlog_bridge.store.db import make_engine
from backlog_bridge.settings import ScheduleSettings
from backlog_bridge.worker import StopSignal, build_scheduler, run_worker
logs.configure("INFO")
engine = make_engine(sys.argv[1])
stop = StopSignal()
run_worker(build_scheduler(ScheduleSettings(), engine, lambda should_stop: None, stop=stop), stop)
"""


def test_sigterm_stops_the_worker_cleanly(engine, store_url):
    """Starts a real scheduler in a child process: the one place the worker loop itself runs."""
    child = subprocess.Popen([sys.executable, "-c", WORKER, store_url], stderr=subprocess.PIPE, text=True)
    lines = []
    for line in child.stderr:
        lines.append(line)
        if "worker.scheduled" in line:
            break
    child.send_signal(signal.SIGTERM)
    _, rest = child.communicate(timeout=20)
    text = "".join(lines) + rest
    assert child.returncode == 0, text
    assert "worker.stopping" in text and "signal='SIGTERM'" in text
    assert "worker.stopped" in text and "clean=True" in text


@pytest.mark.slow
def test_sigterm_at_random_moments_always_stops_the_worker(engine, store_url):
    """The real worker process, signalled at random points of its life, start-up included: it always ends."""
    rng = random.Random(20)
    delays = [0.0, *(rng.uniform(0.0, 3.0) for _ in range(5))]
    for delay in delays:
        child = subprocess.Popen([sys.executable, "-c", WORKER, store_url], stderr=subprocess.PIPE, text=True)
        time.sleep(delay)
        child.send_signal(signal.SIGTERM)
        try:
            _, text = child.communicate(timeout=60)  # generous: only a hang fails this
        except subprocess.TimeoutExpired:
            child.kill()
            child.communicate()
            pytest.fail(f"the worker hung after SIGTERM at {delay:.2f}s")
        # before the handler is installed, SIGTERM's default action ends it; after, it stops cleanly
        assert child.returncode in (0, -signal.SIGTERM), (delay, text)
        if child.returncode == 0:
            assert "worker.stopped" in text and "Traceback" not in text, (delay, text)
