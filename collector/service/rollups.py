"""Daily roll-ups and retention (docs/ARCHITECTURE.md, "Retention and roll-ups").

A **roll-up** turns one calendar day (``Asia/Ho_Chi_Minh``) of the change log
(``commune_changes``, :mod:`collector.service.changes`) into one ``commune_days`` row per
commune of the register (working seconds in each colour) and ``criterion_days`` rows (per
criterion, working seconds assessed and passed). It replaces the day's rows in one
transaction: running it again gives the same numbers, and a kill leaves the old rows or the
new ones, never half of each.

**Retention** prunes, each step in batches of its own short transactions (ingest waits at
most one batch): raw reports older than ``reports_days`` whole days, and the change log as
far, but never a day not yet rolled up (the last change of each commune before the cutoff is
kept: the state the next day starts from); roll-ups older than ``rollup_years``; the
coverage history down to one point per scope and day (the day's last) once older than
``coverage_detail_days``. Deleting is idempotent, so a kill loses nothing a re-run does not
finish.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, and_, delete, func, select, tuple_

from collector.criteria.engine import COLOURS
from collector.domain.errors import InvalidInputError
from collector.service.base import Core, Service
from collector.service.changes import CommuneState
from collector.storage import schema as db
from collector.storage.codecs import as_utc

#: The day of a roll-up is the calendar day here, whatever a province's own time zone.
DAY_ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
#: Statuses that say something about a criterion (assessed); waived and not applicable
#: do not, nor unknown.
ASSESSED = frozenset({"pass", "warn", "fail"})
GREY = "grey"
#: PostgreSQL advisory lock key of a roll-up (clear of the communes' 5-digit keys).
ROLLUP_LOCK = 1_180_001
#: Batches one periodic pass deletes at most per kind (the rest waits for the next pass).
PASS_BATCHES = 20
#: Communes whose roll-up rows one retention transaction deletes.
COMMUNE_CHUNK = 200

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Retention:
    """How long each kind of data is kept (``retention:`` in the configuration)."""

    reports_days: int = 14
    rollup_years: int = 5
    coverage_detail_days: int = 30
    batch: int = 5000


@dataclass
class Pruned:
    """What one pruning deleted: rows of each kind."""

    reports: int = 0
    changes: int = 0
    rollups: int = 0
    coverage: int = 0
    #: Complete days not rolled up yet, whose raw data was kept for them.
    waiting: int = 0

    @property
    def total(self) -> int:
        return self.reports + self.changes + self.rollups + self.coverage


@dataclass
class DayFigures:
    """One commune's day: working seconds, in each colour, and per criterion."""

    working_s: int = 0
    colours: Counter[str] = field(default_factory=Counter)
    assessed: Counter[str] = field(default_factory=Counter)
    passed: Counter[str] = field(default_factory=Counter)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """A calendar day of ``Asia/Ho_Chi_Minh`` as UTC instants [start, end)."""
    start = datetime.combine(day, time(), DAY_ZONE)
    end = datetime.combine(day + timedelta(days=1), time(), DAY_ZONE)
    return start, end


def _secs(instant: datetime) -> int:
    return math.floor(as_utc(instant).timestamp())


def spend_day(
    bounds: tuple[int, int],
    windows: Iterable[tuple[int, int]],
    start: CommuneState | None,
    changes: Iterable[CommuneState],
) -> DayFigures:
    """How a commune spent the working ``windows`` (Unix seconds, within ``bounds``) of a
    day that began in state ``start`` (None: never evaluated, grey) and went through
    ``changes`` (in order). Whole seconds throughout, so the colours sum to the working
    time exactly; while grey (silent) no criterion is assessed."""
    day_start, day_end = bounds
    windows = list(windows)
    points: list[tuple[int, CommuneState | None]] = [(day_start, start)]
    points += [(max(day_start, _secs(c.at)), c) for c in changes]
    out = DayFigures(working_s=sum(e - s for s, e in windows))
    for i, (a, state) in enumerate(points):
        b = points[i + 1][0] if i + 1 < len(points) else day_end
        spent = sum(max(0, min(b, e) - max(a, s)) for s, e in windows)
        if spent <= 0:
            continue
        colour = state.colour if state is not None else GREY
        out.colours[colour] += spent
        for cid, status in (state.statuses if state is not None else {}).items():
            known = colour != GREY and status in ASSESSED
            out.assessed[cid] += spent if known else 0
            out.passed[cid] += spent if known and status == "pass" else 0
    return out


class Rollups(Service):
    def __init__(self, core: Core, retention: Retention | None = None) -> None:
        super().__init__(core)
        self.retention = retention or Retention()
        #: The last day the periodic pass found rolled up (a shortcut; the database decides).
        self._rolled_through: date | None = None
        self._rollups_pruned_on: date | None = None

    # ------------------------------------------------------------------ days
    def today(self) -> date:
        return self.clock().astimezone(DAY_ZONE).date()

    def oldest_rollup(self) -> date:
        """The first day whose roll-up retention keeps."""
        return self.today() - timedelta(days=round(365.25 * self.retention.rollup_years))

    def horizon(self) -> date:
        """The first day whose raw data retention keeps; earlier days may be pruned."""
        return self.today() - timedelta(days=self.retention.reports_days)

    def check_day(self, day: date) -> None:
        """Refuse a day that cannot be rolled up: not complete yet, or rolled up already
        and past raw retention (its change log may be pruned)."""
        if day >= self.today():
            raise InvalidInputError(
                f"{day.isoformat()}: only a complete day can be rolled up (before "
                f"{self.today().isoformat()}) / chỉ tổng hợp được ngày đã kết thúc"
            )
        if day < self.horizon() and day in self.rolled_days(day, day):
            raise InvalidInputError(
                f"{day.isoformat()}: its raw data is past retention ({self.retention.reports_days}"
                " days); its roll-up is kept as it is / dữ liệu gốc đã quá hạn lưu giữ, "
                "số liệu tổng hợp được giữ nguyên"
            )

    def rolled_days(self, since: date, until: date | None = None) -> set[date]:
        """Days from ``since`` (to ``until``) that have a roll-up (every commune has a row
        once rolled; read through one province's index)."""
        province = min(self.units.by_province)
        cd = db.commune_days.c
        with self.database.read() as conn:
            return set(
                conn.execute(
                    select(cd.day)
                    .distinct()
                    .where(
                        and_(
                            cd.province_code == province,
                            cd.day >= since,
                            cd.day <= (until or self.today()),
                        )
                    )
                ).scalars()
            )

    def pending_days(self) -> list[date]:
        """Complete days, from the first change logged (within roll-up retention), without
        a roll-up yet, oldest first."""
        c = db.commune_changes.c
        with self.database.read() as conn:
            first = conn.execute(select(func.min(c.at))).scalar()
        if first is None:
            return []
        lo = max(as_utc(first).astimezone(DAY_ZONE).date(), self.oldest_rollup())
        done = self.rolled_days(lo)
        days = (lo + timedelta(days=n) for n in range((self.today() - lo).days))
        return [d for d in days if d not in done]

    # ------------------------------------------------------------------ rolling up
    def roll_day(self, day: date) -> int:
        """Roll up ``day`` for every commune, replacing its rows in one transaction;
        returns the number of communes. Idempotent."""
        self.check_day(day)
        start, end = day_bounds(day)
        bounds = (_secs(start), _secs(end))
        before, during = self._read_changes(start, end)
        windows: dict[str, list[tuple[int, int]]] = {}
        days, criteria = [], []
        rolled_at = self.clock()
        for code, commune in sorted(self.units.communes.items()):
            p = commune.province_code
            if p not in windows:
                windows[p] = self._windows(p, day, bounds)
            f = spend_day(bounds, windows[p], before.get(code), during.get(code, []))
            days.append(
                {
                    "commune_code": code,
                    "day": day,
                    "province_code": p,
                    "working_s": f.working_s,
                    **{f"{c.value}_s": f.colours[c.value] for c in COLOURS},
                    "rolled_at": rolled_at,
                }
            )
            criteria += [
                {
                    "commune_code": code,
                    "day": day,
                    "criterion_id": cid,
                    "assessed_s": f.assessed[cid],
                    "passed_s": f.passed[cid],
                }
                for cid in sorted(f.assessed)
                if f.working_s
            ]
        self._replace(day, days, criteria)
        return len(days)

    def _windows(self, province: str, day: date, bounds: tuple[int, int]) -> list[tuple[int, int]]:
        """The province's working time within the day, as Unix seconds (its sessions of the
        days around, clipped: a province may keep another time zone)."""
        cal = self.calendar.of(province)
        lo, hi = bounds
        out = []
        for d in (day - timedelta(days=1), day, day + timedelta(days=1)):
            for s, e in cal.intervals(d):
                a, b = max(lo, _secs(s)), min(hi, _secs(e))
                if b > a:
                    out.append((a, b))
        return out

    def _read_changes(
        self, start: datetime, end: datetime
    ) -> tuple[dict[str, CommuneState], dict[str, list[CommuneState]]]:
        """Each commune's state when the day starts and its changes during it."""
        c = db.commune_changes.c
        last = (
            select(func.max(c.id).label("id"))
            .where(c.at < start)
            .group_by(c.commune_code)
            .subquery()
        )
        cols = (c.commune_code, c.at, c.colour, c.statuses)
        with self.database.read() as conn:
            before = {
                r.commune_code: CommuneState(as_utc(r.at), r.colour, r.statuses)
                for r in conn.execute(select(*cols).join(last, c.id == last.c.id))
            }
            during: dict[str, list[CommuneState]] = {}
            for r in conn.execute(
                select(*cols).where(and_(c.at >= start, c.at < end)).order_by(c.id)
            ):
                during.setdefault(r.commune_code, []).append(
                    CommuneState(as_utc(r.at), r.colour, r.statuses)
                )
        return before, during

    def _replace(self, day: date, days: list[dict], criteria: list[dict]) -> None:
        """The day's rows, every commune's, in place of any it had (one statement a table:
        a roll-up covers every commune of its day)."""
        cd, kd = db.commune_days, db.criterion_days
        with self.database.write() as conn:
            self.database.lock_task(conn, ROLLUP_LOCK)
            for table in (kd, cd):
                conn.execute(delete(table).where(table.c.day == day))
            conn.execute(cd.insert(), days)
            if criteria:
                conn.execute(kd.insert(), criteria)

    def roll_pending(self, progress: Progress | None = None) -> list[date]:
        """Roll up every complete day not yet rolled up (today is left for tomorrow);
        returns the days rolled."""
        days = self.pending_days()
        for day in days:
            n = self.roll_day(day)
            if progress:
                progress(f"{day.isoformat()}: {n}")
        self._rolled_through = self.today() - timedelta(days=1)
        return days

    # ------------------------------------------------------------------ retention
    def prune(self, max_batches: int | None = None, progress: Progress | None = None) -> Pruned:
        """Delete what retention no longer keeps, ``max_batches`` batches of each kind at
        most (None: until done). Raw data of a day not rolled up yet is kept."""
        pending = self.pending_days() if self._rolled_through != self.yesterday() else []
        keep_from = min([self.horizon(), *pending[:1]])
        cutoff = day_bounds(keep_from)[0]
        out = Pruned(waiting=len(pending))
        out.reports = self._prune_reports(cutoff, max_batches, progress)
        out.changes = self._prune_changes(cutoff, max_batches, progress)
        out.coverage = self._downsample_coverage(progress)
        if max_batches is None or self._rollups_pruned_on != self.today():
            out.rollups = self._prune_rollups(progress)
            self._rollups_pruned_on = self.today()
        return out

    def yesterday(self) -> date:
        return self.today() - timedelta(days=1)

    def _batches(
        self,
        pick: Callable[[Connection, int], list],
        drop: Callable[[Connection, list], None],
        max_batches: int | None,
        progress: Progress | None,
        what: str,
    ) -> int:
        """Delete in batches, each its own transaction, until a batch comes short."""
        total, n = 0, 0
        while max_batches is None or n < max_batches:
            with self.database.write() as conn:
                keys = pick(conn, self.retention.batch)
                if keys:
                    drop(conn, keys)
            total += len(keys)
            n += 1
            if progress and keys:
                progress(f"{what}: {total}")
            if len(keys) < self.retention.batch:
                break
        return total

    def _prune_reports(
        self, cutoff: datetime, max_batches: int | None, progress: Progress | None
    ) -> int:
        r = db.reports.c

        def pick(conn: Connection, n: int) -> list:
            q = select(r.agent_id, r.seq).where(r.observed_at < cutoff).order_by(r.observed_at)
            return [tuple(row) for row in conn.execute(q.limit(n))]

        def drop(conn: Connection, keys: list) -> None:
            conn.execute(delete(db.reports).where(tuple_(r.agent_id, r.seq).in_(keys)))

        return self._batches(pick, drop, max_batches, progress, "reports")

    def _prune_changes(
        self, cutoff: datetime, max_batches: int | None, progress: Progress | None
    ) -> int:
        c = db.commune_changes.c
        kept = select(func.max(c.id)).where(c.at < cutoff).group_by(c.commune_code)

        def pick(conn: Connection, n: int) -> list:
            q = select(c.id).where(and_(c.at < cutoff, c.id.not_in(kept))).order_by(c.id)
            return list(conn.execute(q.limit(n)).scalars())

        def drop(conn: Connection, ids: list) -> None:
            conn.execute(delete(db.commune_changes).where(c.id.in_(ids)))

        return self._batches(pick, drop, max_batches, progress, "changes")

    def _prune_rollups(self, progress: Progress | None) -> int:
        """Roll-ups older than ``rollup_years``, a chunk of communes per transaction (each
        delete follows the tables' primary keys)."""
        oldest = self.oldest_rollup()
        codes = sorted(self.units.communes)
        total = 0
        for i in range(0, len(codes), COMMUNE_CHUNK):
            part = codes[i : i + COMMUNE_CHUNK]
            with self.database.write() as conn:
                for table in (db.criterion_days, db.commune_days):
                    res = conn.execute(
                        delete(table).where(
                            and_(
                                self.database.among(table.c.commune_code, part),
                                table.c.day < oldest,
                            )
                        )
                    )
                    total += res.rowcount or 0
        if progress and total:
            progress(f"roll-ups: {total}")
        return total

    def _downsample_coverage(self, progress: Progress | None) -> int:
        """Coverage points older than ``coverage_detail_days``: the last of each scope and
        day kept. Walks back from the newest such day until one already thinned."""
        h = db.coverage_history.c
        day = self.today() - timedelta(days=self.retention.coverage_detail_days + 1)
        with self.database.read() as conn:
            first = conn.execute(select(func.min(h.taken_at))).scalar()
        if first is None:
            return 0
        first_day = as_utc(first).astimezone(DAY_ZONE).date()
        total = 0
        while day >= first_day:
            start, end = day_bounds(day)
            with self.database.write() as conn:
                rows = conn.execute(
                    select(h.id, h.scope)
                    .where(and_(h.taken_at >= start, h.taken_at < end))
                    .order_by(h.taken_at, h.id)
                ).all()
                last = {scope: i for i, scope in rows}
                extra = [i for i, scope in rows if last[scope] != i]
                if rows and not extra:
                    break  # thinned already, and every day before it
                if extra:
                    conn.execute(delete(db.coverage_history).where(h.id.in_(extra)))
            total += len(extra)
            day -= timedelta(days=1)
        if progress and total:
            progress(f"coverage: {total}")
        return total

    # ------------------------------------------------------------------ the periodic pass
    def periodic(self) -> tuple[list[date], Pruned]:
        """What the collector's background pass does every minute: roll up the days that
        ended (once a day in practice), then prune a bounded number of batches."""
        rolled: list[date] = []
        if self._rolled_through != self.yesterday():
            rolled = self.roll_pending()
        return rolled, self.prune(max_batches=PASS_BATCHES)
