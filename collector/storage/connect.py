"""Opening a database: URLs, the engine, the schema version check, migrations, and waiting
for a database that is down.

Opening never migrates by itself: every command checks the schema version and refuses an
older or newer one with what to do; ``ioc-collector migrate`` (or ``serve --migrate``, or a
database the caller has just made) runs the migrations in ``collector/storage/migrations``.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event, inspect

from collector.storage.schema import metadata


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


#: Mode of the SQLite files the collector creates (password hashes, sessions, evidence files
#: are inside): the owner's alone, whatever the umask. SQLite gives its -wal and -shm files
#: the database file's mode.
SQLITE_FILE_MODE = 0o600
#: Mode of a directory the collector creates for its database.
SQLITE_DIR_MODE = 0o700


def create_private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists (its directory must exist:
    a volume mounted late is waited for, not replaced by a new directory)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, SQLITE_FILE_MODE)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, SQLITE_FILE_MODE)  # the umask may have taken bits: set them exactly
    finally:
        os.close(fd)


def make_private_dir(path: Path) -> None:
    """Create ``path`` (and missing parents) with mode 0700, whatever the umask; an existing
    directory is left as it is."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(parents=True, exist_ok=True)
    for p in missing:
        os.chmod(p, SQLITE_DIR_MODE)


def _sqlite_private(path: Path) -> Any:
    def before_connect(_dialect: Any, _rec: Any, _args: Any, _kw: Any) -> None:
        if path.parent.is_dir():
            create_private_file(path)

    return before_connect


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
        file = _sqlite_file(engine)
        if file is not None:
            event.listen(engine, "do_connect", _sqlite_private(file))
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


# ---- opening a database: wait for it, check its schema version, migrate it ---------------

log = logging.getLogger("collector.storage")

#: Key of the PostgreSQL advisory lock held while migrating: two collectors started with
#: ``serve --migrate`` on one database migrate one after the other, not both at once.
_MIGRATION_LOCK = 0x10C_C011EC7


class SchemaError(RuntimeError):
    """A database whose tables the migrations cannot take over."""


class SchemaMismatch(SchemaError):
    """A database whose schema version is not the one this code uses."""


class SchemaTooOld(SchemaMismatch):
    """No collector schema yet, or an older version: ``ioc-collector migrate`` brings it to
    this code's version."""


class SchemaTooNew(SchemaMismatch):
    """A schema version this code does not know: written by a later collector version."""


class DatabaseUnavailable(RuntimeError):
    """No connection to the database (its server down or unreachable, the directory of a
    SQLite file missing); the message names the cause, never a password."""


@dataclass(frozen=True)
class Migration:
    """What :func:`migrate_schema` did: the schema version before (None: no collector schema)
    and after; ``adopted`` when tables made without migrations were stamped as current."""

    before: str | None
    after: str
    adopted: bool = False

    @property
    def changed(self) -> bool:
        return self.before != self.after or self.adopted


def _scripts() -> Any:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(Path(__file__).parent / "migrations"))


def head_revision() -> str:
    """The schema version this code uses (the newest migration)."""
    head = _scripts().get_current_head()
    assert head is not None
    return str(head)


def describe_revision(revision: str | None) -> str:
    """A schema version as shown to users: ``0003 (verdicts)``, or ``none``."""
    if revision is None:
        return "none (no collector schema)"
    try:
        script = _scripts().get_revision(revision)
    except Exception:  # noqa: BLE001 - unknown to this code: the bare id is all there is
        return revision
    doc = (script.doc or "").split(":", 1)[0].strip() if script is not None else ""
    return f"{revision} ({doc})" if doc else revision


def _known_revisions() -> set[str]:
    return {s.revision for s in _scripts().walk_revisions()}


def schema_revision(conn: Any) -> str | None:
    """The schema version stored in the database (None: no ``alembic_version`` row)."""
    from alembic.migration import MigrationContext

    rev = MigrationContext.configure(conn).get_current_revision()
    return None if rev is None else str(rev)


def _where(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def _sqlite_file(engine: Engine) -> Path | None:
    """The file of a SQLite database (None for another backend or an in-memory one)."""
    name = engine.url.database
    if engine.dialect.name != "sqlite" or not name or name == ":memory:":
        return None
    return Path(name)


def _too_new(engine: Engine, current: str) -> SchemaTooNew:
    return SchemaTooNew(
        f"{_where(engine)}: schema version {current} is newer than this collector knows "
        f"(its newest is {describe_revision(head_revision())}): a later version of "
        "commune-ioc wrote it; run that version (or a later one), this one refuses the "
        "database rather than misread it"
    )


def check_schema(engine: Engine) -> None:
    """Refuse a database whose schema version is not this code's, with what to do: an
    older one (or none) is brought up to date by ``ioc-collector migrate``, a newer one
    needs a newer collector. Nothing is written (a missing SQLite file is not created)."""
    where = _where(engine)
    migrate_hint = "run `ioc-collector migrate` (with the same --db or --config) first"
    path = _sqlite_file(engine)
    if path is not None and not path.exists():
        raise SchemaTooOld(f"{path}: no database there; `ioc-collector migrate` creates it")
    head = head_revision()
    with engine.connect() as conn:
        current = schema_revision(conn)
        if current == head:
            return
        if current is None:
            ours = set(inspect(conn).get_table_names()) & set(metadata.tables)
            what = (
                "collector tables without a schema version"
                if ours
                else "no collector schema (an empty database)"
            )
            raise SchemaTooOld(f"{where}: {what}; {migrate_hint}")
    if current not in _known_revisions():
        raise _too_new(engine, current)
    raise SchemaTooOld(
        f"{where}: schema version {describe_revision(current)} is older than this "
        f"collector's {describe_revision(head)}; {migrate_hint}"
    )


def migrate_schema(engine: Engine) -> Migration:
    """Bring the database to this code's schema with the Alembic migrations in
    ``collector/migrations`` (a new database gets every table, an older one is upgraded,
    a current one is left as it is); a newer one is refused (:class:`SchemaTooNew`)."""
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
        cfg = _alembic_config(conn)
        before = schema_revision(conn)
        if before is not None and before not in _known_revisions():
            raise _too_new(engine, before)
        tables = set(inspect(conn).get_table_names())
        if before is None and tables & set(metadata.tables):
            # Tables made without migrations: adopt them only if they are exactly ours.
            if compare_metadata(MigrationContext.configure(conn), metadata):
                raise SchemaError(
                    f"{_where(engine)}: has collector tables "
                    "that the migrations did not create and that differ from this version; "
                    "use a new database (or move this one aside)"
                )
            command.stamp(cfg, "head")
            return Migration(before, head_revision(), adopted=True)
        command.upgrade(cfg, "head")
        after = schema_revision(conn)
    assert after is not None
    return Migration(before, after)


def create_schema(engine: Engine) -> None:
    """:func:`migrate_schema`, for callers that need no report of it (tests, fixtures)."""
    migrate_schema(engine)


def _reason(exc: BaseException) -> str:
    """The driver's own words for a failed connection, first line only (psycopg and
    sqlite3 name the host, port or file, never the password)."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    return text[0].strip() if text else type(orig).__name__


def wait_for_database(
    engine: Engine,
    wait_s: float | None = 0.0,
    *,
    first_delay_s: float = 1.0,
    max_delay_s: float = 30.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Connect once to see the database answer. If it does not (server down, SQLite
    directory missing), retry after 1 s, 2 s, 4 s ... up to ``max_delay_s`` apart for
    ``wait_s`` seconds (None: until it answers), one WARNING line per failed attempt and
    none with a traceback: an outage is expected, not a bug. Raises
    :class:`DatabaseUnavailable` once the time is up (at once when ``wait_s`` is 0)."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    deadline = None if wait_s is None else clock() + wait_s
    delay = first_delay_s
    attempt = 0
    started = clock()
    while True:
        attempt += 1
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except (OperationalError, InterfaceError) as exc:
            reason = _reason(exc)
            left = None if deadline is None else deadline - clock()
            if left is not None and left <= 0:
                raise DatabaseUnavailable(
                    f"database {_where(engine)} unavailable: {reason}"
                    + (f" (waited {clock() - started:.0f} s)" if attempt > 1 else "")
                ) from None
            pause = delay if left is None else min(delay, left)
            log.warning(
                "database %s unavailable (%s); attempt %d, next in %.0f s%s",
                _where(engine),
                reason,
                attempt,
                pause,
                "" if deadline is None else f" (giving up after {wait_s:g} s)",
            )
            sleep(pause)
            delay = min(delay * 2, max_delay_s)
            continue
        if attempt > 1:
            log.warning(
                "database %s available after %d attempts (%.0f s)",
                _where(engine),
                attempt,
                clock() - started,
            )
        return


def open_database(
    db: str | Path,
    *,
    busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
    migrate: bool = False,
    wait_s: float | None = 0.0,
) -> Engine:
    """The engine of a database ready for this code: waited for (see
    :func:`wait_for_database`), then migrated when ``migrate`` (only a command that
    means to: ``ioc-collector migrate``, ``serve --migrate``, the demo on its own
    database), otherwise its schema version checked (:func:`check_schema`)."""
    engine = make_engine(db, busy_timeout_s=busy_timeout_s)
    try:
        path = _sqlite_file(engine)
        if not migrate and path is not None and not path.exists():
            check_schema(engine)  # refuses without creating the file
        wait_for_database(engine, wait_s)
        if migrate:
            done = migrate_schema(engine)
            if done.changed:
                log.info(
                    "database %s migrated from %s to %s",
                    _where(engine),
                    describe_revision(done.before),
                    describe_revision(done.after),
                )
        else:
            check_schema(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine
