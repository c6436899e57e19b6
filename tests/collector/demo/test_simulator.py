"""The simulator's attestations are an operator's: signed by an operator account that exists
before them, validated and audited by the attestation service like a form's."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest
from sqlalchemy import select

from collector.demo.simulator import DEMO_OPERATOR, Simulator
from collector.service.accounts import Role
from collector.storage import schema as db
from tests.conftest import Collector


def _created_at(collector: Collector, username: str) -> datetime:
    u = db.users
    with collector.services.database.read() as conn:
        when = conn.execute(select(u.c.created_at).where(u.c.username == username)).scalar_one()
    return when if when.tzinfo else when.replace(tzinfo=collector.clock().tzinfo)


def _check_signed_by(collector: Collector, operator: str) -> None:
    services = collector.services
    attestations = services.attestations.attestations()
    assert attestations and {a["entered_by"] for a in attestations} == {operator}
    user = services.accounts.user(operator)
    assert user is not None and user.role.allows(Role.OPERATOR)
    created = _created_at(collector, operator)
    assert all(a["entered_at"] >= created for a in attestations)
    audited = services.audit.entries(limit=100_000, action_prefix="attestation.add")
    assert {e["detail"]["attestation_id"] for e in audited if e["actor"] == operator} == {
        a["id"] for a in attestations
    }


def test_attestations_are_entered_by_an_operator_made_before_them(collector: Collector) -> None:
    stats = asyncio.run(Simulator(collector.url, collector.services, provinces={"22"}).run())
    assert not stats.errors
    _check_signed_by(collector, DEMO_OPERATOR)
    [made] = collector.services.audit.entries(target=DEMO_OPERATOR, action_prefix="user.add")
    assert made["detail"]["role"] == "operator"


def test_an_existing_operator_signs(collector: Collector) -> None:
    collector.services.accounts.add_user("can-bo-ioc", "mat-khau-123", "operator")
    sim = Simulator(collector.url, collector.services, provinces={"22"}, operator="can-bo-ioc")
    assert not asyncio.run(sim.run()).errors
    _check_signed_by(collector, "can-bo-ioc")
    assert collector.services.accounts.user(DEMO_OPERATOR) is None


def test_a_viewer_cannot_sign(collector: Collector) -> None:
    collector.services.accounts.add_user("chi-xem", "mat-khau-123", "viewer")
    sim = Simulator(collector.url, collector.services, provinces={"22"}, operator="chi-xem")
    with pytest.raises(ValueError, match="need an operator"):
        asyncio.run(sim.run())
    assert collector.services.attestations.attestations() == []


def test_an_operator_made_meanwhile_by_another_simulator_signs(
    collector: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two simulators on one database (replicas): both saw no account, the other made it."""
    accounts = collector.services.accounts
    accounts.add_user(DEMO_OPERATOR, "mat-khau-123", "operator", actor="other-simulator")
    real, calls = accounts.user, []

    def not_yet_then_real(name: str):  # type: ignore[no-untyped-def]
        calls.append(name)
        return None if len(calls) == 1 else real(name)

    monkeypatch.setattr(accounts, "user", not_yet_then_real)
    assert not asyncio.run(
        Simulator(collector.url, collector.services, provinces={"22"}).run()
    ).errors
    monkeypatch.undo()
    _check_signed_by(collector, DEMO_OPERATOR)
    assert len(calls) == 2
