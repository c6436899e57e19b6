"""condition durations: since when each timed rule's condition has held, per host

Revision ID: 0006_condition_durations
Revises: 0005_reader_tokens
Create Date: 2026-12-05 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_condition_durations"
down_revision: str | None = "0005_reader_tokens"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A host without conditions starts them at its next report (a failure is then pending).
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("conditions", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_column("conditions")
