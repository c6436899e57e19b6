"""Alembic environment: migrations run on the connection the collector hands over
(``collector.storage.connect.migrate_schema``: `ioc-collector migrate`), for SQLite and
PostgreSQL alike."""

from __future__ import annotations

from alembic import context

from collector.storage.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - the collector always passes its connection
    raise RuntimeError(
        "run migrations with `ioc-collector migrate` (collector.storage.connect.migrate_schema)"
    )

context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite cannot ALTER most things in place: batch mode copies the table.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
