"""Store-and-forward spool: reports are committed to SQLite (WAL) before any send attempt.

Rows are deleted only when the collector acknowledges their ``seq``. The spool is bounded:

* **drop policy** — after every ``put``, reports older than ``max_age_s`` are dropped, then,
  while the stored payload exceeds ``max_bytes``, the *oldest* reports are dropped. Newest
  data is worth more to an operations centre than week-old data, and the oldest would be
  the first to be judged stale anyway. Every drop is logged and counted in the persisted
  ``dropped`` counter (reported by ``stats()``), so data is never lost silently;
* **quarantine** — a single report the collector refuses as invalid (413/422) would block
  the queue forever; the sender moves it to the ``rejected`` table (kept, counted, bounded
  to the newest ``MAX_REJECTED`` rows) for a human to inspect;
* **disk full** — SQLite needs free space even to *delete* (WAL frames, checkpoints), so a
  spool on a full disk could neither accept a report nor remove acknowledged ones. The
  spool therefore keeps a reserve file (``spool.db.reserve``) beside it, like the ballast
  file of CockroachDB, sized to the filesystem: 1 % of it, at least 64 KiB and at most
  2 MiB (:func:`reserve_for`); the WAL is checkpointed and truncated well within it. When
  a write fails with ``SQLITE_FULL`` or ``ENOSPC`` the reserve is released, the WAL is
  folded back (checkpoint, truncate) and the write is retried once, dropping the *oldest*
  reports to make room for the new one (the same rule as the size bound). While the
  reserve is gone and less than twice its size is free, the spool stops growing: each new
  report replaces the oldest one and the WAL is truncated after every write. The reserve
  is rebuilt once three times its size is free. An acknowledgement that cannot be written
  leaves its reports in the spool: they are sent again and the collector acknowledges
  duplicates without storing them.
* **in memory** — when the disk takes nothing at all (the spool cannot be opened, or a
  report cannot be written even after the steps above), the spool carries on in memory
  (a private in-memory SQLite database, bounded to ``MEMORY_MAX_BYTES`` by the same
  drop-oldest rule): reports are numbered, kept and sent straight away, and every report
  dropped is counted there. Reports already on disk stay there, durable, and are sent once
  the disk is back. At each ``put`` while in memory, once the disk has room again, the
  spool reopens the disk database and moves the reports and the drop count into it in one
  transaction, then rebuilds its reserve. Entering and leaving memory are logged (ERROR,
  then WARNING) naming the directory. Reports still in memory when the agent stops are
  lost: the stop logs how many at ERROR (the disk cannot take even that count).

``seq`` comes from a counter persisted in the same database, so it stays monotonic across
restarts. A brand-new spool starts the counter at the current Unix time in milliseconds:
if the spool file is lost (re-install, disk wiped) the agent never re-uses a seq the
collector already holds, which it would silently discard as a duplicate.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import sqlite3
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from checks.model import AgentReport

log = logging.getLogger(__name__)

SPOOL_FILE = "spool.db"
MAX_REJECTED = 1000
#: Space kept aside for a full disk (see the module docstring), at most; scaled down to 1 %
#: of a small filesystem, never below ``MIN_RESERVE_BYTES``. It covers the WAL, which is
#: checkpointed every quarter of the reserve and truncated back to that size.
RESERVE_BYTES = 2 * 1024 * 1024
MIN_RESERVE_BYTES = 64 * 1024
#: Compressed payload kept while the spool is in memory (the disk takes nothing).
MEMORY_MAX_BYTES = 8 * 1024 * 1024
_PAGE = 4096
_SQLITE_IOERR_SHMSIZE = getattr(sqlite3, "SQLITE_IOERR_SHMSIZE", 4874)
#: errno values of a full disk or an exhausted quota (Windows has no EDQUOT).
_FULL_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS reports (
    seq INTEGER PRIMARY KEY,
    created_at REAL NOT NULL,
    body BLOB NOT NULL          -- zlib-compressed AgentReport JSON
);
CREATE TABLE IF NOT EXISTS rejected (
    seq INTEGER PRIMARY KEY,
    rejected_at REAL NOT NULL,
    reason TEXT NOT NULL,
    body BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class SpoolError(Exception):
    """The spool cannot be used; the message is meant for the operator."""


class SpoolFullError(SpoolError):
    """The disk holding the spool is full: the write could not be done (see ``put``)."""


def reserve_for(directory: Path) -> int:
    """The reserve for a spool in ``directory``: 1 % of its filesystem, within
    [``MIN_RESERVE_BYTES``, ``RESERVE_BYTES``]; the maximum when the size cannot be read."""
    try:
        total = shutil.disk_usage(directory).total
    except OSError:
        return RESERVE_BYTES
    return max(MIN_RESERVE_BYTES, min(RESERVE_BYTES, total // 100))


def disk_full(exc: BaseException) -> bool:
    """True for SQLite's ``SQLITE_FULL``, ``SQLITE_IOERR_SHMSIZE`` (the WAL index cannot be
    sized: what opening a WAL database on a full disk reports) and for ``ENOSPC`` /
    ``EDQUOT`` from the OS."""
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        return code is not None and (
            code & 0xFF == sqlite3.SQLITE_FULL or code == _SQLITE_IOERR_SHMSIZE
        )
    return isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS


@dataclass(frozen=True)
class SpoolStats:
    pending: int
    pending_bytes: int
    oldest_age_s: float | None
    last_seq: int
    dropped: int
    rejected: int
    #: True while the disk takes nothing and the spool is kept in memory.
    in_memory: bool = False


class Spool:
    """A bounded, durable FIFO of reports keyed by ``seq``. Thread-safe."""

    def __init__(
        self,
        path: Path,
        *,
        max_age_s: float = 8 * 86400,
        max_bytes: int = 256 * 1024 * 1024,
        reserve_bytes: int | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.max_age_s = max_age_s
        self.max_bytes = max_bytes
        self.reserve_path = self.path.with_name(self.path.name + ".reserve")
        self._now = now  # injectable so tests can age reports
        self._lock = threading.Lock()
        self._last_seq = 0
        self._in_memory = False
        #: The disk database's drop counter and pending reports (count, bytes) when the
        #: spool went to memory: added to the memory's own in ``stats``, so the counter
        #: reported never goes backwards and the backlog left on disk stays in sight.
        self._disk_dropped = 0
        self._disk_pending = (0, 0)
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise SpoolError(f"cannot open the spool {self.path}: {exc}") from None
        self.reserve_bytes = (
            reserve_for(self.path.parent) if reserve_bytes is None else reserve_bytes
        )
        try:
            try:
                self._db = self._open()
            except (sqlite3.Error, OSError) as exc:
                if not self._full(exc):
                    raise
                self._release_reserve()  # even reading a WAL database needs a little room
                self._db = self._open()
        except (sqlite3.Error, OSError) as exc:
            if not self._full(exc):
                raise SpoolError(f"cannot open the spool {self.path}: {exc}") from None
            self._read_disk_state()
            self._db = self._memory(f"cannot open the spool {self.path}: {exc}")
            return
        self._restore_reserve()

    def _full(self, exc: BaseException) -> bool:
        """A full disk: SQLite or the OS says so, or an I/O error with less than twice the
        reserve free (what opening a database on a full disk may report instead)."""
        if disk_full(exc):
            return True
        try:
            return shutil.disk_usage(self.path.parent).free < 2 * max(self.reserve_bytes, 1)
        except OSError:
            return False

    def _open(self) -> sqlite3.Connection:
        """The disk database, created if missing; its counter starts past any seq known."""
        # Reports describe the commune's machines: owner-only, like agent.json. SQLite
        # gives its -wal and -shm files the database file's mode.
        os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: a commit survives a process crash; a power cut may lose
            # the last moments, which the collector would not have acked anyway.
            db.execute("PRAGMA synchronous=NORMAL")
            # A small WAL, truncated after each checkpoint: the reserve must cover it.
            quarter = max(self.reserve_bytes // 4, 16 * _PAGE)
            db.execute(f"PRAGMA wal_autocheckpoint={quarter // _PAGE}")
            db.execute(f"PRAGMA journal_size_limit={quarter}")
            self._init(db)
        except BaseException:
            db.close()
            raise
        return db

    def _init(self, db: sqlite3.Connection) -> None:
        db.executescript(_SCHEMA)
        with _Tx(db, self._lock):
            db.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('seq', ?)",
                (max(int(self._now() * 1000), self._last_seq),),
            )
            for key in ("dropped", "rejected"):
                db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, 0)", (key,))
            row = db.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()
        self._last_seq = max(self._last_seq, int(row[0]))

    def _read_disk_state(self, db: sqlite3.Connection | None = None) -> None:
        """Note the disk database's drop counter and backlog (read-only; zero when even
        that fails)."""
        # Read-only; "immutable" when even a read-only open needs room (the WAL index).
        for uri in ("mode=ro", "immutable=1") if db is None else ("",):
            own = db is None
            try:
                conn = db or sqlite3.connect(f"file:{self.path}?{uri}", uri=True)
                try:
                    row = conn.execute("SELECT value FROM meta WHERE key = 'dropped'").fetchone()
                    count, size = conn.execute(
                        "SELECT COUNT(*), COALESCE(SUM(LENGTH(body)), 0) FROM reports"
                    ).fetchone()
                finally:
                    if own:
                        conn.close()
                break
            except sqlite3.Error:
                continue
        else:
            return
        self._disk_dropped = int(row[0]) if row else 0
        self._disk_pending = (int(count), int(size))

    def _to_memory(self, why: str) -> None:
        """Leave the disk database (its reports stay there) and carry on in memory."""
        with self._lock:
            self._read_disk_state(self._db)
        mem = self._memory(why)
        with self._lock:
            disk, self._db = self._db, mem
        disk.close()

    def _back_to_disk(self) -> None:
        """While in memory: once the disk has room, move the reports kept in memory and the
        drop count into the disk database in one transaction, and use it again."""
        try:
            if shutil.disk_usage(self.path.parent).free < 2 * self.reserve_bytes:
                return
            disk = self._open()
        except (sqlite3.Error, OSError) as exc:
            log.debug("the spool stays in memory: %s", exc)
            return
        mem = self._db
        try:
            with _Tx(disk, self._lock):
                rows = mem.execute("SELECT seq, created_at, body FROM reports").fetchall()
                disk.executemany(
                    "INSERT OR REPLACE INTO reports (seq, created_at, body) VALUES (?, ?, ?)", rows
                )
                disk.executemany(
                    "INSERT OR REPLACE INTO rejected (seq, rejected_at, reason, body) "
                    "VALUES (?, ?, ?, ?)",
                    mem.execute("SELECT seq, rejected_at, reason, body FROM rejected"),
                )
                meta = dict(mem.execute("SELECT key, value FROM meta").fetchall())
                disk.execute(
                    "UPDATE meta SET value = MAX(value, ?) WHERE key = 'seq'", (meta["seq"],)
                )
                for key in ("dropped", "rejected"):
                    disk.execute(
                        "UPDATE meta SET value = value + ? WHERE key = ?", (meta[key], key)
                    )
                row = disk.execute("SELECT value FROM meta WHERE key = 'dropped'").fetchone()
        except (sqlite3.Error, OSError) as exc:
            disk.close()
            log.debug("the spool stays in memory: %s", exc)
            return
        with self._lock:
            self._db, self._in_memory = disk, False
        dropped = int(row[0])
        mem.close()
        log.warning(
            "the disk in %s has room again: the spool is back on disk (%d report(s) moved "
            "from memory; %d dropped in all)",
            self.path.parent,
            len(rows),
            dropped,
        )
        self._restore_reserve()

    def _memory(self, why: str) -> sqlite3.Connection:
        """An in-memory spool (module docstring, "in memory"); the caller switches to it."""
        db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        self._init(db)
        self._in_memory = True
        log.error(
            "disk full in %s: %s; reports are kept in memory (at most %d bytes) and sent "
            "from there until the disk has room again; free space on that disk",
            self.path.parent,
            why,
            MEMORY_MAX_BYTES,
        )
        return db

    # -- plumbing

    def _tx(self) -> _Tx:
        return _Tx(self._db, self._lock)

    def close(self) -> None:
        if self._in_memory:
            self._back_to_disk()
        if self._in_memory:
            stats = self.stats()
            kept = stats.pending - self._disk_pending[0]
            if kept or stats.dropped > self._disk_dropped:
                log.error(
                    "disk full in %s: stopping with %d report(s) kept in memory and %d drop(s) "
                    "counted there; they are lost",
                    self.path.parent,
                    kept,
                    stats.dropped - self._disk_dropped,
                )
        with self._lock:
            self._db.close()

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _meta(self, key: str) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return int(row[0]) if row else 0

    def _write(self, op: Callable[[bool], T], what: str) -> T:
        """Run ``op(False)`` in a transaction. On a full disk, release the reserve, fold the
        WAL back and run ``op(True)`` ("make room") once more; then give up with
        :class:`SpoolFullError` naming ``what`` could not be done."""
        try:
            with self._tx():
                return op(False)
        except (sqlite3.Error, OSError) as exc:
            if not disk_full(exc):
                raise
        self._free_space()
        try:
            with self._tx():
                return op(True)
        except (sqlite3.Error, OSError) as exc:
            if not disk_full(exc):
                raise
        raise SpoolFullError(f"disk full in {self.path.parent}: {what}; free space on that disk")

    def _free_space(self) -> None:
        self._release_reserve()
        self._checkpoint()

    def _release_reserve(self) -> None:
        with self._lock:
            if self.reserve_path.exists():
                self.reserve_path.unlink()
                log.error(
                    "disk full in %s: released the spool's %d-byte reserve; free space on "
                    "that disk",
                    self.path.parent,
                    self.reserve_bytes,
                )

    def _checkpoint(self) -> None:
        """Fold the WAL into the database and truncate it (gives its space back)."""
        with self._lock:
            try:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error as exc:  # needs room too: the next write will tell
                log.debug("checkpoint on a full disk failed: %s", exc)

    def _tight(self) -> bool:
        """True while the reserve is gone and less than twice its size is free: the spool
        then stops growing (each new report replaces the oldest, the WAL is truncated after
        each write), so it never wedges the disk it shares."""
        if self._in_memory or self.reserve_bytes <= 0 or self.reserve_path.exists():
            return False
        self._restore_reserve()
        try:
            free = shutil.disk_usage(self.path.parent).free
        except OSError:
            return False
        return not self.reserve_path.exists() and free < 2 * self.reserve_bytes

    def _restore_reserve(self) -> None:
        """(Re)create the reserve when missing and the disk has ample room again."""
        if self._in_memory or self.reserve_bytes <= 0 or self.reserve_path.exists():
            return
        try:
            if shutil.disk_usage(self.path.parent).free < 3 * self.reserve_bytes:
                return
            fd = os.open(self.reserve_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                if hasattr(os, "posix_fallocate"):
                    os.posix_fallocate(fd, 0, self.reserve_bytes)  # allocated, not sparse
                else:
                    os.write(fd, bytes(self.reserve_bytes))
            finally:
                os.close(fd)
        except OSError as exc:
            self.reserve_path.unlink(missing_ok=True)
            log.warning(
                "cannot keep a %d-byte reserve beside the spool in %s: %s",
                self.reserve_bytes,
                self.path.parent,
                exc.strerror or exc,
            )

    # -- API

    def next_seq(self) -> int:
        """Reserve the next seq (committed, so never handed out twice).

        On a full disk the seq comes from memory: it is committed with the report if the
        report gets in, and a seq that was never stored may be handed out again."""

        def op(_room: bool) -> int:
            row = self._db.execute(
                "UPDATE meta SET value = MAX(value + 1, ?) WHERE key = 'seq' RETURNING value",
                (self._last_seq + 1,),
            ).fetchone()
            return int(row[0])

        try:
            seq = self._write(op, "cannot number the next report")
        except SpoolFullError:
            seq = self._last_seq + 1
        self._last_seq = seq
        return seq

    def put(self, report: AgentReport) -> None:
        """Commit ``report`` durably, then enforce the age and size bounds.

        When the disk is full even after the reserve was released and the oldest reports
        were dropped, the spool goes to memory (module docstring) with this report.
        """
        body = zlib.compress(report.to_json(), 6)
        if self._in_memory:
            self._back_to_disk()
        tight = self._tight()

        def op(make_room: bool) -> int:
            # Tight: the new report replaces the oldest; after a failed write: drop the
            # oldest until the new report's size is freed.
            room = self._drop_oldest(len(body) if make_room else 1) if make_room or tight else 0
            self._db.execute(
                "INSERT OR REPLACE INTO reports (seq, created_at, body) VALUES (?, ?, ?)",
                (report.seq, self._now(), body),
            )
            # Keep the counter ahead of any seq stored, whoever chose it.
            self._db.execute(
                "UPDATE meta SET value = MAX(value, ?) WHERE key = 'seq'", (report.seq,)
            )
            self._enforce_bounds()
            return room

        try:
            room = self._write(op, f"report seq {report.seq} cannot be written")
        except SpoolFullError as exc:
            # The disk takes nothing: this report and the next ones are kept in memory.
            why = str(exc).removeprefix(f"disk full in {self.path.parent}: ")
            self._to_memory(why.removesuffix("; free space on that disk"))
            tight = False
            room = self._write(op, f"report seq {report.seq} cannot be kept in memory")
        with self._lock:
            self._last_seq = max(self._last_seq, report.seq)
        if tight:
            self._checkpoint()
        if room:
            log.error(
                "disk full in %s: dropped the %d oldest report(s) of the spool to make "
                "room for report seq %d",
                self.path.parent,
                room,
                report.seq,
            )

    def _drop_oldest(self, nbytes: int) -> int:
        """Drop the oldest reports until ``nbytes`` of payload are freed; count them."""
        seqs: list[int] = []
        freed = 0
        for seq, size in self._db.execute("SELECT seq, LENGTH(body) FROM reports ORDER BY seq"):
            if freed >= nbytes:
                break
            seqs.append(seq)
            freed += size
        if seqs:
            self._db.executemany("DELETE FROM reports WHERE seq = ?", [(s,) for s in seqs])
            self._db.execute(
                "UPDATE meta SET value = value + ? WHERE key = 'dropped'", (len(seqs),)
            )
        return len(seqs)

    def _enforce_bounds(self) -> None:
        limit = min(self.max_bytes, MEMORY_MAX_BYTES) if self._in_memory else self.max_bytes
        cutoff = self._now() - self.max_age_s
        dropped = self._db.execute(
            "DELETE FROM reports WHERE created_at < ? RETURNING seq", (cutoff,)
        ).fetchall()
        n_age = len(dropped)
        n_size = 0
        total = self._db.execute("SELECT COALESCE(SUM(LENGTH(body)), 0) FROM reports").fetchone()[0]
        if total > limit:
            # Walk from the oldest, dropping until the rest fits.
            excess = total - limit
            seqs: list[int] = []
            for seq, size in self._db.execute("SELECT seq, LENGTH(body) FROM reports ORDER BY seq"):
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
                n_age,
                self.max_age_s,
                n_size,
                limit,
            )

    def pending(self, limit: int = 50) -> list[AgentReport]:
        """The oldest ``limit`` unacknowledged reports, in seq order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, body FROM reports ORDER BY seq LIMIT ?", (limit,)
            ).fetchall()
        out: list[AgentReport] = []
        for seq, body in rows:
            try:
                out.append(AgentReport.decode_json(zlib.decompress(body)))
            except (zlib.error, ValueError) as exc:
                self.reject([seq], f"unreadable in spool: {exc}")
        return out

    def ack(self, seqs: Iterable[int]) -> int:
        """Delete acknowledged reports; returns how many were pending.

        Raises :class:`SpoolFullError` when the disk is too full even to delete: the reports
        stay and are sent again (the collector acknowledges duplicates without storing them).
        """
        params = [(int(s),) for s in seqs]

        def op(_room: bool) -> int:
            before = self._db.total_changes
            self._db.executemany("DELETE FROM reports WHERE seq = ?", params)
            return self._db.total_changes - before

        return self._write(
            op,
            f"cannot remove {len(params)} acknowledged report(s) from the spool; they "
            "will be sent again",
        )

    def reject(self, seqs: Iterable[int], reason: str) -> None:
        """Move reports the collector will never accept to the ``rejected`` table."""
        params = [(int(s),) for s in seqs]

        def op(_room: bool) -> None:
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

        self._write(op, f"cannot move {len(params)} refused report(s) to quarantine")

    def stats(self) -> SpoolStats:
        with self._lock:
            count, size, oldest = self._db.execute(
                "SELECT COUNT(*), COALESCE(SUM(LENGTH(body)), 0), MIN(created_at) FROM reports"
            ).fetchone()
            if self._in_memory:
                count += self._disk_pending[0]
                size += self._disk_pending[1]
            return SpoolStats(
                pending=count,
                pending_bytes=size,
                oldest_age_s=None if oldest is None else max(0.0, self._now() - oldest),
                last_seq=max(self._meta("seq"), self._last_seq),
                dropped=self._meta("dropped") + (self._disk_dropped if self._in_memory else 0),
                rejected=self._meta("rejected"),
                in_memory=self._in_memory,
            )


class _Tx:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` under the spool's lock (rollback on error)."""

    def __init__(self, db: sqlite3.Connection, lock: threading.Lock) -> None:
        self.db, self.lock = db, lock

    def __enter__(self) -> None:
        self.lock.acquire()
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.lock.release()
            raise

    def __exit__(self, exc_type: object, *rest: object) -> None:
        try:
            if exc_type is None:
                try:
                    self.db.execute("COMMIT")
                except sqlite3.Error:
                    # SQLITE_FULL may or may not roll back by itself: leave no transaction.
                    if self.db.in_transaction:
                        self.db.execute("ROLLBACK")
                    raise
            elif self.db.in_transaction:
                self.db.execute("ROLLBACK")
        finally:
            self.lock.release()
