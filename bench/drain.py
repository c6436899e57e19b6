"""Spool drain after a 24-hour outage: one real agent, then thousands of agents at once.

1. **One agent.** The real ``ioc-agent run --once`` checks the machine while the collector
   is down (so its report is an outage report, as produced by the real checks) and spools
   it; that report is copied into a 24-hour backlog (1,440 reports at 60 s, one a minute
   of ``observed_at``), the collector is started again and the real ``ioc-agent run`` (60 s
   interval, default pacing from ``SpoolConfig``) drains it. The spool file is watched:
   time to the first and to the last acknowledged report of the backlog.
2. **The fleet.** Thousands of simulated agents (real enrollment tokens, one connection
   each) come back in the same few seconds, each with a 24-hour backlog of that same
   report, and drain with the agent's own policy (agent/sender.py): batches of
   ``batch_size``, a jittered pause of 50-100 % of ``batch_pause_s`` between batches, a
   flush budget of half the interval per cycle, ``Retry-After`` honoured on 429/503, full
   jitter backoff on timeouts. Bodies are rendered from a JSON template (pydantic for
   2,000 agents would measure the load generator). The run is bounded by a window: the
   figures are the collector's ingest rate, latency, refusals and CPU under that storm,
   and the time to drain every backlog at that rate.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import sqlite3
import subprocess
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from agent.config import SenderConfig, SpoolConfig, UplinkConfig
from agent.spool import SPOOL_FILE, Spool
from bench.common import (
    BIN,
    collector_process,
    free_port,
    peak_rss_mib,
    percentile,
    progress,
    stop,
    write_collector_config,
)
from bench.footprint import agent_config, enroll_agent, enrollment_code
from checks.model import AgentReport, EnrollResponse
from checks.tls import httpx_verify
from collector.assembly import open_services
from collector.config import load_config
from collector.demo.simulator import plan_nation

DAY_REPORTS = 1440  # 24 h at the default 60 s interval
INTERVAL_S = 60.0


def _spooled(db: Path, upto_seq: int) -> int:
    """Backlog reports still in the agent's spool (read while the agent writes: WAL)."""
    con = sqlite3.connect(db, timeout=5, isolation_level=None)
    try:
        return int(
            con.execute("SELECT COUNT(*) FROM reports WHERE seq <= ?", (upto_seq,)).fetchone()[0]
        )
    finally:
        con.close()


def fill_backlog(spool_db: Path, reports: int = DAY_REPORTS) -> tuple[AgentReport, int, int]:
    """Turn the one real report in the spool into a backlog of ``reports``, one a minute
    over the past day; returns the template report, the last backlog seq and spool bytes."""
    end = time.time()
    clock = [end]
    spool = Spool(spool_db, now=lambda: clock[0])
    try:
        [template] = spool.pending(1)
        spool.ack([template.seq])
        last = 0
        for i in range(reports):
            at = end - (reports - i) * INTERVAL_S
            clock[0] = at
            last = spool.next_seq()
            spool.put(
                template.model_copy(
                    update={"seq": last, "observed_at": datetime.fromtimestamp(at, UTC)}
                )
            )
        size = spool.stats().pending_bytes
    finally:
        spool.close()
    return template, last, size


def bench_drain_one(work: Path) -> tuple[dict[str, Any], AgentReport]:
    work.mkdir(parents=True, exist_ok=True)
    port, reflector = free_port(), free_port()
    cfg = write_collector_config(
        work / "collector.yaml", str(work / "collector.db"), reflector_port=reflector
    )
    code = enrollment_code(cfg)
    url = f"http://127.0.0.1:{port}"
    agent_cfg = agent_config(
        work / "agent.yaml", url, work / "agent", reflector, interval_s=INTERVAL_S
    )
    with collector_process(cfg, port):
        enroll_agent(agent_cfg, code)
    # The collector is down: one real cycle, spooled, not sent.
    subprocess.run(
        [str(BIN / "ioc-agent"), "run", "--once", "--config", str(agent_cfg)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    spool_db = work / "agent" / SPOOL_FILE
    template, last_seq, spool_bytes = fill_backlog(spool_db)
    progress(
        f"drain: {DAY_REPORTS} reports spooled ({spool_bytes:,} bytes compressed); "
        "collector back, agent started"
    )
    with collector_process(cfg, port):
        started = time.monotonic()
        proc = subprocess.Popen(
            [str(BIN / "ioc-agent"), "run", "--config", str(agent_cfg)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        first_ack = drained = None
        try:
            deadline = started + 5 * INTERVAL_S
            left = DAY_REPORTS
            while time.monotonic() < deadline and proc.poll() is None:
                left = _spooled(spool_db, last_seq)
                now = time.monotonic()
                if first_ack is None and left < DAY_REPORTS:
                    first_ack = now
                if left == 0:
                    drained = now
                    break
                time.sleep(0.1)
        finally:
            stop(proc)
            log = proc.stderr.read() if proc.stderr else ""
    if drained is None or first_ack is None:
        raise RuntimeError(
            f"drain: {left} of {DAY_REPORTS} reports still spooled; agent log:\n" + log[-2000:]
        )
    cycles = [line for line in log.splitlines() if "report seq" in line]
    pacing = SpoolConfig()
    return {
        "reports": DAY_REPORTS,
        "report_json_bytes": len(template.model_dump_json()),
        "results_per_report": len(template.results),
        "spool_bytes": spool_bytes,
        "batch_size": pacing.batch_size,
        "batch_pause_s": pacing.batch_pause_s,
        "cycles": len(cycles),
        "to_first_ack_s": round(first_ack - started, 1),
        "drain_s": round(drained - first_ack, 1),
        "total_s": round(drained - started, 1),
        "reports_per_s": round(DAY_REPORTS / max(drained - first_ack, 1e-3)),
    }, template


# --------------------------------------------------------------------------- the fleet


def _template(report: AgentReport) -> str:
    """The report as JSON with placeholders for what differs between agents and reports."""
    data = report.model_dump(mode="json")
    data.update(
        agent_id="@AGENT@",
        commune_code="@COMMUNE@",
        host="@HOST@",
        seq="@SEQ@",
        observed_at="@OBSERVED@",
    )
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


@dataclass
class FleetStats:
    latencies: list[float] = field(default_factory=list)  # of 2xx answers
    status: dict[str, int] = field(default_factory=dict)
    accepted: int = 0
    duplicates: int = 0
    drained_agents: int = 0
    last_drained_at: float | None = None
    #: How late the load generator's own event loop ran (sampled every _LAG_EVERY_S): a
    #: request's latency and timeout include that much of the generator, not the collector.
    lags: list[float] = field(default_factory=list)

    def count(self, what: str) -> None:
        self.status[what] = self.status.get(what, 0) + 1


_LAG_EVERY_S = 0.1


async def _watch_lag(stats: FleetStats, deadline: float) -> None:
    while time.monotonic() < deadline:
        t = time.monotonic()
        await asyncio.sleep(_LAG_EVERY_S)
        stats.lags.append(max(0.0, time.monotonic() - t - _LAG_EVERY_S))


class SimAgent:
    """One agent's drain, with the policy of agent/sender.py."""

    def __init__(
        self,
        agent_id: str,
        token: str,
        commune: str,
        template: str,
        backlog: int,
        url: str,
        rng: random.Random,
    ) -> None:
        self.body = (
            template.replace('"@AGENT@"', json.dumps(agent_id))
            .replace('"@COMMUNE@"', json.dumps(commune))
            .replace('"@HOST@"', json.dumps(f"bench-{commune}"))
        )
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.url = url
        self.rng = rng
        self.next_seq = 1
        self.backlog = backlog
        self.start = datetime.now(UTC) - timedelta(seconds=backlog * INTERVAL_S)
        spool, sender = SpoolConfig(), SenderConfig()
        self.batch_size, self.pause_s = spool.batch_size, spool.batch_pause_s
        self.base_s, self.cap_s = sender.backoff_base_s, sender.backoff_cap_s
        self.failures = 0
        self.not_before = 0.0

    def _batch(self) -> tuple[str, int]:
        n = min(self.batch_size, self.backlog - self.next_seq + 1)
        parts = []
        for seq in range(self.next_seq, self.next_seq + n):
            at = (self.start + timedelta(seconds=seq * INTERVAL_S)).isoformat()
            parts.append(
                self.body.replace('"@SEQ@"', str(seq)).replace('"@OBSERVED@"', json.dumps(at))
            )
        return '{"reports":[' + ",".join(parts) + "]}", n

    def _backoff(self, retry_after: float | None) -> None:
        if retry_after is not None:
            delay = retry_after + self.rng.uniform(0, self.base_s)
        else:
            delay = self.rng.uniform(0, min(self.cap_s, self.base_s * 2**self.failures))
        self.failures += 1
        self.not_before = time.monotonic() + delay

    async def run(
        self, client: httpx.AsyncClient, first_cycle_in_s: float, stats: FleetStats, deadline: float
    ) -> None:
        cycle_at = time.monotonic() + first_cycle_in_s
        while self.next_seq <= self.backlog:
            await asyncio.sleep(max(0.0, cycle_at - time.monotonic()))
            if time.monotonic() >= deadline:
                return
            if time.monotonic() >= self.not_before:
                await self._flush(client, stats, cycle_at + INTERVAL_S / 2, deadline)
            cycle_at += INTERVAL_S
        stats.drained_agents += 1
        stats.last_drained_at = time.monotonic()

    async def _flush(
        self, client: httpx.AsyncClient, stats: FleetStats, budget_end: float, deadline: float
    ) -> None:
        batches = 0
        while self.next_seq <= self.backlog and time.monotonic() < deadline:
            if batches:
                await asyncio.sleep(self.pause_s * self.rng.uniform(0.5, 1.0))
            batches += 1
            body, n = self._batch()
            t = time.monotonic()
            try:
                resp = await client.post(self.url, content=body, headers=self.headers)
            except httpx.TimeoutException:
                stats.count("timeout")
                self._backoff(None)
                return
            except httpx.HTTPError:
                stats.count("connection error")
                self._backoff(None)
                return
            code = resp.status_code
            if 200 <= code < 300:
                stats.latencies.append(time.monotonic() - t)
                stats.count("2xx")
                answer = resp.json()
                stats.accepted += answer["accepted"]
                stats.duplicates += answer["duplicates"]
                self.next_seq += n
                self.failures = 0
            elif code in (408, 429) or code >= 500:
                stats.count(str(code))
                header = resp.headers.get("Retry-After")
                self._backoff(float(header) if header and header.isdigit() else None)
                return
            else:
                raise RuntimeError(f"fleet: HTTP {code}: {resp.text[:300]}")
            if time.monotonic() >= budget_end:
                return


def _shed_by_limit(url: str) -> dict[str, int]:
    """The collector's own count of shed requests, by the limit reached."""
    text = httpx.get(f"{url}/metrics", params={"part": "readiness"}, timeout=60).text
    return {
        s.labels["limit"]: int(s.value)
        for fam in text_string_to_metric_families(text)
        if fam.name == "ioc_ingest_shed_requests"
        for s in fam.samples
        if s.name.endswith("_total")
    }


async def _storm(
    sims: list[SimAgent], stats: FleetStats, rng: random.Random, window_s: float, spread_s: float
) -> float:
    """Every simulated agent drains its backlog at once for ``window_s``; the seconds it took."""
    timeout = httpx.Timeout(UplinkConfig().timeout_s)  # the agent's default
    # One client (one connection) an agent, as on the agents' machines. One client
    # for them all would spend the load generator's core in its pool, which looks
    # over every connection for every request (thousands here): its own event loop
    # then ran seconds late, and that delay read as the collector's latency.
    verify = httpx_verify(True)  # one TLS context for all (plain HTTP here anyway)
    async with contextlib.AsyncExitStack() as clients:
        pool = [
            await clients.enter_async_context(
                httpx.AsyncClient(
                    limits=httpx.Limits(max_connections=1), timeout=timeout, verify=verify
                )
            )
            for _ in sims
        ]
        started = time.monotonic()
        deadline = started + window_s
        tasks = [
            asyncio.create_task(s.run(c, rng.uniform(0, spread_s), stats, deadline))
            for s, c in zip(sims, pool, strict=True)
        ]
        watcher = asyncio.create_task(_watch_lag(stats, deadline))
        while time.monotonic() < deadline and not all(t.done() for t in tasks):
            await asyncio.sleep(min(10.0, max(0.0, deadline - time.monotonic())))
            progress(f"drain fleet: {stats.accepted:,} reports stored, {stats.status}")
        for t in (*tasks, watcher):
            t.cancel()
        await asyncio.gather(*tasks, watcher, return_exceptions=True)
        return time.monotonic() - started


def _enroll_fleet(cfg: Path, agents: int) -> list[EnrollResponse]:
    """``agents`` agents, one a commune, enrolled in the benchmark's own database."""
    services = open_services(load_config(cfg), migrate=True)
    communes = sorted(plan_nation(services.units))[:agents]
    enrolled = [
        services.identities.enroll(code, f"bench-{c}")
        for c, code in services.identities.create_enrollment_codes(communes)
    ]
    services.engine.dispose()
    return enrolled


def bench_drain_fleet(
    work: Path,
    template: AgentReport,
    agents: int = 2000,
    backlog: int = DAY_REPORTS,
    window_s: float = 30.0,
    spread_s: float = 10.0,
) -> dict[str, Any]:
    work.mkdir(parents=True, exist_ok=True)
    cfg = write_collector_config(work / "collector.yaml", str(work / "fleet.db"))
    enrolled = _enroll_fleet(cfg, agents)
    progress(f"drain fleet: {len(enrolled)} agents enrolled; each drains {backlog} reports")
    body = _template(template)
    rng = random.Random(5)
    stats = FleetStats()
    with collector_process(cfg, stop_timeout_s=5) as (url, collector):
        sims = [
            SimAgent(
                a.agent_id,
                a.token,
                a.commune_code,
                body,
                backlog,
                f"{url}/api/v1/reports",
                random.Random(rng.random()),
            )
            for a in enrolled
        ]

        cpu0 = sum(collector.cpu_times()[:2])
        gen0 = time.process_time()
        elapsed = asyncio.run(_storm(sims, stats, rng, window_s, spread_s))
        collector_cpu = sum(collector.cpu_times()[:2]) - cpu0
        generator_cpu = time.process_time() - gen0
        collector_peak = peak_rss_mib(collector.pid)
        shed_by = _shed_by_limit(url)
    total = agents * backlog
    rate = stats.accepted / elapsed
    return {
        "agents": agents,
        "backlog": backlog,
        "window_s": round(elapsed, 1),
        "spread_s": spread_s,
        "stored": stats.accepted,
        "duplicates": stats.duplicates,
        "reports_per_s": round(rate),
        "requests": sum(stats.status.values()),
        "status": stats.status,
        "p50_ms": round(percentile(stats.latencies, 0.5) * 1000),
        "p99_ms": round(percentile(stats.latencies, 0.99) * 1000),
        "generator_lag_p50_ms": round(percentile(stats.lags, 0.5) * 1000),
        "generator_lag_p99_ms": round(percentile(stats.lags, 0.99) * 1000),
        "collector_cpu_cores": round(collector_cpu / elapsed, 2),
        "generator_cpu_cores": round(generator_cpu / elapsed, 2),
        "collector_peak_rss_mib": round(collector_peak),
        "shed_by_limit": shed_by,
        "drained_agents": stats.drained_agents,
        "projected_total_s": round(total / rate) if rate else None,
    }
