"""Ingest over HTTP: ``POST /api/v1/reports`` from simulated agents, on SQLite and on
PostgreSQL, beside Debian's ``prometheus-pushgateway`` receiving the same values.

The load generator is ``wrk`` (C, one thread per core would be too many here: two threads),
driven by ``bench/ingest.lua``: each simulated agent sends its reports in ``seq`` order, one
report per request, for a fixed time; the pushgateway gets the same values, as text
exposition, one PUT per report, for the same time. A Python client could not load the
collector without taking the cores it measures.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import subprocess
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from bench.common import (
    collector_process,
    free_port,
    postgres_server,
    progress,
    stop,
    wait_http,
    write_collector_config,
)
from checks.model import AgentReport, CheckResult, EnrollResponse, ReportBatch, utcnow
from collector.api.prometheus import labels
from collector.assembly import Services, open_services
from collector.config import load_config
from collector.demo.simulator import plan_nation, simulated_results
from collector.service.identities import agent_row, enrolled, new_agent_id, new_token
from collector.storage import schema as db
from collector.storage.codecs import as_utc

LUA = Path(__file__).with_name("ingest.lua")
THREADS = 2
_SEQ = '"seq":1,'
#: A line break inside a body (text exposition) travels as this byte in the data file.
_NEWLINE = "\x1f"


@dataclass
class Load:
    requests: int
    seconds: float
    p50_s: float
    p99_s: float
    failed: int
    #: A paced load that followed this one on the same collectors (ingest_collector).
    paced: Load | None = None

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def wrk(
    url: str, data: Path, connections: int, duration_s: float, rate: float = 0, seq0: int = 0
) -> Load:
    """``wrk`` against ``url`` with the agents of ``data`` (see bench/ingest.lua): as fast as
    the server answers, or ``rate`` requests/s on a fixed schedule; ``seq0`` is added to
    every report's seq."""
    exe = shutil.which("wrk")
    if exe is None:
        raise RuntimeError("wrk is not installed (apt-get install wrk)")
    out = subprocess.run(
        [
            exe,
            f"-t{THREADS}",
            f"-c{connections}",
            f"-d{duration_s:g}s",
            "--timeout",
            "30s",
            "-s",
            str(LUA),
            url,
        ],
        env={
            **os.environ,
            "IOC_WRK_DATA": str(data),
            "IOC_WRK_THREADS": str(THREADS),
            "IOC_WRK_RATE": f"{rate:g}",
            "IOC_WRK_SEQ0": str(seq0),
        },
        capture_output=True,
        text=True,
        check=False,
        timeout=duration_s + 120,
    )
    line = next((x for x in out.stdout.splitlines() if x.startswith("{")), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stderr[-500:]}")
    r = json.loads(line)
    failed = sum(
        r[k] for k in ("status_errors", "connect_errors", "read_errors", "write_errors", "timeouts")
    )
    if out.stderr.strip():
        progress(f"wrk: {out.stderr.strip().splitlines()[0][:200]}")
    return Load(r["requests"], r["duration_us"] / 1e6, r["p50_us"] / 1e6, r["p99_us"] / 1e6, failed)


def _exposition(report: AgentReport) -> bytes:
    """The report's values as Prometheus text, as a pushgateway client would push them."""
    lines = []
    for res in report.results:
        for name, v in res.values.items():
            rendered = labels(check=res.check, target=res.target)
            lines.append(f"ioc_{name}{{{rendered}}} {v.value!r}")
    return ("\n".join(lines) + "\n").encode()


def _trim(results: list[CheckResult], values: int) -> list[CheckResult]:
    """The first results of a cycle, up to ``values`` values in all (0: the whole cycle)."""
    if values <= 0:
        return results
    out: list[CheckResult] = []
    left = values
    for res in results:
        if left <= 0:
            break
        if len(res.values) > left:
            res = res.model_copy(update={"values": dict(list(res.values.items())[:left])})
        out.append(res)
        left -= len(res.values)
    return out


#: The national minute's agents, enrolled once a run and given to the second engine as rows
#: of ``agents`` (enrolling 50,000 agents one transaction each takes minutes): by their
#: number, those rows and each agent's identity and host.
_ENROLLED: dict[int, tuple[list[dict[str, Any]], list[tuple[EnrollResponse, str]]]] = {}


#: From this many agents on (the national minute's 50,000), the agents are written as
#: enrollment writes them, in one transaction, instead of enrolled one by one (a
#: transaction each: 50,000 take a minute; enrollment is not what is measured here).
BULK_ENROLL_FROM = 10_000


def _host(codes: list[str], n: int) -> str:
    """The ``n``-th agent's host name: its commune's k-th machine."""
    c, k = codes[n % len(codes)], n // len(codes)
    return f"bench-{c}" + (f"-{k}" if k else "")


#: The workloads of :func:`wrk_workload` ``(once=True)``, by agents and values: their
#: agents' first reports and wrk's data file of them, made once a run.
_WORKLOADS: dict[tuple[int, int], tuple[list[tuple[str, AgentReport]], Path]] = {}


def _enroll_in_bulk(
    services: Services, codes: list[str], agents: int
) -> list[tuple[EnrollResponse, str]]:
    """``agents`` rows of ``agents`` as ``Identities.enroll`` writes them (a random token,
    stored hashed), in one transaction; each one's identity and host."""
    now = utcnow()
    rows, out = [], []
    for n in range(agents):
        commune = services.units.commune(codes[n % len(codes)])
        token, agent_id = new_token(), new_agent_id()
        host = _host(codes, n)
        rows.append(agent_row(agent_id, token, commune, host, "", now))
        out.append((enrolled(agent_id, token, commune), host))
    with services.engine.begin() as conn:
        for i in range(0, len(rows), 5000):
            conn.execute(db.agents.insert(), rows[i : i + 5000])
    progress(f"ingest: {agents:,} agents written as enrollment writes them")
    return out


def _enroll(services: Services, codes: list[str], agents: int) -> list[tuple[EnrollResponse, str]]:
    """Enroll ``agents`` through the collector's enrollment, one per commune of ``codes`` in
    order and round again (from BULK_ENROLL_FROM agents: :func:`_enroll_in_bulk`): each
    one's identity and host."""
    if agents >= BULK_ENROLL_FROM:
        return _enroll_in_bulk(services, codes, agents)
    communes = [codes[i % len(codes)] for i in range(agents)]
    enrolled = []
    for n, (_, code) in enumerate(services.identities.create_enrollment_codes(communes)):
        host = _host(codes, n)
        enrolled.append((services.identities.enroll(code, host), host))
    return enrolled


def _enrolled_once(
    services: Services, codes: list[str], agents: int
) -> list[tuple[EnrollResponse, str]]:
    """:func:`_enroll` the first time a run asks for ``agents`` agents; later, the same
    agents' rows (identity, hashed token, commune) copied into this database."""
    if agents not in _ENROLLED:
        enrolled = _enroll(services, codes, agents)
        with services.engine.connect() as conn:
            # What enrolling set (NULLs stay NULL, not JSON null); SQLite gives back naive
            # UTC times.
            rows = [
                {k: v for k, v in r._mapping.items() if v is not None}
                for r in conn.execute(select(db.agents))
            ]
        for row in rows:
            row["enrolled_at"] = as_utc(row["enrolled_at"])
        _ENROLLED[agents] = (rows, enrolled)
        return enrolled
    _copy_enrolled(services, agents)
    return _ENROLLED[agents][1]


def _copy_enrolled(services: Services, agents: int) -> None:
    """The rows of the ``agents`` agents enrolled earlier in the run, into this database."""
    rows = _ENROLLED[agents][0]
    progress(f"ingest: the same {agents:,} agents copied in (enrolled once)")
    with services.engine.begin() as conn:
        for i in range(0, len(rows), 5000):
            conn.execute(db.agents.insert(), rows[i : i + 5000])


def _workload(
    db_url: str, agents: int, values: int = 30, *, once: bool = False
) -> list[tuple[str, AgentReport]]:
    """Enroll ``agents`` in the database, one per commune in code order and round again
    (50,000 agents: ~15 a commune); each one's first report: the first ``values`` values of
    its commune's PASC machine's cycle (0: the whole cycle, ~69). ``once``: the same agents
    in every database of the run that asks for as many (:func:`_enrolled_once`)."""
    services = open_services(load_config(None, db=db_url), migrate=True)  # the benchmark's database
    try:
        plans = plan_nation(services.units)
        codes = sorted(plans)
        if once:
            enrolled = _enrolled_once(services, codes, agents)
        else:
            enrolled = _enroll(services, codes, agents)
    finally:
        services.engine.dispose()
    rng = random.Random(7)
    # A commune's cycle is drawn once and sent by each of its agents: drawing 50,000 cycles
    # took ~20 s of the national minute's set-up; what the collector does with a report
    # does not depend on which of its commune's agents sent it.
    cycles: dict[str, list[CheckResult]] = {}
    for a, _host in enrolled:
        if a.commune_code not in cycles:
            cycles[a.commune_code] = _trim(simulated_results(plans[a.commune_code], rng), values)
    return [
        (
            a.token,
            AgentReport(
                agent_id=a.agent_id,
                seq=1,
                commune_code=a.commune_code,
                host=host,
                observed_at=utcnow(),
                agent_version="bench",
                results=cycles[a.commune_code],
            ),
        )
        for a, host in enrolled
    ]


def _line(method: str, path: str, token: str, body: str) -> str:
    body = body.replace("\n", _NEWLINE)
    if _SEQ in body:  # the report's seq is filled in by wrk, one more each round
        prefix, suffix = body.split(_SEQ)
        return f'{method}\t{path}\t{token}\tseq\t{prefix}"seq":\t,{suffix}\n'
    return f"{method}\t{path}\t{token}\tplain\t{body}\t\n"


def stored_reports(db_url: str) -> int:
    services = open_services(load_config(None, db=db_url))
    try:
        with services.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(db.reports)).scalar_one())
    finally:
        services.engine.dispose()


def wrk_workload(
    work: Path, label: str, db_url: str, agents: int, values: int, *, once: bool = False
) -> tuple[list[tuple[str, AgentReport]], Path]:
    """Enroll the workload's agents in ``db_url`` (:func:`_workload`) and write wrk's data
    file of their first reports (bench/ingest.lua); returns both. ``once``: the same agents
    and data file in every database of the run that asks for as many agents and values
    (50,000 reports take about 10 s to build and write)."""
    if once and (agents, values) in _WORKLOADS:
        services = open_services(load_config(None, db=db_url), migrate=True)
        try:
            _copy_enrolled(services, agents)
        finally:
            services.engine.dispose()
        return _WORKLOADS[(agents, values)]
    reports = _workload(db_url, agents, values, once=once)
    data = work / f"wrk-{label}.tsv"
    with data.open("w", encoding="utf-8") as f:
        for tok, rep in reports:
            body = ReportBatch(reports=[rep]).model_dump_json()
            if body.count(_SEQ) != 1:
                raise RuntimeError("a report body must name its seq exactly once")
            f.write(_line("POST", "/api/v1/reports", tok, body))
    if once:
        _WORKLOADS[(agents, values)] = (reports, data)
    return reports, data


def ingest_collector(
    work: Path,
    db_url: str,
    label: str,
    agents: int,
    connections: int,
    duration_s: float,
    processes: int = 1,
    values: int = 30,
    paced: tuple[float, float] | None = None,
    enroll_once: bool = False,
    **options: Any,
) -> tuple[Load, list[tuple[str, AgentReport]]]:
    """``processes`` × ``ioc-collector serve`` on ``db_url`` sharing one port
    (``--reuse-port``), receiving one report per request for ``duration_s``; with ``paced``
    (requests/s, seconds), then the same agents' later reports on that schedule, whose load
    is ``self.paced`` of the first load returned. ``enroll_once``: the agents of the run's
    earlier workload of as many agents (:func:`_enrolled_once`). ``options``: more collector
    settings."""
    reports, data = wrk_workload(work, label, db_url, agents, values, once=enroll_once)
    cfg = write_collector_config(
        work / f"collector-{label}.yaml", db_url, reuse_port=processes > 1, **options
    )
    port = free_port()
    with ExitStack() as running:
        for _ in range(processes):
            url, _proc = running.enter_context(collector_process(cfg, port=port))
        load = wrk(url, data, connections, duration_s)
        if paced is not None:
            # Past every seq the first load can have reached. wrk's threads each send for
            # their own agents and need not keep pace with each other, so an agent's round
            # is bounded only by every request sent: those answered, and at most one still
            # in flight on each connection when wrk stopped.
            seq0 = load.requests + connections
            load.paced = wrk(url, data, connections, paced[1], rate=paced[0], seq0=seq0)
    return load, reports


def ingest_pushgateway(
    reports: list[tuple[str, AgentReport]], work: Path, connections: int, duration_s: float
) -> tuple[Load, int]:
    """The same values pushed to the pushgateway, one PUT per report, for ``duration_s``;
    returns the load and the number of groups (agents) it held at the end."""
    port = free_port()
    pgw = subprocess.Popen(
        # Memory only: Debian's default persistence file would load every group pushed
        # by earlier runs (thousands), and the pushgateway slows with each group it holds.
        ["prometheus-pushgateway", f"--web.listen-address=127.0.0.1:{port}", "--persistence.file="],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/-/ready", proc=pgw)
        data = work / "wrk-pushgateway.tsv"
        with data.open("w", encoding="utf-8") as f:
            for _, rep in reports:
                f.write(
                    _line(
                        "PUT",
                        f"/metrics/job/ioc/instance/{rep.agent_id}",
                        "",
                        _exposition(rep).decode(),
                    )
                )
        load = wrk(f"http://127.0.0.1:{port}", data, connections, duration_s)
        held = httpx.get(f"http://127.0.0.1:{port}/api/v1/metrics", timeout=60).json()["data"]
    finally:
        stop(pgw)
    return load, len(held)


def _values_per_report(reports: list[tuple[str, AgentReport]]) -> float:
    return statistics.mean(sum(len(x.values) for x in r.results) for _, r in reports)


def _figures(prefix: str, load: Load, values_per_report: float) -> dict[str, Any]:
    return {
        f"{prefix}_requests": load.requests,
        f"{prefix}_failed": load.failed,
        f"{prefix}_reports_s": round(load.rate),
        f"{prefix}_values_s": round(load.rate * values_per_report),
        f"{prefix}_p50_ms": round(load.p50_s * 1000, 1),
        f"{prefix}_p99_ms": round(load.p99_s * 1000, 1),
    }


def national_minute(
    work: Path,
    agents: int,
    connections: int,
    duration_s: float,
    values: int = 30,
    db_url: str | None = None,
    processes: int = 1,
    prefix: str = "minute",
    paced_s: float = 0,
) -> dict[str, Any]:
    """A nation's agents (50,000, ~15 a commune) each sending its report over HTTP to
    ``processes`` collectors on ``db_url`` (default: a fresh SQLite file), as every minute,
    from a cold start: how long until every agent's first report was stored
    (``<prefix>_all_in_s``, None if some never were within ``duration_s``), the rate and the
    latency. With ``paced_s``, then every agent's next reports at the nation's own rate (each
    agent once a minute, ``agents`` / 60 reports/s) for ``paced_s`` on the same collectors:
    the latency at that rate (``<prefix>_paced_*``)."""
    url = db_url or str(work / f"national-{prefix}.db")
    pace = (agents / 60, paced_s) if paced_s > 0 else None
    load, reports = ingest_collector(
        work,
        url,
        prefix,
        agents,
        connections,
        duration_s,
        processes=processes,
        values=values,
        paced=pace,
        enroll_once=True,
    )
    r = db.reports.c
    services = open_services(load_config(None, db=url))
    try:
        with services.engine.connect() as conn:
            firsts = [
                as_utc(t)
                for t in conn.execute(
                    select(func.min(r.received_at)).group_by(r.agent_id)
                ).scalars()
            ]
    finally:
        services.engine.dispose()
    per_report = _values_per_report(reports)
    return {
        f"{prefix}_agents": agents,
        f"{prefix}_processes": processes,
        f"{prefix}_communes": len({rep.commune_code for _, rep in reports}),
        f"{prefix}_duration_s": duration_s,
        f"{prefix}_reported": len(firsts),
        f"{prefix}_all_in_s": (
            (max(firsts) - min(firsts)).total_seconds() if len(firsts) == agents else None
        ),
        **_figures(prefix, load, per_report),
        **(
            {
                f"{prefix}_paced_target_s": round(agents / 60),
                f"{prefix}_paced_duration_s": paced_s,
                **_figures(f"{prefix}_paced", load.paced, per_report),
            }
            if load.paced is not None
            else {}
        ),
    }


def bench_ingest(
    agents: int,
    duration_s: float,
    connections: int,
    work: Path,
    postgres: bool = True,
    values: int = 30,
    nation_agents: int = 0,
    nation_duration_s: float = 50.0,
    nation_paced_s: float = 20.0,
) -> dict[str, Any]:
    """Section 1's figures: ``agents`` over wrk for ``duration_s`` on each collector set-up
    and on the pushgateway; with ``nation_agents``, the national minute on SQLite and on
    PostgreSQL (``nation_duration_s`` as fast as the collectors answer, then
    ``nation_paced_s`` at the nation's rate)."""
    work.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {"agents": agents, "duration_s": duration_s, "connections": connections}

    def measure(engine: str, url: str, prefix: str, procs: int) -> list[tuple[str, AgentReport]]:
        """One wrk run against ``procs`` collectors on ``url``: its figures go in ``out``."""
        progress(
            f"ingest: {procs} collector process(es) on {engine}, {agents} agents, {duration_s:g} s"
        )
        load, reports = ingest_collector(
            work,
            url,
            prefix,
            agents,
            connections,
            duration_s,
            processes=procs,
            values=values,
            enroll_once=True,
        )
        out.update(_figures(prefix, load, _values_per_report(reports)))
        out[f"{prefix}_stored"] = stored_reports(url)
        return reports

    reports = measure("SQLite", str(work / "ingest.db"), "ioc", 1)
    values_per_report = _values_per_report(reports)
    out["values_per_report"] = round(values_per_report, 1)
    measure("SQLite", str(work / "ingest-2.db"), "ioc2", 2)
    if nation_agents > 0:
        progress(
            f"ingest: the national minute on SQLite, {nation_agents:,} agents over HTTP "
            f"(written as enrollment writes them)"
        )
        out.update(
            national_minute(
                work,
                nation_agents,
                connections,
                nation_duration_s,
                values,
                paced_s=nation_paced_s,
            )
        )
    with postgres_server(postgres) as pg:
        if pg is not None:
            for procs, prefix in ((1, "pg"), (2, "pg2")):
                measure("PostgreSQL 15", pg.create_database(), prefix, procs)
            if nation_agents > 0:
                progress(
                    f"ingest: the national minute on PostgreSQL 15, 2 processes, "
                    f"{nation_agents:,} agents (the same agents, copied in)"
                )
                out.update(
                    national_minute(
                        work,
                        nation_agents,
                        connections,
                        nation_duration_s,
                        values,
                        db_url=pg.create_database(),
                        processes=2,
                        prefix="pgminute",
                        paced_s=nation_paced_s,
                    )
                )
    progress(f"ingest: pushgateway, the same values for {duration_s:g} s")
    gw, groups = ingest_pushgateway(reports, work, connections, duration_s)
    out.update(_figures("pgw", gw, values_per_report))
    out.update(pgw_groups=groups)
    return out
