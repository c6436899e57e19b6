"""The group committer answers requests waiting in an event loop with one call into the
loop per group (:meth:`GroupCommitter.submit_async`): each request its own answer or
refusal, stored once, as with :meth:`GroupCommitter.submit`; a request gone meanwhile
(cancelled) does not stop the writer."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest
from sqlalchemy import func, select

from checks.model import AgentReport, IngestResponse
from collector.demo.simulator import office_results
from collector.domain.errors import ForbiddenError
from collector.service import Services
from collector.service.committer import GroupCommitter
from collector.service.identities import AgentIdentity
from collector.storage import schema as db
from tests.conftest import Clock

COMMUNES = ("00070", "00004")


def _enroll(services: Services, host: str, commune: str) -> AgentIdentity:
    [(_, code)] = services.identities.create_enrollment_codes([commune])
    ident = services.identities.authenticate(services.identities.enroll(code, host).token)
    assert ident is not None
    return ident


def _report(ident: AgentIdentity, seq: int, clock: Clock, commune: str = "") -> AgentReport:
    return AgentReport(
        agent_id=ident.agent_id,
        seq=seq,
        commune_code=commune or ident.commune_code,
        host=f"pc-{ident.agent_id}",
        observed_at=clock(),
        agent_version="t",
        results=office_results(random.Random(seq)),
    )


def _stored(services: Services) -> int:
    with services.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(db.reports)).scalar_one())


def test_one_group_answers_each_waiting_request(services: Services, clock: Clock) -> None:
    agents = [_enroll(services, f"pc-{i}", COMMUNES[i % 2]) for i in range(6)]
    committer = GroupCommitter(services)

    async def send() -> list[Any]:
        waiters = [committer.submit_async(a, [_report(a, 1, clock)], 100) for a in agents]
        # Agent 0 again, with its report and a retry of it; agent 1 for another commune.
        waiters.append(
            committer.submit_async(
                agents[0], [_report(agents[0], 1, clock), _report(agents[0], 2, clock)]
            )
        )
        waiters.append(
            committer.submit_async(agents[1], [_report(agents[1], 3, clock, COMMUNES[0])])
        )
        return await asyncio.wait_for(asyncio.gather(*waiters, return_exceptions=True), 30)

    try:
        answers = asyncio.run(send())
    finally:
        committer.stop()
    assert all(isinstance(a, IngestResponse) for a in answers[:7])
    assert [(a.accepted, a.duplicates) for a in answers[:6]] == [(1, 0)] * 6
    assert (answers[6].accepted, answers[6].duplicates, answers[6].acked_seqs) == (1, 1, [1, 2])
    assert isinstance(answers[7], ForbiddenError)
    assert _stored(services) == 7
    assert 1 <= committer.groups <= 8


def test_a_request_cancelled_meanwhile_does_not_stop_the_writer(
    services: Services, clock: Clock
) -> None:
    a, b = (_enroll(services, f"pc-{i}", COMMUNES[0]) for i in range(2))
    committer = GroupCommitter(services)

    async def send() -> IngestResponse:
        gone = committer.submit_async(a, [_report(a, 1, clock)])
        gone.cancel()  # the client hung up: its batch is still stored, nobody answered
        return await asyncio.wait_for(committer.submit_async(b, [_report(b, 1, clock)]), 30)

    try:
        answer = asyncio.run(send())
    finally:
        committer.stop()
    assert (answer.accepted, answer.duplicates) == (1, 0)
    assert _stored(services) == 2


def test_a_database_failure_refuses_every_waiting_request(
    services: Services, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import OperationalError

    agents = [_enroll(services, f"pc-{i}", COMMUNES[0]) for i in range(3)]
    committer = GroupCommitter(services)

    def down(batches: Any) -> Any:
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(services.ingest, "ingest_many", down)

    async def send() -> list[Any]:
        waiters = [committer.submit_async(x, [_report(x, 1, clock)]) for x in agents]
        return await asyncio.wait_for(asyncio.gather(*waiters, return_exceptions=True), 30)

    try:
        answers = asyncio.run(send())
    finally:
        committer.stop()
    assert [type(x) for x in answers] == [OperationalError] * 3
    assert _stored(services) == 0
