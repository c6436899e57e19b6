"""A BulkStatement stores exactly what ``Connection.execute`` stores for the same rows (the
column types' conversions: times, JSON, JSON null, booleans, floats), on either backend, and
refuses a statement whose parameters are not the rows' keys."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, bindparam, delete, insert, select

from collector.storage import schema as db
from collector.storage.bulk import BulkStatement
from collector.storage.connect import create_schema, make_engine
from collector.storage.database import Database

T0 = datetime(2026, 12, 5, 8, 30, 15, 123456, tzinfo=UTC)
KEYS = (
    "agent_id",
    "token_hash",
    "commune_code",
    "province_code",
    "host",
    "agent_version",
    "enrolled_at",
    "last_seen_at",
    "last_seq",
    "clock_skew_s",
    "revoked",
    "latest",
    "findings",
    "verdict",
)


def agent_row(n: int, prefix: str) -> dict[str, Any]:
    return {
        "agent_id": f"{prefix}-{n}",
        "token_hash": hashlib.sha256(f"{prefix}-{n}".encode()).hexdigest(),
        "commune_code": "00070",
        "province_code": "01",
        "host": f"pasc-pc-{n}",
        "agent_version": "1.2.3",
        "enrolled_at": T0,
        "last_seen_at": None if n % 2 else T0 + timedelta(seconds=n),
        "last_seq": 2**40 + n,
        "clock_skew_s": -0.25 * n,
        "revoked": bool(n % 2),
        "latest": {"host.disk|/": {"s": "ok", "v": {"free": 0.42}}, "n": n},
        "findings": None,  # JSON null, as SQLAlchemy stores it
        "verdict": "Đạt" if n % 2 else None,
    }


@pytest.fixture
def engine(new_database: Any) -> Engine:
    engine = make_engine(new_database("bulk.db"))
    create_schema(engine)
    return engine


def stored(engine: Engine, prefix: str) -> list[tuple[Any, ...]]:
    """The agents' rows as the database holds them (raw, no type conversion), by number."""
    a = db.agents.c
    sql = select(*[a[k] for k in KEYS]).where(a.agent_id.like(f"{prefix}-%")).order_by(a.last_seq)
    with engine.connect() as conn:
        raw = conn.exec_driver_sql(str(sql.compile(engine, compile_kwargs={"literal_binds": True})))
        return [tuple(str(v) if k == "agent_id" else v for k, v in zip(KEYS, row)) for row in raw]


def test_bulk_statement_stores_what_execute_stores(engine: Engine) -> None:
    bulk = BulkStatement(insert(db.agents), engine.dialect, KEYS)
    with Database(engine).write() as conn:
        conn.execute(insert(db.agents), [agent_row(n, "sa") for n in range(1, 6)])
        bulk.run(conn, [agent_row(n, "bk") for n in range(1, 6)])
        bulk.run(conn, [])  # nothing to run
    by_sa, by_bulk = stored(engine, "sa"), stored(engine, "bk")
    assert len(by_sa) == 5
    assert [r[2:] for r in by_bulk] == [r[2:] for r in by_sa]  # all but id and token hash
    assert [r[0] for r in by_bulk] == [f"bk-{n}" for n in range(1, 6)]
    # and read back through SQLAlchemy's types, the same values that were given
    with engine.connect() as conn:
        back = conn.execute(select(db.agents).where(db.agents.c.agent_id == "bk-2")).one()
    assert back.last_seen_at.replace(tzinfo=UTC) == T0 + timedelta(seconds=2)
    assert back.latest == agent_row(2, "bk")["latest"] and back.findings is None
    assert back.revoked is False and back.clock_skew_s == -0.5 and back.last_seq == 2**40 + 2


def test_bulk_statement_one_row_and_conflicts(engine: Engine) -> None:
    """One row runs as one statement; ON CONFLICT DO NOTHING keeps the first row."""
    database = Database(engine)
    stmt = database.insert(db.agents).on_conflict_do_nothing(index_elements=["agent_id"])
    bulk = BulkStatement(stmt, engine.dialect, KEYS)
    first, again = agent_row(1, "one"), {**agent_row(1, "one"), "host": "other"}
    with database.write() as conn:
        bulk.run(conn, [first])
        bulk.run(conn, [again, agent_row(3, "one")])
    rows = stored(engine, "one")
    assert [(r[0], r[KEYS.index("host")]) for r in rows] == [
        ("one-1", "pasc-pc-1"),
        ("one-3", "pasc-pc-3"),
    ]


def test_bulk_statement_refuses_parameters_the_rows_do_not_give(engine: Engine) -> None:
    # agent_version has a default computed in Python: SQLAlchemy would add it per row
    without_version = tuple(k for k in KEYS if k != "agent_version")
    with pytest.raises(ValueError, match="agent_version"):
        BulkStatement(insert(db.agents), engine.dialect, without_version)
    with pytest.raises(ValueError, match="no_such_key"):
        BulkStatement(insert(db.agents), engine.dialect, (*KEYS, "no_such_key"))


def test_bulk_statement_of_one_parameter(engine: Engine) -> None:
    database = Database(engine)
    insert_agents = BulkStatement(insert(db.agents), engine.dialect, KEYS)
    forget = BulkStatement(
        delete(db.agents).where(db.agents.c.agent_id == bindparam("b_id")), engine.dialect, ["b_id"]
    )
    with database.write() as conn:
        insert_agents.run(conn, [agent_row(n, "del") for n in range(1, 5)])
        forget.run(conn, [{"b_id": "del-1"}, {"b_id": "del-3"}])
        forget.run(conn, [{"b_id": "del-4"}])
    assert [r[0] for r in stored(engine, "del")] == ["del-2"]
