"""The drain benchmark's fleet (bench/drain.py) against a real ``ioc-collector serve``: each
simulated agent drains its backlog with the agent's policy, one HTTP client an agent, and
every report ends up stored once."""

from __future__ import annotations

from pathlib import Path

from bench.drain import bench_drain_fleet
from bench.ingest import _workload


def test_a_small_fleet_drains_every_backlog_once(tmp_path: Path) -> None:
    [(_, template)] = _workload(str(tmp_path / "template.db"), agents=1, values=0)
    f = bench_drain_fleet(
        tmp_path / "fleet", template, agents=12, backlog=120, window_s=30, spread_s=1
    )
    assert f["drained_agents"] == 12  # every backlog drained within the window
    assert f["stored"] == 12 * 120 and f["duplicates"] == 0
    assert f["status"] == {"2xx": 12 * 3}  # batches of 50: 50 + 50 + 20, nothing refused
    assert f["shed_by_limit"] == {"requests": 0, "bytes": 0, "wait": 0}  # as the collector says
    assert f["window_s"] < 30  # ends when the last agent has drained
    # The generator's loop lag is measured (a few samples a second, never negative).
    assert 0 <= f["generator_lag_p50_ms"] <= f["generator_lag_p99_ms"]
