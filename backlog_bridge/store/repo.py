"""Queries over the store, so that commands and stages never write SQL of their own."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, func
from sqlmodel import Session, col, select

from backlog_bridge.store.tables import (
    ImportBatch,
    QuarantinedRow,
    Response,
    ResponseChange,
    RunRecord,
    ThemeMember,
    utcnow,
)


@dataclass(frozen=True)
class ScoredResponse:
    """What NPS statistics need of a response."""

    score: int
    responded_at: datetime
    source: str
    segments: dict[str, Any]


def scored_responses(
    engine: Engine, since: datetime | None = None, until: datetime | None = None
) -> list[ScoredResponse]:
    """Responses answered in [since, until), oldest first."""
    query = select(col(Response.score), col(Response.responded_at), col(Response.source), col(Response.segments))
    if since is not None:
        query = query.where(col(Response.responded_at) >= since)
    if until is not None:
        query = query.where(col(Response.responded_at) < until)
    query = query.order_by(col(Response.responded_at), col(Response.id))
    with Session(engine) as session:
        return [ScoredResponse(*row) for row in session.exec(query)]


def quarantined_rows(engine: Engine, limit: int | None = None) -> Sequence[QuarantinedRow]:
    """Rows set aside, newest file first, in file order."""
    query = select(QuarantinedRow).order_by(col(QuarantinedRow.id).desc())
    with Session(engine) as session:
        rows = list(session.exec(query).all())
    rows.sort(key=lambda row: (-(row.batch_id or 0), row.path, row.line))
    return rows[:limit] if limit else rows


def start_run(engine: Engine, command: str) -> int:
    """Open an audit record for a command; returns its id."""
    with Session(engine) as session:
        record = RunRecord(command=command)
        session.add(record)
        session.commit()
        assert record.id is not None
        return record.id


def finish_run(
    engine: Engine,
    run_id: int,
    status: str,
    counts: dict[str, Any] | None = None,
    stages: dict[str, Any] | None = None,
    error: str | None = None,
) -> None:
    """Close the audit record of a command with its outcome."""
    with Session(engine) as session:
        record = session.get(RunRecord, run_id)
        if record is None:
            return
        record.status = status
        record.finished_at = utcnow()
        record.counts = counts or {}
        record.stages = stages or {}
        record.error = error
        session.add(record)
        session.commit()


def runs(engine: Engine, limit: int = 20) -> Sequence[RunRecord]:
    """Most recent runs first."""
    query = select(RunRecord).order_by(col(RunRecord.id).desc()).limit(limit)
    with Session(engine) as session:
        return list(session.exec(query).all())


def mark_interrupted_runs(engine: Engine, command: str = "run") -> int:
    """Close the records of runs that died mid-way (killed, power loss); call it holding the run lock.

    Under the lock no other run of `command` can be going on, so a record still "running" is a dead one.
    """
    with Session(engine) as session:
        stale = list(
            session.exec(select(RunRecord).where(col(RunRecord.command) == command, col(RunRecord.status) == "running"))
        )
        for record in stale:
            record.status = "interrupted"
            record.finished_at = record.finished_at or utcnow()
            record.error = record.error or "the process ended before the run finished; the next run completed the work"
            session.add(record)
        session.commit()
        return len(stale)


@dataclass(frozen=True)
class SourceSpan:
    """How many responses one source holds, and the last day they cover."""

    source: str
    responses: int
    last: datetime


def source_spans(engine: Engine) -> list[SourceSpan]:
    """Every source in the store with its response count and latest answer, by name."""
    query = (
        select(col(Response.source), func.count(), func.max(Response.responded_at))
        .group_by(col(Response.source))
        .order_by(col(Response.source))
    )
    with Session(engine) as session:
        return [SourceSpan(source, count, last) for source, count, last in session.exec(query)]


def remove_source(engine: Engine, source: str) -> int:
    """Delete a source's responses with everything that hangs off them; returns how many responses went.

    Themes keep their history; their members from this source leave, so the next theme update
    retires or shrinks them like any comment that leaves the window.
    """
    with Session(engine) as session:
        ids = select(col(Response.id)).where(col(Response.source) == source)
        batches = select(col(ImportBatch.id)).where(col(ImportBatch.source) == source)
        count = session.exec(select(func.count()).select_from(Response).where(col(Response.source) == source)).one()
        session.exec(delete(ThemeMember).where(col(ThemeMember.response_id).in_(ids)))
        session.exec(delete(ResponseChange).where(col(ResponseChange.response_id).in_(ids)))
        session.exec(delete(Response).where(col(Response.source) == source))
        session.exec(delete(QuarantinedRow).where(col(QuarantinedRow.source) == source))
        session.exec(delete(ResponseChange).where(col(ResponseChange.batch_id).in_(batches)))
        session.exec(delete(ImportBatch).where(col(ImportBatch.source) == source))
        session.commit()
    return int(count)
