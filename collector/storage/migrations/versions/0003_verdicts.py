"""verdicts: each host's findings down to what statuses need; a commune's reasons and
evidence in a table of their own, and whether they await their evaluation

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 09:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_VERDICT_INDEX = ["commune_code", "revoked", "last_observed_at", "agent_id", "host", "verdict"]


def upgrade() -> None:
    # A host without a verdict is judged again from its latest results on the next pass.
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("verdict", sa.Text(), nullable=True))
        batch_op.create_index("ix_agents_commune_verdict", _VERDICT_INDEX, unique=False)
    op.create_table(
        "commune_details",
        sa.Column("commune_code", sa.String(length=5), nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("commune_code"),
    )
    op.execute(
        "INSERT INTO commune_details (commune_code, criteria) "
        "SELECT commune_code, criteria FROM commune_status"
    )
    with op.batch_alter_table("commune_status", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("detail_pending", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.drop_column("criteria")


def downgrade() -> None:
    with op.batch_alter_table("commune_status", schema=None) as batch_op:
        batch_op.add_column(sa.Column("criteria", sa.JSON(), nullable=True))
        batch_op.drop_column("detail_pending")
    op.execute(
        "UPDATE commune_status SET criteria = (SELECT d.criteria FROM commune_details d "
        "WHERE d.commune_code = commune_status.commune_code)"
    )
    op.execute("UPDATE commune_status SET criteria = '{}' WHERE criteria IS NULL")
    with op.batch_alter_table("commune_status", schema=None) as batch_op:
        batch_op.alter_column("criteria", existing_type=sa.JSON(), nullable=False)
    op.drop_table("commune_details")
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_index("ix_agents_commune_verdict")
        batch_op.drop_column("verdict")
