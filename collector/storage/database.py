"""The database handle every service writes and reads through.

Every write is one transaction committed before the caller answers, so an acknowledged
report survives a crash. Nothing that matters is kept in memory: two collectors on one
database give the same answers.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from sqlalchemy import Connection, Engine, String, bindparam, func, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

_LOCK_COMMUNES = text(
    "SELECT count(pg_advisory_xact_lock(k)) FROM "
    "(SELECT unnest(CAST(:keys AS bigint[])) AS k ORDER BY 1) AS wanted"
)


class Database:
    """A SQLAlchemy engine with the collector's write discipline and dialect helpers."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sqlite = engine.dialect.name == "sqlite"
        # SQLite has one writer at a time; serialising writers in-process avoids
        # "database is locked" retries (other processes still wait on busy_timeout).
        self._write_lock = threading.Lock() if self.sqlite else None

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction (committed on exit, rolled back on an exception)."""
        with self._write_lock or nullcontext(), self.engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reads (no transaction is committed)."""
        with self.engine.connect() as conn:
            yield conn

    @contextmanager
    def scratch(self) -> Iterator[Connection]:
        """A transaction that is always rolled back: work whose writes nobody keeps."""
        with self._write_lock or nullcontext(), self.engine.connect() as conn:
            tx = conn.begin()
            try:
                yield conn
            finally:
                tx.rollback()

    def insert(self, table: Any) -> Any:
        """The dialect's INSERT, which has ``on_conflict_do_*``."""
        return (sqlite_insert if self.sqlite else pg_insert)(table)

    def greatest(self, *args: Any) -> Any:
        return (func.max if self.sqlite else func.greatest)(*args)

    def among(self, column: Any, codes: Iterable[str]) -> Any:
        """``column IN codes``; on PostgreSQL as ``= ANY(array)``, one parameter however
        many codes (an IN list of hundreds of parameters cost more to plan than to run)."""
        codes = list(codes)
        if self.sqlite:
            return column.in_(codes)
        return column == func.any(bindparam(None, codes, type_=ARRAY(String)))

    def among_param(self, column: Any, name: str) -> Any:
        """``among`` with the codes given when the statement runs, as parameter ``name`` (a
        list): for a statement built once and run often (building one costs more than
        running it on a few rows)."""
        if self.sqlite:
            return column.in_(bindparam(name, expanding=True))
        return column == func.any(bindparam(name, type_=ARRAY(String)))

    def lock_task(self, conn: Connection, key: int) -> None:
        """Serialise one kind of background work (a roll-up) across collector replicas for
        the transaction (PostgreSQL; ``key`` above 99999, clear of the communes' locks).
        SQLite has one writer."""
        if not self.sqlite:
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})

    def lock_communes(self, conn: Connection, commune_codes: Iterable[str]) -> None:
        """Serialise writers of the same communes across collector replicas (PostgreSQL), so
        that an evaluation always sees every report committed before it: one statement
        taking the locks in ascending order (no deadlock between replicas). SQLite has one
        writer."""
        if self.sqlite:
            return
        keys = sorted({int(c) for c in commune_codes})
        if keys:
            conn.execute(_LOCK_COMMUNES, {"keys": keys})
