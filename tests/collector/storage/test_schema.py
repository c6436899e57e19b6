"""The Alembic migrations build exactly the schema the code declares, on either backend."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from collector.service import services_for
from collector.storage.connect import create_schema, make_engine
from collector.storage.schema import metadata


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

    from collector.storage.connect import SchemaError

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


def test_upgrade_from_0001_moves_latest_results_and_evaluates_from_them(new_database) -> None:
    """A database of the first release keeps its hosts' latest results through the upgrade
    (one document per host now) and its communes are re-evaluated on the first pass."""
    from datetime import UTC, datetime, timedelta

    from alembic import command
    from sqlalchemy import select, text

    from collector.criteria.catalogue import load_catalogue
    from collector.domain.units import load_units
    from collector.storage import schema as db
    from collector.storage.connect import _alembic_config

    engine = make_engine(new_database("old.db"))
    now = datetime.now(UTC).replace(microsecond=0)
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "0001")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO agents (agent_id, token_hash, commune_code, province_code, host, "
                "agent_version, enrolled_at, last_seen_at, last_observed_at, last_seq, revoked) "
                "VALUES ('a-1', 'h', '00070', '01', 'pc-1', '', :t, :t, :t, 7, false)"
            ),
            {"t": now},
        )
        conn.execute(
            text(
                "INSERT INTO latest_results (agent_id, check_id, target, commune_code, host, "
                "category, status, figures, message, observed_at, seq) VALUES "
                "('a-1', 'host.disk', 'C:\\', '00070', 'pc-1', 'host', 'fail', "
                "'{\"disk_free_ratio\": [0.04, \"ratio\"]}', 'almost full', :t, 7)"
            ),
            {"t": now},
        )
        conn.execute(
            text(
                "INSERT INTO commune_status (commune_code, province_code, colour, criteria, "
                "statuses, evaluated_at, last_report_at) VALUES "
                "('00070', '01', 'green', '{}', '{}', :e, :t)"
            ),
            {"e": now - timedelta(minutes=1), "t": now},
        )
    create_schema(engine)
    with engine.connect() as conn:
        latest = conn.execute(select(db.agents.c.latest)).scalar_one()
        assert not inspect(conn).has_table("latest_results")
        # 0003: the reasons and evidence moved to a table of their own, nothing pending.
        assert conn.execute(select(db.commune_details)).all() == [("00070", {})]
        assert conn.execute(select(db.commune_status.c.detail_pending)).scalar_one() is False
        assert conn.execute(select(db.agents.c.verdict)).scalar_one() is None
    [entry] = latest.values()
    assert entry[:4] == ["host.disk", "C:\\", "host", "fail"]
    assert entry[6:] == [7, {"disk_free_ratio": [0.04, "ratio"]}]

    services = services_for(engine, load_catalogue(), load_units(), clock=lambda: now)
    assert services.evaluation.due_communes() == ["00070"]
    assert services.evaluation.reevaluate() == 1
    eq01 = services.readiness.settled_states("01")
    [mine] = [s for s in eq01 if s.code == "00070"]
    assert mine.criteria["EQ-01"]["status"] == "fail"
    assert "disk_free_ratio = 0.04 < 0.1" in mine.criteria["EQ-01"]["reason_en"]
    assert services.evaluation.due_communes() == []  # the pass recorded when it is next due
    with engine.connect() as conn:  # the pass judged the host again: it has a verdict now
        assert conn.execute(select(db.agents.c.verdict)).scalar_one().count(":") == 2


def test_0003_downgrades_and_upgrades_again_keeping_the_details(new_database) -> None:
    """Reasons and evidence go back into commune_status on a downgrade to 0002 and out
    again on the next upgrade."""
    import json

    from alembic import command
    from sqlalchemy import select, text

    from collector.storage import schema as db
    from collector.storage.connect import _alembic_config

    engine = make_engine(new_database("down.db"))
    create_schema(engine)
    criteria = {"EQ-01": {"status": "fail", "reason_en": "disk full", "evidence": []}}
    with engine.begin() as conn:
        conn.execute(
            db.commune_status.insert().values(
                commune_code="00070",
                province_code="01",
                colour="red",
                statuses={},
                evaluated_at=text("CURRENT_TIMESTAMP"),
            )
        )
        conn.execute(db.commune_details.insert().values(commune_code="00070", criteria=criteria))
    with engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "0002")
    with engine.connect() as conn:
        assert not inspect(conn).has_table("commune_details")
        raw = conn.execute(text("SELECT criteria FROM commune_status")).scalar_one()
    assert (raw if isinstance(raw, dict) else json.loads(raw)) == criteria
    create_schema(engine)
    with engine.connect() as conn:
        assert conn.execute(select(db.commune_details.c.criteria)).scalar_one() == criteria


def test_0006_adds_the_conditions_and_downgrades_without_them(new_database) -> None:
    """agents.conditions (the durations of timed rules) is added by 0006_condition_durations
    and dropped on a downgrade to 0005_reader_tokens; an upgrade adds it again, empty (the
    next report starts each condition afresh: pending)."""
    from alembic import command
    from sqlalchemy import select

    from collector.storage import schema as db
    from collector.storage.connect import _alembic_config

    engine = make_engine(new_database("down.db"))
    create_schema(engine)
    with engine.connect() as conn:
        head = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
        assert "conditions" in {c["name"] for c in inspect(conn).get_columns("agents")}
    assert head == "0009_commune_changes"
    with engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "0005_reader_tokens")
    with engine.connect() as conn:
        assert "conditions" not in {c["name"] for c in inspect(conn).get_columns("agents")}
    create_schema(engine)
    with engine.connect() as conn:
        assert conn.execute(select(db.agents.c.conditions)).all() == []


def test_0007_adds_retirement_and_downgrades_without_it(new_database) -> None:
    """agents.retired_at (host retirement) is added by 0007_host_retirement with the
    evaluation's index covering it, and both go on a downgrade to 0006_condition_durations."""
    from alembic import command

    from collector.storage.connect import _alembic_config

    engine = make_engine(new_database("retire.db"))
    create_schema(engine)

    def index_columns() -> list[str | None]:
        with engine.connect() as conn:
            [ix] = [
                i
                for i in inspect(conn).get_indexes("agents")
                if i["name"] == "ix_agents_commune_verdict"
            ]
            return list(ix["column_names"])

    assert index_columns()[-1] == "retired_at"
    with engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "0006_condition_durations")
    with engine.connect() as conn:
        assert "retired_at" not in {c["name"] for c in inspect(conn).get_columns("agents")}
    assert "retired_at" not in index_columns()
    create_schema(engine)
    assert index_columns()[-1] == "retired_at"


def test_a_migrated_test_database_is_a_copy_at_the_newest_revision(new_database) -> None:
    """What every collector fixture starts from (tests/conftest.py): a copy of a database the
    migrations built once, at the newest revision with no drift, each copy its own; without
    ``migrated`` the database is empty (for the tests of the migrations)."""
    from sqlalchemy import func, select

    from collector.storage import schema as db
    from collector.storage.connect import head_revision, migrate_schema, schema_revision

    first, second = (make_engine(new_database(n, migrated=True)) for n in ("a.db", "b.db"))
    empty = make_engine(new_database("empty.db"))
    try:
        with first.begin() as conn:
            assert schema_revision(conn) == head_revision()
            assert not compare_metadata(MigrationContext.configure(conn), metadata)
            conn.execute(
                db.enrollment_codes.insert().values(
                    code_hash="x" * 64,
                    commune_code="00070",
                    created_at=datetime(2026, 1, 1, tzinfo=UTC),
                    expires_at=datetime(2026, 1, 2, tzinfo=UTC),
                )
            )
        migration = migrate_schema(second)  # current: nothing to do
        assert migration.before == migration.after == head_revision()
        with second.connect() as conn:
            assert conn.execute(select(func.count()).select_from(db.enrollment_codes)).scalar() == 0
        with empty.connect() as conn:
            assert schema_revision(conn) is None
            assert inspect(conn).get_table_names() == []
    finally:
        for engine in (first, second, empty):
            engine.dispose()
