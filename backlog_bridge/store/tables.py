"""SQLModel tables. Times are timezone-aware UTC (SQLModel's UTCDateTime stores and returns UTC).

Schema changes go through an Alembic migration in store/migrations/versions, so a team's
existing database upgrades in place.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """Current time, timezone-aware UTC: the store's convention."""
    return datetime.now(UTC)


class ImportBatch(SQLModel, table=True):
    """One file read by `ingest`, with the counts it produced (read = new+updated+unchanged+quarantined)."""

    __tablename__ = "import_batch"

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=100)
    path: str = Field(sa_column=Column(Text, nullable=False))
    file_sha256: str = Field(max_length=64, index=True)
    vendor: str = Field(default="", max_length=40)
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    rows_read: int = 0
    rows_new: int = 0
    rows_updated: int = 0
    rows_unchanged: int = 0
    rows_quarantined: int = 0
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class Response(SQLModel, table=True):
    """One NPS answer, unique by (source, external_id)."""

    __tablename__ = "response"
    __table_args__ = (UniqueConstraint("source", "external_id", name="uq_response_source_external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=100)
    external_id: str = Field(max_length=200)
    score: int
    category: str = Field(max_length=10, index=True)
    comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    responded_at: datetime = Field(index=True)
    respondent_id: str | None = Field(default=None, max_length=320)
    account_id: str | None = Field(default=None, max_length=320)
    segments: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    content_hash: str = Field(max_length=64)
    batch_id: int | None = Field(default=None, foreign_key="import_batch.id")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ResponseChange(SQLModel, table=True):
    """A known response re-imported with different content: what changed, and from which batch."""

    __tablename__ = "response_change"

    id: int | None = Field(default=None, primary_key=True)
    response_id: int = Field(foreign_key="response.id", index=True)
    batch_id: int | None = Field(default=None, foreign_key="import_batch.id")
    changed_at: datetime = Field(default_factory=utcnow)
    before: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    after: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class QuarantinedRow(SQLModel, table=True):
    """A row that could not be imported, kept whole with its file, line and reason."""

    __tablename__ = "quarantined_row"
    __table_args__ = (UniqueConstraint("file_sha256", "line", name="uq_quarantine_file_line"),)

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int | None = Field(default=None, foreign_key="import_batch.id")
    source: str = Field(max_length=100)
    path: str = Field(sa_column=Column(Text, nullable=False))
    file_sha256: str = Field(max_length=64)
    line: int
    reason: str = Field(sa_column=Column(Text, nullable=False))
    raw: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class RunRecord(SQLModel, table=True):
    """Audit log: one row per command or pipeline run, with stage timings, counts and errors."""

    __tablename__ = "run_record"

    id: int | None = Field(default=None, primary_key=True)
    command: str = Field(max_length=40)
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    status: str = Field(default="running", max_length=20)
    counts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    stages: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
