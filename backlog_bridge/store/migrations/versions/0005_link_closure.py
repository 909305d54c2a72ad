"""tracker link closure: what a close meant (fixed, declined, duplicate)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 12:45:00.000000

Only a close that means "fixed" is judged as a shipped fix; rows from before keep NULL (read as fixed,
as they were).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tracker_link") as batch:
        batch.add_column(sa.Column("closure", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tracker_link") as batch:
        batch.drop_column("closure")
