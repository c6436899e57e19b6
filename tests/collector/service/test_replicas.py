"""Two collector replicas on one PostgreSQL: both accept reports, and whichever answers,
the summary and the readiness metrics are the same (nothing lives in one process only)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from collector.api.app import create_app
from collector.api.server import BackgroundServer
from collector.criteria.catalogue import load_catalogue
from collector.demo.simulator import Simulator
from collector.domain.units import load_units
from collector.service import Services, services_for
from collector.storage.connect import create_schema, make_engine
from tests.conftest import SCRAPE, app_config
from tests.peers.site import login

pytestmark = pytest.mark.integration


def _replica(url: str) -> tuple[Services, BackgroundServer]:
    engine = make_engine(url)
    create_schema(engine)
    services = services_for(engine, load_catalogue(), load_units())
    server = BackgroundServer(create_app(services, app_config()))
    server.start()
    return services, server


def _readiness(text: str) -> dict[tuple, float]:
    """Readiness samples only: ingest counters are per process by design."""
    out = {}
    for fam in text_string_to_metric_families(text):
        if fam.name.startswith("ioc_ingest_"):
            continue
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_two_replicas_on_one_postgresql_agree(postgres_server) -> None:
    url = postgres_server.create_database()
    (store_a, a), (store_b, b) = _replica(url), _replica(url)
    try:
        # Each replica receives the reports of different provinces, concurrently.
        sim_a = Simulator(a.url, store_a, seed=5, provinces={"04", "12"})
        sim_b = Simulator(b.url, store_b, seed=5, provinces={"11", "14"})

        async def both() -> None:
            await asyncio.gather(sim_a.run(), sim_b.run())

        asyncio.run(both())
        assert sim_a.stats.errors == [] and sim_b.stats.errors == []
        # An agent enrolled through A reports through B as well (a load balancer's choice).
        agent = next(iter(sim_a.agents.values()))
        # A commune whose link was down sent its spooled report first: count from here.
        sent = agent.seq

        async def cross() -> None:
            sim_a.base_url = b.url
            async with httpx.AsyncClient(timeout=30) as client:
                await sim_a.round(client)

        asyncio.run(cross())
        assert sim_a.stats.errors == []
        assert agent.seq == sent + 1

        # One login, stored in the shared database, is valid on both replicas.
        store_a.accounts.add_user("reader", "reader-pass-1", "viewer")
        client = login(a.url, "reader", "reader-pass-1")
        cookies = dict(client.cookies)
        sa = client.get("/api/v1/summary", timeout=30).json()
        sb = httpx.get(f"{b.url}/api/v1/summary", cookies=cookies, timeout=30).json()
        sa.pop("generated_at"), sb.pop("generated_at")
        assert sa == sb
        reported = len(sim_a.agents) + len(sim_b.agents)
        assert sa["green"] + sa["yellow"] + sa["red"] == reported
        ma = _readiness(httpx.get(f"{a.url}/metrics", headers=SCRAPE, timeout=60).text)
        mb = _readiness(httpx.get(f"{b.url}/metrics", headers=SCRAPE, timeout=60).text)
        assert ma == mb and len(ma) > 10_000
        commune = agent.plan.code
        ca = client.get(f"/api/v1/communes/{commune}").json()
        cb = httpx.get(f"{b.url}/api/v1/communes/{commune}", cookies=cookies).json()
        assert ca == cb and ca["colour"] == agent.plan.expected_colour
    finally:
        a.stop()
        b.stop()
