"""Ingest over HTTP: ``POST /api/v1/reports`` from simulated agents, on SQLite and on
PostgreSQL, beside Debian's ``prometheus-pushgateway`` receiving the same values.

The pushgateway checks every push against every group it already holds, so its rate falls
as groups grow and a full run of 2,000 pushes of 69 values took over ten minutes. It gets the
same pushes in the same order but only for ``pgw_budget_s``: its figures are over the pushes
done in that time (which favours it: fewer groups held than at the end of a full run).
"""

from __future__ import annotations

import asyncio
import random
import statistics
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.common import (
    collector_process,
    free_port,
    percentile,
    progress,
    stop,
    wait_http,
    write_collector_config,
)
from checks.model import Report, ReportBatch, utcnow
from collector.config import load_config
from collector.metrics import labels
from collector.service import open_store
from collector.simulator import plan_nation, simulated_results

Call = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]


@dataclass
class Load:
    requests: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def pct(self, p: float) -> float:
        return percentile(self.latencies, p)


async def drive(
    calls: list[Call], connections: int, what: str, budget_s: float | None = None
) -> Load:
    """Run ``calls`` over ``connections`` connections; none is started after ``budget_s``."""
    latencies: list[float] = []
    sem = asyncio.Semaphore(connections)
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    started = time.perf_counter()
    deadline = None if budget_s is None else started + budget_s
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:

        async def one(call: Call) -> None:
            async with sem:
                if deadline is not None and time.perf_counter() > deadline:
                    return
                t = time.perf_counter()
                resp = await call(client)
                latencies.append(time.perf_counter() - t)
            if resp.status_code >= 300:
                raise RuntimeError(f"HTTP {resp.status_code}: {resp.text[:200]}")

        async def report() -> None:
            while True:
                await asyncio.sleep(10)
                progress(f"{what}: {len(latencies)} of {len(calls)} requests")

        ticker = asyncio.create_task(report())
        try:
            await asyncio.gather(*(one(c) for c in calls))
        finally:
            ticker.cancel()
        elapsed = time.perf_counter() - started
    return Load(len(latencies), elapsed, latencies)


def _exposition(report: Report) -> bytes:
    """The report's values as Prometheus text, as a pushgateway client would push them."""
    lines = []
    for res in report.results:
        for name, v in res.values.items():
            rendered = labels(check=res.check, target=res.target)
            lines.append(f"ioc_{name}{{{rendered}}} {v.value!r}")
    return ("\n".join(lines) + "\n").encode()


def _workload(db_url: str, agents: int, rounds: int) -> list[tuple[str, Report]]:
    """Enroll ``agents`` (one per commune) in the database and build their reports."""
    store = open_store(load_config(None, db=db_url))
    try:
        plans = plan_nation(store.units)
        communes = sorted(plans)[:agents]
        enrolled = [
            store.enroll(code, f"bench-{c}") for c, code in store.create_enrollment_codes(communes)
        ]
    finally:
        store.engine.dispose()
    rng = random.Random(7)
    reports: list[tuple[str, Report]] = []
    for r in range(1, rounds + 1):
        for a in enrolled:
            rep = Report(
                agent_id=a.agent_id,
                seq=r,
                commune_code=a.commune_code,
                host=f"bench-{a.commune_code}",
                observed_at=utcnow(),
                agent_version="bench",
                results=simulated_results(plans[a.commune_code], rng),
            )
            reports.append((a.token, rep))
    return reports


def ingest_collector(
    work: Path, db_url: str, label: str, agents: int, rounds: int, connections: int
) -> tuple[Load, list[tuple[str, Report]]]:
    """``ioc-collector serve`` on ``db_url`` receiving one report per request."""
    reports = _workload(db_url, agents, rounds)
    cfg = write_collector_config(work / f"collector-{label}.yaml", db_url)
    bodies = [(tok, ReportBatch(reports=[rep]).model_dump_json()) for tok, rep in reports]
    with collector_process(cfg) as (url, _proc):
        endpoint = f"{url}/api/v1/reports"

        def post(tok: str, body: str) -> Call:
            headers = {"Authorization": f"Bearer {tok}", "Content-Type": "application/json"}
            return lambda c: c.post(endpoint, content=body, headers=headers)

        load = asyncio.run(
            drive([post(t, b) for t, b in bodies], connections, f"ingest ({label})")
        )
    return load, reports


def ingest_pushgateway(
    reports: list[tuple[str, Report]], connections: int, budget_s: float
) -> tuple[Load, int]:
    """The same values pushed to the pushgateway, one PUT per report, for ``budget_s``;
    returns the load and the number of groups it held at the end."""
    port = free_port()
    pgw = subprocess.Popen(
        ["prometheus-pushgateway", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/-/ready", proc=pgw)
        texts = [(rep.agent_id, _exposition(rep)) for _, rep in reports]

        def push(agent: str, text: bytes) -> Call:
            u = f"http://127.0.0.1:{port}/metrics/job/ioc/instance/{agent}"
            return lambda c: c.put(u, content=text)

        load = asyncio.run(
            drive([push(a, t) for a, t in texts], connections, "pushgateway", budget_s)
        )
    finally:
        stop(pgw)
    groups = len({agent for agent, _ in texts[: load.requests]})
    return load, groups


def _figures(prefix: str, load: Load, values_per_report: float) -> dict[str, Any]:
    return {
        f"{prefix}_requests": load.requests,
        f"{prefix}_reports_s": round(load.rate),
        f"{prefix}_values_s": round(load.rate * values_per_report),
        f"{prefix}_p50_ms": round(load.pct(0.5) * 1000, 1),
        f"{prefix}_p99_ms": round(load.pct(0.99) * 1000, 1),
    }


def bench_ingest(
    agents: int,
    rounds: int,
    connections: int,
    work: Path,
    pgw_budget_s: float = 30.0,
    postgres: bool = True,
) -> dict[str, Any]:
    work.mkdir(parents=True, exist_ok=True)
    progress(f"ingest: collector on SQLite, {agents} agents x {rounds} rounds")
    ioc, reports = ingest_collector(
        work, str(work / "ingest.db"), "sqlite", agents, rounds, connections
    )
    values_per_report = statistics.mean(sum(len(x.values) for x in r.results) for _, r in reports)
    out: dict[str, Any] = {
        "agents": agents,
        "rounds": rounds,
        "connections": connections,
        "values_per_report": round(values_per_report, 1),
        **_figures("ioc", ioc, values_per_report),
    }
    if postgres and Path("/usr/lib/postgresql/15/bin/postgres").exists():
        from tests.integration.peers import Postgres

        progress("ingest: collector on PostgreSQL 15")
        pg = Postgres()
        try:
            pg_load, _ = ingest_collector(
                work, pg.create_database(), "postgresql", agents, rounds, connections
            )
        finally:
            pg.stop()
        out.update(_figures("pg", pg_load, values_per_report))
    progress(f"ingest: pushgateway, same pushes for at most {pgw_budget_s:.0f} s")
    gw, groups = ingest_pushgateway(reports, connections, pgw_budget_s)
    out.update(_figures("pgw", gw, values_per_report))
    out.update(pgw_budget_s=pgw_budget_s, pgw_groups=groups, reports=len(reports))
    return out
