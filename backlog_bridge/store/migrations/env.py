"""Alembic environment: runs on the engine handed over by backlog_bridge.store.db."""

from alembic import context
from sqlmodel import SQLModel

import backlog_bridge.store.tables  # noqa: F401  (registers the tables on SQLModel.metadata)

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        # APScheduler creates and owns its job table (`backlog-bridge worker`); not ours to migrate.
        include_name=lambda name, type_, _parent: not (type_ == "table" and name == "apscheduler_jobs"),
    )
    with context.begin_transaction():
        context.run_migrations()
