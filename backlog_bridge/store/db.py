"""Engine creation and schema migration (Alembic, run programmatically on open)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import SQLAlchemyError

from backlog_bridge.errors import StoreError
from backlog_bridge.logs import mask_url_passwords

MIGRATIONS = Path(__file__).parent / "migrations"


def redact_url(url: str) -> str:
    """The URL with any password replaced, safe to print or log (however the password is written)."""
    return mask_url_passwords(url)


_FAULTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("readonly", "read-only", "read only"),
        "the database is read-only: give this user write access to the database (and, for SQLite, its folder); "
        "read-only commands (nps, runs, quarantine list, plan, report, themes) still work",
    ),
    (
        ("disk is full", "disk full", "no space left", "database or disk is full"),
        "the disk holding the database is full: free space or move the database, then run again "
        "(what this command was writing was rolled back; nothing is half-written)",
    ),
    (
        ("unable to open", "no such table", "disk i/o error", "connection refused", "could not connect",
         "failed to resolve host", "timeout expired",
         "server closed the connection", "terminating connection", "connection is closed", "does not exist"),
        "the database went away or cannot be opened: check that the file or server is there and reachable, "
        "then run again (the next run completes the work)",
    ),
    (
        ("database is locked",),
        "the database is locked by another process for too long: try again when it has finished",
    ),
)  # fmt: skip


def store_fault(error: SQLAlchemyError, url: str | None = None) -> StoreError:
    """One line naming a database fault and what to do; never the SQL's values (customer data).

    Only the driver's error class and our own wording are shown: a driver message can quote a row
    ("Key (id)=(...) already exists").
    """
    original = getattr(error, "orig", None) or error
    text = str(original).lower()
    where = f" ({redact_url(url)})" if url else ""
    for needles, advice in _FAULTS:
        if any(needle in text for needle in needles):
            return StoreError(f"database error{where}: {advice}")
    return StoreError(
        f"database error{where}: {type(original).__name__}; nothing was half-written (the change was rolled back); "
        "run `backlog-bridge doctor` to check the database"
    )


def make_engine(url: str) -> Engine:
    """An engine for SQLite (WAL, foreign keys, busy timeout) or PostgreSQL (psycopg 3)."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("postgresql+psycopg") and importlib.util.find_spec("psycopg") is None:
        raise StoreError(
            f"database {redact_url(url)} needs the PostgreSQL driver, which is an extra: "
            "pip install 'backlog-bridge[postgres]'"
        )
    kwargs: dict[str, Any] = {"hide_parameters": True}  # error messages never carry a customer's row
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
    else:
        kwargs["pool_pre_ping"] = True
    try:
        engine = create_engine(url, **kwargs)
    except (SQLAlchemyError, ImportError, ValueError) as error:
        raise StoreError(f"cannot use database {redact_url(url)}: {mask_url_passwords(str(error))}") from error
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def alembic_config(engine: Engine) -> Config:
    """Alembic configuration pointing at the packaged migrations, reusing `engine`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration (a no-op when it is already there)."""
    try:
        command.upgrade(alembic_config(engine), "head")
    except SQLAlchemyError as error:
        raise store_fault(error, engine.url.render_as_string()) from error


def sqlite_path(url: str) -> str:
    """The file of a sqlite:/// URL, also in URI form (sqlite:///file:/path/x.db?mode=ro&uri=true)."""
    path = url.removeprefix("sqlite:///")
    if path.startswith("file:"):
        path = path.removeprefix("file:").split("?")[0]
    return path


def open_store(url: str) -> Engine:
    """Engine for `url` with the schema migrated to the newest version."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(sqlite_path(url)).parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(url)
    upgrade(engine)
    return engine
