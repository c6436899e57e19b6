"""Database schema and engine (SQLAlchemy 2 Core; SQLite embedded default, PostgreSQL later).

Everything that matters lives here, not in a collector's memory, so several collector
replicas can share one database.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Engine,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    inspect,
)

metadata = MetaData()

enrollment_codes = Table(
    "enrollment_codes",
    metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("commune_code", String(5), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
    Column("used_by", String(64)),
)

agents = Table(
    "agents",
    metadata,
    Column("agent_id", String(64), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("commune_code", String(5), nullable=False, index=True),
    Column("province_code", String(2), nullable=False),
    Column("host", String(253), nullable=False),
    Column("agent_version", String(64), nullable=False, default=""),
    Column("enrolled_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True)),
    Column("last_observed_at", DateTime(timezone=True)),
    Column("last_seq", BigInteger, nullable=False, default=0),
    Column("clock_skew_s", Float),
    Column("revoked", Boolean, nullable=False, default=False),
)

reports = Table(
    "reports",
    metadata,
    Column("agent_id", String(64), primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    Column("commune_code", String(5), nullable=False),
    Column("host", String(253), nullable=False),
    Column("observed_at", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("results", JSON, nullable=False),
)
Index("ix_reports_commune_observed", reports.c.commune_code, reports.c.observed_at)

latest_results = Table(
    "latest_results",
    metadata,
    Column("agent_id", String(64), primary_key=True),
    Column("check_id", String(64), primary_key=True),
    Column("target", String(256), primary_key=True),
    Column("commune_code", String(5), nullable=False, index=True),
    Column("host", String(253), nullable=False),
    Column("category", String(16), nullable=False),
    Column("status", String(8), nullable=False),
    Column("figures", JSON, nullable=False),
    Column("message", Text, nullable=False, default=""),
    Column("observed_at", DateTime(timezone=True), nullable=False),
    Column("seq", BigInteger, nullable=False),
)

commune_status = Table(
    "commune_status",
    metadata,
    Column("commune_code", String(5), primary_key=True),
    Column("province_code", String(2), nullable=False, index=True),
    Column("colour", String(8), nullable=False),
    # {criterion_id: {status, severity, reason_en, reason_vi, evidence, since}}
    Column("criteria", JSON, nullable=False),
    # {criterion_id: [status, severity]}: what the summary and /metrics need, without
    # decoding every criterion's evidence at national scale.
    Column("statuses", JSON, nullable=False),
    Column("evaluated_at", DateTime(timezone=True), nullable=False),
    Column("last_report_at", DateTime(timezone=True)),
)

attestations = Table(
    "attestations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("commune_code", String(5), nullable=False, index=True),
    Column("criterion_id", String(16), nullable=False),
    Column("status", String(8), nullable=False),
    Column("evidence", Text, nullable=False),
    Column("entered_by", String(128), nullable=False),
    Column("entered_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

waivers = Table(
    "waivers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("commune_code", String(5), nullable=False, index=True),
    Column("criterion_id", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("granted_by", String(128), nullable=False),
    Column("granted_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

# ---- web UI and reports (collector/auth.py, collector/web/, collector/reports/) ----------
# A file an operator uploads as evidence for an attestation (size-limited in collector/attest.py).
evidence_files = Table(
    "evidence_files",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("attestation_id", Integer, nullable=False, index=True),
    Column("filename", String(255), nullable=False),
    Column("content_type", String(128), nullable=False),
    Column("size", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("password_hash", String(256), nullable=False),  # scrypt, see collector/auth.py
    Column("role", String(16), nullable=False),  # viewer | operator | admin
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("username", String(64), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, index=True),
    Column("actor", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(64), nullable=False, default=""),
    Column("detail", JSON, nullable=False),
)

# Green coverage over time, snapshotted by the periodic re-evaluation (scope "00" = nation).
coverage_history = Table(
    "coverage_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("taken_at", DateTime(timezone=True), nullable=False, index=True),
    Column("scope", String(2), nullable=False),
    Column("communes", Integer, nullable=False),
    Column("green", Integer, nullable=False),
    Column("yellow", Integer, nullable=False),
    Column("red", Integer, nullable=False),
    Column("grey", Integer, nullable=False),
)
Index("ix_coverage_scope_taken", coverage_history.c.scope, coverage_history.c.taken_at)


def database_url(db: str | Path) -> str:
    """Accept a plain file path (SQLite) or a full SQLAlchemy URL."""
    text = str(db)
    if "://" in text:
        return text
    return f"sqlite:///{Path(text).expanduser().resolve()}"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL: readers never block the writer. synchronous=FULL: a report is acknowledged
    # only once it survives a power cut, not just a process crash.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def make_engine(db: str | Path) -> Engine:
    url = database_url(db)
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
        )
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)
    return engine


def _alembic_config(connection: Any) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.attributes["connection"] = connection
    return cfg


class SchemaError(RuntimeError):
    """A database whose tables the migrations cannot take over."""


def create_schema(engine: Engine) -> None:
    """Bring the database to the current schema with the Alembic migrations in
    ``collector/migrations`` (a new database gets every table; an older one is upgraded)."""
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with engine.begin() as conn:
        cfg = _alembic_config(conn)
        tables = set(inspect(conn).get_table_names())
        versioned = "alembic_version" in tables and conn.exec_driver_sql(
            "SELECT count(*) FROM alembic_version"
        ).scalar()
        if not versioned and tables & set(metadata.tables):
            # Tables made without migrations: adopt them only if they are exactly ours.
            if compare_metadata(MigrationContext.configure(conn), metadata):
                raise SchemaError(
                    f"{engine.url.render_as_string(hide_password=True)}: has collector tables "
                    "that the migrations did not create and that differ from this version; "
                    "use a new database (or move this one aside)"
                )
            command.stamp(cfg, "head")
            return
        command.upgrade(cfg, "head")
