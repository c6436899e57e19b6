"""The Alembic migrations build exactly the schema the code declares, on either backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from collector.db import create_schema, make_engine, metadata


def test_migrations_match_the_declared_schema(new_database) -> None:
    engine = make_engine(new_database("schema.db"))
    create_schema(engine)
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
        version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    assert diffs == []
    assert version is not None
    assert set(metadata.tables) <= set(inspect(engine).get_table_names())


def test_create_schema_is_idempotent(new_database) -> None:
    engine = make_engine(new_database("schema.db"))
    create_schema(engine)
    create_schema(engine)  # a restart of the collector on an up-to-date database
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM alembic_version").scalar() == 1


def test_tables_made_without_migrations_are_adopted_only_if_identical(new_database) -> None:
    import pytest
    from sqlalchemy import text

    from collector.db import SchemaError

    same = make_engine(new_database("same.db"))
    metadata.create_all(same)  # as a build before the migrations did
    create_schema(same)
    with same.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()

    other = make_engine(new_database("other.db"))
    with other.begin() as conn:
        conn.execute(text("CREATE TABLE agents (agent_id VARCHAR(64) PRIMARY KEY)"))
    with pytest.raises(SchemaError, match="differ from this version"):
        create_schema(other)
