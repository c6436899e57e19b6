"""The collector's database locked or down: 503 with Retry-After, and the agents retry.

A write that cannot get its lock within the busy timeout (SQLite ``busy_timeout``,
PostgreSQL ``lock_timeout``: collector/storage/schema.py), or a database server that is not there,
makes ``POST /api/v1/reports`` answer 503 with ``Retry-After`` (collector/api/handlers.py). The real
agent keeps the report in its spool, waits at least Retry-After before trying again
(agent/sender.py), and delivers it once the database is back: stored once, in order.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from agent.config import parse_config
from agent.daemon import Agent
from agent.enroll import enroll
from checks.model import ReportBatch
from checks.registry import Registry
from collector.api.app import create_app
from collector.api.server import BackgroundServer
from collector.criteria.catalogue import load_catalogue
from collector.domain.units import load_units
from collector.service import Services, services_for
from collector.storage import schema as db
from collector.storage.connect import create_schema, make_engine
from tests.conftest import app_config, reports_locked
from tests.peers.faults import record

HK = "00070"
BUSY_S = 0.5
RETRY_AFTER_S = 1
BACKOFF_BASE_S = 0.2  # the jitter the agent adds to Retry-After


def _serve(db_url: str) -> tuple[Services, BackgroundServer]:
    engine = make_engine(db_url, busy_timeout_s=BUSY_S)
    create_schema(engine)
    services = services_for(engine, load_catalogue(), load_units())
    server = BackgroundServer(create_app(services, app_config(retry_after_s=RETRY_AFTER_S)))
    server.start()
    return services, server


def _stored(services: Services, agent_id: str) -> list[int]:
    with services.engine.connect() as conn:
        rows = conn.execute(
            select(db.reports.c.seq)
            .where(db.reports.c.agent_id == agent_id)
            .order_by(db.reports.c.received_at, db.reports.c.seq)
        ).all()
    return [r.seq for r in rows]


def _fault_then_recovery(
    tmp_path: Path,
    services: Services,
    server: BackgroundServer,
    fault: Callable[[], AbstractContextManager[Any]],
) -> dict[str, Any]:
    """Deliver, then run a cycle during ``fault`` (503, the report kept, Retry-After
    honoured), then deliver once the fault is over. Returns the measured figures."""
    [(_, code)] = services.identities.create_enrollment_codes([HK])
    state = enroll(server.url, code, tmp_path / "agent", host="pasc-pc-1")
    config = parse_config(
        {
            "collector": {"url": server.url, "timeout_s": 10},
            "state_dir": str(tmp_path / "agent"),
            "host": "pasc-pc-1",
            "interval_s": 60,
            "spool": {"batch_pause_s": 0},
            "sender": {"backoff_base_s": BACKOFF_BASE_S, "backoff_cap_s": 5},
        }
    )
    figures: dict[str, Any] = {}

    async def scenario() -> list[int]:
        agent = Agent(config, registry=Registry())
        try:
            ok = await agent.run_cycle()
            assert ok.flush is not None and ok.flush.sent == 1
            with fault():
                began = time.monotonic()
                busy = await agent.run_cycle()
                figures["answer_503_after_s"] = round(time.monotonic() - began, 2)
                assert busy.flush is not None
                assert busy.flush.error == "collector busy (HTTP 503)"
                assert busy.flush.retry_in_s is not None
                # Retry-After honoured, plus a little jitter so agents do not return together.
                assert RETRY_AFTER_S <= busy.flush.retry_in_s <= RETRY_AFTER_S + BACKOFF_BASE_S
                figures["agent_retry_in_s"] = round(busy.flush.retry_in_s, 2)
                assert [r.seq for r in agent.spool.pending()] == [busy.report.seq]
                # Asked again at once, the agent does not send: it waits for Retry-After.
                again = await agent.sender.flush(agent.spool)
                assert again.deferred and again.batches == 0
                # What the agent was told, seen directly.
                resp = httpx.post(
                    f"{server.url}/api/v1/reports",
                    content=ReportBatch(reports=agent.spool.pending()).model_dump_json(),
                    headers={
                        "Authorization": f"Bearer {state.token}",
                        "Content-Type": "application/json",
                    },
                    timeout=10,
                )
                assert resp.status_code == 503
                assert resp.headers["Retry-After"] == str(RETRY_AFTER_S)
                assert resp.json() == {"detail": "database unavailable, retry later"}
            recovered = time.monotonic()
            deadline = recovered + 30
            while agent.spool.pending() and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
                await agent.sender.flush(agent.spool)
            figures["delivered_after_recovery_s"] = round(time.monotonic() - recovered, 2)
            assert agent.spool.pending() == []
            return [ok.report.seq, busy.report.seq]
        finally:
            await agent.aclose()

    produced = asyncio.run(scenario())
    assert _stored(services, state.agent_id) == produced  # once each, in order
    return figures


def test_locked_database_answers_503_and_the_agent_retries(
    tmp_path: Path, new_database: Callable[[str], str]
) -> None:
    db_url = new_database("collector.db")
    services, server = _serve(db_url)
    try:
        figures = _fault_then_recovery(tmp_path, services, server, lambda: reports_locked(db_url))
    finally:
        server.stop()
    # The 503 comes after the busy timeout, well within the agent's request timeout.
    assert BUSY_S <= figures["answer_503_after_s"] < 10
    record("database_locked", busy_timeout_s=BUSY_S, retry_after_s=RETRY_AFTER_S, **figures)


def test_stopped_postgresql_answers_503_and_the_agent_retries(
    tmp_path: Path, private_postgres: Any
) -> None:
    services, server = _serve(private_postgres.create_database())

    @contextmanager
    def stopped() -> Iterator[None]:
        private_postgres.halt()
        try:
            yield
        finally:
            began = time.monotonic()
            private_postgres.resume()
            figures["postgres_restart_s"] = round(time.monotonic() - began, 2)

    figures: dict[str, Any] = {}
    try:
        figures.update(_fault_then_recovery(tmp_path, services, server, stopped))
    finally:
        server.stop()
    record(
        "database_postgresql_stopped", backend="postgresql", retry_after_s=RETRY_AFTER_S, **figures
    )
