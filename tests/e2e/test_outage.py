"""The real agent against the real collector: an outage of several report intervals loses
nothing, duplicates nothing, and delivers in order once the collector is back."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

from sqlalchemy import select

from agent.config import parse_config
from agent.daemon import Agent
from agent.enroll import enroll
from collector.api.app import create_app
from collector.api.server import BackgroundServer
from collector.criteria.catalogue import load_catalogue
from collector.domain.units import load_units
from collector.service import Services, services_for
from collector.storage import schema as db
from collector.storage.connect import create_schema, make_engine
from tests.conftest import app_config
from tests.peers.faults import agent_settings

HK = "00070"


def _store(db_url: str) -> Services:
    engine = make_engine(db_url)
    create_schema(engine)
    return services_for(engine, load_catalogue(), load_units())


def _serve(services: Services, port: int) -> BackgroundServer:
    server = BackgroundServer(create_app(services, app_config()), port=port)
    server.start()
    return server


def _agent_config(url: str, state_dir: Path) -> dict:
    # Only local, fast checks: the test is about delivery, not about measuring.
    return agent_settings(
        url, state_dir, collector={"timeout_s": 15}, spool={"batch_size": 2, "batch_pause_s": 0.01}
    )


def test_outage_of_several_intervals_delivers_every_report_once_in_order(
    tmp_path: Path, new_database
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    db_url = new_database("collector.db")
    services = _store(db_url)
    server = _serve(services, port)
    url = server.url
    [(_, code)] = services.identities.create_enrollment_codes([HK])
    state = enroll(url, code, tmp_path / "agent")
    config = parse_config(_agent_config(url, tmp_path / "agent"))

    async def scenario() -> list[int]:
        nonlocal server
        agent = Agent(config)
        produced: list[int] = []
        try:
            for _ in range(2):  # collector up
                cycle = await agent.run_cycle()
                produced.append(cycle.report.seq)
                assert cycle.flush is not None and cycle.flush.error is None
            assert agent.spool.pending(100) == []

            server.stop()  # collector down for 4 report intervals
            for _ in range(4):
                cycle = await agent.run_cycle()
                produced.append(cycle.report.seq)
                assert cycle.flush is not None
                assert cycle.flush.deferred or cycle.flush.error
                await asyncio.sleep(0.25)  # past the (test-sized) backoff
            assert [r.seq for r in agent.spool.pending(100)] == produced[2:]

            server = _serve(_store(db_url), port)  # back, same database
            cycle = await agent.run_cycle()
            produced.append(cycle.report.seq)
            # The report itself tells the collector how many were waiting when it was made.
            [spool] = [r for r in cycle.report.results if r.check == "agent.spool"]
            assert spool.value("spool_pending") == 4
            deadline = time.monotonic() + 60
            while agent.spool.pending(100) and time.monotonic() < deadline:
                await asyncio.sleep(0.25)
                await agent.sender.flush(agent.spool)
            assert agent.spool.pending(100) == []
        finally:
            await agent.aclose()
        return produced

    try:
        produced = asyncio.run(scenario())
    finally:
        server.stop()

    assert len(produced) == 7 and produced == sorted(produced)
    with make_engine(db_url).connect() as conn:
        rows = conn.execute(
            select(db.reports.c.seq, db.reports.c.received_at)
            .where(db.reports.c.agent_id == state.agent_id)
            .order_by(db.reports.c.received_at, db.reports.c.seq)
        ).all()
        agent_row = conn.execute(
            select(db.agents).where(db.agents.c.agent_id == state.agent_id)
        ).one()
    # every report exactly once, and received in the order it was produced
    assert [r.seq for r in rows] == produced
    assert agent_row.last_seq == produced[-1]
