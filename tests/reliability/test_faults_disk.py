"""The agent's disk full: a clear error, the documented drop policy, counted in a metric.

A real tmpfs of a few MiB holds the agent's state; a "runaway log" fills it to the last
byte. The spool (agent/spool.py, "disk full" and "in memory") releases its reserve, drops
the oldest reports to make room, stops growing while the disk stays full, carries on in
memory when the disk takes nothing, and moves back to disk (reserve rebuilt, scaled to the
filesystem) when space comes back. The daemon test starts the real ``ioc-agent run`` on a
4 MiB disk already full, its reserve spent: it keeps running, sends from memory, counts
every report its bounded memory could not keep, and that count reaches the collector's
``/metrics``.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

import agent.spool
from agent.enroll import enroll
from agent.spool import Spool
from checks.model import AgentReport, Category, CheckResult, Status
from tests.conftest import SCRAPE, Collector
from tests.peers.faults import (
    FaultProxy,
    agent_command,
    agent_config,
    fill,
    record,
    run_agent,
    wait_until,
)

MiB = 1024 * 1024
HK = "00070"


def _report(seq: int) -> AgentReport:
    return AgentReport(
        agent_id="a-1",
        seq=seq,
        commune_code=HK,
        host="pc-1",
        observed_at=datetime.now(UTC),
        results=[
            CheckResult(
                check="host.cpu",
                category=Category.HOST,
                status=Status.OK,
                message=f"report {seq} " + "x" * 400,
            )
        ],
    )


def test_spool_on_a_full_disk_drops_oldest_counts_and_recovers(tiny_disk: Any) -> None:
    disk = tiny_disk(16 * MiB)
    spool = Spool(disk / "spool.db")
    assert spool.reserve_path.stat().st_size == spool.reserve_bytes
    produced = []
    for _ in range(20):
        produced.append(spool.next_seq())
        spool.put(_report(produced[-1]))
    fill(disk)

    # 1. Writes go on in the room the WAL file already has; the first that needs more
    #    releases the reserve and gets in, dropping the oldest report(s) to make room.
    for _ in range(500):
        produced.append(spool.next_seq())
        spool.put(_report(produced[-1]))
        if not spool.reserve_path.exists():
            break
    assert not spool.reserve_path.exists()
    stats = spool.stats()
    # The oldest are dropped until the new report's compressed size is freed; compressed
    # sizes differ by a few bytes, so that is one report or two.
    assert stats.dropped <= 2 and stats.pending + stats.dropped == len(produced)
    assert [r.seq for r in spool.pending(1000)] == produced[stats.dropped :]
    assert not stats.in_memory

    # 2. While the disk stays nearly full the spool stops growing: each report replaces
    #    the oldest. A runaway log that takes every freed byte leaves no room at all: the
    #    spool carries on in memory, newest reports kept and ready to send.
    for _ in range(5):
        produced.append(spool.next_seq())
        spool.put(_report(produced[-1]))
        assert spool.stats().pending == stats.pending
    fill(disk)
    for _ in range(5):
        produced.append(spool.next_seq())
        spool.put(_report(produced[-1]))
        fill(disk)
    stats = spool.stats()
    assert stats.in_memory, "a disk full to the last byte must send the spool to memory"
    in_memory = [r.seq for r in spool.pending(1000)]
    assert in_memory == sorted(in_memory) and in_memory[-1] == produced[-1]
    # Sent straight away from memory and acknowledged: gone.
    spool.ack(in_memory[:1])
    in_memory = in_memory[1:]
    stats = spool.stats()
    # Reports left on disk + kept in memory + dropped (counted) + acked: all produced.
    assert stats.pending + stats.dropped + 1 == len(produced)

    # 3. Space back: the next report takes the memory's reports and counts to disk and
    #    the reserve is rebuilt.
    (disk / "runaway.log").unlink()
    produced.append(spool.next_seq())
    spool.put(_report(produced[-1]))
    assert not spool.stats().in_memory
    assert spool.reserve_path.exists()
    dropped = spool.stats().dropped
    spool.close()
    with Spool(disk / "spool.db") as again:
        assert again.stats().dropped == dropped
        assert again.stats().pending + dropped + 1 == len(produced)
        seqs = [r.seq for r in again.pending(1000)]
        assert seqs == sorted(seqs) and set(in_memory + produced[-1:]) <= set(seqs)
    record(
        "spool_disk_full",
        disk_bytes=16 * MiB,
        reserve_bytes=spool.reserve_bytes,
        reports=len(produced),
        dropped_counted=dropped,
        kept_in_memory=len(in_memory),
    )


def test_spool_opened_on_a_full_small_disk_keeps_reports_in_memory(
    tiny_disk: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 4 MiB disk: the reserve is 64 KiB (1 % would be less), full before the spool
    opens, its reserve already spent. The memory bound is lowered to about two reports."""
    monkeypatch.setattr(agent.spool, "MEMORY_MAX_BYTES", 600)
    disk = tiny_disk(4 * MiB)
    with Spool(disk / "spool.db") as spool:
        assert spool.reserve_bytes == 64 * 1024
        spool.put(_report(spool.next_seq()))  # one report left on disk, unsent
    (disk / "spool.db.reserve").unlink()
    fill(disk)

    spool = Spool(disk / "spool.db")
    assert spool.stats().in_memory
    produced = [spool.next_seq() for _ in range(6)]
    assert len(set(produced)) == 6 and produced == sorted(produced)
    for seq in produced:
        spool.put(_report(seq))
    stats = spool.stats()
    kept = [r.seq for r in spool.pending(100)]
    assert kept == produced[-len(kept) :] and 0 < len(kept) < 6  # newest kept, in memory
    assert stats.dropped == 6 - len(kept)  # every report the memory could not keep
    assert stats.pending == len(kept) + 1  # and the one still on disk

    (disk / "runaway.log").unlink()
    spool.put(_report(spool.next_seq()))
    after = spool.stats()
    assert not after.in_memory and after.dropped == stats.dropped
    assert spool.reserve_path.stat().st_size == 64 * 1024  # rebuilt on a small disk
    spool.close()
    with Spool(disk / "spool.db") as again:
        assert again.stats().dropped == stats.dropped
        assert again.stats().pending == len(kept) + 2
    record(
        "spool_opened_on_full_disk",
        disk_bytes=4 * MiB,
        reserve_bytes=64 * 1024,
        reports=7,
        dropped_counted=stats.dropped,
    )


def _dropped_metric(url: str, agent_id: str) -> float | None:
    text = httpx.get(f"{url}/metrics", headers=SCRAPE, timeout=10).text
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if s.name == "ioc_agent_spool_dropped_reports_total" and s.labels["agent"] == agent_id:
                return float(s.value)
    return None


def _spool_dropped(path: Path) -> int:
    """The drop count kept in the agent's spool on disk, read without disturbing the agent."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as db:
        row = db.execute("SELECT value FROM meta WHERE key = 'dropped'").fetchone()
    return int(row[0]) if row else 0


def _log_count(path: Path, text: str) -> int:
    return path.read_text("utf-8").count(text)


@pytest.mark.timeout(120)
@pytest.mark.any_engine  # the agent's disk: the collector's engine does not matter
def test_agent_started_on_a_full_disk_keeps_measuring_and_reports_drops(
    tmp_path: Path, tiny_disk: Any, collector: Collector
) -> None:
    disk = tiny_disk(4 * MiB)
    state_dir = disk / "agent"
    [(_, code)] = collector.services.identities.create_enrollment_codes([HK])
    state = enroll(collector.url, code, state_dir, host="pasc-pc-1")
    proxy = FaultProxy(int(collector.url.rsplit(":", 1)[1]))
    config = agent_config(
        tmp_path / "agent.yaml",
        proxy.url,
        state_dir,
        interval_s=5,
        collector={"timeout_s": 1},
        spool={"max_bytes": 2000},  # the memory bound: about two reports
    )
    done = run_agent(config, "--once")  # installed and delivering: spool and reserve exist
    assert done.returncode == 0, done.stderr
    reserve = state_dir / "spool.db.reserve"
    assert reserve.stat().st_size == 64 * 1024
    reserve.unlink()  # spent long ago
    fill(disk)
    proxy.mode = "hold_request"  # the link is down too: memory fills, drops are counted

    log_path = tmp_path / "agent.log"
    with log_path.open("wb") as log:
        daemon = subprocess.Popen(agent_command(config), stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: _log_count(log_path, "spool full: dropped"), 60, "a counted drop")
        assert daemon.poll() is None, log_path.read_text("utf-8")
        assert "reports are kept in memory" in log_path.read_text("utf-8")
        # The link back, the disk still full: the reports in memory are sent, with the count.
        proxy.mode = "pass"
        exposed = wait_until(
            lambda: _dropped_metric(collector.url, state.agent_id),
            30,
            "the drop count on the collector's /metrics",
        )
        assert daemon.poll() is None and not reserve.exists()
        # Space back: the spool returns to disk and rebuilds its reserve.
        (disk / "runaway.log").unlink()
        wait_until(reserve.exists, 30, "the reserve rebuilt")
        assert "the spool is back on disk" in log_path.read_text("utf-8")
        # Drops may still be counted while the memory drains (a report that came in while a
        # held send was timing out): the next report carries the spool's count, whatever it is.
        final = wait_until(
            lambda: (
                (v := _dropped_metric(collector.url, state.agent_id))
                and v == _spool_dropped(state_dir / "spool.db")
                and v
            ),
            30,
            "the collector's drop count equal to the spool's",
        )
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait(timeout=10)
        proxy.close()
    assert daemon.returncode == 0
    text = log_path.read_text("utf-8")
    assert "Traceback" not in text
    assert f"disk full in {state_dir}: cannot open the spool" in text
    with Spool(state_dir / "spool.db") as spool:
        assert spool.stats().dropped == final >= exposed >= 1
    record(
        "agent_started_on_full_disk",
        disk_bytes=4 * MiB,
        dropped_reported=int(final),
    )
