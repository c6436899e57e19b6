"""The retention benchmark at a tiny scale: a few hosts for five simulated days with raw
reports kept one day; the database stops growing once retention prunes, apart from the
roll-ups (kept for years), and the figures it reports are consistent."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bench.retention import bench_retention
from tests.conftest import TEST_DATABASE


def test_retention_benchmark_size_plateaus_once_pruned(
    new_database: Callable[[str], str],
) -> None:
    b = bench_retention(
        new_database,
        hosts=6,
        communes=3,
        days=5,
        reports_days=1,
        prune_window_s=1.0,
        rate_hosts=30,
    )
    days = b["days"]
    assert b["hosts"] == 6 and b["pasc"] == 3
    # Monday to Friday: every day a working day, every host reporting at each of the 5
    # instants of its working time (one every 120 simulated minutes, the first as the office
    # opens).
    assert [d["working"] for d in days] == [True] * 5
    assert [d["reports_stored"] for d in days] == [30] * 5
    # Raw reports kept one day: each night prunes the day before, so one day's are held.
    assert [d["rows"]["reports"] for d in days] == [30] * 5
    assert sum(d["pruned"] for d in days) == 4 * 30
    # A roll-up row per commune of the register and day, whatever retention does.
    assert [d["rows"]["commune_days"] for d in days] == [b["communes"] * n for n in range(1, 6)]
    if TEST_DATABASE == "sqlite":  # PostgreSQL reuses deleted rows' space after a VACUUM
        raw = [d["size"] - d["rollup_bytes"] for d in days]
        assert raw[1] > raw[0]  # two days' reports on disk before the first prune
        assert max(raw[2:]) <= raw[1] * 1.05, raw  # later days reuse the pruned pages
        assert days[-1]["size"] - days[1]["size"] <= (
            days[-1]["rollup_bytes"] - days[1]["rollup_bytes"] + 0.05 * raw[1]
        )
    # Pruning under ingest: both ran, and the figures say so.
    p = b["prune"]
    assert p["ingest_alone_per_s"] > 0
    assert p["pruned_reports"] > 0 and p["prune_batch_max_s"] > 0
    # Two rates: five times as many reports stored at the faster rate, at about the same
    # bytes each in the reports table.
    slow, fast = b["rates"]
    assert (slow["step_min"], fast["step_min"]) == (120, 30)
    assert fast["reports"] > 3 * slow["reports"]
    assert 0.7 < fast["table_per_report"] / slow["table_per_report"] < 1.3
    n = b["nation"]
    assert n["reports_per_working_day"] == 50_000 * 450  # 7 h 30 of working time a day
    # One working day's reports held at the plateau (one day kept), the nation's of them.
    assert n["plateau_bytes"] == pytest.approx(n["bytes_per_working_day"])
    assert n["bytes_per_working_day"] > 0
    assert n["plateau_reports"] == pytest.approx(n["reports_per_working_day"])
    assert n["rollup_bytes_per_year"] > 0
