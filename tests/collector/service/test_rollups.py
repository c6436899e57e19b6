"""Daily roll-ups and retention through the store (both databases), time-compressed with an
injectable clock (docs/ARCHITECTURE.md, "Retention and roll-ups"): a commune's working
seconds in each colour and each criterion's pass share equal hand-computed ones over a week
with a colour change mid-morning and over the lunch break, silences, a province day off and a
weekend; rolling a day again gives the same rows; a clock stepped backwards counts no second
twice; retention keeps the raw tables flat over simulated weeks while roll-ups accumulate."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from collector.criteria.catalogue import load_catalogue
from collector.demo.simulator import CommunePlan
from collector.domain.calendar import OfficeCalendar, WorkingCalendar
from collector.domain.errors import InvalidInputError
from collector.domain.units import load_units
from collector.service import Services, services_for
from collector.service.changes import CommuneState
from collector.service.rollups import Retention, spend_day
from collector.storage import schema as db
from collector.storage.connect import create_schema, make_engine
from tests.collector.service.test_silent_hosts import HK, VN, Host, _attest
from tests.conftest import Clock

TUESDAY = date(2026, 12, 1)
WEDNESDAY, THURSDAY, SATURDAY = (TUESDAY + timedelta(days=n) for n in (1, 2, 4))
#: Hà Nội takes Thursday 3 December off (a province day off); Saturday is a weekend day.
CALENDAR = WorkingCalendar(provinces={"01": OfficeCalendar(days_off=frozenset({THURSDAY}))})
WORKING_DAY_S = (4 * 60 + 3 * 60 + 30) * 60  # 07:30-11:30 and 13:30-17:00
OTHER = "00004"  # Phường Ba Đình, Hà Nội: never reports


def at(day: date, hh: int, mm: int) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=VN).astimezone(UTC)


def _store(url: str, clock: Clock, retention: Retention | None = None) -> Services:
    engine = make_engine(url)
    create_schema(engine)
    return services_for(
        engine, load_catalogue(), load_units(), clock, CALENDAR, retention=retention
    )


def _until(clock: Clock, end: datetime, *hosts: Host) -> None:
    """One report a minute from each of ``hosts`` and the periodic pass, until ``end``."""
    while clock() < end:
        for h in hosts:
            h.report()
        hosts[0].services.evaluation.reevaluate()
        clock.advance(minutes=1)


def _quiet(services: Services, clock: Clock, end: datetime) -> None:
    """No reports until ``end``: the periodic pass alone, every 10 minutes (a silence is
    logged from the moment it began, whenever the pass finds it)."""
    while clock() < end:
        services.evaluation.reevaluate()
        clock.advance(minutes=10)


def _days(services: Services, day: date) -> dict[str, dict[str, Any]]:
    cd = db.commune_days.c
    with services.database.read() as conn:
        rows = conn.execute(select(db.commune_days).where(cd.day == day)).mappings().all()
    return {r["commune_code"]: {k: v for k, v in r.items() if k != "rolled_at"} for r in rows}


def _criteria(services: Services, day: date, code: str = HK) -> dict[str, tuple[int, int]]:
    kd = db.criterion_days.c
    with services.database.read() as conn:
        rows = conn.execute(
            select(kd.criterion_id, kd.assessed_s, kd.passed_s).where(
                kd.day == day, kd.commune_code == code
            )
        ).all()
    return {cid: (a, p) for cid, a, p in rows}


def _figures(row: dict[str, Any]) -> tuple[int, ...]:
    return tuple(row[k] for k in ("working_s", "green_s", "yellow_s", "red_s", "grey_s"))


@pytest.fixture
def week(new_database: Callable[[str], str]) -> tuple[Services, Clock]:
    """Tuesday: healthy from 07:40, a failing PC from 10:00 that recovers at 12:00 (over
    lunch), both silent after 16:29. Wednesday: grey until 09:00, then the clock steps back
    20 minutes while the failing PC reports again, both silent after (clock) 10:49."""
    clock = Clock(at(TUESDAY, 7, 0))
    services = _store(new_database("collector.db"), clock)
    _attest(services)
    office, pasc = Host(services, clock, "office"), Host(services, clock, "pasc", "disk_full")
    _quiet(services, clock, at(TUESDAY, 7, 40))
    _until(clock, at(TUESDAY, 10, 0), office)
    _until(clock, at(TUESDAY, 12, 0), office, pasc)
    pasc.plan = CommunePlan(HK, "01", False, ())  # the disk cleaned up
    _until(clock, at(TUESDAY, 16, 30), office, pasc)
    _quiet(services, clock, at(WEDNESDAY, 9, 0))
    _until(clock, at(WEDNESDAY, 9, 10), office)
    clock.now = at(WEDNESDAY, 8, 50)  # stepped back 20 minutes
    pasc.plan = CommunePlan(HK, "01", False, ("disk_full",))
    _until(clock, at(WEDNESDAY, 10, 50), office, pasc)
    clock.now = at(WEDNESDAY, 11, 10)  # set right again
    _quiet(services, clock, at(date(2026, 12, 6), 12, 0))  # Sunday noon
    return services, clock


def test_a_week_rolled_up_equals_hand_computed_figures(week: tuple[Services, Clock]) -> None:
    services, _ = week
    days = [TUESDAY + timedelta(days=n) for n in range(5)]  # Tuesday to Saturday
    assert services.rollups.pending_days() == days
    assert services.rollups.roll_pending() == days
    assert services.rollups.pending_days() == []
    n = len(load_units().communes)
    tuesday = _days(services, TUESDAY)
    assert len(tuesday) == n
    # 07:30-07:40 never evaluated (grey), green to 10:00, yellow to the lunch break; green
    # again at 12:00 (lunch: not counted); silent at 16:32 (three minutes after 16:29).
    green = (10 * 60 - (7 * 60 + 40)) * 60 + (16 * 60 + 32 - (13 * 60 + 30)) * 60
    yellow = 90 * 60
    grey = 10 * 60 + 28 * 60
    assert _figures(tuesday[HK]) == (WORKING_DAY_S, green, yellow, 0, grey)
    assert green + yellow + grey == WORKING_DAY_S == 27000
    assert tuesday[HK]["province_code"] == "01"
    # A commune that never reported: grey all its working time.
    assert _figures(tuesday[OTHER]) == (WORKING_DAY_S, 0, 0, 0, WORKING_DAY_S)
    # Wednesday: grey until 09:00 (silent since Tuesday); the failing report stamped 08:50
    # by a clock stepped back counts from 09:00 (never before the last change), yellow until
    # silent at (clock) 10:52, grey after. No second counted twice.
    wed = _figures(_days(services, WEDNESDAY)[HK])
    yellow_wed = (10 * 60 + 52 - 9 * 60) * 60
    assert wed == (WORKING_DAY_S, 0, yellow_wed, 0, WORKING_DAY_S - yellow_wed)
    # The province's day off and the weekend: no working time, no criterion rows.
    for day in (THURSDAY, SATURDAY):
        assert _figures(_days(services, day)[HK]) == (0, 0, 0, 0, 0)
        assert _criteria(services, day) == {}
    assert _figures(_days(services, TUESDAY + timedelta(days=3))[OTHER])[0] == WORKING_DAY_S

    # Pass shares: an attested criterion passed all the time it was assessed (not grey);
    # the criterion the full disk failed, all of it but the 90 yellow minutes.
    crit = _criteria(services, TUESDAY)
    assert crit["ATT-01"] == (green + yellow, green + yellow)
    failed = {cid: a - p for cid, (a, p) in crit.items() if a != p}
    assert set(failed.values()) == {yellow}, crit
    assert _criteria(services, WEDNESDAY)["ATT-01"] == (yellow_wed, yellow_wed)


def test_rolling_a_day_again_gives_the_same_rows(week: tuple[Services, Clock]) -> None:
    services, clock = week
    services.rollups.roll_pending()
    first = (_days(services, TUESDAY), _criteria(services, TUESDAY))
    with services.database.read() as conn:
        count = conn.execute(select(func.count()).select_from(db.commune_days)).scalar()
    assert services.rollups.roll_day(TUESDAY) == len(load_units().communes)
    assert services.rollups.roll_day(TUESDAY) == len(load_units().communes)
    assert (_days(services, TUESDAY), _criteria(services, TUESDAY)) == first
    with services.database.read() as conn:
        assert conn.execute(select(func.count()).select_from(db.commune_days)).scalar() == count
    # Today is not over; a day before the first report is all grey, and rolls.
    with pytest.raises(InvalidInputError, match="complete day"):
        services.rollups.roll_day(clock().astimezone(VN).date())


def _counts(services: Services) -> dict[str, int]:
    tables = {
        "reports": db.reports,
        "changes": db.commune_changes,
        "coverage": db.coverage_history,
        "days": db.commune_days,
    }
    with services.database.read() as conn:
        return {
            name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for name, t in tables.items()
        }


def test_retention_keeps_raw_tables_flat(new_database: Callable[[str], str]) -> None:
    """Four weeks, a report every 30 minutes in working time and the PC's disk failing
    every other hour: with 7 days of raw data and 7 of detailed coverage, the raw tables
    hold the same rows at the end of each of the last weeks, while roll-ups grow a day at a
    time, and a pruned, rolled-up day cannot be rolled up again."""
    start = at(date(2026, 10, 5), 0, 0)  # a Monday; no holiday in the next four weeks
    clock = Clock(start)
    retention = Retention(reports_days=7, coverage_detail_days=7, batch=100)
    services = _store(new_database("collector.db"), clock, retention)
    _attest(services)
    pc = Host(services, clock, "pc")
    cal = CALENDAR.of("01")
    weekly = []
    for n in range(4 * 7 * 48):
        local = clock().astimezone(VN)
        if cal.is_working_time(clock()):
            pc.plan = CommunePlan(HK, "01", False, ("disk_full",) if local.hour % 2 else ())
            pc.report()
        services.evaluation.reevaluate()
        services.history.snapshot(min_interval_s=7200)
        services.rollups.periodic()
        if n % (7 * 48) == 7 * 48 - 1:
            weekly.append(_counts(services))
        clock.advance(minutes=30)
    assert [w["reports"] for w in weekly[1:]] == [weekly[1]["reports"]] * 3, weekly
    assert [w["changes"] for w in weekly[1:]] == [weekly[1]["changes"]] * 3, weekly
    # Detailed coverage (12 points a day for the nation and 34 provinces) stays flat; each
    # older day keeps one point per scope.
    steps = [b["coverage"] - a["coverage"] for a, b in zip(weekly[1:], weekly[2:], strict=False)]
    assert steps == [7 * 35] * 2, weekly
    # A week's reports kept: Monday to Friday, 15 a working day (every 30 minutes).
    assert weekly[1]["reports"] == 5 * 15
    n_communes = len(load_units().communes)
    assert [w["days"] for w in weekly] == [n_communes * (7 * k + 6) for k in range(4)]
    old = start.astimezone(VN).date() + timedelta(days=1)
    with pytest.raises(InvalidInputError, match="retention"):
        services.rollups.roll_day(old)
    # The oldest day's figures survive their raw data: 8 hours a day, every second counted.
    row = _days(services, old)[HK]
    assert row["working_s"] == WORKING_DAY_S
    assert row["green_s"] + row["yellow_s"] + row["grey_s"] == WORKING_DAY_S
    assert row["yellow_s"] > 0 and row["green_s"] > 0


def test_spend_day_on_plain_data() -> None:
    """The arithmetic alone: spans cut at working-time edges, two changes in one second
    (the later wins), nothing before the first evaluation but grey, whole seconds."""
    base = datetime(2026, 12, 1, tzinfo=UTC)
    t0 = int(base.timestamp())

    def st(sec: float, colour: str, **statuses: str) -> CommuneState:
        return CommuneState(base + timedelta(seconds=sec), colour, statuses)

    windows = [(t0 + 100, t0 + 200), (t0 + 300, t0 + 400)]
    f = spend_day(
        (t0, t0 + 1000),
        windows,
        None,
        [
            st(150.7, "red", A="fail"),  # floored to 150
            st(250, "green", A="pass"),  # between the windows
            st(350, "yellow", A="warn", B="pass"),
            st(350, "grey", A="pass", B="pass"),  # same second: the later holds
            st(380, "green", A="unknown", B="waived"),
        ],
    )
    assert f.working_s == 200
    assert dict(f.colours) == {"grey": 50 + 30, "red": 50, "green": 50 + 20}
    # A: fail 50 s (red), pass 50 s (green), pass while grey 30 s (not assessed),
    # unknown 20 s (not assessed); B: only while grey or waived.
    assert (f.assessed["A"], f.passed["A"]) == (100, 50)
    assert (f.assessed["B"], f.passed["B"]) == (0, 0)
