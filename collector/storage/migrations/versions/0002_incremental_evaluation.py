"""incremental evaluation: each host's latest results and findings in one row, and the
next time a commune is due

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 21:10:00
"""

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _iso(v: Any) -> str:
    if isinstance(v, datetime):
        return v.isoformat()
    return datetime.fromisoformat(str(v)).isoformat()


def upgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("latest", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("findings", sa.JSON(), nullable=True))
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.alter_column(
            "results",
            existing_type=sa.JSON(),
            type_=sa.Text(),
            existing_nullable=False,
            postgresql_using="results::text",
        )
    with op.batch_alter_table("commune_status", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_eval_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_commune_status_next_eval_at"), ["next_eval_at"], unique=False
        )
    # Move each host's rows of latest_results into its one `latest` document; findings are
    # computed on the first evaluation (a missing one is recomputed from `latest`).
    bind = op.get_bind()
    docs: dict[str, dict[str, list[Any]]] = {}
    for row in bind.execute(
        sa.text(
            "SELECT agent_id, check_id, target, category, status, message, observed_at, seq, "
            "figures FROM latest_results"
        )
    ):
        figures = row.figures if isinstance(row.figures, dict) else json.loads(row.figures)
        docs.setdefault(row.agent_id, {})[f"{row.check_id}\t{row.target}"] = [
            row.check_id,
            row.target,
            row.category,
            row.status,
            row.message,
            _iso(row.observed_at),
            row.seq,
            figures,
        ]
    agents = sa.table("agents", sa.column("agent_id", sa.String), sa.column("latest", sa.JSON))
    for agent_id, doc in docs.items():
        bind.execute(agents.update().where(agents.c.agent_id == agent_id).values(latest=doc))
    with op.batch_alter_table("latest_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_latest_results_commune_code"))
    op.drop_table("latest_results")
    # Communes evaluated before this revision are due at once: the first pass re-judges
    # them and records their real next time.
    op.execute("UPDATE commune_status SET next_eval_at = evaluated_at")


def downgrade() -> None:
    op.create_table(
        "latest_results",
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("check_id", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=256), nullable=False),
        sa.Column("commune_code", sa.String(length=5), nullable=False),
        sa.Column("host", sa.String(length=253), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("agent_id", "check_id", "target"),
    )
    with op.batch_alter_table("latest_results", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_latest_results_commune_code"), ["commune_code"], unique=False
        )
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.alter_column(
            "results",
            existing_type=sa.Text(),
            type_=sa.JSON(),
            existing_nullable=False,
            postgresql_using="results::json",
        )
    with op.batch_alter_table("commune_status", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_commune_status_next_eval_at"))
        batch_op.drop_column("next_eval_at")
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_column("findings")
        batch_op.drop_column("latest")
