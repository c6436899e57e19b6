"""Working time and durations through the store (both databases), time-compressed with an
injectable clock: a commune through a week with holidays and a make-up Saturday keeps its
working-time colour outside hours and is never grey at night; NET-01 counts an outage once
it has lasted 5 minutes, and that survives a restart of the collector."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from checks.model import AgentReport, Category, CheckResult, Status, Value
from collector.api.prometheus import ReadinessCollector
from collector.criteria.catalogue import load_catalogue
from collector.criteria.engine import Colour
from collector.demo.simulator import CommunePlan, simulated_results
from collector.domain.calendar import OfficeCalendar, WorkingCalendar
from collector.domain.units import load_units
from collector.reports.csv_out import render_csv
from collector.reports.model import build_report
from collector.service import Services, services_for
from collector.storage.connect import create_schema, make_engine
from tests.conftest import Clock

HK = "00070"  # Phường Hoàn Kiếm, Hà Nội (province 01)
VN = ZoneInfo("Asia/Ho_Chi_Minh")
#: The week of 27 April 2026: Monday is the Hùng Kings' day off (observed), Thursday and
#: Friday are Reunification Day and Labour Day; the province works Saturday 2 May instead.
MONDAY = datetime(2026, 4, 27, tzinfo=VN)
MAKE_UP_SATURDAY = MONDAY.date() + timedelta(days=5)
CALENDAR = WorkingCalendar(
    provinces={"01": OfficeCalendar(working_days=frozenset({MAKE_UP_SATURDAY}))}
)


def _store(url: str, clock: Clock, calendar: WorkingCalendar = CALENDAR) -> Services:
    engine = make_engine(url)
    create_schema(engine)
    return services_for(engine, load_catalogue(), load_units(), clock, calendar)


def _enroll(services: Services, host: str, commune: str = HK):
    [(_, code)] = services.identities.create_enrollment_codes([commune])
    ident = services.identities.authenticate(services.identities.enroll(code, host).token)
    assert ident is not None
    return ident


class Agent:
    def __init__(self, services: Services, clock: Clock, faults: tuple[str, ...] = ()) -> None:
        self.services, self.clock = services, clock
        self.ident = _enroll(services, "pasc")
        self.plan = CommunePlan(HK, "01", False, faults)
        self.rng = random.Random(1)
        self.seq = 0

    def report(self, results: list[CheckResult] | None = None) -> None:
        self.seq += 1
        self.services.ingest.ingest(
            self.ident,
            [
                AgentReport(
                    agent_id=self.ident.agent_id,
                    seq=self.seq,
                    commune_code=HK,
                    host="pasc",
                    observed_at=self.clock(),
                    agent_version="t",
                    results=_at(results or simulated_results(self.plan, self.rng), self.clock()),
                )
            ],
        )


def _at(results: list[CheckResult], when: datetime) -> list[CheckResult]:
    """The results as measured at ``when`` (an agent stamps each result it measures)."""
    return [r.model_copy(update={"observed_at": when}) for r in results]


def test_a_week_with_holidays_and_a_make_up_saturday(new_database: Callable[[str], str]) -> None:
    clock = Clock(MONDAY.astimezone(UTC))
    services = _store(new_database("collector.db"), clock)
    agent = Agent(services, clock, faults=("disk_full",))  # yellow whenever it reports
    cal = CALENDAR.of("01")
    seen: dict[tuple[bool, str], int] = {}
    reported_days = set()
    metrics = ReadinessCollector(services)
    end = MONDAY.astimezone(UTC) + timedelta(days=7)
    while clock() < end:
        working = cal.is_working_time(clock())
        local = clock().astimezone(VN)
        # The PC is on from 07:40 to 16:50 on working days (over lunch too), off otherwise.
        if cal.is_working_day(local.date()) and (7, 40) <= (local.hour, local.minute) < (17, 0):
            agent.report()
            reported_days.add(local.date())
        services.evaluation.reevaluate()  # the minute-by-minute pass
        state = services.readiness.commune_state(HK)
        assert state.off_hours is not working, local
        if local.minute == 30:  # /metrics once an hour (it reads the whole nation)
            text = metrics.render("readiness")
            assert f'ioc_working_time{{province="01"}} {int(working)}\n' in text
        if reported_days:
            key = (state.off_hours, state.colour.value)
            seen[key] = seen.get(key, 0) + 1
            if state.colour is Colour.GREY:  # silent in working time: before the PC is on
                assert working and (local.hour, local.minute) == (7, 30), local
        clock.advance(minutes=10)
    # The PC worked Tuesday, Wednesday and the make-up Saturday; not on the three holidays.
    assert sorted(d.isoformat() for d in reported_days) == [
        "2026-04-28",
        "2026-04-29",
        "2026-05-02",
    ]
    # Nights, lunch breaks, the holidays and Sunday: the colour kept, never grey.
    assert set(seen) == {(True, "yellow"), (False, "yellow"), (False, "grey")}
    assert seen[(True, "yellow")] > 500
    # 45 steps of 10 minutes a working day (07:30-11:30, 13:30-17:00), less 07:30 on each.
    assert seen[(False, "yellow")] == 3 * 45 - 3
    assert seen[(False, "grey")] == 2  # Wednesday and Saturday at 07:30, the PC still starting


def test_outside_working_time_pages_reports_and_json_say_so(new_database) -> None:
    friday_evening = datetime(2026, 12, 4, 16, 50, tzinfo=VN).astimezone(UTC)
    clock = Clock(friday_evening)
    services = _store(new_database("collector.db"), clock, WorkingCalendar())
    agent = Agent(services, clock, faults=("disk_full",))
    agent.report()
    assert services.readiness.commune_state(HK).off_hours is False
    clock.advance(hours=3)  # 19:50: the PC is off
    state = services.readiness.commune_state(HK)
    assert (state.colour, state.off_hours) == (Colour.YELLOW, True)
    summary = services.readiness.summary()
    assert summary["off_hours"] is True
    assert summary["yellow"] == 1 and summary["grey"] == len(services.units.communes) - 1
    [hanoi] = [p for p in summary["by_province"] if p["code"] == "01"]
    assert hanoi["off_hours"] is True
    for lang, words in (
        ("vi", "Vàng (ngoài giờ làm việc)"),
        ("en", "Yellow (outside working hours)"),
    ):
        report = build_report(services, "commune", HK, lang=lang, with_history=False)
        assert report.off_hours and report.communes[0].off_hours
        assert words in render_csv(report).decode("utf-8")
    # Monday 07:33: 3 minutes of working time without a report: grey, in working time.
    clock.now = datetime(2026, 12, 7, 7, 33, 1, tzinfo=VN).astimezone(UTC)
    services.evaluation.reevaluate()
    state = services.readiness.commune_state(HK)
    assert (state.colour, state.off_hours) == (Colour.GREY, False)


def _link(up: bool) -> CheckResult:
    return CheckResult(
        check="net.dedicated",
        category=Category.NETWORK,
        target="provincial-gateway:443",
        status=Status.OK if up else Status.FAIL,
        values={"tcp_up": Value(value=1.0 if up else 0.0, unit="")},
        message="" if up else "connection timed out",
    )


def _net01(services: Services) -> tuple[str, str]:
    state = services.readiness.settled_state(HK)
    return state.colour.value, state.criteria["NET-01"]["status"]


def test_net01_counts_an_outage_of_five_minutes_across_a_restart(new_database) -> None:
    url = new_database("collector.db")
    clock = Clock(datetime(2026, 12, 7, 9, 0, tzinfo=VN).astimezone(UTC))
    services = _store(url, clock)
    agent = Agent(services, clock)
    good = simulated_results(agent.plan, random.Random(2))
    down = [r for r in good if r.check != "net.dedicated"] + [_link(False)]
    # The first report after the PC starts has a failed probe: pending, not red.
    agent.report(down)
    assert _net01(services)[1] == "pass"
    assert "pending" in services.readiness.settled_state(HK).criteria["NET-01"]["reason_en"]
    agent.report(good)
    # Down for 2 minutes: never red.
    for _ in range(3):
        clock.advance(minutes=1)
        agent.report(down)
        assert _net01(services)[0] != "red"
    clock.advance(minutes=1)
    agent.report(good)
    assert _net01(services)[1] == "pass"
    # Down for 6 minutes, with a restart of the collector after 3: red at 5 minutes.
    statuses = []
    for minute in range(7):
        if minute == 3:
            services.engine.dispose()
            services = _store(url, clock)  # a new process: the conditions are in the database
            agent.services = services
        clock.advance(minutes=1)
        agent.report(down)
        statuses.append(_net01(services))
    assert [s for _, s in statuses] == ["pass"] * 5 + ["fail", "fail"]
    assert statuses[-1][0] == "red"
    # Up again: red until it has been up for 2 minutes.
    recovery = []
    for _ in range(3):
        clock.advance(minutes=1)
        agent.report(good)
        recovery.append(_net01(services)[1])
    assert recovery == ["fail", "fail", "pass"]
    assert (
        "still counted as fail"
        not in services.readiness.settled_state(HK).criteria["NET-01"]["reason_en"]
    )


def test_a_spool_drained_after_an_outage_counts_its_length(new_database) -> None:
    """Seven reports measured a minute apart during an outage arrive in one batch when the
    link is back: each is timed in order, so the commune is red at once."""
    clock = Clock(datetime(2026, 12, 7, 9, 0, tzinfo=VN).astimezone(UTC))
    services = _store(new_database("collector.db"), clock)
    agent = Agent(services, clock)
    good = simulated_results(agent.plan, random.Random(2))
    down = [r for r in good if r.check != "net.dedicated"] + [_link(False)]
    batch = [
        AgentReport(
            agent_id=agent.ident.agent_id,
            seq=seq,
            commune_code=HK,
            host="pasc",
            observed_at=clock() + timedelta(minutes=seq - 1),
            agent_version="t",
            results=_at(down, clock() + timedelta(minutes=seq - 1)),
        )
        for seq in range(1, 8)
    ]
    clock.advance(minutes=7)
    services.ingest.ingest(agent.ident, batch)
    assert _net01(services) == ("red", "fail")
