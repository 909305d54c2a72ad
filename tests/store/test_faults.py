"""Storage faults (disk full, read-only database, database gone): one line saying what to do, nothing half-written."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlmodel import Session, select
from typer.testing import CliRunner

from backlog_bridge.cli import app
from backlog_bridge.ingest.importer import import_file
from backlog_bridge.settings import IngestSettings
from backlog_bridge.store.db import make_engine, open_store, sqlite_path, store_fault
from backlog_bridge.store.tables import ImportBatch, Response

runner = CliRunner()
SECRET = "jane.doe@customer.example"


def _export(path: Path, rows: int, start: int = 0) -> Path:
    lines = ["id,score,date,comment"] + [
        f"r{n},{n % 11},2026-03-01,{SECRET} wrote a long comment {'x' * 400}" for n in range(start, start + rows)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _count(engine, table) -> int:
    with Session(engine) as session:
        return len(session.exec(select(table)).all())


def test_disk_full_mid_file_writes_nothing_of_it_and_says_so(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = open_store(url)
    import_file(engine, _export(tmp_path / "small.csv", 3), IngestSettings())
    with engine.connect() as connection:
        pages = connection.execute(text("PRAGMA page_count")).scalar_one()
    engine.dispose()

    @event.listens_for(engine, "connect")
    def _small_disk(dbapi_connection, _record):  # the disk fills up a few pages from now
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages + 5}")

    with pytest.raises(OperationalError) as caught:
        import_file(engine, _export(tmp_path / "big.csv", 2000, start=100), IngestSettings())

    assert _count(engine, Response) == 3  # the big file's transaction rolled back whole
    message = str(store_fault(caught.value, url))
    assert "disk holding the database is full" in message and "\n" not in message
    assert SECRET not in message and "INSERT" not in message
    engine.dispose()


@pytest.fixture
def read_only(tmp_path):
    """A store with data, and settings that open it read-only (as a service user without write access would)."""
    db = tmp_path / "store.db"
    engine = open_store(f"sqlite:///{db}")
    import_file(engine, _export(tmp_path / "a.csv", 3), IngestSettings())
    engine.dispose()
    settings = tmp_path / "settings.toml"
    settings.write_text(
        f'database_url = "sqlite:///file:{db}?mode=ro&uri=true"\n[ingest]\nuse_sample_data = false\n', encoding="utf-8"
    )
    return settings, db


@pytest.mark.parametrize("command", [["nps"], ["runs"], ["quarantine", "list"], ["plan"], ["themes"]])
def test_read_only_commands_work_on_a_read_only_database(read_only, command):
    settings, _ = read_only
    result = runner.invoke(app, ["--config", str(settings), *command])
    assert result.exit_code == 0, result.output


def test_a_write_on_a_read_only_database_is_one_line_without_row_values(read_only, tmp_path):
    settings, db = read_only
    result = runner.invoke(app, ["--config", str(settings), "ingest", str(_export(tmp_path / "b.csv", 2, start=50))])

    assert result.exit_code == 1
    assert "read-only" in result.output and "Traceback" not in result.output
    assert SECRET not in result.output and "INSERT" not in result.output
    engine = open_store(f"sqlite:///{db}")
    assert _count(engine, Response) == 3 and _count(engine, ImportBatch) == 1
    engine.dispose()


def test_a_database_that_went_away_is_named_without_its_password():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql+psycopg://app:s3cret-pw@127.0.0.1:{port}/nps"
    engine = make_engine(url)
    with pytest.raises(SQLAlchemyError) as caught, engine.connect():
        pass
    message = str(store_fault(caught.value, url))
    assert "went away or cannot be opened" in message and "s3cret-pw" not in message and "\n" not in message


def test_the_uri_form_of_a_sqlite_url_names_the_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert sqlite_path(f"sqlite:///file:{tmp_path}/a/b.db?mode=ro&uri=true") == f"{tmp_path}/a/b.db"
    assert sqlite_path("sqlite:///relative/x.db") == "relative/x.db"
    open_store(f"sqlite:///{tmp_path}/s.db").dispose()
    open_store(f"sqlite:///file:{tmp_path}/s.db?mode=ro&uri=true").dispose()
    assert not (tmp_path / "file:").exists()  # no folder named after the URI scheme
