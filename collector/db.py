"""Database schema and engine (SQLAlchemy 2 Core; SQLite embedded default, PostgreSQL later).

Everything that matters lives here, not in a collector's memory, so several collector
replicas can share one database.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
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
    false,
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
    # The latest result of each (check, target) this host reported:
    # {"check<TAB>target": [check, target, category, status, message, observed_at, seq,
    #  {value: [number, unit]}]} (collector/store.py), one row per host so that a report
    # is one read and one write whatever its number of results.
    Column("latest", JSON),
    # What this host's latest results say per criterion rule (criteria/engine.py
    # HostFindings), refreshed when it reports: a commune is evaluated from these small
    # parts instead of every result of every host.
    Column("findings", JSON),
    # The same, down to what statuses need (criteria/engine.py host_verdict): per rule the
    # worst status, per check whether there is a result; the national pass reads only these.
    Column("verdict", Text),
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
    # The report's results as JSON text, exactly as validated (history and audit; never
    # queried by field, so kept as text and serialised by pydantic, not json.dumps).
    Column("results", Text, nullable=False),
)
# What the national pass reads of every host, in one index it can answer from alone: the
# table's rows carry each host's latest results and findings, kilobytes the pass skips.
Index(
    "ix_agents_commune_verdict",
    agents.c.commune_code,
    agents.c.revoked,
    agents.c.last_observed_at,
    agents.c.agent_id,
    agents.c.host,
    agents.c.verdict,
)
Index("ix_reports_commune_observed", reports.c.commune_code, reports.c.observed_at)

commune_status = Table(
    "commune_status",
    metadata,
    Column("commune_code", String(5), primary_key=True),
    Column("province_code", String(2), nullable=False, index=True),
    Column("colour", String(8), nullable=False),
    # {criterion_id: [status, severity, since]}: what the summary, /metrics and the national
    # pass need; the reasons and evidence are in commune_details (kilobytes a commune, not
    # read, nor rewritten, with the statuses).
    Column("statuses", JSON, nullable=False),
    Column("evaluated_at", DateTime(timezone=True), nullable=False),
    Column("last_report_at", DateTime(timezone=True)),
    # When the evaluation may change with no new report (a host going stale, an
    # attestation or waiver expiring): the periodic pass re-evaluates only communes due.
    Column("next_eval_at", DateTime(timezone=True), index=True),
    # True when ingest or the pass updated colour and statuses from the hosts' verdicts and
    # the commune's details (reasons, evidence) still await their evaluation from findings,
    # done when first asked for (Store.commune_state, Store.fill_details).
    Column("detail_pending", Boolean, nullable=False, default=False, server_default=false()),
)

commune_details = Table(
    "commune_details",
    metadata,
    Column("commune_code", String(5), primary_key=True),
    # {criterion_id: {status, severity, reason_en, reason_vi, evidence, since}}
    Column("criteria", JSON, nullable=False),
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


def display_url(db: str | Path) -> str:
    """The database as shown in messages: a URL's password masked (``***``)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    text = str(db)
    if "://" not in text:
        return text
    try:
        return make_url(text).render_as_string(hide_password=True)
    except ArgumentError:
        return text.split("://", 1)[0] + "://***"


#: How long a statement waits for a lock held by another connection (SQLite busy_timeout,
#: PostgreSQL lock_timeout) before it fails and the API answers 503 with Retry-After. Kept
#: well under the agent's default request timeout (10 s), so that an agent hears the 503
#: and its Retry-After rather than timing out and retrying at a random moment.
DEFAULT_BUSY_TIMEOUT_S = 5.0


def _sqlite_pragmas(busy_timeout_ms: int) -> Any:
    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        # WAL: readers never block the writer. synchronous=FULL: a report is acknowledged
        # only once it survives a power cut, not just a process crash.
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    return on_connect


def _json_dumps(value: Any) -> str:
    """JSON columns as compact UTF-8 (orjson: several times faster than the standard
    library on the ingest path, where every report rewrites its host's latest results and
    findings). Vietnamese reasons and messages are stored as they are, not as \\u escapes."""
    return orjson.dumps(value).decode()


def _json_loads(text: str | bytes) -> Any:
    return orjson.loads(text)


def make_engine(db: str | Path, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S) -> Engine:
    url = database_url(db)
    busy_ms = max(1, int(busy_timeout_s * 1000))
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": busy_timeout_s},
            json_serializer=_json_dumps,
            json_deserializer=_json_loads,
        )
        event.listen(engine, "connect", _sqlite_pragmas(busy_ms))
    else:
        engine = create_engine(
            url,
            pool_size=10,
            max_overflow=10,
            pool_pre_ping=True,
            connect_args={"options": f"-c lock_timeout={busy_ms}"},
            json_serializer=_json_dumps,
            json_deserializer=_json_loads,
        )
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
