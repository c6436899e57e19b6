"""The agent killed mid-send: nothing lost, nothing duplicated.

The real ``ioc-agent run --once`` talks to the real collector through a loopback proxy
(tests/peers/faults.py) that can stop the exchange at the two moments that matter,
and the agent is killed with SIGKILL there:

* after the collector committed the batch but before the agent heard the answer: the
  report is stored *and* still in the agent's spool; sent again, it is acknowledged as a
  duplicate and not stored twice;
* before the request reached the collector: the report is only in the spool.

After a restart the agent delivers everything: each report stored exactly once, received
in seq order, and the spool is empty.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

from agent.enroll import enroll
from agent.spool import SPOOL_FILE
from collector.storage import schema as db
from tests.conftest import Collector
from tests.peers.faults import (
    FaultProxy,
    agent_command,
    agent_config,
    record,
    run_agent,
)

HK = "00070"


def _spooled(state_dir: Path) -> list[int]:
    conn = sqlite3.connect(state_dir / SPOOL_FILE)
    try:
        return [row[0] for row in conn.execute("SELECT seq FROM reports ORDER BY seq")]
    finally:
        conn.close()


def _stored(collector: Collector, agent_id: str) -> list[int]:
    """Seqs stored for ``agent_id``, in the order the collector received them."""
    with collector.services.engine.connect() as conn:
        rows = conn.execute(
            select(db.reports.c.seq)
            .where(db.reports.c.agent_id == agent_id)
            .order_by(db.reports.c.received_at, db.reports.c.seq)
        ).all()
    return [r.seq for r in rows]


def _kill_when(config: Path, held: Callable[[], bool], what: str) -> float:
    """Start the agent, SIGKILL it as soon as ``held()``; returns seconds to that moment."""
    began = time.monotonic()
    proc = subprocess.Popen(
        agent_command(config, "--once"), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = began + 30
        while not held():
            assert proc.poll() is None, f"agent exited before {what}: {proc.communicate()[0]!r}"
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    return time.monotonic() - began


def test_agent_killed_mid_send_loses_and_duplicates_nothing(
    tmp_path: Path, collector: Collector
) -> None:
    state_dir = tmp_path / "agent"
    [(_, code)] = collector.services.identities.create_enrollment_codes([HK])
    state = enroll(collector.url, code, state_dir, host="pasc-pc-1")
    direct = agent_config(tmp_path / "direct.yaml", collector.url, state_dir)

    # 1. A normal cycle: delivered at once.
    done = run_agent(direct, "--once")
    assert done.returncode == 0, done.stderr
    [first] = _stored(collector, state.agent_id)
    assert _spooled(state_dir) == []

    upstream = int(collector.url.rsplit(":", 1)[1])
    proxy = FaultProxy(upstream, mode="hold_response")
    try:
        via_proxy = agent_config(tmp_path / "proxy.yaml", proxy.url, state_dir)
        # 2. Killed after the collector committed, before the agent heard the answer.
        _kill_when(via_proxy, proxy.response_held.is_set, "the collector's answer")
        assert b" 200 " in proxy.held_response.split(b"\r\n", 1)[0]
        [second] = _spooled(state_dir)
        assert _stored(collector, state.agent_id) == [first, second]

        # 3. Killed before the request reached the collector.
        proxy.mode = "hold_request"
        _kill_when(via_proxy, proxy.request_held.is_set, "the agent's request")
        [kept, third] = _spooled(state_dir)
        assert kept == second
        assert _stored(collector, state.agent_id) == [first, second]
    finally:
        proxy.close()

    # 4. Restarted: the backlog and a new report go out; the duplicate is not stored again.
    began = time.monotonic()
    done = run_agent(direct, "--once")
    restart_s = time.monotonic() - began
    assert done.returncode == 0, done.stderr
    assert "sent 3" in done.stdout, done.stdout
    assert _spooled(state_dir) == []
    stored = _stored(collector, state.agent_id)
    assert len(stored) == len(set(stored)) == 4
    assert stored == sorted(stored) and stored[:3] == [first, second, third]
    record(
        "agent_killed_mid_send",
        reports=len(stored),
        stored_twice=0,
        lost=0,
        restart_and_deliver_s=round(restart_s, 2),
    )
