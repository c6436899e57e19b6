"""Verdicts in the store: the periodic pass decides colours and statuses from each host's
verdict, and reasons and evidence follow from its findings when asked for."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from collector.criteria.catalogue import load_catalogue
from collector.criteria.engine import verdict_is_current
from collector.service import services_for
from collector.storage import schema as db
from tests.collector.service.test_incremental import (
    HK,
    _disk,
    _enroll,
    _pasc_and_a_failing_office_pc,
    _send,
)
from tests.conftest import Clock

BASE = load_catalogue()


def _details(services, code: str) -> dict:
    with services.engine.connect() as conn:
        return conn.execute(
            select(db.commune_details.c.criteria).where(db.commune_details.c.commune_code == code)
        ).scalar_one()


def test_the_pass_updates_statuses_then_details_follow(make_services) -> None:
    """A silent host is retired after the retirement period: the periodic pass changes the
    commune's colour and statuses from the other host's verdict and leaves its reasons
    pending; the summary and /metrics read the new statuses at once; a reader of the details
    gets them evaluated first, and they agree with the pass. The same after a report."""
    clock = Clock()
    services = make_services(clock)
    pasc, _office = _pasc_and_a_failing_office_pc(services, clock)
    core = services.core
    retire_at = core.calendar.retire_at("01", clock(), core.retire_after_days)
    assert retire_at is not None
    # A report's commune gets its colour and statuses at once, its reasons when asked.
    assert services.evaluation.pending_details() == [HK]
    state = services.readiness.settled_state(HK)
    assert services.evaluation.pending_details() == []
    assert state.criteria["EQ-01"]["status"] == "fail"
    net_since = state.criteria["NET-01"]["since"]

    for seq in range(2, 5):  # pasc keeps reporting; pc-2 falls silent and turns stale
        clock.advance(seconds=60)
        _send(services, pasc, "pasc", seq, [_disk(0.5)], clock)
    clock.now = retire_at - timedelta(seconds=60)  # pc-2 silent ever since, still counted
    _send(services, pasc, "pasc", 5, [_disk(0.5)], clock)
    assert services.readiness.settled_state(HK).criteria["EQ-01"]["status"] == "fail"
    assert services.evaluation.pending_details() == []
    clock.now = retire_at + timedelta(seconds=1)  # pc-2 retired by the pass
    assert services.evaluation.due_communes() == [HK]
    assert services.evaluation.reevaluate() == 1
    assert services.evaluation.pending_details() == [HK]
    [quick] = [s for s in services.readiness.commune_states() if s.code == HK]
    assert quick.criteria["EQ-01"]["status"] not in ("fail", "")
    assert quick.criteria["NET-01"]["since"] == net_since  # unchanged: its "since" kept
    assert quick.criteria["EQ-01"]["since"] == clock().isoformat()  # changed just now
    # The pass did not touch the details: they still say what they said.
    assert _details(services, HK)["EQ-01"]["status"] == "fail"

    full = services.readiness.settled_state(HK)  # details asked for: evaluated first
    assert services.evaluation.pending_details() == []
    assert {c: v["status"] for c, v in full.criteria.items()} == {
        c: v["status"] for c, v in quick.criteria.items()
    }
    assert full.colour == quick.colour
    assert all(e["host"] == "pasc" for e in full.criteria["EQ-01"]["evidence"])
    assert full.criteria["EQ-01"]["since"] == quick.criteria["EQ-01"]["since"]
    assert _details(services, HK)["EQ-01"]["status"] == full.criteria["EQ-01"]["status"]


def _agent_row(services, host: str):
    a = db.agents.c
    with services.engine.connect() as conn:
        return conn.execute(select(a.findings, a.verdict, a.conditions).where(a.host == host)).one()


def test_ingest_keeps_the_verdict_and_the_findings_wait_for_a_reader(make_services) -> None:
    """A report is judged at ingest into its host's verdict and conditions only; the
    host's findings (reasons, evidence) are judged once its commune's details are asked
    for, then kept until the next report."""
    clock = Clock()
    services = make_services(clock)
    pasc = _enroll(services, "pasc")
    _send(services, pasc, "pasc", 1, [_disk(0.05)], clock)
    row = _agent_row(services, "pasc")
    assert row.findings is None and verdict_is_current(services.rules.current(), row.verdict)
    state = services.readiness.settled_state(HK)
    assert state.criteria["EQ-01"]["status"] == "fail"
    assert "pasc" in state.criteria["EQ-01"]["reason_en"]
    kept = _agent_row(services, "pasc")
    assert kept.findings["v"] == services.rules.current().fingerprint
    assert (kept.verdict, kept.conditions) == (row.verdict, row.conditions)
    clock.advance(seconds=60)
    _send(services, pasc, "pasc", 2, [_disk(0.5)], clock)
    assert _agent_row(services, "pasc").findings is None  # a new report: judged again


def test_fill_details_evaluates_what_the_pass_left(make_services) -> None:
    clock = Clock()
    services = make_services(clock)
    pasc = _enroll(services, "pasc")
    _send(services, pasc, "pasc", 1, [_disk(0.05)], clock)
    clock.advance(seconds=services.rules.current().stale_after_s + 2)
    assert services.evaluation.reevaluate() == 1  # pasc stale: the commune shows no fresh host
    assert services.evaluation.pending_details() == [HK]
    assert services.evaluation.fill_details("01") == 1  # Hà Nội
    assert services.evaluation.pending_details() == [] and services.evaluation.fill_details() == 0
    # With no fresh host, the commune keeps what its hosts' last reports said (shown grey).
    eq01 = _details(services, HK)["EQ-01"]
    assert eq01["status"] == "fail" and [e["host"] for e in eq01["evidence"]] == ["pasc"]
    assert services.readiness.commune_state(HK).colour.value == "grey"


def test_hosts_judged_under_another_catalogue_get_new_verdicts(make_services) -> None:
    clock = Clock()
    services = make_services(clock)
    pasc = _enroll(services, "pasc")
    _send(services, pasc, "pasc", 1, [_disk(0.05)], clock)
    with services.engine.begin() as conn:
        conn.execute(text("UPDATE agents SET verdict = '0123456789abcdef:0:1'"))
    assert services.evaluation.reevaluate([HK], detail=False) == 1
    with services.engine.connect() as conn:
        [verdict] = conn.execute(select(db.agents.c.verdict)).scalars()
    assert verdict_is_current(services.rules.current(), verdict)
    [state] = [s for s in services.readiness.commune_states() if s.code == HK]
    assert state.criteria["EQ-01"]["status"] == "fail"


@pytest.mark.parametrize("detail", [False, True])
def test_a_first_evaluation_either_way_reads_back_whole(make_services, detail) -> None:
    clock = Clock()
    services = make_services(clock)
    pasc = _enroll(services, "pasc")
    _send(services, pasc, "pasc", 1, [_disk(0.05)], clock)
    with services.engine.begin() as conn:  # as if never evaluated
        conn.execute(db.commune_status.delete())
        conn.execute(db.commune_details.delete())
    services.evaluation.reevaluate([HK], detail=detail)
    assert services.evaluation.pending_details() == ([] if detail else [HK])
    state = services.readiness.settled_state(HK)
    assert state.criteria["EQ-01"]["status"] == "fail"
    assert "disk_free_ratio" in state.criteria["EQ-01"]["reason_en"]
    assert services.evaluation.pending_details() == []


def _disk_warn_below(warn: float):
    """The default catalogue with EQ-01's disk rule warning below ``warn`` free."""
    criteria = []
    for c in BASE.criteria:
        if c.id == "EQ-01":
            rules = [
                r.model_copy(update={"warn_below": warn})
                if getattr(r, "check", None) == "host.disk"
                else r
                for r in c.rules
            ]
            c = c.model_copy(update={"rules": rules})
        criteria.append(c)
    return BASE.model_copy(update={"criteria": criteria})


def test_a_reader_with_other_rules_writes_nothing(make_services) -> None:
    """A command run on the collector's database with another catalogue (without the
    collector's --config, or a replica that has not reloaded yet) asks for a commune whose
    details are pending: it sees them under its own rules, and what the collector stored
    under its rules stays as it was (details still pending, hosts' verdicts unchanged)."""
    clock = Clock()
    services = make_services(clock)
    pasc = _enroll(services, "pasc")
    # The disk passes (warns below 0.2 free); memory and clock are not reported: unknown.
    _send(services, pasc, "pasc", 1, [_disk(0.5)], clock)
    assert services.evaluation.pending_details() == [HK]
    with services.engine.connect() as conn:
        verdicts = conn.execute(text("SELECT agent_id, verdict FROM agents")).all()

    other = services_for(services.engine, _disk_warn_below(0.6), services.units, clock=clock)
    assert other.readiness.settled_state(HK).criteria["EQ-01"]["status"] == "warn"  # its own rules
    assert services.evaluation.pending_details() == [HK]
    with services.engine.connect() as conn:
        assert conn.execute(text("SELECT agent_id, verdict FROM agents")).all() == verdicts
    with services.engine.connect() as conn:  # no details stored for it yet
        assert conn.execute(select(db.commune_details.c.criteria)).all() == []

    mine = services.readiness.settled_state(HK)  # the collector's own rules: evaluated and stored
    assert mine.criteria["EQ-01"]["status"] == "unknown"
    assert services.evaluation.pending_details() == []
    assert _details(services, HK)["EQ-01"]["status"] == "unknown"
    # Details no longer pending: the other reader now reads what the collector stored.
    assert other.readiness.settled_state(HK).criteria["EQ-01"]["status"] == "unknown"
