"""Incremental evaluation: a commune is judged from its hosts' stored findings, and the
minute-by-minute pass re-evaluates only the communes whose evaluation can have changed.

Each test compares the store's answer with the criteria engine run directly on the same
results (the reference), and checks *when* a commune becomes due: a host turning stale,
an attestation or waiver expiring."""

from __future__ import annotations

import random
from datetime import timedelta

from checks.model import AgentReport, Category, CheckResult, Status, Value
from collector.criteria.engine import (
    HostFindings,
    Observation,
    apply_durations,
    evaluate_findings,
    host_findings,
)
from collector.criteria.rules import Rules
from collector.demo.simulator import office_results, plan_nation, simulated_results
from collector.service import Services
from collector.service.attestations import AttestationEntry
from collector.storage import schema as db
from tests.conftest import Clock

HK = "00070"  # a phường of Hà Nội


def _enroll(services: Services, host: str, commune: str = HK):
    [(_, code)] = services.identities.create_enrollment_codes([commune])
    resp = services.identities.enroll(code, host)
    ident = services.identities.authenticate(resp.token)
    assert ident is not None
    return ident


def _send(services: Services, ident, host: str, seq: int, results: list[CheckResult], clock: Clock):
    report = AgentReport(
        agent_id=ident.agent_id,
        seq=seq,
        commune_code=ident.commune_code,
        host=host,
        observed_at=clock(),
        agent_version="t",
        results=results,
    )
    services.ingest.ingest(ident, [report])


def _observations(host: str, results: list[CheckResult], clock: Clock) -> list[Observation]:
    return [
        Observation(
            host,
            r.check,
            r.target,
            r.status.value,
            {k: v.value for k, v in r.values.items()},
            r.message,
            clock(),
        )
        for r in results
    ]


def _disk(free: float) -> CheckResult:
    return CheckResult(
        check="host.disk",
        category=Category.HOST,
        target="C:\\",
        status=Status.FAIL if free < 0.1 else Status.OK,
        values={"disk_free_ratio": Value(value=free, unit="ratio")},
    )


def test_store_matches_the_engine_for_random_multi_host_communes(make_services) -> None:
    """Several hosts per commune, each reporting a random mix of faults: the stored
    evaluation equals the engine's on every host's results together."""
    clock = Clock()
    services = make_services(clock)
    plans = plan_nation(services.units, seed=3)
    rng = random.Random(7)
    codes = [c for c, p in plans.items() if not p.silent and p.province_code == "04"][:12]
    for code in codes:
        hosts: list[HostFindings] = []
        rules = services.rules.current()
        for k in range(rng.randint(1, 4)):
            host = f"pc-{k}"
            ident = _enroll(services, host, code)
            results = simulated_results(plans[code], rng) if k == 0 else office_results(rng)
            if k and rng.random() < 0.5:
                results = [r for r in results if r.check != "host.disk"] + [
                    _disk(rng.choice([0.05, 0.15, 0.5]))
                ]
            _send(services, ident, host, 1, results, clock)
            # A host's first report: its timed rules (NET-01's `for: 5m`) are pending.
            found = host_findings(rules, _observations(host, results, clock))
            hosts.append(apply_durations(rules, found, None, clock())[0])
        expected = evaluate_findings(
            rules,
            services.units.commune(code).kind,
            hosts,
            now=clock(),  # pc-0, pc-1, ...
        )
        state = services.readiness.settled_state(code)
        got = {c: (v["status"], v["reason_en"]) for c, v in state.criteria.items()}
        want = {c: (o.status.value, o.reason_en) for c, o in expected.criteria.items()}
        assert got == want, code
        assert state.colour.value == expected.colour.value


def _pasc_and_a_failing_office_pc(services: Services, clock: Clock):
    """Hoàn Kiếm's PASC machine reports a healthy disk; a minute later office PC pc-2
    reports a failing one. Returns the two agents' identities."""
    pasc, office = _enroll(services, "pasc"), _enroll(services, "pc-2")
    _send(services, pasc, "pasc", 1, [_disk(0.5)], clock)
    clock.advance(seconds=60)
    _send(services, office, "pc-2", 1, [_disk(0.05)], clock)  # the failing disk
    return pasc, office


def test_a_host_turning_stale_makes_its_commune_due_and_marks_its_findings(make_services) -> None:
    """A failing host that falls silent keeps counting, its evidence marked stale since its
    last report (docs/CRITERIA.md, "Silent hosts"): its commune is not made greener."""
    clock = Clock()
    services = make_services(clock)
    pasc, _office = _pasc_and_a_failing_office_pc(services, clock)
    assert services.readiness.settled_state(HK).criteria["EQ-01"]["status"] == "fail"
    assert services.evaluation.due_communes() == []

    # pasc keeps reporting; pc-2 falls silent. It is fresh until stale_after_s has passed.
    for seq in range(2, 5):
        clock.advance(seconds=60)
        _send(services, pasc, "pasc", seq, [_disk(0.5)], clock)
    assert services.evaluation.due_communes() == []  # 180 s after pc-2's report: still fresh
    clock.advance(seconds=2)
    assert services.evaluation.due_communes() == [HK]
    assert services.evaluation.reevaluate() == 1
    eq01 = services.readiness.settled_state(HK).criteria["EQ-01"]
    assert eq01["status"] == "fail"
    assert "pc-2: stale, no report since" in eq01["reason_en"]
    assert {e["host"]: e.get("stale_since") for e in eq01["evidence"]} == {
        "pasc": None,
        "pc-2": (clock() - timedelta(seconds=182)).isoformat(),
    }
    assert services.evaluation.due_communes() == []
    assert services.evaluation.reevaluate() == 0  # nothing left to do until pasc itself goes stale


def test_attestation_and_waiver_expiry_make_the_commune_due_at_that_moment(make_services) -> None:
    clock = Clock()
    services = make_services(clock)
    ident = _enroll(services, "pasc")
    now = clock()
    services.attestations.record(
        [AttestationEntry(HK, "ATT-01", "pass", "quyết định số 1", "op", 1)], only_reported=True
    )
    with services.engine.begin() as conn:
        conn.execute(
            db.waivers.insert(),
            [
                {
                    "commune_code": HK,
                    "criterion_id": "EQ-01",
                    "reason": "đang thay ổ đĩa",
                    "granted_by": "op",
                    "granted_at": now,
                    "expires_at": now + timedelta(hours=2),
                }
            ],
        )
    # Keep the host fresh throughout, so only the expiries can make the commune due.
    seq = 0

    def report() -> None:
        nonlocal seq
        seq += 1
        _send(services, ident, "pasc", seq, [_disk(0.05)], clock)

    report()
    assert services.readiness.settled_state(HK).criteria["EQ-01"]["status"] == "waived"
    assert services.readiness.settled_state(HK).criteria["ATT-01"]["status"] == "pass"
    for _ in range(119):
        clock.advance(seconds=60)
        report()
    clock.advance(seconds=59)
    assert services.evaluation.due_communes() == []
    clock.advance(seconds=1)  # the waiver's expiry (2 h after it was granted)
    assert services.evaluation.due_communes() == [HK]
    services.evaluation.reevaluate()
    assert services.readiness.settled_state(HK).criteria["EQ-01"]["status"] == "fail"
    clock.advance(days=1)
    assert services.evaluation.due_communes() == [
        HK
    ]  # the host is stale and the attestation expired
    services.evaluation.reevaluate()
    att = services.readiness.settled_state(HK).criteria["ATT-01"]
    assert att["status"] == "unknown" and "expired" in att["reason_en"]


def test_a_catalogue_change_is_applied_by_a_full_pass(make_services) -> None:
    """Findings judged under another catalogue are never reused: a full pass (what a
    catalogue reload runs) re-judges every host from its latest results."""
    clock = Clock()
    services = make_services(clock)
    ident = _enroll(services, "pasc")
    _send(services, ident, "pasc", 1, [_disk(0.15)], clock)
    assert services.readiness.settled_state(HK).criteria["EQ-01"]["status"] == "warn"
    data = services.rules.current().catalogue.model_dump()
    for c in data["criteria"]:
        for rule in c["rules"]:
            if rule.get("check") == "host.disk":
                rule["warn_below"], rule["fail_below"] = 0.3, 0.2
    services.rules.replace(Rules.of(type(services.rules.current().catalogue).model_validate(data)))
    assert services.evaluation.reevaluate(full=True) == 1
    eq01 = services.readiness.settled_state(HK).criteria["EQ-01"]
    assert eq01["status"] == "fail" and "< 0.2" in eq01["reason_en"]
