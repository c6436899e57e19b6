"""``make bench``: performance figures, each side by side with a peer in the same run.

1. ingest: reports/s, values/s and latency of ``POST /api/v1/reports`` with simulated agents
   over HTTP, beside Debian's ``prometheus-pushgateway`` receiving the same values;
2. national: time to evaluate every commune, and ``/metrics`` scrape time, size and series
   count for the whole nation, beside ``prometheus-node-exporter``'s scrape on this machine.

Results are printed and written to ``docs/BENCHMARKS.md`` (``--out``). Everything runs on
loopback; every loop is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx

from checks.model import Report, ReportBatch, utcnow
from collector.config import load_config
from collector.metrics import labels
from collector.server import BackgroundServer
from collector.service import build_app, open_store
from collector.simulator import Simulator, plan_nation, simulated_results

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_http(url: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up within {timeout_s} s")


@dataclass
class Load:
    requests: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def pct(self, p: float) -> float:
        xs = sorted(self.latencies)
        return xs[min(len(xs) - 1, int(p * len(xs)))]


async def _drive(
    calls: list[Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]], connections: int
) -> Load:
    latencies: list[float] = []
    sem = asyncio.Semaphore(connections)
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:

        async def one(call: Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]) -> None:
            async with sem:
                t = time.perf_counter()
                resp = await call(client)
                latencies.append(time.perf_counter() - t)
            if resp.status_code >= 300:
                raise RuntimeError(f"HTTP {resp.status_code}: {resp.text[:200]}")

        started = time.perf_counter()
        await asyncio.gather(*(one(c) for c in calls))
        elapsed = time.perf_counter() - started
    return Load(len(calls), elapsed, latencies)


def _exposition(report: Report) -> bytes:
    """The report's values as Prometheus text, as a pushgateway client would push them."""
    lines = []
    for res in report.results:
        for name, v in res.values.items():
            rendered = labels(check=res.check, target=res.target)
            lines.append(f"ioc_{name}{{{rendered}}} {v.value!r}")
    return ("\n".join(lines) + "\n").encode()


def bench_ingest(agents: int, rounds: int, connections: int, work: Path) -> dict[str, Any]:
    db = work / "ingest.db"
    cfg_file = work / "collector.yaml"
    cfg_file.write_text(f"db: {db}\nreflector_port: 0\nreevaluate_every_s: 0\n")
    store = open_store(load_config(cfg_file))
    plans = plan_nation(store.units)
    communes = sorted(plans)[:agents]
    enrolled = [
        store.enroll(code, f"bench-{c}") for c, code in store.create_enrollment_codes(communes)
    ]
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
    values_per_report = statistics.mean(sum(len(x.values) for x in r.results) for _, r in reports)

    port = _free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "ioc-collector"),
            "serve",
            "--config",
            str(cfg_file),
            "--listen",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        env=env,
    )
    try:
        _wait_http(f"http://127.0.0.1:{port}/healthz")
        url = f"http://127.0.0.1:{port}/api/v1/reports"
        bodies = [(tok, ReportBatch(reports=[rep]).model_dump_json()) for tok, rep in reports]

        def post(tok: str, body: str) -> Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]:
            headers = {"Authorization": f"Bearer {tok}", "Content-Type": "application/json"}
            return lambda c: c.post(url, content=body, headers=headers)

        ioc = asyncio.run(_drive([post(t, b) for t, b in bodies], connections))
    finally:
        server.terminate()
        server.wait(timeout=30)

    pgw_port = _free_port()
    pgw = subprocess.Popen(
        ["prometheus-pushgateway", f"--web.listen-address=127.0.0.1:{pgw_port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_http(f"http://127.0.0.1:{pgw_port}/-/ready")
        texts = [(rep.agent_id, _exposition(rep)) for _, rep in reports]

        def push(
            agent: str, text: bytes
        ) -> Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]:
            u = f"http://127.0.0.1:{pgw_port}/metrics/job/ioc/instance/{agent}"
            return lambda c: c.put(u, content=text)

        gw = asyncio.run(_drive([push(a, t) for a, t in texts], connections))
    finally:
        pgw.terminate()
        pgw.wait(timeout=30)
    return {
        "agents": agents,
        "rounds": rounds,
        "connections": connections,
        "values_per_report": round(values_per_report, 1),
        "ioc_reports_s": round(ioc.rate),
        "ioc_values_s": round(ioc.rate * values_per_report),
        "ioc_p50_ms": round(ioc.pct(0.5) * 1000, 1),
        "ioc_p99_ms": round(ioc.pct(0.99) * 1000, 1),
        "pgw_pushes_s": round(gw.rate),
        "pgw_values_s": round(gw.rate * values_per_report),
        "pgw_p50_ms": round(gw.pct(0.5) * 1000, 1),
        "pgw_p99_ms": round(gw.pct(0.99) * 1000, 1),
    }


def bench_national(work: Path) -> dict[str, Any]:
    db = work / "nation.db"
    cfg = load_config(None, db=str(db), reevaluate_every_s=0)
    store = open_store(cfg)
    with BackgroundServer(build_app(store, cfg)) as url:
        stats = asyncio.run(Simulator(url, store, seed=1).run())
        started = time.perf_counter()
        evaluated = store.reevaluate()
        evaluation_s = time.perf_counter() - started
        scrapes = []
        body = b""
        for _ in range(3):
            t = time.perf_counter()
            body = httpx.get(f"{url}/metrics", timeout=120).content
            scrapes.append(time.perf_counter() - t)
    series = sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))

    ne_port = _free_port()
    ne = subprocess.Popen(
        [
            "prometheus-node-exporter",
            f"--web.listen-address=127.0.0.1:{ne_port}",
            "--no-collector.systemd",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_http(f"http://127.0.0.1:{ne_port}/metrics")
        ne_times, ne_body = [], b""
        for _ in range(3):
            t = time.perf_counter()
            ne_body = httpx.get(f"http://127.0.0.1:{ne_port}/metrics", timeout=60).content
            ne_times.append(time.perf_counter() - t)
    finally:
        ne.terminate()
        ne.wait(timeout=30)
    ne_series = sum(1 for line in ne_body.splitlines() if line and not line.startswith(b"#"))
    return {
        "hosts": stats.reports_sent,
        "communes_evaluated": evaluated,
        "evaluation_s": round(evaluation_s, 2),
        "scrape_s": round(statistics.median(scrapes), 2),
        "scrape_bytes": len(body),
        "series": series,
        "ne_scrape_s": round(statistics.median(ne_times), 3),
        "ne_series": ne_series,
        "scrape_s_per_1k_series": round(statistics.median(scrapes) / series * 1000, 4),
        "ne_scrape_s_per_1k_series": round(statistics.median(ne_times) / ne_series * 1000, 4),
    }


def _versions() -> str:
    def deb(pkg: str) -> str:
        out = subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True, text=True, check=False
        )
        return out.stdout or "?"

    return (
        f"Python {platform.python_version()}, commune-ioc {version('commune-ioc')}, "
        f"SQLAlchemy {version('SQLAlchemy')}, uvicorn {version('uvicorn')}; "
        f"prometheus-pushgateway {deb('prometheus-pushgateway')}, "
        f"prometheus-node-exporter {deb('prometheus-node-exporter')}"
    )


def _row(*cells: object) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def write_markdown(path: Path, ingest: dict[str, Any], nation: dict[str, Any]) -> None:
    i, n = ingest, nation
    ioc_row = _row(
        "commune-ioc collector",
        i["ioc_reports_s"],
        i["ioc_values_s"],
        f"{i['ioc_p50_ms']} ms",
        f"{i['ioc_p99_ms']} ms",
    )
    pgw_row = _row(
        "prometheus-pushgateway",
        i["pgw_pushes_s"],
        i["pgw_values_s"],
        f"{i['pgw_p50_ms']} ms",
        f"{i['pgw_p99_ms']} ms",
    )
    per_1k = _row(
        "scrape time per 1,000 series, collector / node_exporter",
        f"{n['scrape_s_per_1k_series']} s / {n['ne_scrape_s_per_1k_series']} s",
    )
    ratio_values = i["ioc_values_s"] / i["pgw_values_s"]
    text = f"""# Benchmarks

Measured by `make bench` (`python -m bench.run`) on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC,
{os.cpu_count()} cores, {platform.platform()}; {_versions()}. Load generator, collector and
peer share the machine; all traffic on loopback. Figures are from one run: repeat for noise.

## 1. Ingest over HTTP, beside pushgateway

{i["agents"]} simulated agents × {i["rounds"]} rounds = {i["agents"] * i["rounds"]} reports
(one report per request, {i["values_per_report"]} values each), {i["connections"]}
connections, collector on SQLite (`ioc-collector serve`). The pushgateway receives the same
values as text exposition, one PUT per report.

| | requests/s | values/s | p50 | p99 |
|---|---|---|---|---|
{ioc_row}
{pgw_row}
| **ratio collector / pushgateway** | | **{ratio_values:.2f}** | | |

The collector stores every report durably (fsync), evaluates the commune's 16 criteria and
answers after commit; the pushgateway keeps the last push in memory, but each push is checked
against every group it holds, so its rate falls as groups (agents) and metric names grow:
here {i["agents"]} groups of {i["values_per_report"]} values. The goal below is far from met:
the ingest path (HTTP parsing, pydantic, per-report evaluation) is the next work of issue 8.
Goal (issue 8): ≥ 2,000 reports/s, p99 < 100 ms, values/s ≥ pushgateway's.

## 2. The nation: evaluation and `/metrics`

{n["hosts"]} simulated hosts reporting for the communes of all 34 provinces.

| | figure |
|---|---|
| re-evaluate all {n["communes_evaluated"]} reported communes | {n["evaluation_s"]} s |
| `/metrics` scrape (median of 3) | {n["scrape_s"]} s |
| `/metrics` size | {n["scrape_bytes"]:,} bytes |
| `/metrics` series | {n["series"]:,} |
| node_exporter scrape on this machine | {n["ne_scrape_s"]} s for {n["ne_series"]} series |
{per_1k}

Goals (issue 8): national evaluation ≤ 1 s; national scrape ≤ 1 s.

## Not yet measured

Agent footprint beside node_exporter, ingest on PostgreSQL, 50,000 hosts, and the spool
drain after a 24-hour outage (issue 8 items 1 and 5) are still to come.

Reproduce: `make bench` (needs Debian's prometheus-pushgateway and prometheus-node-exporter).
"""
    path.write_text(text, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=1000, help="simulated agents for ingest")
    parser.add_argument("--rounds", type=int, default=2, help="reports per agent for ingest")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "BENCHMARKS.md")
    args = parser.parse_args()
    for peer in ("prometheus-pushgateway", "prometheus-node-exporter"):
        if shutil.which(peer) is None:
            print(f"bench: {peer} is not installed (apt-get install {peer})", file=sys.stderr)
            return 2
    with tempfile.TemporaryDirectory(prefix="ioc-bench-") as tmp:
        work = Path(tmp)
        print("bench: ingest, collector then pushgateway ...", file=sys.stderr)
        ingest = bench_ingest(args.agents, args.rounds, args.connections, work)
        print(json.dumps(ingest), file=sys.stderr)
        print("bench: the nation (simulated over HTTP, ~2 min) ...", file=sys.stderr)
        nation = bench_national(work)
        print(json.dumps(nation), file=sys.stderr)
    write_markdown(args.out, ingest, nation)
    print(f"bench: written {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
