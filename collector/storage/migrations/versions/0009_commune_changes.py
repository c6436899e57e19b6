"""commune changes: each change of a commune's shown colour or of a criterion's status,
with its time, the source of the daily roll-ups; reports indexed by observation time for
their retention

Revision ID: 0009_commune_changes
Revises: 0008_daily_rollups
Create Date: 2026-12-05 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_commune_changes"
down_revision: str | None = "0008_daily_rollups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Starts empty: a commune's first evaluation after the upgrade writes its first row
    # (before it, its working time counts as grey in the roll-ups).
    op.create_table(
        "commune_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("commune_code", sa.String(length=5), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("colour", sa.String(length=8), nullable=False),
        sa.Column("statuses", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_commune_changes_at", "commune_changes", ["at"], unique=False)
    op.create_index(
        "ix_commune_changes_commune_id", "commune_changes", ["commune_code", "id"], unique=False
    )
    # The commune's last logged state, kept with its status: the evaluation compares with it
    # and reads the log only for a commune without it.
    with op.batch_alter_table("commune_status", schema=None) as batch_op:
        batch_op.add_column(sa.Column("logged", sa.Text(), nullable=True))
    # Retention prunes the oldest reports first, in batches (an index scan, not the table).
    op.create_index("ix_reports_observed", "reports", ["observed_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("commune_status", schema=None) as batch_op:
        batch_op.drop_column("logged")
    op.drop_index("ix_reports_observed", table_name="reports")
    op.drop_index("ix_commune_changes_commune_id", table_name="commune_changes")
    op.drop_index("ix_commune_changes_at", table_name="commune_changes")
    op.drop_table("commune_changes")
