"""A 24-hour collector outage, time-compressed.

The real agent (``agent.daemon.Agent``) runs 1,440 cycles, a day at the default 60 s
interval, on a clock the test moves a minute per cycle, while nothing listens at the
collector's address. After every cycle the spool must be within its bounds (payload under
``max_bytes``, oldest report younger than ``max_age_s``, files on disk bounded too) and
every report dropped by the drop policy must be counted. Then the real collector comes
back on the same address and the agent delivers what it kept, oldest first; the drain time
is measured. Three settings of the bounds: the shipped defaults (a day fits: nothing is
dropped), a tight age bound and a tight size bound (the oldest reports go, counted).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from agent.config import SpoolConfig, parse_config
from agent.daemon import Agent
from agent.enroll import enroll
from agent.spool import SPOOL_FILE
from checks.registry import Registry
from collector.api.app import create_app
from collector.api.server import BackgroundServer
from collector.criteria.catalogue import load_catalogue
from collector.domain.units import load_units
from collector.service import Services, services_for
from collector.storage import schema as db
from collector.storage.connect import create_schema, make_engine
from tests.conftest import SCRAPE, app_config
from tests.peers.faults import agent_settings, free_port, record

HK = "00070"
DAY = 1440  # reports: 24 h at 60 s
INTERVAL_S = 60.0
#: Compressed size of one report of this test (the agent's own spool result) at most.
REPORT_BYTES = 400
BOUNDS = {
    # name: (max_age_s, max_bytes, reports the spool keeps at the end of the day)
    "default": (SpoolConfig().max_age_s, SpoolConfig().max_bytes, DAY),
    # a report exactly 18 h old is kept: 18 h of reports plus the newest
    "age": (18 * 3600.0, SpoolConfig().max_bytes, 18 * 60 + 1),
    # whatever fits in 192 KiB (about 600 reports of this test)
    "size": (SpoolConfig().max_age_s, 192 * 1024, None),
}
#: SQLite pages, the b-tree and the WAL (truncated to 512 KiB after checkpoints) around
#: the payload: what the spool's files may weigh beyond ``max_bytes``.
FILE_OVERHEAD = 2.0


class ManualClock:
    def __init__(self, start: float) -> None:
        self.t = start

    def __call__(self) -> float:
        return self.t


def _spool_files(state_dir: Path) -> int:
    return sum(
        os.path.getsize(state_dir / name)
        for name in (SPOOL_FILE, f"{SPOOL_FILE}-wal")
        if (state_dir / name).exists()
    )


def _store(db_url: str) -> Services:
    engine = make_engine(db_url)
    create_schema(engine)
    return services_for(engine, load_catalogue(), load_units())


def _serve(services: Services, port: int) -> BackgroundServer:
    server = BackgroundServer(create_app(services, app_config()), port=port)
    server.start()
    return server


@pytest.mark.parametrize("bounds", sorted(BOUNDS))
def test_day_long_outage_stays_bounded_then_delivers_in_order(
    tmp_path: Path, new_database: Callable[[str], str], bounds: str
) -> None:
    max_age_s, max_bytes, keeps = BOUNDS[bounds]
    most = keeps or max_bytes // 250
    port = free_port()
    db_url = new_database("collector.db")
    services = _store(db_url)
    server = _serve(services, port)
    [(_, code)] = services.identities.create_enrollment_codes([HK])
    state_dir = tmp_path / "agent"
    state = enroll(server.url, code, state_dir, host="pasc-pc-1")
    server.stop()  # the outage begins
    config = parse_config(
        agent_settings(
            f"http://127.0.0.1:{port}",
            state_dir,
            collector={"timeout_s": 5},
            interval_s=INTERVAL_S,
            spool={"max_age_s": max_age_s, "max_bytes": max_bytes},
            sender={"backoff_cap_s": 0.5},
        )
    )
    # The day ends now: no report is stamped in the collector's future. Whole seconds, so
    # that ages are exact and a report exactly max_age_s old is kept, as documented.
    clock = ManualClock(float(int(time.time()) - DAY * int(INTERVAL_S)))

    async def scenario() -> tuple[list[int], dict[str, float], float]:
        agent = Agent(config, registry=Registry(), now=clock)
        produced: list[int] = []
        worst = {"pending": 0.0, "bytes": 0.0, "age_s": 0.0, "files": 0.0}
        try:
            began = time.monotonic()
            dropped_before = 0
            for _ in range(DAY):
                clock.t += INTERVAL_S
                dropped_before = agent.spool.stats().dropped
                cycle = await agent.run_cycle()
                produced.append(cycle.report.seq)
                assert cycle.error is None
                assert cycle.flush is not None and cycle.flush.sent == 0
                stats = agent.spool.stats()
                # Within the bounds after every cycle, and every drop counted.
                assert stats.pending_bytes <= max_bytes
                assert (stats.oldest_age_s or 0.0) <= max_age_s
                assert stats.pending <= most
                assert stats.pending + stats.dropped == len(produced)
                files = _spool_files(state_dir)
                assert files <= FILE_OVERHEAD * min(max_bytes, most * REPORT_BYTES) + 1024**2
                for key, value in (
                    ("pending", stats.pending),
                    ("bytes", stats.pending_bytes),
                    ("age_s", stats.oldest_age_s or 0.0),
                    ("files", files),
                ):
                    worst[key] = max(worst[key], value)
            worst["outage_wall_s"] = time.monotonic() - began
            kept = [r.seq for r in agent.spool.pending(DAY)]
            assert kept == produced[len(produced) - len(kept) :]  # the newest, in order
            worst["dropped"] = agent.spool.stats().dropped
            worst["dropped_before_last"] = dropped_before
            # The size bound drops no more than it must: the next report would not fit.
            assert agent.spool.stats().pending_bytes > max_bytes - 2 * REPORT_BYTES or (
                bounds != "size"
            )

            nonlocal server
            server = _serve(_store(db_url), port)  # back, same address, same database
            began = time.monotonic()
            deadline = began + 60
            while agent.spool.stats().pending and time.monotonic() < deadline:
                flush = await agent.sender.flush(agent.spool)
                if flush.error or flush.deferred:  # still in the outage's backoff
                    await asyncio.sleep(0.05)
            drain_s = time.monotonic() - began
            assert agent.spool.stats().pending == 0
            return kept, worst, drain_s
        finally:
            await agent.aclose()

    try:
        kept, worst, drain_s = asyncio.run(scenario())
        metrics = {
            (s.name, s.labels.get("agent")): s.value
            for fam in text_string_to_metric_families(
                httpx.get(f"{server.url}/metrics", headers=SCRAPE, timeout=10).text
            )
            for s in fam.samples
        }
    finally:
        server.stop()

    with make_engine(db_url).connect() as conn:
        delivered = [
            r.seq
            for r in conn.execute(
                select(db.reports.c.seq)
                .where(db.reports.c.agent_id == state.agent_id)
                .order_by(db.reports.c.received_at, db.reports.c.seq)
            )
        ]
    assert delivered == kept  # everything kept, once, in order
    dropped = int(worst["dropped"])
    assert len(kept) + dropped == DAY
    if keeps is not None:
        assert len(kept) == keeps
    assert (dropped == 0) == (bounds == "default")
    # The newest report says how many were dropped before it was made; /metrics shows it.
    exposed = metrics[("ioc_agent_spool_dropped_reports_total", state.agent_id)]
    assert exposed == worst["dropped_before_last"]
    record(
        f"day_outage_{bounds}_bounds",
        reports=DAY,
        max_age_h=round(max_age_s / 3600, 1),
        max_bytes=max_bytes,
        kept=len(kept),
        dropped=dropped,
        worst_pending_bytes=int(worst["bytes"]),
        worst_oldest_age_h=round(worst["age_s"] / 3600, 2),
        worst_spool_files_bytes=int(worst["files"]),
        outage_simulated_in_s=round(worst["outage_wall_s"], 1),
        drain_s=round(drain_s, 2),
        drain_reports_per_s=round(len(kept) / drain_s),
    )
