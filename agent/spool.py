"""Store-and-forward spool: reports are committed to SQLite (WAL) before any send attempt.

Rows are deleted only when the collector acknowledges their ``seq``. The spool is bounded:

* **drop policy** — after every ``put``, reports older than ``max_age_s`` are dropped, then,
  while the stored payload exceeds ``max_bytes``, the *oldest* reports are dropped. Newest
  data is worth more to an operations centre than week-old data, and the oldest would be
  the first to be judged stale anyway. Every drop is logged and counted in the persisted
  ``dropped`` counter (reported by ``stats()``), so data is never lost silently;
* **quarantine** — a single report the collector refuses as invalid (413/422) would block
  the queue forever; the sender moves it to the ``rejected`` table (kept, counted, bounded
  to the newest ``MAX_REJECTED`` rows) for a human to inspect.

``seq`` comes from a counter persisted in the same database, so it stays monotonic across
restarts. A brand-new spool starts the counter at the current Unix time in milliseconds:
if the spool file is lost (re-install, disk wiped) the agent never re-uses a seq the
collector already holds, which it would silently discard as a duplicate.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from checks.model import Report

log = logging.getLogger(__name__)

SPOOL_FILE = "spool.db"
MAX_REJECTED = 1000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS reports (
    seq INTEGER PRIMARY KEY,
    created_at REAL NOT NULL,
    body BLOB NOT NULL          -- zlib-compressed Report JSON
);
CREATE TABLE IF NOT EXISTS rejected (
    seq INTEGER PRIMARY KEY,
    rejected_at REAL NOT NULL,
    reason TEXT NOT NULL,
    body BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


@dataclass(frozen=True)
class SpoolStats:
    pending: int
    pending_bytes: int
    oldest_age_s: float | None
    last_seq: int
    dropped: int
    rejected: int


class Spool:
    """A bounded, durable FIFO of reports keyed by ``seq``. Thread-safe."""

    def __init__(
        self,
        path: Path,
        *,
        max_age_s: float = 8 * 86400,
        max_bytes: int = 256 * 1024 * 1024,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.max_age_s = max_age_s
        self.max_bytes = max_bytes
        self._now = now  # injectable so tests can age reports
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Reports describe the commune's machines: owner-only, like agent.json. SQLite gives
        # its -wal and -shm files the database file's mode.
        os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a commit survives a process crash; a power cut may lose the
        # last moments, which the collector would not have acked anyway.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        with self._tx():
            self._db.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('seq', ?)",
                (int(self._now() * 1000),),
            )
            for key in ("dropped", "rejected"):
                self._db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, 0)", (key,))

    # -- plumbing

    def _tx(self) -> _Tx:
        return _Tx(self._db, self._lock)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _meta(self, key: str) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return int(row[0]) if row else 0

    # -- API

    def next_seq(self) -> int:
        """Reserve the next seq (committed, so never handed out twice)."""
        with self._tx():
            row = self._db.execute(
                "UPDATE meta SET value = value + 1 WHERE key = 'seq' RETURNING value"
            ).fetchone()
        return int(row[0])

    def put(self, report: Report) -> None:
        """Commit ``report`` durably, then enforce the age and size bounds."""
        body = zlib.compress(report.model_dump_json().encode(), 6)
        with self._tx():
            self._db.execute(
                "INSERT OR REPLACE INTO reports (seq, created_at, body) VALUES (?, ?, ?)",
                (report.seq, self._now(), body),
            )
            # Keep the counter ahead of any seq stored, whoever chose it.
            self._db.execute(
                "UPDATE meta SET value = MAX(value, ?) WHERE key = 'seq'", (report.seq,)
            )
            self._enforce_bounds()

    def _enforce_bounds(self) -> None:
        cutoff = self._now() - self.max_age_s
        dropped = self._db.execute(
            "DELETE FROM reports WHERE created_at < ? RETURNING seq", (cutoff,)
        ).fetchall()
        n_age = len(dropped)
        n_size = 0
        total = self._db.execute("SELECT COALESCE(SUM(LENGTH(body)), 0) FROM reports").fetchone()[0]
        if total > self.max_bytes:
            # Walk from the oldest, dropping until the rest fits.
            excess = total - self.max_bytes
            seqs: list[int] = []
            for seq, size in self._db.execute(
                "SELECT seq, LENGTH(body) FROM reports ORDER BY seq"
            ):
                if excess <= 0:
                    break
                seqs.append(seq)
                excess -= size
            self._db.executemany("DELETE FROM reports WHERE seq = ?", [(s,) for s in seqs])
            n_size = len(seqs)
        if n_age or n_size:
            self._db.execute(
                "UPDATE meta SET value = value + ? WHERE key = 'dropped'", (n_age + n_size,)
            )
            log.warning(
                "spool full: dropped %d report(s) older than %.0f s and %d oldest report(s) "
                "over the %d-byte limit",
                n_age, self.max_age_s, n_size, self.max_bytes,
            )

    def pending(self, limit: int = 50) -> list[Report]:
        """The oldest ``limit`` unacknowledged reports, in seq order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, body FROM reports ORDER BY seq LIMIT ?", (limit,)
            ).fetchall()
        out: list[Report] = []
        for seq, body in rows:
            try:
                out.append(Report.model_validate_json(zlib.decompress(body)))
            except (zlib.error, ValueError) as exc:
                self.reject([seq], f"unreadable in spool: {exc}")
        return out

    def ack(self, seqs: Iterable[int]) -> int:
        """Delete acknowledged reports; returns how many were pending."""
        params = [(int(s),) for s in seqs]
        with self._tx():
            before = self._db.total_changes
            self._db.executemany("DELETE FROM reports WHERE seq = ?", params)
            return self._db.total_changes - before

    def reject(self, seqs: Iterable[int], reason: str) -> None:
        """Move reports the collector will never accept to the ``rejected`` table."""
        params = [(int(s),) for s in seqs]
        with self._tx():
            for (seq,) in params:
                self._db.execute(
                    "INSERT OR REPLACE INTO rejected (seq, rejected_at, reason, body) "
                    "SELECT seq, ?, ?, body FROM reports WHERE seq = ?",
                    (self._now(), reason[:500], seq),
                )
                self._db.execute("DELETE FROM reports WHERE seq = ?", (seq,))
            self._db.execute(
                "UPDATE meta SET value = value + ? WHERE key = 'rejected'", (len(params),)
            )
            self._db.execute(
                "DELETE FROM rejected WHERE seq NOT IN "
                "(SELECT seq FROM rejected ORDER BY seq DESC LIMIT ?)",
                (MAX_REJECTED,),
            )

    def stats(self) -> SpoolStats:
        with self._lock:
            count, size, oldest = self._db.execute(
                "SELECT COUNT(*), COALESCE(SUM(LENGTH(body)), 0), MIN(created_at) FROM reports"
            ).fetchone()
            return SpoolStats(
                pending=count,
                pending_bytes=size,
                oldest_age_s=None if oldest is None else max(0.0, self._now() - oldest),
                last_seq=self._meta("seq"),
                dropped=self._meta("dropped"),
                rejected=self._meta("rejected"),
            )


class _Tx:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` under the spool's lock (rollback on error)."""

    def __init__(self, db: sqlite3.Connection, lock: threading.Lock) -> None:
        self.db, self.lock = db, lock

    def __enter__(self) -> None:
        self.lock.acquire()
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        try:
            self.db.execute("ROLLBACK" if exc_type else "COMMIT")
        finally:
            self.lock.release()
