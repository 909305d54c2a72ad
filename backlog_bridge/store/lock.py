"""One pipeline run at a time per database: a lock held in the database itself.

PostgreSQL: a session-level advisory lock (`pg_try_advisory_lock`) on a connection kept open for
the run. The server drops it when that session ends, so a holder that crashed, was SIGKILLed or lost
power releases it; TCP keepalives on the session let the server notice a vanished host in about a
minute instead of two hours.

SQLite (no advisory locks): a row in `run_lock` naming the holder (id, pid, hostname) with a lease
expiry. It is taken by one conditional UPDATE (`... WHERE expires_at <= now`), or an INSERT when
the row does not exist yet, so two contenders can never both win; a heartbeat thread renews the lease
while the run goes on. A crashed holder stops renewing and its lease runs out: a crash cannot keep
the lock forever. A holder on this host whose pid no longer exists (kill -9) is taken over at once;
a holder on another host keeps its lease until it runs out.

On both, the row also shows who holds the lock (for messages and `doctor`) and which schedule
tick each job last completed, so a second worker never repeats a tick the first has done.

Example:
    with run_lock(engine, name="pipeline", lease=timedelta(minutes=10)) as lock:
        if not lock:
            print(f"busy: {lock.holder_info}")
        else:
            ...  # the run
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, Table, insert, select, text, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from backlog_bridge.store.tables import RunLock as RunLockRow

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]

DEFAULT_LEASE = timedelta(minutes=10)

run_lock_table: Table = RunLockRow.__table__  # type: ignore[attr-defined]
"""The lock table (store/tables.py RunLock), used through SQLAlchemy Core for atomic conditional writes."""


def utcnow() -> datetime:
    """The wall clock, timezone-aware UTC: leases are compared across processes."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class HolderInfo:
    """Who holds (or last held) a lock, for messages such as "held by host pid 123 until ..."."""

    holder: str
    pid: int
    hostname: str
    acquired_at: datetime
    expires_at: datetime

    def __str__(self) -> str:
        return (
            f"{self.hostname} pid {self.pid} since {self.acquired_at:%Y-%m-%d %H:%M:%S} UTC "
            f"(lease until {self.expires_at:%H:%M:%S} UTC)"
        )


@dataclass
class RunLock:
    """The outcome of `run_lock`: truthy when this process holds the lock.

    `lost` becomes true if the heartbeat finds the lease taken over (the process stalled longer
    than the lease) or the PostgreSQL session gone; the run should then stop at the next stage.
    """

    name: str
    acquired: bool
    holder: str
    engine: Engine
    holder_info: HolderInfo | None = None
    """When not acquired: the current holder, as far as the row tells."""
    _lost: threading.Event = field(default_factory=threading.Event, repr=False)

    def __bool__(self) -> bool:
        return self.acquired

    @property
    def lost(self) -> bool:
        """True once the heartbeat found that this process no longer holds the lock."""
        return self._lost.is_set()

    def last_tick(self, job_id: str) -> datetime | None:
        """The last schedule tick `job_id` completed under this lock (None: never)."""
        with self.engine.connect() as connection:
            ticks = connection.execute(
                select(run_lock_table.c.ticks).where(run_lock_table.c.name == self.name)
            ).scalar()
        value = (ticks or {}).get(job_id)
        return datetime.fromisoformat(value) if value else None

    def record_tick(self, job_id: str, tick: datetime) -> None:
        """Remember that `job_id` completed `tick` (only the holder writes, so read-modify-write is safe)."""
        if not self.acquired:
            raise RuntimeError("record_tick needs the lock")
        with self.engine.begin() as connection:
            ticks = dict(
                connection.execute(select(run_lock_table.c.ticks).where(run_lock_table.c.name == self.name)).scalar()
                or {}
            )
            ticks[job_id] = tick.astimezone(UTC).isoformat()
            connection.execute(
                update(run_lock_table)
                .where(run_lock_table.c.name == self.name, run_lock_table.c.holder == self.holder)
                .values(ticks=ticks)
            )


@contextmanager
def run_lock(
    engine: Engine,
    name: str = "pipeline",
    lease: timedelta = DEFAULT_LEASE,
    clock: Clock = utcnow,
    heartbeat: timedelta | None = None,
) -> Iterator[RunLock]:
    """Try once to take the lock `name` in the database of `engine`; never waits for it.

    Yields a `RunLock` that is truthy when taken. The lock is released when the block ends,
    by an exception too.

    Args:
        engine: the store.
        name: what is locked; one name per kind of exclusive work.
        lease: SQLite: how long the lock outlives a holder that stops renewing it (a crash).
        clock: the time leases are computed with (tests).
        heartbeat: how often the lease is renewed; default a third of the lease.
    """
    holder = uuid.uuid4().hex
    pg = engine.dialect.name == "postgresql"
    connection: Connection | None = None
    key: int | None = None
    if pg:
        connection, key = _pg_try_lock(engine, name)
        acquired = key is not None
    else:
        acquired = _sqlite_claim(engine, name, holder, clock(), lease)
    lock = RunLock(name, acquired, holder, engine)
    if not acquired:
        lock.holder_info = current_holder(engine, name)
        logger.info("lock.busy", extra={"lock": name, "held_by": str(lock.holder_info or "unknown")})
        if connection is not None:
            connection.close()
        yield lock
        return
    beat = _Heartbeat(lock, lease, heartbeat or lease / 3, clock, connection)
    try:
        if pg:
            _write_holder(engine, name, holder, clock(), lease)
        logger.debug("lock.acquired", extra={"lock": name, "holder": holder})
        beat.start()
        yield lock
    finally:
        beat.stop()
        _release(engine, name, holder, clock(), connection, key)
        logger.debug("lock.released", extra={"lock": name, "holder": holder})


def current_holder(engine: Engine, name: str = "pipeline") -> HolderInfo | None:
    """Who holds (or last held) the lock `name`; None when it was never taken or the table is missing."""
    columns = run_lock_table.c
    query = select(columns.holder, columns.pid, columns.hostname, columns.acquired_at, columns.expires_at)
    try:
        with engine.connect() as connection:
            row = connection.execute(query.where(columns.name == name)).first()
    except SQLAlchemyError:
        return None
    return HolderInfo(*row) if row else None


def _identity(holder: str, now: datetime, lease: timedelta) -> dict[str, object]:
    return {
        "holder": holder,
        "pid": os.getpid(),
        "hostname": socket.gethostname()[:255],
        "acquired_at": now,
        "expires_at": now + lease,
    }


def _sqlite_claim(engine: Engine, name: str, holder: str, now: datetime, lease: timedelta) -> bool:
    """Take a free or expired lock row in one conditional UPDATE, or create it; False when held."""
    values = _identity(holder, now, lease)
    table = run_lock_table
    with engine.begin() as connection:
        taken = connection.execute(
            update(table).where(table.c.name == name, table.c.expires_at <= now).values(**values)
        )
        if taken.rowcount == 1:
            return True
    try:
        with engine.begin() as connection:
            connection.execute(insert(table).values(name=name, ticks={}, **values))
    except IntegrityError:
        return _take_over_dead_holder(engine, name, values)  # held: unless by a dead process on this host
    return True


def _take_over_dead_holder(engine: Engine, name: str, values: dict[str, object]) -> bool:
    """Take a lease whose holder was a process on this host that no longer exists (killed with -9).

    Waiting out the lease would only delay the next run. Only a pid on the same host can be checked;
    a lease from another host stays until it expires. The UPDATE is conditional on the dead holder,
    so two processes taking over at once cannot both win.
    """
    table = run_lock_table
    with engine.begin() as connection:
        row = connection.execute(
            select(table.c.holder, table.c.pid, table.c.hostname).where(table.c.name == name)
        ).first()
        if row is None or row.hostname != values["hostname"] or _pid_alive(row.pid):
            return False
        taken = connection.execute(
            update(table).where(table.c.name == name, table.c.holder == row.holder).values(**values)
        )
    if taken.rowcount == 1:
        logger.warning(
            "lock.taken-over",
            extra={"lock": name, "dead_pid": row.pid, "why": "its holder on this host is gone (killed?)"},
        )
        return True
    return False


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True  # this process: a lease it holds is never stale
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, another user's (EPERM), or cannot tell: assume alive
        return True
    return True


def _write_holder(engine: Engine, name: str, holder: str, now: datetime, lease: timedelta) -> None:
    """PostgreSQL: the advisory lock decides; the row only tells who holds it."""
    values = _identity(holder, now, lease)
    with engine.begin() as connection:
        if connection.execute(update(run_lock_table).where(run_lock_table.c.name == name).values(**values)).rowcount:
            return
        connection.execute(insert(run_lock_table).values(name=name, ticks={}, **values))


def _pg_try_lock(engine: Engine, name: str) -> tuple[Connection, int | None]:
    """A dedicated session and, when the advisory lock was free, its key (None when held elsewhere)."""
    connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        # The server drops a dead client's session (and the lock with it) after ~60 s of silence.
        connection.exec_driver_sql("SET tcp_keepalives_idle = 30")
        connection.exec_driver_sql("SET tcp_keepalives_interval = 10")
        connection.exec_driver_sql("SET tcp_keepalives_count = 3")
        # Keyed by schema too: advisory locks span the whole database, stores may share one.
        key = connection.execute(
            text("SELECT hashtextextended(current_schema() || ':run_lock:' || :name, 0)"), {"name": name}
        ).scalar_one()
        got = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar_one()
    except BaseException:
        connection.invalidate()
        connection.close()
        raise
    return connection, (int(key) if got else None)


def _release(
    engine: Engine, name: str, holder: str, now: datetime, connection: Connection | None, key: int | None
) -> None:
    try:
        with engine.begin() as session:
            session.execute(
                update(run_lock_table)
                .where(run_lock_table.c.name == name, run_lock_table.c.holder == holder)
                .values(expires_at=now)
            )
    except SQLAlchemyError as error:  # SQLite: the lease runs out on its own
        logger.warning("lock.release-failed", extra={"lock": name, "error": str(error)})
    if connection is None:
        return
    try:
        connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
    except SQLAlchemyError:
        # Never hand a session that may still hold the lock back to the pool: end it instead.
        connection.invalidate()
    finally:
        connection.close()


class _Heartbeat:
    """Renews the lease while the run goes on, and notices when the lock was lost."""

    def __init__(
        self, lock: RunLock, lease: timedelta, every: timedelta, clock: Clock, connection: Connection | None
    ) -> None:
        self.lock = lock
        self.lease = lease
        self.every = every
        self.clock = clock
        self.connection = connection
        self.expires_at = clock() + lease
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"run-lock-{lock.name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.every.total_seconds()):
            try:
                self._renew()
            except SQLAlchemyError as error:
                logger.warning(
                    "lock.heartbeat-failed",
                    extra={"lock": self.lock.name, "error": str(error), "todo": "check the database is reachable"},
                )
                if self.connection is not None or self.clock() >= self.expires_at:
                    self._lose("the database did not answer the heartbeat")
            if self.lock.lost:
                return

    def _renew(self) -> None:
        if self.connection is not None:
            self.connection.execute(text("SELECT 1"))  # the advisory lock lives as long as this session
        now = self.clock()
        table = run_lock_table
        with self.lock.engine.begin() as connection:
            renewed = connection.execute(
                update(table)
                .where(table.c.name == self.lock.name, table.c.holder == self.lock.holder)
                .values(expires_at=now + self.lease)
            ).rowcount
        if renewed:
            self.expires_at = now + self.lease
        elif self.connection is None:
            self._lose("another process took over the expired lease")

    def _lose(self, why: str) -> None:
        self.lock._lost.set()
        logger.error(
            "lock.lost",
            extra={
                "lock": self.lock.name,
                "why": why,
                "todo": "this run stops after its current stage; raise schedule.lock_lease_seconds if runs stall",
            },
        )
        with suppress(Exception):
            if self.connection is not None:
                self.connection.invalidate()
