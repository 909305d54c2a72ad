"""The run lock: one holder at a time per database, released on errors, never kept by a crashed holder."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import insert, inspect, select, update
from sqlmodel import SQLModel

from backlog_bridge.store.lock import run_lock, run_lock_table

DEAD_PID = 2**22 + 12345  # above Linux's default pid_max: no such process


def _stale_row(engine, expires_at: datetime) -> None:
    with engine.begin() as connection:
        connection.execute(
            insert(run_lock_table).values(
                name="pipeline",
                holder="crashed-holder",
                pid=DEAD_PID,
                hostname="crashed-host",
                acquired_at=expires_at - timedelta(minutes=10),
                expires_at=expires_at,
                ticks={},
            )
        )


def _row(engine):
    with engine.connect() as connection:
        return connection.execute(select(run_lock_table)).one()


def test_migration_creates_exactly_the_lock_table(engine):
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), SQLModel.metadata) == []
    assert "run_lock" in inspect(engine).get_table_names()


def test_one_holder_at_a_time_and_the_other_learns_who(engine):
    with run_lock(engine) as first:
        assert first
        with run_lock(engine) as second:
            assert not second
            assert second.holder_info is not None
            assert (second.holder_info.pid, second.holder_info.holder) == (os.getpid(), first.holder)
            assert f"pid {os.getpid()}" in str(second.holder_info)
    with run_lock(engine) as third:
        assert third


def test_different_names_do_not_exclude_each_other(engine):
    with run_lock(engine, name="pipeline") as first, run_lock(engine, name="report") as second:
        assert first and second


def test_released_when_the_block_raises(engine):
    with pytest.raises(RuntimeError), run_lock(engine) as lock:
        assert lock
        raise RuntimeError("stage crashed")
    assert _row(engine).expires_at <= datetime.now(UTC)
    with run_lock(engine) as again:
        assert again


def test_an_expired_lease_of_a_dead_holder_is_taken_over(engine):
    _stale_row(engine, expires_at=datetime.now(UTC) - timedelta(seconds=5))
    with run_lock(engine) as lock:
        assert lock
        row = _row(engine)
        assert (row.pid, row.holder) == (os.getpid(), lock.holder)


def test_sqlite_lease_protects_until_it_runs_out(engine):
    """SQLite has nothing but the lease; PostgreSQL ignores the row (the dead session holds no advisory lock)."""
    expires = datetime.now(UTC) + timedelta(minutes=5)
    _stale_row(engine, expires_at=expires)
    with run_lock(engine) as now_:
        assert bool(now_) is (engine.dialect.name == "postgresql")
    if engine.dialect.name == "sqlite":
        with run_lock(engine, clock=lambda: expires + timedelta(seconds=1)) as later:
            assert later


CRASHING_HOLDER = """
import os, sys, time
from datetime import timedelta
from backlog_bridge.store.db import make_engine
from backlog_bridge.store.lock import run_lock
engine = make_engine(sys.argv[1])
with run_lock(engine, lease=timedelta(seconds=1)) as lock:
    assert lock
    print("holding", flush=True)
    time.sleep(0.2)
    os._exit(9)  # like SIGKILL or power loss: no release, no cleanup
"""


def test_a_crashed_holder_does_not_keep_the_lock(engine, store_url):
    child = subprocess.run(
        [sys.executable, "-c", CRASHING_HOLDER, store_url], capture_output=True, text=True, timeout=60
    )
    assert child.returncode == 9 and "holding" in child.stdout, child.stderr
    if engine.dialect.name == "sqlite":
        with run_lock(engine) as during_lease:  # the lease (1 s) may still run
            if during_lease:
                return  # the lease already ran out: taken over
        time.sleep(1.1)
    # PostgreSQL: the server ends the dead session, and with it the advisory lock, once its backend
    # notices the closed socket: soon, but not always before the next statement of this process.
    deadline = time.monotonic() + 15
    while True:
        with run_lock(engine) as lock:
            if lock or time.monotonic() > deadline:
                assert lock, "the dead holder's lock was never released"
                return
        time.sleep(0.2)


def test_heartbeat_renews_the_lease_while_the_run_goes_on(engine):
    if engine.dialect.name != "sqlite":
        pytest.skip("the lease only decides on SQLite")
    with run_lock(engine, lease=timedelta(seconds=0.6)) as lock:
        time.sleep(1.0)  # longer than the lease: only the heartbeat keeps it
        with run_lock(engine) as other:
            assert not other
        assert not lock.lost


def test_heartbeat_notices_a_takeover(engine):
    if engine.dialect.name != "sqlite":
        pytest.skip("on PostgreSQL a live session cannot lose its advisory lock")
    with run_lock(engine, lease=timedelta(seconds=0.3)) as lock:
        with engine.begin() as connection:  # what a takeover after a stall looks like
            connection.execute(update(run_lock_table).values(holder="someone-else"))
        deadline = time.monotonic() + 3
        while not lock.lost and time.monotonic() < deadline:
            time.sleep(0.02)
        assert lock.lost


def test_ticks_are_remembered_per_job(engine):
    tick = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
    with run_lock(engine) as lock:
        assert lock.last_tick("pipeline") is None
        lock.record_tick("pipeline", tick)
        lock.record_tick("sprint", tick - timedelta(days=7))
    with run_lock(engine) as lock:
        assert lock.last_tick("pipeline") == tick
        assert lock.last_tick("sprint") == tick - timedelta(days=7)


KILLED_HOLDER = """
import os, signal, sys
from datetime import timedelta
from backlog_bridge.store.db import make_engine
from backlog_bridge.store.lock import run_lock
engine = make_engine(sys.argv[1])
with run_lock(engine, lease=timedelta(minutes=10)) as lock:
    assert lock
    print("holding", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_lease_of_a_killed_process_on_this_host_is_taken_over_at_once(engine, store_url):
    if engine.dialect.name != "sqlite":
        pytest.skip("the lease only decides on SQLite")
    child = subprocess.run([sys.executable, "-c", KILLED_HOLDER, store_url], capture_output=True, text=True, timeout=60)
    assert child.returncode == -9 and "holding" in child.stdout, child.stderr
    assert _row(engine).expires_at.replace(tzinfo=UTC) > datetime.now(UTC) + timedelta(minutes=5)  # 10-minute lease

    with run_lock(engine) as lock:
        assert lock
        assert _row(engine).pid == os.getpid()


def test_a_lease_of_a_live_process_on_this_host_is_respected(engine):
    if engine.dialect.name != "sqlite":
        pytest.skip("the lease only decides on SQLite")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with engine.begin() as connection:
            connection.execute(
                insert(run_lock_table).values(
                    name="pipeline", holder="alive", pid=sleeper.pid, hostname=socket.gethostname()[:255],
                    acquired_at=datetime.now(UTC), expires_at=datetime.now(UTC) + timedelta(minutes=10), ticks={},
                )
            )  # fmt: skip
        with run_lock(engine) as lock:
            assert not lock and lock.holder_info is not None and lock.holder_info.pid == sleeper.pid
    finally:
        sleeper.kill()
        sleeper.wait()
    with run_lock(engine) as lock:  # and once it is gone, at once
        assert lock
