"""daily roll-ups: per commune and day, working time in each colour; per criterion, the
working time assessed and passed (kept for years, after the raw reports are pruned)

Revision ID: 0008_daily_rollups
Revises: 0007_host_retirement
Create Date: 2026-12-05 19:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_daily_rollups"
down_revision: str | None = "0007_host_retirement"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "commune_days",
        sa.Column("commune_code", sa.String(length=5), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("province_code", sa.String(length=2), nullable=False),
        sa.Column("working_s", sa.Integer(), nullable=False),
        sa.Column("green_s", sa.Integer(), nullable=False),
        sa.Column("yellow_s", sa.Integer(), nullable=False),
        sa.Column("red_s", sa.Integer(), nullable=False),
        sa.Column("grey_s", sa.Integer(), nullable=False),
        sa.Column("rolled_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("commune_code", "day"),
    )
    op.create_index(
        "ix_commune_days_province_day", "commune_days", ["province_code", "day"], unique=False
    )
    op.create_table(
        "criterion_days",
        sa.Column("commune_code", sa.String(length=5), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("criterion_id", sa.String(length=32), nullable=False),
        sa.Column("assessed_s", sa.Integer(), nullable=False),
        sa.Column("passed_s", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("commune_code", "day", "criterion_id"),
    )
    # A roll-up replaces a whole day.
    op.create_index("ix_commune_days_day", "commune_days", ["day"], unique=False)
    op.create_index("ix_criterion_days_day", "criterion_days", ["day"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_criterion_days_day", table_name="criterion_days")
    op.drop_index("ix_commune_days_day", table_name="commune_days")
    op.drop_table("criterion_days")
    op.drop_index("ix_commune_days_province_day", table_name="commune_days")
    op.drop_table("commune_days")
