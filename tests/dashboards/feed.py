"""Feed a collector so that every catalogued (non-planned) metric has series."""

from __future__ import annotations

import asyncio

import httpx

from checks.model import AgentReport, Category, CheckResult, ReportBatch, Status, Value, utcnow
from collector.demo.simulator import Simulator

PROVINCES = {"01", "04", "12"}  # Hà Nội (all green), Cao Bằng and Lai Châu (far behind)


def feed(collector, provinces: set[str] = PROVINCES, seed: int = 1) -> Simulator:
    """Simulated agents report once; then one agent reports the values the simulator does
    not produce (mos, r_factor: no check measures them yet) and one request is refused (so
    the rejected-requests counter has a series)."""
    sim = Simulator(collector.url, collector.services, seed=seed, provinces=provinces)
    stats = asyncio.run(sim.run())
    assert stats.errors == []
    agent = next(iter(sorted(sim.agents.values(), key=lambda a: a.plan.code)))
    agent.seq += 1
    extra = AgentReport(
        agent_id=agent.agent_id,
        seq=agent.seq,
        commune_code=agent.plan.code,
        host=f"pasc-{agent.plan.code}",
        observed_at=utcnow(),
        agent_version="sim-0.1",
        results=[
            CheckResult(
                check="vc.quality",
                category=Category.VIDEOCONF,
                target="mcu.province",
                status=Status.OK,
                values={
                    "rtt": Value(value=0.03, unit="seconds"),
                    "jitter": Value(value=0.004, unit="seconds"),
                    "loss": Value(value=0.0, unit="ratio"),
                    "mos": Value(value=4.3, unit=""),
                    "r_factor": Value(value=90.0, unit=""),
                },
            )
        ],
    )
    url = f"{collector.url}/api/v1/reports"
    body = ReportBatch(reports=[extra]).model_dump_json()
    headers = {"Authorization": f"Bearer {agent.token}", "Content-Type": "application/json"}
    assert httpx.post(url, content=body, headers=headers, timeout=30).status_code == 200
    refused = httpx.post(
        url, content=body, headers={**headers, "Authorization": "Bearer wrong"}, timeout=30
    )
    assert refused.status_code == 401
    return sim
