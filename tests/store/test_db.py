"""The store: migrations build exactly the tables the code declares, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import Session, SQLModel, select

from backlog_bridge.store import repo
from backlog_bridge.store.db import open_store, redact_url
from backlog_bridge.store.tables import QuarantinedRow, RunRecord


def test_migrations_match_the_declared_tables(engine):
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert differences == []
    tables = set(inspect(engine).get_table_names())
    assert {"response", "import_batch", "quarantined_row", "response_change", "run_record"} <= tables


def test_opening_twice_keeps_data(store_url):
    first = open_store(store_url)
    run_id = repo.start_run(first, "ingest")
    first.dispose()
    second = open_store(store_url)  # upgrade again: a no-op
    with Session(second) as session:
        assert session.exec(select(RunRecord)).one().id == run_id
    second.dispose()


def test_run_records_keep_status_counts_and_timezone(engine):
    run_id = repo.start_run(engine, "run")
    repo.finish_run(engine, run_id, "failed", counts={"new": 3}, stages={"ingest": 0.5}, error="boom")
    (record,) = repo.runs(engine)
    assert (record.status, record.counts, record.stages, record.error) == (
        "failed",
        {"new": 3},
        {"ingest": 0.5},
        "boom",
    )
    assert record.finished_at is not None and record.finished_at.tzinfo is not None
    assert record.finished_at >= record.started_at


def test_redact_url_hides_passwords():
    assert redact_url("postgresql+psycopg://app:s3cret@db:5432/nps") == "postgresql+psycopg://app:***@db:5432/nps"
    assert redact_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"


def test_a_database_error_never_shows_the_rows_values(engine):
    from sqlalchemy.exc import IntegrityError

    secret = "jane.doe@customer.example says the CFO is leaving"
    with Session(engine) as session:
        session.add(QuarantinedRow(source="s", path="p", file_sha256="x", line=1, reason="r", raw=secret))
        session.commit()
    with pytest.raises(IntegrityError) as caught, Session(engine) as session:
        session.add(QuarantinedRow(source="s", path="p", file_sha256="x", line=1, reason="r", raw=secret))
        session.commit()
    assert "jane.doe" not in str(caught.value) and "CFO" not in str(caught.value)
    assert "hidden due to hide_parameters" in str(caught.value)
