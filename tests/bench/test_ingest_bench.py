"""The ingest benchmark's load generator (wrk + bench/ingest.lua) behaves like agents: each
simulated agent sends its reports in seq order, every answered report is stored once, and the
pushgateway receives the same values as text exposition."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Row, Select, select

from bench import ingest
from bench.ingest import (
    THREADS,
    _workload,
    ingest_collector,
    ingest_pushgateway,
    national_minute,
    stored_reports,
)
from bench.report import ingest_section
from collector.assembly import open_services
from collector.config import load_config
from collector.storage import schema as db
from tests.conftest import require_binary


def test_wrk_agents_send_their_reports_in_seq_order_and_all_are_stored(tmp_path: Path) -> None:
    require_binary("wrk")
    url = str(tmp_path / "bench.db")
    # Enough agents that none goes past the collector's per-agent burst (60 requests) in the
    # 2 s (12 agents did once ingest answered in ~5 ms: 429s).
    load, reports = ingest_collector(tmp_path, url, "smoke", agents=64, connections=4, duration_s=2)
    assert load.failed == 0
    assert load.requests > 2 * len(reports)  # several rounds: seq goes past 1
    assert stored_reports(url) >= load.requests
    rows = _rows(url, select(db.reports.c.agent_id, db.reports.c.seq))
    seqs: dict[str, list[int]] = {}
    for agent_id, seq in rows:
        seqs.setdefault(agent_id, []).append(seq)
    assert set(seqs) == {rep.agent_id for _, rep in reports}
    for got in seqs.values():  # every round of every agent, none skipped, none twice
        got.sort()
        assert got == list(range(got[0], got[0] + len(got)))
        # wrk builds one request of its first thread before the run and never sends it.
        assert got[0] in (1, 2)
    assert sum(1 for s in seqs.values() if s[0] == 2) <= 1
    # Each wrk thread takes every THREADS-th agent of the data file (the order of
    # ``reports``) and goes round them one after the other: within a thread no agent is more
    # than a round ahead (one more for the request wrk never sends). The threads themselves
    # run at their own pace, so rounds are compared within a thread only.
    for tid in range(THREADS):
        counts = [
            len(seqs[rep.agent_id]) for i, (_, rep) in enumerate(reports) if i % THREADS == tid
        ]
        assert counts and max(counts) - min(counts) <= 2


def test_paced_reports_go_past_every_seq_of_an_agent_whose_thread_ran_ahead(
    tmp_path: Path,
) -> None:
    """Three agents on two wrk threads: one thread has a single agent, which goes round twice
    as often as the other two. Its paced reports must still be new ones, not replays of seqs
    the first load reached (once, they were: the paced seqs started past the rounds of an
    average agent, and CI stored one report fewer than were answered)."""
    require_binary("wrk")
    assert THREADS == 2
    url = str(tmp_path / "ahead.db")
    load, reports = ingest_collector(
        tmp_path,
        url,
        "ahead",
        agents=3,
        connections=2,
        duration_s=1,
        paced=(4, 2),
        ingest_burst=100_000,
    )
    assert load.failed == 0 and load.requests > 30
    assert load.paced is not None and load.paced.failed == 0
    assert 4 <= load.paced.requests <= 12
    assert stored_reports(url) >= load.requests + load.paced.requests


def test_the_pushgateway_gets_the_same_values(tmp_path: Path) -> None:
    require_binary("wrk")
    require_binary("prometheus-pushgateway")
    _, reports = ingest_collector(
        tmp_path, str(tmp_path / "b.db"), "pgw", agents=3, connections=2, duration_s=1
    )
    load, groups = ingest_pushgateway(reports, tmp_path, connections=3, duration_s=3)
    assert load.failed == 0 and load.requests >= 3
    assert groups == 3  # as the pushgateway itself reports: one group per agent, no more


def test_agents_beyond_one_a_commune_go_round_the_communes_again(tmp_path: Path) -> None:
    """The national minute's workload: past 3,321 agents, a commune's second machine."""
    reports = _workload(str(tmp_path / "w.db"), 3_325)
    by_commune: dict[str, list[str]] = {}
    for _, rep in reports:
        by_commune.setdefault(rep.commune_code, []).append(rep.host)
    assert len(by_commune) == 3_321
    twice = {c: hosts for c, hosts in by_commune.items() if len(hosts) == 2}
    assert len(twice) == 4
    assert all(h == [f"bench-{c}", f"bench-{c}-1"] for c, h in twice.items())
    assert len({rep.agent_id for _, rep in reports}) == 3_325


def test_the_national_minute_times_every_agents_first_report(
    tmp_path: Path, new_database: Callable[[str], str]
) -> None:
    """On the engine under test, with two collector processes sharing the port."""
    require_binary("wrk")
    url = new_database("minute.db")
    m = national_minute(
        tmp_path, agents=120, connections=4, duration_s=2, db_url=url, processes=2, paced_s=3
    )
    assert m["minute_agents"] == m["minute_communes"] == 120
    assert m["minute_processes"] == 2
    assert m["minute_failed"] == 0
    assert m["minute_reported"] == 120  # every agent's report stored
    assert m["minute_all_in_s"] is not None and 0 <= m["minute_all_in_s"] < 2
    assert m["minute_requests"] > 120  # and wrk went round again
    # Then paced at the nation's rate, each agent once a minute: 2 reports/s for 3 s (as
    # fast as it answers, it was hundreds), each one stored.
    assert m["minute_paced_target_s"] == 2
    assert 4 <= m["minute_paced_requests"] <= 8, m
    assert m["minute_paced_failed"] == 0
    assert stored_reports(url) >= m["minute_requests"] + m["minute_paced_requests"]


def test_the_national_minute_enrolls_its_agents_once_a_run(
    tmp_path: Path, new_database: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The national minute's agents are written as enrollment writes them (enrolling 50,000
    one by one takes a minute), and the second national minute (PostgreSQL in ``make
    bench``) gets the same agents as rows: the same identities, whose tokens it accepts."""
    require_binary("wrk")
    monkeypatch.setattr(ingest, "_ENROLLED", {})
    monkeypatch.setattr(ingest, "_WORKLOADS", {})
    monkeypatch.setattr(ingest, "BULK_ENROLL_FROM", 50)  # written as enrollment writes them
    first = national_minute(tmp_path, agents=60, connections=4, duration_s=2, prefix="a")
    assert first["a_reported"] == 60
    t = time.perf_counter()
    again = _workload(new_database("copied.db"), 60, once=True)
    assert time.perf_counter() - t < 5
    assert [(tok, rep.agent_id) for tok, rep in again] == _workload_of(60)
    url = new_database("second.db")
    m = national_minute(
        tmp_path, agents=60, connections=4, duration_s=2, db_url=url, processes=2, prefix="b"
    )
    assert m["b_failed"] == 0
    assert m["b_reported"] == 60  # every copied agent's token accepted, its report stored
    enrolled = _rows(url, select(db.agents.c.enrolled_at, db.agents.c.last_seq))
    assert len(enrolled) == 60
    assert all(at is not None and seq >= 1 for at, seq in enrolled)


def _rows(url: str, statement: Select[Any]) -> Sequence[Row[Any]]:
    """The rows ``statement`` reads from the collector database at ``url``."""
    services = open_services(load_config(None, db=url))
    try:
        with services.engine.connect() as conn:
            return conn.execute(statement).all()
    finally:
        services.engine.dispose()


def _workload_of(agents: int) -> list[tuple[str, str]]:
    return [(r.token, r.agent_id) for r, _ in ingest._ENROLLED[agents][1]]


def test_the_ingest_section_judges_each_engine_by_its_best_run() -> None:
    """The goal is for this machine: each engine by its faster run whose p99 is within the
    bound (SQLite's two processes are faster here but miss it: its one process counts),
    the fastest if none is, and a p99 from that same run."""

    def run(rate: int, p99: float) -> dict[str, float]:
        return {
            "reports_s": rate,
            "values_s": rate * 30,
            "p50_ms": 20.0,
            "p99_ms": p99,
            "failed": 0,
            "requests": rate * 30,
            "stored": rate * 30,
        }

    i: dict[str, Any] = {
        "agents": 2000,
        "values_per_report": 30,
        "connections": 32,
        "duration_s": 30.0,
        "pgw_groups": 1200,
    }
    for prefix, (rate, p99) in {
        "ioc": (1200, 40.0),
        "ioc2": (1300, 120.0),
        "pg": (2100, 50.0),
        "pg2": (1900, 60.0),
        "pgw": (40, 900.0),
    }.items():
        i.update({f"{prefix}_{k}": v for k, v in run(rate, p99).items()})
    text = ingest_section(i)
    assert (
        "≥ 2,000 reports/s: SQLite **not met** (1,200/s with 1 process); "
        "PostgreSQL met (2,100/s with 1 process)" in text
    )
    assert "p99 < 100 ms: SQLite met (40.0 ms); PostgreSQL met (50.0 ms)" in text
    # Neither within the bound: the faster run, and its p99.
    i.update({"ioc_p99_ms": 150.0})
    text = ingest_section(i)
    assert "SQLite **not met** (1,300/s with 2 processes)" in text
    assert "p99 < 100 ms: SQLite **not met** (120.0 ms)" in text
    assert "| commune-ioc collector, PostgreSQL 15, 2 processes (--reuse-port) | 1900 |" in text
