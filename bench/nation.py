"""A nation of ~50,000 hosts for the evaluation and ``/metrics`` benchmarks.

Every commune that is not planned silent gets its PASC machine (the simulator's full check
set and planned faults) and enough office PCs (:func:`~collector.demo.simulator.office_results`)
to reach the requested number of hosts. Agents are registered directly in the database
(enrolling 50,000 agents one HTTP call at a time would measure enrollment, not evaluation);
their reports go through the collector's group-commit path (``Ingest.ingest_many``), so the
database holds exactly what real ingest would leave: reports, latest results, each
host's findings and every commune's evaluation.
"""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from checks.model import AgentReport, utcnow
from collector.criteria.rules import Rules
from collector.demo.simulator import (
    CommunePlan,
    attestations_for,
    office_results,
    plan_nation,
    simulated_results,
)
from collector.service import Services
from collector.service.identities import AgentIdentity, hash_secret
from collector.storage import schema as db
from collector.storage.codecs import as_utc


@dataclass(frozen=True)
class Nation:
    hosts: int
    communes: int
    reports: int
    values: int
    ingest_s: float


#: A registered host of the benchmark: identity, host name, and whether it is the commune's
#: PASC machine (the simulator's full check set) or an office PC.
Host = tuple[AgentIdentity, str, bool]


def register_hosts(
    services: Services, plans: list[CommunePlan], hosts: int, version: str = "bench"
) -> list[Host]:
    """Register ``hosts`` agents directly in the database, spread over the communes of
    ``plans``: each commune's PASC machine first, then office PCs (at least one host a
    commune)."""
    per_commune, extra = divmod(hosts, len(plans))
    now = services.clock()
    agents: list[dict[str, object]] = []
    work: list[Host] = []
    for n, plan in enumerate(plans):
        count = max(1, per_commune + (1 if n < extra else 0))
        for k in range(count):
            host = f"pasc-{plan.code}" if k == 0 else f"pc-{plan.code}-{k:02d}"
            agent_id = f"a-{secrets.token_hex(8)}"
            agents.append(
                {
                    "agent_id": agent_id,
                    "token_hash": hash_secret(secrets.token_urlsafe(32)),
                    "commune_code": plan.code,
                    "province_code": plan.province_code,
                    "host": host,
                    "agent_version": version,
                    "enrolled_at": now,
                    "last_seq": 0,
                    "revoked": False,
                }
            )
            work.append((AgentIdentity(agent_id, plan.code, plan.province_code), host, k == 0))
    with services.engine.begin() as conn:
        conn.execute(db.agents.insert(), agents)
    return work


def build_nation(
    services: Services,
    hosts: int = 50_000,
    seed: int = 1,
    group: int = 250,
    progress: Callable[[str, int, int], None] | None = None,
) -> Nation:
    """Register ``hosts`` agents across the nation and ingest one report from each."""
    progress = progress or (lambda _p, _d, _t: None)
    plans = [p for p in plan_nation(services.units, seed).values() if not p.silent]
    rng = random.Random(seed)
    work = register_hosts(services, plans, hosts)
    services.attestations.record(
        attestations_for(plan_nation(services.units, seed)), only_reported=True
    )
    by_code = {p.code: p for p in plans}
    reports = values = 0
    started = time.perf_counter()
    for i in range(0, len(work), group):
        batches = []
        for ident, host, pasc in work[i : i + group]:
            results = (
                simulated_results(by_code[ident.commune_code], rng) if pasc else office_results(rng)
            )
            values += sum(len(r.values) for r in results)
            batches.append(
                (
                    ident,
                    [
                        AgentReport(
                            agent_id=ident.agent_id,
                            seq=1,
                            commune_code=ident.commune_code,
                            host=host,
                            observed_at=utcnow(),
                            agent_version="bench",
                            results=results,
                        )
                    ],
                )
            )
        for outcome in services.ingest.ingest_many(batches):
            if not hasattr(outcome, "accepted"):
                raise RuntimeError(f"bench ingest refused: {outcome}")
        reports += len(batches)
        progress("ingest", reports, len(work))
    return Nation(len(work), len(plans), reports, values, time.perf_counter() - started)


def _fresh_sqlite(work: Path, hosts: int) -> str:
    """A new SQLite file in ``work`` for a nation of ``hosts`` hosts (an old one removed)."""
    work.mkdir(parents=True, exist_ok=True)
    path = work / f"nation-{hosts}.db"
    for old in work.glob(path.name + "*"):
        old.unlink()
    return str(path)


class _PinnedClock:
    """The services' clock: the real time until the benchmark pins it (``at``)."""

    def __init__(self) -> None:
        self.at: datetime | None = None

    def __call__(self) -> datetime:
        return self.at or utcnow()


def bench_nation_at_scale(
    work: Path,
    hosts: int = 50_000,
    progress: Callable[[str, int, int], None] | None = None,
    db_url: str | None = None,
) -> dict[str, Any]:
    """Evaluation and exposition of a nation of ``hosts`` hosts (benchmarks 3
    and 4) on ``db_url`` (default: a fresh SQLite file in ``work``). Time is pinned just
    after the last report so that every host is fresh."""
    from collector.assembly import open_services, settle_gc
    from collector.config import load_config

    db_url = db_url or _fresh_sqlite(work, hosts)
    clock = _PinnedClock()
    services = open_services(
        load_config(None, db=db_url, reevaluate_every_s=0), migrate=True, clock=clock
    )
    settle_gc()  # as `ioc-collector serve` does once it is set up: what follows is its work
    nation = build_nation(services, hosts, progress=progress)
    a = db.agents.c
    with services.engine.connect() as conn:
        newest = as_utc(conn.execute(select(func.max(a.last_observed_at))).scalar_one())
        communes = sorted(set(conn.execute(select(a.commune_code).distinct()).scalars()))
    # Every host reported within the build; keep them all fresh at the pinned time.
    rules = services.rules.current()
    stale_after_s = max(rules.stale_after_s, int(nation.ingest_s) + 120)
    services.rules.replace(
        Rules.of(rules.catalogue.model_copy(update={"stale_after_s": stale_after_s}))
    )
    now = newest + timedelta(seconds=1)
    clock.at = now

    def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
        t = time.perf_counter()
        out = fn()
        return time.perf_counter() - t, out

    def cold(fn: Callable[[], Any]) -> Callable[[], Any]:
        """``fn`` with the store's verdict memo emptied first (no help from earlier runs)."""

        def run() -> Any:
            services.evaluation.memo.clear()
            return fn()

        return run

    steady_s, steady_n = timed(cold(services.evaluation.reevaluate))
    # Ingest decided colours and statuses; every commune's reasons and evidence at once (as
    # if every commune's page were opened): every host's findings judged, then kept.
    details_s, details_n = timed(services.evaluation.fill_details)
    # End of the working day: one host in ten switched off. Its commune becomes due when
    # it turns stale, and is re-evaluated from the other hosts' stored findings.
    off = _switch_off(services, now, stale_after_s)
    # The pass updates colours and statuses from the hosts' verdicts; the reasons and
    # evidence of the communes it changed are evaluated when asked for (here: all of them).
    evening_s, evening_n = timed(cold(services.evaluation.reevaluate))
    evening_detail_s, evening_detail_n = timed(services.evaluation.fill_details)
    statuses_s, statuses_n = timed(
        cold(lambda: services.evaluation.reevaluate(communes, detail=False))
    )
    all_s, all_n = timed(lambda: services.evaluation.reevaluate(communes))
    full_s, full_n = timed(lambda: services.evaluation.reevaluate(full=True))

    scrape = _scrape(services)
    services.engine.dispose()
    return {
        "hosts": nation.hosts,
        "communes": nation.communes,
        "values": nation.values,
        "ingest_reports_per_s": nation.reports / nation.ingest_s,
        "ingest_values_per_s": nation.values / nation.ingest_s,
        "steady_pass": (steady_s, steady_n),
        "evening_pass": (evening_s, evening_n),
        "evening_details": (evening_detail_s, evening_detail_n),
        "switched_off": len(off),
        "all_statuses": (statuses_s, statuses_n),
        "all_details": (details_s, details_n),
        "all_from_findings": (all_s, all_n),
        "full_rejudge": (full_s, full_n),
        "scrape": scrape,
    }


def _switch_off(services: Services, now: datetime, stale_after_s: int) -> list[str]:
    """End of the working day: one host in ten (chosen with a fixed seed) last seen just past
    staleness, and its commune due now. Returns the hosts switched off."""
    from sqlalchemy import update

    a = db.agents.c
    rng = random.Random(2)
    with services.engine.connect() as conn:
        ids = list(conn.execute(select(a.agent_id)).scalars())
    off = rng.sample(ids, len(ids) // 10)
    with services.engine.begin() as conn:
        conn.execute(
            update(db.agents)
            .where(a.agent_id.in_(off))
            .values(last_observed_at=now - timedelta(seconds=stale_after_s + 5))
        )
        conn.execute(
            update(db.commune_status)
            .where(
                db.commune_status.c.commune_code.in_(
                    select(a.commune_code).where(a.agent_id.in_(off))
                )
            )
            .values(next_eval_at=now)
        )
    return off


def _scrape(services: Services) -> dict[str, Any]:
    """/metrics of the nation: the readiness part, everything, and each province's hosts."""
    from collector.api.prometheus import ReadinessCollector

    rc = ReadinessCollector(services)
    scrape: dict[str, Any] = {}
    for part in ("readiness", "all"):
        t = time.perf_counter()
        body = rc.render(part)
        scrape[part] = {
            "s": time.perf_counter() - t,
            "bytes": len(body.encode()),
            "series": _series(body),
        }
    per_province = []
    for code in sorted(services.units.provinces):
        t = time.perf_counter()
        body = rc.render("hosts", code)
        per_province.append((time.perf_counter() - t, _series(body)))
    scrape["hosts_max"] = {
        "s": max(t for t, _ in per_province),
        "series": max(n for _, n in per_province),
    }
    scrape["hosts_sum_s"] = sum(t for t, _ in per_province)
    return scrape


def _series(body: str) -> int:
    return sum(1 for line in body.splitlines() if line and not line.startswith("#"))
