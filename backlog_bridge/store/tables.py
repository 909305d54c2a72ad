"""SQLModel tables. Times are timezone-aware UTC (SQLModel's UTCDateTime stores and returns UTC).

Schema changes go through an Alembic migration in store/migrations/versions, so a team's
existing database upgrades in place.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, LargeBinary, Text, UniqueConstraint
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


class EmbeddingCache(SQLModel, table=True):
    """One comment's vector for one model, keyed by the hash of its normalised text: embed once, ever."""

    __tablename__ = "embedding_cache"

    model: str = Field(primary_key=True, max_length=200)
    text_hash: str = Field(primary_key=True, max_length=64)
    dim: int
    vector: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class Theme(SQLModel, table=True):
    """A theme with a stable identity: `key` never changes while the theme lives (and names its issue)."""

    __tablename__ = "theme"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=40, unique=True)
    label: str = Field(max_length=200)
    label_locked: bool = False
    """True once a human renamed the theme: runs no longer relabel it."""
    keywords: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    quotes: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    model: str = Field(max_length=200)
    """Embedding model of the centroid; centroids of different models are not comparable."""
    centroid: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    status: str = Field(default="active", max_length=20, index=True)
    """active, retired (no members left) or merged (into `merged_into_id`)."""
    suppressed_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    """Set by a human: the theme keeps its members but is never filed."""
    merged_into_id: int | None = Field(default=None, foreign_key="theme.id")
    split_from_id: int | None = Field(default=None, foreign_key="theme.id")
    size: int = 0
    detractors: int = 0
    passives: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ThemeMember(SQLModel, table=True):
    """Where a detractor or passive comment stands: in a theme, unthemed, or not actionable."""

    __tablename__ = "theme_member"

    response_id: int = Field(primary_key=True, foreign_key="response.id")
    theme_id: int | None = Field(default=None, foreign_key="theme.id", index=True)
    bucket: str = Field(max_length=20)
    """theme, unthemed or not_actionable."""
    similarity: float | None = None
    run_id: int | None = None
    assigned_at: datetime = Field(default_factory=utcnow)


class ThemeEvent(SQLModel, table=True):
    """Lineage: born, grew, shrank, merged, split, retired, renamed, suppressed — by a run or a human."""

    __tablename__ = "theme_event"

    id: int | None = Field(default=None, primary_key=True)
    theme_id: int = Field(foreign_key="theme.id", index=True)
    kind: str = Field(max_length=20)
    actor: str = Field(default="pipeline", max_length=20)
    run_id: int | None = None
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    at: datetime = Field(default_factory=utcnow)


class TrackerLink(SQLModel, table=True):
    """Theme -> tracker issue, written before a create and confirmed after it.

    `state` "creating" is the write-ahead intent: a crash between intent and confirmation is
    resolved on the next run by finding the issue on the tracker, never by filing again. The
    tracker holds the same link (label + hidden marker), so a lost database cannot cause a
    duplicate either.
    """

    __tablename__ = "tracker_link"
    __table_args__ = (UniqueConstraint("tracker", "theme_key", name="uq_tracker_link_theme"),)

    id: int | None = Field(default=None, primary_key=True)
    tracker: str = Field(max_length=20)
    theme_key: str = Field(max_length=40, index=True)
    state: str = Field(default="creating", max_length=20)
    """creating (intent recorded, create not confirmed), open, closed, failed."""
    issue_key: str | None = Field(default=None, max_length=200)
    """org/repo#45 or FB-123, once known."""
    url: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    content_hash: str | None = Field(default=None, max_length=64)
    """Hash of the managed content last written: equal hash = no write call."""
    title_written: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    """The title we last wrote; a different title on the tracker means a human edited it."""
    priority: str | None = Field(default=None, max_length=40)
    sprint: str | None = Field(default=None, max_length=200)
    closed_at: datetime | None = None
    """When the tracker says the issue was closed/done: "fix shipped" when `closure` is fixed."""
    closure: str | None = Field(default=None, max_length=20)
    """What the close meant: fixed, declined (not planned, won't do) or duplicate; None = read as fixed."""
    regression_noted_at: datetime | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class RunLock(SQLModel, table=True):
    """One row per lock name: who holds it and until when, and the last schedule tick each job completed.

    SQLite: the row is the lock (a lease, renewed by a heartbeat, taken by a conditional UPDATE).
    PostgreSQL: an advisory lock decides; the row only tells who holds it. See store/lock.py.
    """

    __tablename__ = "run_lock"

    name: str = Field(primary_key=True, max_length=40)
    holder: str = Field(max_length=64)
    """Random id of this acquisition; only the holder renews or releases."""
    pid: int
    hostname: str = Field(max_length=255)
    acquired_at: datetime
    expires_at: datetime
    """Lease end: a holder that stops renewing (a crash) loses the lock here."""
    ticks: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    """Job id -> ISO time of the last schedule tick completed: a second worker never repeats it."""
