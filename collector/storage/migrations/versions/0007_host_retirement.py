"""host retirement: when a silent host was retired (by an operator or after the retirement
period), so that it no longer counts in its commune

Revision ID: 0007_host_retirement
Revises: 0006_condition_durations
Create Date: 2026-12-05 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_host_retirement"
down_revision: str | None = "0006_condition_durations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_VERDICT_INDEX = ["commune_code", "revoked", "last_observed_at", "agent_id", "host", "verdict"]


def upgrade() -> None:
    # Every host is active until retired; the evaluation's index covers the new column too,
    # so that the national pass still reads the index alone.
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_index("ix_agents_commune_verdict")
        batch_op.create_index(
            "ix_agents_commune_verdict", [*_VERDICT_INDEX, "retired_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_index("ix_agents_commune_verdict")
        batch_op.create_index("ix_agents_commune_verdict", _VERDICT_INDEX, unique=False)
        batch_op.drop_column("retired_at")
