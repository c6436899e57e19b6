"""The agent's disk full: a clear error, the documented drop policy, counted in a metric.

A real tmpfs of a few MiB holds the agent's state; a "runaway log" fills it to the last
byte. The spool (agent/spool.py, "disk full") releases its reserve, drops the oldest
reports to make room, stops growing while the disk stays full, drops (and counts) a report
it cannot write at all, and recovers when space comes back. The daemon test runs the real
``ioc-agent run`` through it: one ERROR line per problem and no traceback, the process
keeps running, and the drop count reaches the collector's ``/metrics``.
"""

from __future__ import annotations

import re
import signal
import subprocess
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from agent.enroll import enroll
from agent.spool import Spool, SpoolFullError
from checks.model import AgentReport, Category, CheckResult, Status
from tests.conftest import SCRAPE, Collector
from tests.peers.faults import (
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

    # 1. The first write on the full disk releases the reserve and gets in, dropping the
    #    oldest report to make room for it.
    produced.append(spool.next_seq())
    spool.put(_report(produced[-1]))
    assert not spool.reserve_path.exists()
    stats = spool.stats()
    assert stats.dropped == 1 and stats.pending == 20
    assert [r.seq for r in spool.pending(100)] == produced[1:]

    # 2. While the disk stays nearly full the spool stops growing: each report replaces
    #    the oldest. A runaway log that takes every freed byte leaves no room at all: the
    #    new report is dropped, counted, and the error says where and what to do.
    for _ in range(5):
        produced.append(spool.next_seq())
        spool.put(_report(produced[-1]))
        assert spool.stats().pending == 20
    fill(disk)
    errors = []
    for _ in range(5):
        produced.append(spool.next_seq())
        try:
            spool.put(_report(produced[-1]))
        except SpoolFullError as exc:
            errors.append(str(exc))
        fill(disk)
    assert errors, "a disk full to the last byte must refuse the report"
    assert re.fullmatch(
        rf"disk full in {re.escape(str(disk))}: report seq \d+ is dropped; free space on that "
        r"disk \(\d+ report\(s\) dropped so far\)",
        errors[-1],
    )
    stats = spool.stats()
    pending = [r.seq for r in spool.pending(100)]
    assert pending == sorted(pending) and set(pending) <= set(produced)
    assert stats.pending + stats.dropped == len(produced)  # every missing report counted
    try:  # deleting needs room too: if it cannot, the reports stay (sent again later)
        spool.ack(pending[:2])
    except SpoolFullError:
        assert [r.seq for r in spool.pending(100)] == pending
    else:
        pending = pending[2:]
    acked = len(produced) - stats.dropped - len(pending)

    # 3. Space back: the next report gets in, the drop count is written to disk and the
    #    reserve is rebuilt.
    (disk / "runaway.log").unlink()
    produced.append(spool.next_seq())
    spool.put(_report(produced[-1]))
    assert spool.reserve_path.exists()
    dropped = spool.stats().dropped
    spool.close()
    with Spool(disk / "spool.db") as again:
        assert again.stats().dropped == dropped
        assert again.stats().pending + dropped + acked == len(produced)
        assert [r.seq for r in again.pending(100)] == pending + produced[-1:]
    record(
        "spool_disk_full",
        disk_bytes=16 * MiB,
        reserve_bytes=spool.reserve_bytes,
        reports=len(produced),
        dropped_counted=dropped,
        refused_while_full=len(errors),
    )


def _dropped_metric(url: str, agent_id: str) -> float | None:
    text = httpx.get(f"{url}/metrics", headers=SCRAPE, timeout=10).text
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if s.name == "ioc_agent_spool_dropped_reports_total" and s.labels["agent"] == agent_id:
                return float(s.value)
    return None


class RunawayLog:
    """Keeps the disk full, taking every byte freed, until stopped."""

    def __init__(self, disk: Path) -> None:
        self.disk = disk
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.002):
            fill(self.disk)

    def __enter__(self) -> RunawayLog:
        fill(self.disk)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        (self.disk / "runaway.log").unlink()


@pytest.mark.timeout(90)
def test_agent_daemon_on_a_full_disk_keeps_running_and_reports_drops(
    tmp_path: Path, tiny_disk: Any, collector: Collector
) -> None:
    disk = tiny_disk(16 * MiB)
    state_dir = disk / "agent"
    [(_, code)] = collector.services.identities.create_enrollment_codes([HK])
    state = enroll(collector.url, code, state_dir, host="pasc-pc-1")
    config = agent_config(tmp_path / "agent.yaml", collector.url, state_dir, interval_s=5)
    done = run_agent(config, "--once")  # installed and delivering: spool and reserve exist
    assert done.returncode == 0, done.stderr
    assert (state_dir / "spool.db.reserve").exists()

    log_path = tmp_path / "agent.log"
    with log_path.open("wb") as log:
        daemon = subprocess.Popen(agent_command(config), stdout=log, stderr=subprocess.STDOUT)
    began = time.monotonic()
    try:
        with RunawayLog(disk):
            wait_until(
                lambda: "is dropped" in log_path.read_text("utf-8"),
                30,
                f"the agent to drop a report on the full disk; log: {log_path}",
            )
            full_s = time.monotonic() - began
            assert daemon.poll() is None, log_path.read_text("utf-8")
        # Space back: the next report carries the drop count to the collector.
        exposed = wait_until(
            lambda: _dropped_metric(collector.url, state.agent_id),
            20,
            "the drop count on the collector's /metrics",
        )
        assert daemon.poll() is None
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait(timeout=10)
    assert daemon.returncode == 0
    text = log_path.read_text("utf-8")
    assert "Traceback" not in text
    errors = [line for line in text.splitlines() if " ERROR " in line]
    assert errors and all(f"disk full in {state_dir}" in line for line in errors), errors
    assert any("free space on that disk" in line for line in errors)
    with Spool(state_dir / "spool.db") as spool:
        assert spool.stats().dropped == exposed >= 1
    record(
        "agent_daemon_disk_full",
        disk_bytes=16 * MiB,
        first_drop_after_s=round(full_s, 1),
        dropped_reported=int(exposed),
        error_lines=len(errors),
    )
