"""Silent hosts through the store (both databases), time-compressed with an injectable
clock (docs/CRITERIA.md, "Silent hosts"): a failing host that falls silent in working time
keeps its commune yellow, its evidence and reason marked stale since its last report, until
it is retired, by an operator or after the retirement period; a retired host that reports
again is active again; a commune with no fresh host in working time is grey."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from checks.model import AgentReport, CheckResult
from collector.criteria.catalogue import load_catalogue
from collector.criteria.engine import Colour
from collector.demo.simulator import CommunePlan, simulated_results
from collector.domain.calendar import WorkingCalendar
from collector.domain.errors import ConflictError, NotFoundError
from collector.domain.units import load_units
from collector.reports.model import build_report, evidence_text
from collector.service import Services, services_for
from collector.storage.connect import create_schema, make_engine
from tests.conftest import Clock

HK = "00070"  # Phường Hoàn Kiếm, Hà Nội (province 01)
VN = ZoneInfo("Asia/Ho_Chi_Minh")
#: Tuesday 1 December 2026, 09:00 in Hà Nội: working time (civil-service hours).
TUESDAY_9 = datetime(2026, 12, 1, 9, 0, tzinfo=VN).astimezone(UTC)
CALENDAR = WorkingCalendar()  # the default: Monday-Friday, public holidays off


def _store(url: str, clock: Clock, retire_after_days: int = 7) -> Services:
    engine = make_engine(url)
    create_schema(engine)
    return services_for(
        engine,
        load_catalogue(),
        load_units(),
        clock,
        CALENDAR,
        retire_after_days=retire_after_days,
    )


class Host:
    """One PC of the commune, reporting the simulator's results (``faults``: what fails)."""

    def __init__(self, services: Services, clock: Clock, name: str, *faults: str) -> None:
        self.services, self.clock, self.name = services, clock, name
        [(_, code)] = services.identities.create_enrollment_codes([HK])
        ident = services.identities.authenticate(services.identities.enroll(code, name).token)
        assert ident is not None
        self.ident = ident
        self.plan = CommunePlan(HK, "01", False, tuple(faults))
        self.rng = random.Random(name)
        self.seq = 0

    def report(self) -> None:
        self.seq += 1
        now = self.clock()
        results = [
            r.model_copy(update={"observed_at": now})
            for r in simulated_results(self.plan, self.rng)
        ]
        self.services.ingest.ingest(self.ident, [self._report(now, results)])

    def _report(self, now: datetime, results: list[CheckResult]) -> AgentReport:
        return AgentReport(
            agent_id=self.ident.agent_id,
            seq=self.seq,
            commune_code=HK,
            host=self.name,
            observed_at=now,
            agent_version="t",
            results=results,
        )


def _run(clock: Clock, minutes: int, *hosts: Host) -> None:
    """``minutes`` of one report a minute from each of ``hosts``, with the periodic pass."""
    for _ in range(minutes):
        for h in hosts:
            h.report()
        hosts[0].services.evaluation.reevaluate()
        clock.advance(minutes=1)


def _stale_reasons(services: Services) -> list[str]:
    state = services.readiness.settled_state(HK)
    return [c["reason_en"] + " | " + c["reason_vi"] for c in state.criteria.values()]


def _attest(services: Services) -> None:
    """What people attest, met: the commune is green with no failing host."""
    for cid in ("ATT-01", "ATT-02", "ATT-03"):
        services.attestations.record_attestation(
            commune=HK,
            criterion=cid,
            status="pass",
            evidence="biên bản",
            actor="op",
            valid_days=30,
        )


@pytest.fixture
def commune(new_database: Callable[[str], str]) -> tuple[Services, Clock, Host, Host]:
    clock = Clock(TUESDAY_9)
    services = _store(new_database("collector.db"), clock)
    _attest(services)
    failing = Host(services, clock, "pasc", "disk_full")  # yellow whenever it reports
    healthy = Host(services, clock, "office")
    _run(clock, 5, healthy)
    assert services.readiness.commune_state(HK).colour is Colour.GREEN
    _run(clock, 5, failing, healthy)
    assert services.readiness.commune_state(HK).colour is Colour.YELLOW
    return services, clock, failing, healthy


def test_a_failing_host_that_falls_silent_keeps_its_commune_yellow(commune) -> None:
    services, clock, failing, healthy = commune
    last = failing.clock() - timedelta(minutes=1)  # its last report
    _run(clock, 30, healthy)  # the failing PC is switched off; the other reports on
    assert services.readiness.commune_state(HK).colour is Colour.YELLOW
    state = services.readiness.settled_state(HK)
    assert state.colour is Colour.YELLOW
    when = last.astimezone(VN).strftime("%d/%m/%Y %H:%M")
    assert when == "01/12/2026 09:09"
    marked = [r for r in _stale_reasons(services) if "pasc: stale" in r]
    assert marked, _stale_reasons(services)
    assert all(
        f"pasc: stale, no report since {when} (UTC+7)" in r
        and f"pasc: số liệu cũ, không báo cáo từ {when} (UTC+7)" in r
        for r in marked
    )
    evidence = [e for c in state.criteria.values() for e in c["evidence"]]
    assert {e.get("stale_since") for e in evidence if e.get("host") == "pasc"} == {last.isoformat()}
    assert all("stale_since" not in e for e in evidence if e.get("host") == "office")
    # The commune report: its hosts, and the stale host's evidence lines say since when.
    for lang, words in (("vi", "số liệu cũ, không báo cáo từ"), ("en", "stale, no report since")):
        report = build_report(services, "commune", HK, lang=lang, with_history=False)
        assert {h["host"]: h["state"] for h in report.hosts} == {"pasc": "stale", "office": "fresh"}
        lines = [evidence_text(e, lang) for d in report.detail for e in d.evidence]
        assert any("pasc" in x and f"{words} {when} (UTC+7)" in x for x in lines)
        assert not any(words in x for x in lines if "@ office" in x)
    states = {h.host: (h.state, h.since) for h in services.hosts.of_commune(HK)}
    assert states == {"pasc": ("stale", last), "office": ("fresh", clock() - timedelta(minutes=1))}


def test_retired_host_stops_counting_at_once_and_is_audited(commune) -> None:
    services, clock, failing, healthy = commune
    _run(clock, 10, healthy)
    with pytest.raises(ConflictError, match="is reporting"):
        services.hosts.retire(HK, "office", actor="op")  # fresh: refused
    with pytest.raises(NotFoundError):
        services.hosts.retire(HK, "nope", actor="op")
    h = services.hosts.retire(HK, "pasc", actor="op")
    assert (h.host, h.state, h.since) == ("pasc", "retired", clock())
    # Evaluated again at once, without it: no periodic pass in between.
    assert services.readiness.commune_state(HK).colour is Colour.GREEN
    assert not [r for r in _stale_reasons(services) if "pasc" in r]
    [line] = services.audit.entries(target=HK, action_prefix="host.")
    assert (line["actor"], line["action"]) == ("op", "host.retire")
    assert line["detail"]["agent_id"] == failing.ident.agent_id
    assert line["detail"]["reason"] == "operator"
    with pytest.raises(ConflictError, match="retired already"):
        services.hosts.retire(HK, failing.ident.agent_id, actor="op")

    # It reports again: active again, counted again (yellow), and the log says so.
    _run(clock, 1, failing, healthy)
    assert services.readiness.commune_state(HK).colour is Colour.YELLOW
    assert {h.host: h.state for h in services.hosts.of_commune(HK)} == {
        "pasc": "fresh",
        "office": "fresh",
    }
    newest = services.audit.entries(target=HK, action_prefix="host.")[0]
    assert (newest["actor"], newest["action"]) == (failing.ident.agent_id, "host.reactivate")


def test_a_silent_host_is_retired_after_the_period_in_working_days(commune) -> None:
    """Silent from Tuesday 1 December 09:09: seven whole working days later (Wednesday 2 to
    Thursday 10 December, the weekend not counted) it is retired, at the midnight that ends
    Thursday 10, by the periodic pass; not before."""
    services, clock, failing, healthy = commune
    retire_at = datetime(2026, 12, 11, 0, 0, tzinfo=VN).astimezone(UTC)
    clock.now = retire_at - timedelta(minutes=30)
    _run(clock, 1, healthy)
    assert {h.host: h.state for h in services.hosts.of_commune(HK)}["pasc"] == "stale"
    assert services.readiness.commune_state(HK).colour is Colour.YELLOW
    clock.now = retire_at + timedelta(seconds=1)
    assert HK in services.evaluation.due_communes()  # due at its retirement, no full scan
    services.evaluation.reevaluate()
    assert {h.host: h.state for h in services.hosts.of_commune(HK)}["pasc"] == "retired"
    [line] = services.audit.entries(target=HK, action_prefix="host.")
    assert (line["actor"], line["action"], line["detail"]["reason"]) == (
        "system",
        "host.retire",
        "retirement period",
    )
    # Outside working time (midnight) the commune keeps the colour it now has: green.
    state = services.readiness.commune_state(HK)
    assert (state.colour, state.off_hours) == (Colour.GREEN, True)


def test_a_commune_with_no_fresh_host_is_grey_in_working_time(commune) -> None:
    services, clock, failing, healthy = commune
    clock.advance(minutes=30)  # both PCs off at 09:10
    services.evaluation.reevaluate()
    assert services.readiness.commune_state(HK).colour is Colour.GREY
    assert services.readiness.settled_state(HK).colour is Colour.GREY
    assert {h.state for h in services.hosts.of_commune(HK)} == {"stale"}
