"""Verdicts: the national pass decides colours and statuses from each host's verdict (a few
bytes) instead of its findings; reasons and evidence follow. The statuses must be exactly
those of the full evaluation, whatever the hosts say."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from collector import db
from collector.criteria.catalogue import UNIT_KINDS, load_catalogue
from collector.criteria.engine import (
    Attestation,
    Colour,
    CriterionStatus,
    Observation,
    Waiver,
    compile_catalogue,
    evaluate_commune,
    evaluate_verdicts,
    host_findings,
    host_verdict,
    verdict_is_current,
)
from collector.store import Store
from tests.collector.test_engine import all_ok
from tests.collector.test_incremental import (
    HK,
    _disk,
    _enroll,
    _pasc_and_a_failing_office_pc,
    _send,
)
from tests.conftest import Clock

NOW = datetime(2025, 7, 31, 8, 0, tzinfo=UTC)
BASE = load_catalogue()
#: The default catalogue, with one criterion that does not apply to wards (so that "not
#: applicable", and a waiver over it, are exercised too).
CAT = BASE.model_copy(
    update={
        "criteria": [
            c.model_copy(update={"applies_to": ["xã", "đặc khu"]}) if c.id == "EQ-02" else c
            for c in BASE.criteria
        ]
    }
)
STATUSES = ("ok", "warn", "fail", "unknown")


def random_host(rng: random.Random, name: str) -> list[Observation]:
    """Some of the checks of a healthy commune, each with a random status, values scaled
    across the thresholds, sometimes a second target, sometimes a target no rule names."""
    out = []
    # all_ok() has SIP only: add VC-01's other alternatives (any_of) and the optional switch.
    extra = [Observation(name, c, "", "ok", {}, "", NOW) for c in ("vc.h323", "vc.stun")]
    extra.append(Observation(name, "eq.switch", "sw-1", "ok", {}, "", NOW))
    for o in all_ok() + extra:
        if rng.random() < 0.3:
            continue  # this host does not run that check
        values = {k: v * rng.choice((0.0, 0.01, 0.5, 1.0, 3.0, 20.0)) for k, v in o.values.items()}
        if rng.random() < 0.2:
            values.pop(next(iter(values)), None) if values else None
        target = o.target if rng.random() < 0.9 else "other"
        out.append(Observation(name, o.check, target, rng.choice(STATUSES), values, "", NOW))
        if rng.random() < 0.1:  # the same check for a second target
            out.append(Observation(name, o.check, "second", rng.choice(STATUSES), {}, "", NOW))
    return out


def random_commune(rng: random.Random) -> tuple[
    str, list[list[Observation]], list[Attestation], list[Waiver]
]:
    hosts = [random_host(rng, f"pc-{i}") for i in range(rng.choice((0, 1, 1, 2, 3, 6)))]
    atts = []
    for cid in ("ATT-01", "ATT-02", "ATT-03"):
        for k in range(rng.choice((0, 1, 1, 2))):  # none, one, or a newer one over an older
            atts.append(
                Attestation(
                    cid,
                    rng.choice(("pass", "fail")),
                    "decision",
                    "op",
                    NOW - timedelta(days=10 - k),
                    NOW + timedelta(days=rng.choice((-1, 30))),  # some expired
                )
            )
    waivers = [
        Waiver(c.id, "reason", "op", NOW + timedelta(days=rng.choice((-1, 30))))
        for c in CAT.criteria
        if rng.random() < 0.08
    ]
    return rng.choice(UNIT_KINDS), hosts, atts, waivers


def test_statuses_from_verdicts_are_those_of_the_full_evaluation() -> None:
    """3,000 random communes (0-6 hosts each, every status, thresholds on either side,
    missing and extra targets, optional and any_of rules, attestations old, new and expired,
    waivers, a criterion not applicable): same colour and same status for every criterion."""
    rng = random.Random(118)
    seen: set[tuple[str, str]] = set()
    for _ in range(3000):
        kind, hosts, atts, waivers = random_commune(rng)
        full = evaluate_commune(CAT, kind, [o for h in hosts for o in h], atts, waivers, NOW)
        verdicts = [host_verdict(CAT, host_findings(CAT, h)) for h in hosts if h]
        colour, statuses = evaluate_verdicts(CAT, kind, verdicts, atts, waivers, NOW)
        expected = {cid: (o.status.value, o.severity.value) for cid, o in full.criteria.items()}
        assert statuses == expected
        assert colour is full.colour
        seen.update((cid, st) for cid, (st, _) in statuses.items())
    # The cases really cover every outcome of the criteria that decide colours.
    assert {st for _, st in seen} == {s.value for s in CriterionStatus}
    for cid in ("VC-01", "NET-01", "EQ-04", "ATT-02"):
        assert {(cid, s) for s in ("pass", "fail", "unknown", "waived")} <= seen, cid
    assert ("EQ-02", "not_applicable") in seen


def test_a_verdict_is_short_and_names_its_catalogue() -> None:
    findings = host_findings(CAT, all_ok())
    verdict = host_verdict(CAT, findings)
    compiled = compile_catalogue(CAT)
    fingerprint, rules, checks = verdict.split(":")
    assert fingerprint == compiled.fingerprint
    assert len(rules) == len(compiled.rules) and len(checks) == len(compiled.checks)
    assert set(rules) <= set(".0123") and set(checks) <= {"0", "1"}
    assert len(verdict) < 120 < len(str(findings.to_json()))
    assert verdict_is_current(CAT, verdict)
    other = CAT.model_copy(
        update={"criteria": [c for c in CAT.criteria if c.id != "EQ-02"]}
    )
    assert not verdict_is_current(other, verdict)
    assert not verdict_is_current(CAT, None)
    # No host: every automated criterion unknown, as in the full evaluation.
    colour, statuses = evaluate_verdicts(CAT, "xã", [], (), (), NOW)
    assert colour is Colour.YELLOW
    assert statuses["NET-01"][0] == "unknown" and statuses["EQ-02"][0] == "unknown"


# ----------------------------------------------------------------- in the store


def _details(store, code: str) -> dict:
    with store.engine.connect() as conn:
        return conn.execute(
            select(db.commune_details.c.criteria).where(db.commune_details.c.commune_code == code)
        ).scalar_one()


def test_the_pass_updates_statuses_then_details_follow(make_store) -> None:
    """A host goes stale: the periodic pass changes the commune's colour and statuses from
    the other host's verdict and leaves its reasons pending; the summary and /metrics read
    the new statuses at once; a reader of the details gets them evaluated first, and they
    agree with the pass. The same after a report."""
    clock = Clock()
    store = make_store(clock)
    pasc, _office = _pasc_and_a_failing_office_pc(store, clock)
    # A report's commune gets its colour and statuses at once, its reasons when asked.
    assert store.pending_details() == [HK]
    state = store.commune_state(HK)
    assert store.pending_details() == []
    assert state.criteria["EQ-01"]["status"] == "fail"
    net_since = state.criteria["NET-01"]["since"]

    for seq in range(2, 5):  # pasc keeps reporting; pc-2 falls silent and turns stale
        clock.advance(seconds=60)
        _send(store, pasc, "pasc", seq, [_disk(0.5)], clock)
    store.commune_state(HK)  # details as of pasc's last report
    assert store.pending_details() == []
    clock.advance(seconds=2)
    assert store.due_communes() == [HK]
    assert store.reevaluate() == 1
    assert store.pending_details() == [HK]
    [quick] = [s for s in store.commune_states(detail=False) if s.code == HK]
    assert quick.criteria["EQ-01"]["status"] not in ("fail", "")
    assert quick.criteria["NET-01"]["since"] == net_since  # unchanged: its "since" kept
    assert quick.criteria["EQ-01"]["since"] == clock().isoformat()  # changed just now
    # The pass did not touch the details: they still say what they said.
    assert _details(store, HK)["EQ-01"]["status"] == "fail"

    full = store.commune_state(HK)  # details asked for: evaluated first
    assert store.pending_details() == []
    assert {c: v["status"] for c, v in full.criteria.items()} == {
        c: v["status"] for c, v in quick.criteria.items()
    }
    assert full.colour == quick.colour
    assert all(e["host"] == "pasc" for e in full.criteria["EQ-01"]["evidence"])
    assert full.criteria["EQ-01"]["since"] == quick.criteria["EQ-01"]["since"]
    assert _details(store, HK)["EQ-01"]["status"] == full.criteria["EQ-01"]["status"]


def test_fill_details_evaluates_what_the_pass_left(make_store) -> None:
    clock = Clock()
    store = make_store(clock)
    pasc = _enroll(store, "pasc")
    _send(store, pasc, "pasc", 1, [_disk(0.05)], clock)
    clock.advance(seconds=store.stale_after_s + 2)
    assert store.reevaluate() == 1  # pasc stale: the commune shows no fresh host
    assert store.pending_details() == [HK]
    assert store.fill_details("01") == 1  # Hà Nội
    assert store.pending_details() == [] and store.fill_details() == 0
    eq01 = _details(store, HK)["EQ-01"]
    assert eq01["status"] == "unknown" and eq01["evidence"] == []


def test_hosts_judged_under_another_catalogue_get_new_verdicts(make_store) -> None:
    clock = Clock()
    store = make_store(clock)
    pasc = _enroll(store, "pasc")
    _send(store, pasc, "pasc", 1, [_disk(0.05)], clock)
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE agents SET verdict = '0123456789abcdef:0:1'"))
    assert store.reevaluate([HK], detail=False) == 1
    with store.engine.connect() as conn:
        [verdict] = conn.execute(select(db.agents.c.verdict)).scalars()
    assert verdict_is_current(store.catalogue, verdict)
    [state] = [s for s in store.commune_states(detail=False) if s.code == HK]
    assert state.criteria["EQ-01"]["status"] == "fail"


@pytest.mark.parametrize("detail", [False, True])
def test_a_first_evaluation_either_way_reads_back_whole(make_store, detail) -> None:
    clock = Clock()
    store = make_store(clock)
    pasc = _enroll(store, "pasc")
    _send(store, pasc, "pasc", 1, [_disk(0.05)], clock)
    with store.engine.begin() as conn:  # as if never evaluated
        conn.execute(db.commune_status.delete())
        conn.execute(db.commune_details.delete())
    store.reevaluate([HK], detail=detail)
    assert store.pending_details() == ([] if detail else [HK])
    state = store.commune_state(HK)
    assert state.criteria["EQ-01"]["status"] == "fail"
    assert "disk_free_ratio" in state.criteria["EQ-01"]["reason_en"]
    assert store.pending_details() == []


def _disk_warn_below(warn: float):
    """The default catalogue with EQ-01's disk rule warning below ``warn`` free."""
    criteria = []
    for c in BASE.criteria:
        if c.id == "EQ-01":
            rules = [
                r.model_copy(update={"warn_below": warn})
                if getattr(r, "check", None) == "host.disk" else r
                for r in c.rules
            ]
            c = c.model_copy(update={"rules": rules})
        criteria.append(c)
    return BASE.model_copy(update={"criteria": criteria})


def test_a_reader_with_other_rules_writes_nothing(make_store) -> None:
    """A command run on the collector's database with another catalogue (without the
    collector's --config, or a replica that has not reloaded yet) asks for a commune whose
    details are pending: it sees them under its own rules, and what the collector stored
    under its rules stays as it was (details still pending, hosts' verdicts unchanged)."""
    clock = Clock()
    store = make_store(clock)
    pasc = _enroll(store, "pasc")
    # The disk passes (warns below 0.2 free); memory and clock are not reported: unknown.
    _send(store, pasc, "pasc", 1, [_disk(0.5)], clock)
    assert store.pending_details() == [HK]
    with store.engine.connect() as conn:
        verdicts = conn.execute(text("SELECT agent_id, verdict FROM agents")).all()

    other = Store(store.engine, _disk_warn_below(0.6), store.units, clock=clock)
    assert other.commune_state(HK).criteria["EQ-01"]["status"] == "warn"  # its own rules
    assert store.pending_details() == [HK]
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT agent_id, verdict FROM agents")).all() == verdicts
    with store.engine.connect() as conn:  # no details stored for it yet
        assert conn.execute(select(db.commune_details.c.criteria)).all() == []

    mine = store.commune_state(HK)  # the collector's own rules: evaluated and stored
    assert mine.criteria["EQ-01"]["status"] == "unknown"
    assert store.pending_details() == []
    assert _details(store, HK)["EQ-01"]["status"] == "unknown"
    # Details no longer pending: the other reader now reads what the collector stored.
    assert other.commune_state(HK).criteria["EQ-01"]["status"] == "unknown"
