"""Retention over a month: one province's hosts through 30 simulated days, the database's
size day by day, the cost of pruning while ingest runs, and the nation extrapolated.

The services read a :class:`~collector.demo.month.DemoClock`, set to one simulated instant
after another (never slept through), as the demo's month does: every host reports at each
instant of its province's working time (:func:`~collector.demo.month.working_ticks`, the
calendar: no report at night, at weekends or on public holidays) through the collector's own
ingest use case (``services.ingest.ingest_many``), with ``observed_at`` set to that instant.
Every simulated night the collector's background pass runs (``Rollups.periodic``: the
roll-up of the day that ended, then a bounded number of pruning batches), and the database is
measured. One report a minute is the real rate; the benchmark compresses it (one report per
host every ``step``), so sizes are scaled linearly to one a minute: :func:`bytes_per_report`
measures two rates to check that storage is linear in reports.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from typing import Any

from sqlalchemy import func, select, text

from bench.nation import Host, register_hosts
from checks.model import CheckResult
from collector.criteria.rules import Rules
from collector.demo.month import DemoClock, report_at, working_ticks
from collector.demo.simulator import office_results, plan_nation, simulated_results
from collector.service import Services
from collector.service.rollups import DAY_ZONE, PASS_BATCHES
from collector.storage import schema as db

#: Hà Nội: 126 communes, the largest province of the register.
PROVINCE = "01"
#: A Monday; 30 days from it hold 4 weekends and the National Day holidays (1-2 September).
START = date(2026, 8, 17)
#: When the background pass's nightly roll-up and pruning are simulated (local time).
NIGHT = clock_time(0, 30)
#: Reports stored per transaction (the group commit's batch).
GROUP = 250
#: The tables whose rows are counted each day.
TABLES = ("reports", "commune_changes", "commune_days", "criterion_days")
#: The roll-ups' tables.
ROLLUP_TABLES = ("commune_days", "criterion_days")
#: National figures for the extrapolation: hosts (about 15 a commune) and communes.
NATION_HOSTS = 50_000
NATION_COMMUNES = 3_321
#: PASC machines of the nation: one a commune that reports (the simulator's plan).
NATION_PASC = 3_284


@dataclass
class Fleet:
    """The simulated hosts of a province: who they are and what they measure (each host's
    results drawn once, reported again at every instant, as Month does)."""

    hosts: list[Host]
    results: list[list[CheckResult]]
    seq: list[int]

    def reports_at(self, at: datetime) -> list[tuple[Any, list[Any]]]:
        """Every host's next report, measured at ``at``, as ``ingest_many`` takes them."""
        out = []
        for i, (ident, host, _pasc) in enumerate(self.hosts):
            self.seq[i] += 1
            out.append((ident, [report_at(ident, host, self.seq[i], self.results[i], at)]))
        return out


def province_fleet(
    services: Services, province: str, hosts: int, communes: int | None = None, seed: int = 1
) -> Fleet:
    """``hosts`` hosts registered in the communes of ``province`` that are not silent in the
    simulator's plan (the first ``communes`` of them, None: all): each commune's PASC
    machine with its planned faults, office PCs."""
    plans = {
        p.code: p
        for p in sorted(plan_nation(services.units, seed).values(), key=lambda p: p.code)
        if p.province_code == province and not p.silent
    }
    plans = dict(list(plans.items())[:communes])
    work = register_hosts(services, list(plans.values()), hosts)
    rng = random.Random(seed)
    results = [
        simulated_results(plans[ident.commune_code], rng) if pasc else office_results(rng)
        for ident, _host, pasc in work
    ]
    return Fleet(work, results, [0] * len(work))


def keep_fresh(services: Services, step: timedelta) -> None:
    """Hosts count as fresh until their next compressed report (at the real rate of one a
    minute none goes stale in working time), as the demo's month does."""
    rules = services.rules.current()
    stale_after_s = max(rules.stale_after_s, int(step.total_seconds()) + 120)
    services.rules.replace(
        Rules.of(rules.catalogue.model_copy(update={"stale_after_s": stale_after_s}))
    )


def ingest_at(services: Services, fleet: Fleet, at: datetime) -> int:
    """Every host's report at ``at``, stored in groups; returns the reports accepted."""
    batches = fleet.reports_at(at)
    accepted = 0
    for i in range(0, len(batches), GROUP):
        for outcome in services.ingest.ingest_many(batches[i : i + GROUP]):
            if isinstance(outcome, Exception):
                raise RuntimeError(f"bench ingest refused at {at.isoformat()}: {outcome}")
            accepted += outcome.accepted
    return accepted


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, clock_time(), DAY_ZONE).astimezone(UTC)


def live_day(services: Services, clock: DemoClock, fleet: Fleet, day: date, step: timedelta) -> int:
    """One simulated day: the fleet reports at each instant of its province's working time;
    returns the reports stored."""
    cal = services.core.calendar.of(fleet.hosts[0][0].province_code)
    start = local_midnight(day)
    stored = 0
    for tick in working_ticks(cal, start, start + timedelta(days=1), step):
        clock.at = tick.at
        stored += ingest_at(services, fleet, tick.at)
    return stored


# ---------------------------------------------------------------------- measuring
def database_bytes(services: Services) -> int:
    """The database's size on disk: the SQLite file after a WAL checkpoint, or
    ``pg_database_size``."""
    if services.database.sqlite:
        with services.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            dbs = conn.exec_driver_sql("PRAGMA database_list").all()
        path = next(file for _seq, name, file in dbs if name == "main")
        return os.path.getsize(path)
    with services.engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one())


def row_counts(services: Services) -> dict[str, int]:
    with services.engine.connect() as conn:
        return {
            t: int(
                conn.execute(select(func.count()).select_from(db.metadata.tables[t])).scalar_one()
            )
            for t in TABLES
        }


def table_bytes(services: Services, tables: tuple[str, ...] = TABLES) -> dict[str, int]:
    """Bytes of each of ``tables`` with its indexes (SQLite's ``dbstat``, each table and
    index read alone; PostgreSQL's ``pg_total_relation_size``)."""
    with services.engine.connect() as conn:
        if not services.database.sqlite:
            size = text("SELECT pg_total_relation_size(CAST(:t AS regclass))")
            return {t: int(conn.execute(size, {"t": t}).scalar_one()) for t in tables}
        out = {}
        for t in tables:
            names = conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE tbl_name = ? AND type IN ('table', 'index')",
                (t,),
            ).scalars()
            out[t] = sum(
                int(
                    conn.exec_driver_sql(
                        "SELECT pgsize FROM dbstat WHERE name = ? AND aggregate = 1", (n,)
                    ).scalar()
                    or 0
                )
                for n in list(names)
            )
        return out


@dataclass(frozen=True)
class DayRow:
    """The database after one simulated day and its night's pass."""

    day: date
    working: bool
    reports_stored: int
    size: int
    rows: dict[str, int]
    #: Bytes of the roll-ups (kept for years: they grow when raw data has plateaued).
    rollup_bytes: int
    night_s: float
    pruned: int


def night(services: Services, clock: DemoClock, day: date) -> tuple[float, int]:
    """The background pass after ``day``: roll-up of the day, then bounded pruning; returns
    its seconds and the reports it pruned."""
    clock.at = datetime.combine(day + timedelta(days=1), NIGHT, DAY_ZONE).astimezone(UTC)
    t = time.perf_counter()
    _rolled, pruned = services.rollups.periodic()
    return time.perf_counter() - t, pruned.reports


def simulate_days(
    services: Services,
    clock: DemoClock,
    fleet: Fleet,
    days: list[date],
    step: timedelta,
    on_day: Callable[[DayRow], None] | None = None,
) -> list[DayRow]:
    """Live ``days`` one after another, each followed by its night; the database measured
    after each night."""
    out = []
    for day in days:
        stored = live_day(services, clock, fleet, day, step)
        night_s, pruned = night(services, clock, day)
        r = DayRow(
            day,
            stored > 0,
            stored,
            database_bytes(services),
            row_counts(services),
            sum(table_bytes(services, ROLLUP_TABLES).values()),
            night_s,
            pruned,
        )
        out.append(r)
        if on_day:
            on_day(r)
    return out


# ---------------------------------------------------------------------- pruning under load
def _ingest_loop(
    services: Services, fleet: Fleet, clock: DemoClock, until: float, done: list[float]
) -> None:
    """Ingest the fleet's reports at full speed, group by group, until ``until``
    (monotonic); appends each group's completion time to ``done`` (GROUP reports each)."""
    while time.monotonic() < until:
        at = clock()
        batches = fleet.reports_at(at)
        for i in range(0, len(batches), GROUP):
            if time.monotonic() >= until:
                return
            services.ingest.ingest_many(batches[i : i + GROUP])
            done.append(time.monotonic())


def _prune_loop(services: Services, until: float, calls: list[tuple[float, float, int]]) -> None:
    """Prune one batch of each kind a call until nothing is left or ``until``; records
    (start, seconds, reports pruned) of each call."""
    while time.monotonic() < until:
        t = time.monotonic()
        pruned = services.rollups.prune(max_batches=1)
        calls.append((t, time.monotonic() - t, pruned.reports))
        if pruned.reports == 0:
            return


def _rate(done: list[float], lo: float, hi: float) -> float:
    """Reports a second stored between ``lo`` and ``hi``."""
    n = sum(1 for t in done if lo <= t < hi)
    return n * GROUP / max(hi - lo, 1e-9)


def prune_under_ingest(
    services: Services, clock: DemoClock, fleet: Fleet, window_s: float, keep_days: int
) -> dict[str, Any]:
    """Ingest at full speed for ``window_s`` alone, then again while another thread prunes
    (retention cut to ``keep_days``, 0: every report before today is due at once): ingest
    throughput with and without pruning, and each prune call's time (one batch of each
    kind, each its own transaction: the write lock is held for at most that)."""
    clock.at = clock() + timedelta(hours=9)  # the next morning: ingest in working time
    services.rollups.roll_pending()
    due = row_counts(services)["reports"]
    alone: list[float] = []
    start = time.monotonic()
    _ingest_loop(services, fleet, clock, start + window_s, alone)
    alone_rate = _rate(alone, start, start + window_s)
    services.rollups.retention = replace(services.rollups.retention, reports_days=keep_days)
    loaded: list[float] = []
    calls: list[tuple[float, float, int]] = []
    start = time.monotonic()
    until = start + window_s
    ingest = threading.Thread(
        target=_ingest_loop, args=(services, fleet, clock, until, loaded), daemon=True
    )
    ingest.start()
    _prune_loop(services, until, calls)
    pruning_ended = time.monotonic()
    ingest.join(timeout=window_s + 60)
    pruned = sum(n for _, _, n in calls)
    batch_s = [s for _, s, n in calls if n]
    return {
        "window_s": window_s,
        "reports_before": due,
        "ingest_alone_per_s": alone_rate,
        "ingest_while_pruning_per_s": _rate(loaded, start, pruning_ended),
        "pruning_s": pruning_ended - start,
        "pruned_reports": pruned,
        "prune_batches": len(batch_s),
        "prune_batch_max_s": max(batch_s, default=0.0),
        "prune_batch_median_s": sorted(batch_s)[len(batch_s) // 2] if batch_s else 0.0,
        "prune_reports_per_s": pruned / max(pruning_ended - start, 1e-9),
        "batch": services.rollups.retention.batch,
    }


# ---------------------------------------------------------------------- the whole section
def open_bench_services(db_url: str, clock: DemoClock, reports_days: int) -> Services:
    """The collector's services over ``db_url`` (migrated), reading ``clock``, raw reports
    kept ``reports_days`` days."""
    from collector.assembly import open_services, settle_gc
    from collector.config import load_config

    services = open_services(
        load_config(None, db=db_url, reevaluate_every_s=0), migrate=True, clock=clock
    )
    services.rollups.retention = replace(services.rollups.retention, reports_days=reports_days)
    settle_gc()
    return services


def calendar_days(start: date, days: int) -> list[date]:
    return [start + timedelta(days=n) for n in range(days)]


def bytes_per_report(
    db_url: Callable[[str], str],
    hosts: int,
    days: int,
    steps: tuple[timedelta, ...],
    communes: int | None = None,
) -> list[dict[str, Any]]:
    """Storage per report at each compressed rate (a fresh database each, no pruning):
    growth of the database, and of the reports table with its indexes, over ``days``
    divided by the reports stored."""
    out = []
    for step in steps:
        minutes = int(step.total_seconds() // 60)
        clock = DemoClock(local_midnight(START))
        services = open_bench_services(db_url(f"rate-{minutes}"), clock, 3660)
        keep_fresh(services, step)
        fleet = province_fleet(services, PROVINCE, hosts, communes)
        before, table_before = database_bytes(services), table_bytes(services)["reports"]
        rows = simulate_days(services, clock, fleet, calendar_days(START, days), step)
        stored = sum(r.reports_stored for r in rows)
        grown = rows[-1].size - before
        out.append(
            {
                "step_min": minutes,
                "hosts": len(fleet.hosts),
                "pasc": sum(1 for _, _, pasc in fleet.hosts if pasc),
                "days": days,
                "reports": stored,
                "bytes": grown,
                "per_report": grown / stored,
                "table_per_report": (table_bytes(services)["reports"] - table_before) / stored,
            }
        )
        services.engine.dispose()
    return out


def bench_retention(
    db_url: Callable[[str], str],
    hosts: int = 1500,
    days: int = 30,
    step: timedelta = timedelta(minutes=120),
    reports_days: int = 14,
    prune_window_s: float = 20.0,
    rate_hosts: int = 200,
    communes: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """The retention benchmark: ``hosts`` hosts of :data:`PROVINCE` for ``days`` days from
    :data:`START`, one report per host every ``step`` of working time, raw reports kept
    ``reports_days`` days; then pruning under ingest (``prune_window_s``; 0 skips it), and
    two rates with ``rate_hosts`` hosts over two days (0 skips it). ``communes``: the
    province's first communes only (None: all). ``db_url(name)`` makes a fresh database."""
    say = progress or (lambda _m: None)
    clock = DemoClock(local_midnight(START))
    services = open_bench_services(db_url("month"), clock, reports_days)
    keep_fresh(services, step)
    fleet = province_fleet(services, PROVINCE, hosts, communes)
    started = time.perf_counter()

    def on_day(r: DayRow) -> None:
        say(
            f"retention: {r.day} {r.reports_stored:,} reports, {r.size / 2**20:,.1f} MiB, "
            f"{r.rows['reports']:,} kept, night {r.night_s:.2f} s"
        )

    rows = simulate_days(services, clock, fleet, calendar_days(START, days), step, on_day)
    month_s = time.perf_counter() - started
    tables = table_bytes(services)
    out: dict[str, Any] = {
        "engine": "SQLite" if services.database.sqlite else "PostgreSQL",
        "province": PROVINCE,
        "hosts": len(fleet.hosts),
        "pasc": sum(1 for _, _, pasc in fleet.hosts if pasc),
        "communes": len(services.units.communes),
        "step_min": step.total_seconds() / 60,
        "reports_days": reports_days,
        "start": START.isoformat(),
        "month_s": month_s,
        "days": [_day_json(r) for r in rows],
        "table_bytes": tables,
        "json_bytes": json_bytes(services),
        "working_min": working_minutes(services, PROVINCE, START),
        "rollup_years": services.rollups.retention.rollup_years,
        "pass_batches": PASS_BATCHES,
        "nation_hosts": NATION_HOSTS,
        "nation_communes": NATION_COMMUNES,
    }
    if prune_window_s > 0:
        say("retention: pruning while ingest runs ...")
        out["prune"] = prune_under_ingest(services, clock, fleet, prune_window_s, keep_days=0)
    services.engine.dispose()
    if rate_hosts > 0:
        say("retention: bytes per report at two rates ...")
        out["rates"] = bytes_per_report(
            db_url, rate_hosts, 2, (timedelta(minutes=120), timedelta(minutes=30)), communes
        )
    out["nation"] = extrapolate(out)
    return out


def _day_json(r: DayRow) -> dict[str, Any]:
    return {
        "day": r.day.isoformat(),
        "working": r.working,
        "reports_stored": r.reports_stored,
        "size": r.size,
        "rows": r.rows,
        "rollup_bytes": r.rollup_bytes,
        "night_s": r.night_s,
        "pruned": r.pruned,
    }


def extrapolate(b: dict[str, Any]) -> dict[str, Any]:
    """The nation at one report a minute: the reports table scales with the reports a
    working day (hosts × working minutes), its bytes a report corrected for the nation's mix
    of PASC machines and office PCs (:data:`NATION_PASC` of :data:`NATION_HOSTS`). A
    roll-up has a ``commune_days`` row for every commune of the register already, and
    ``criterion_days`` rows for each commune evaluated: those scale from the fleet's
    communes to the nation's reporting ones (one PASC machine each)."""
    days, tables, js = b["days"], b["table_bytes"], b["json_bytes"]
    per_report = tables["reports"] / max(days[-1]["rows"]["reports"], 1)
    hosts, pasc = b["hosts"], b["pasc"]
    mix = (pasc * js["pasc"] + (hosts - pasc) * js["office"]) / hosts
    nation_mix = (NATION_PASC * js["pasc"] + (NATION_HOSTS - NATION_PASC) * js["office"]) / (
        NATION_HOSTS
    )
    nation_per_report = per_report - mix + nation_mix
    working = [d["reports_stored"] for d in days if d["working"]]
    per_working_day = sum(working) / max(len(working), 1)
    nation_per_day = NATION_HOSTS * b["working_min"]
    scale = nation_per_day / max(per_working_day, 1)
    # The plateau: the most reports retention held once it pruned (from day reports_days on).
    kept = max(d["rows"]["reports"] for d in days[b["reports_days"] - 1 :] or days)
    # commune_days has a row for every commune of the register; criterion_days only for
    # communes evaluated (those of the fleet here; every reporting commune of the nation).
    rollup_bytes = tables["commune_days"] + tables["criterion_days"] * NATION_PASC / pasc
    rolled_days = max(days[-1]["rows"]["commune_days"] // max(b["communes"], 1), 1)
    return {
        "bytes_per_report": per_report,
        "nation_bytes_per_report": nation_per_report,
        "reports_per_working_day": nation_per_day,
        "bytes_per_working_day": nation_per_day * nation_per_report,
        "plateau_reports": kept * scale,
        "plateau_bytes": kept * scale * nation_per_report,
        "rollup_bytes_per_day": rollup_bytes / rolled_days,
        "rollup_bytes_per_year": rollup_bytes / rolled_days * 365.25,
        "scale": scale,
    }


def json_bytes(services: Services) -> dict[str, float]:
    """The stored JSON of a report, on average, of a PASC machine and of an office PC."""
    r = db.reports.c
    pasc = r.host.like("pasc-%")
    with services.engine.connect() as conn:
        row = conn.execute(
            select(
                func.avg(func.length(r.results)).filter(pasc),
                func.avg(func.length(r.results)).filter(~pasc),
            )
        ).one()
    return {"pasc": float(row[0] or 0), "office": float(row[1] or 0)}


def working_minutes(services: Services, province: str, day: date) -> float:
    """Minutes of working time of ``province`` on ``day`` (a working weekday)."""
    cal = services.core.calendar.of(province)
    return sum((e - s).total_seconds() for s, e in cal.intervals(day)) / 60
