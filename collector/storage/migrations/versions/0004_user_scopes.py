"""user scopes: the provinces a user may see and act in (none: national)

Revision ID: 0004_user_scopes
Revises: 0003
Create Date: 2026-12-05 16:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_user_scopes"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every existing user stays national: no row here.
    op.create_table(
        "user_provinces",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("province_code", sa.String(length=2), nullable=False),
        sa.PrimaryKeyConstraint("username", "province_code"),
    )


def downgrade() -> None:
    op.drop_table("user_provinces")
