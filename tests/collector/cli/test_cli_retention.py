"""``ioc-collector rollup`` and ``prune``: by hand, in Vietnamese or English, bad input one
clean line; and killed with SIGKILL in the middle (a real subprocess on a file database),
then run again, they leave exactly what an uninterrupted run leaves: nothing lost, nothing
counted twice (on SQLite files, copied byte for byte for the uninterrupted twin)."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from sqlalchemy import Engine, select

from collector.cli import main
from collector.criteria.catalogue import load_catalogue
from collector.domain.calendar import WorkingCalendar
from collector.domain.units import load_units
from collector.service import services_for
from collector.service.rollups import DAY_ZONE, Retention, day_bounds
from collector.storage import schema as db
from collector.storage.connect import create_schema, make_engine
from tests.paths import ROOT

COLOURS = ("green", "yellow", "red", "grey")
CRITERIA = ("NET-01", "VC-01", "EQ-01", "ATT-01")
STATUSES = ("pass", "pass", "pass", "warn", "fail", "unknown")


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def _today() -> date:
    return datetime.now(UTC).astimezone(DAY_ZONE).date()


def _config(tmp_path: Path, url: str, **retention: int) -> Path:
    path = tmp_path / "collector.yaml"
    path.write_text(json.dumps({"db": url, "retention": retention}), "utf-8")
    return path


def _engine(url: str) -> Engine:
    engine = make_engine(url)
    create_schema(engine)
    return engine


def _changes(engine: Engine, communes: int, days: int, per_day: int) -> None:
    """A change log of ``days`` days before today: ``per_day`` random changes a day for
    each of the first ``communes`` communes."""
    rng = random.Random(118)
    codes = sorted(load_units().communes)[:communes]
    rows = []
    for n in range(days, 0, -1):
        start = day_bounds(_today() - timedelta(days=n))[0]
        for code in codes:
            for minute in sorted(rng.sample(range(24 * 60), per_day)):
                rows.append(
                    {
                        "commune_code": code,
                        "at": start + timedelta(minutes=minute, seconds=rng.randrange(60)),
                        "colour": rng.choice(COLOURS),
                        "statuses": {c: rng.choice(STATUSES) for c in CRITERIA},
                    }
                )
    with engine.begin() as conn:
        conn.execute(db.commune_changes.insert(), rows)


def _reports(engine: Engine, n: int, days_ago: float) -> None:
    at = datetime.now(UTC) - timedelta(days=days_ago)
    rows = [
        {
            "agent_id": f"agent-{i % 50}",
            "seq": i,
            "commune_code": "00070",
            "host": "pc",
            "observed_at": at + timedelta(seconds=i),
            "received_at": at + timedelta(seconds=i),
            "results": "[]",
        }
        for i in range(n)
    ]
    with engine.begin() as conn:
        conn.execute(db.reports.insert(), rows)


def _state(url: str) -> dict[str, Any]:
    """Everything the roll-ups and retention touch, comparable across databases."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            days = sorted(
                tuple(r)
                for r in conn.execute(
                    select(db.commune_days).with_only_columns(
                        *(c for c in db.commune_days.c if c.name != "rolled_at")
                    )
                )
            )
            return {
                "days": days,
                "criteria": sorted(tuple(r) for r in conn.execute(select(db.criterion_days))),
                "reports": sorted(
                    tuple(r) for r in conn.execute(select(db.reports.c.agent_id, db.reports.c.seq))
                ),
                "changes": sorted(conn.execute(select(db.commune_changes.c.id)).scalars()),
            }
    finally:
        engine.dispose()


def _twin(url: str, path: Path) -> str:
    """A copy of SQLite database ``url`` (committed pages in the WAL included)."""
    with sqlite3.connect(url) as src, sqlite3.connect(path) as dst:
        src.backup(dst)
    return str(path)


def _kill_after(args: list[str], lines: int) -> list[str]:
    """Run the CLI in a subprocess and SIGKILL it once it has printed ``lines`` progress
    lines; returns them. Fails when it finishes first (the kill must land mid-way)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "collector.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    seen: list[str] = []
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            seen.append(line)
            if len(seen) >= lines:
                proc.send_signal(signal.SIGKILL)
                break
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, seen)
    return seen


def test_rollup_and_prune_by_hand(tmp_path: Path, new_database: Callable[[str], str]) -> None:
    url = new_database("collector.db")
    engine = _engine(url)
    _changes(engine, communes=3, days=3, per_day=4)
    engine.dispose()
    config = str(_config(tmp_path, url, reports_days=9))
    yesterday = _today() - timedelta(days=1)

    r = cli("prune", "--config", config, "--lang", "en")
    assert r.exit_code == 0, r.output
    assert "3 days not rolled up yet" in r.output and "run `ioc-collector rollup`" in r.output
    r = cli("rollup", "--config", config)
    assert r.exit_code == 0, r.output
    assert "đã tổng hợp 3 ngày" in r.output and "3.321 xã" in r.output
    r = cli("rollup", "--config", config, "--day", str(yesterday), "--lang", "en")
    assert r.exit_code == 0, r.output
    assert f"1 days rolled up ({yesterday})" in r.output
    assert "3,321 communes rolled up" in r.output
    r = cli("rollup", "--config", config)
    assert r.exit_code == 0 and "không có ngày nào cần tổng hợp" in r.output

    r = cli("rollup", "--config", config, "--day", str(_today()))
    assert r.exit_code == 1 and "only a complete day" in r.output
    assert "Traceback" not in r.output
    r = cli("rollup", "--config", config, "--from", str(yesterday))
    assert r.exit_code == 2 and "--from and --to go together" in r.output
    r = cli("rollup", "--config", config, "--day", "2026-13-01")
    assert r.exit_code == 2 and "Traceback" not in r.output
    r = cli("rollup", "--config", config, "--from", "2026-11-30", "--to", "2026-11-01")
    assert r.exit_code == 2 and "is before --from" in r.output

    r = cli("prune", "--config", config)
    assert r.exit_code == 0, r.output
    assert "đã xoá: 0 báo cáo gốc; 0 thay đổi trạng thái" in r.output
    assert "chưa được tổng hợp" not in r.output
    r = cli("prune", "--config", config, "--lang", "en")
    assert "deleted: 0 raw reports, 0 state changes, 0 roll-up rows" in r.output
    r = cli("prune", "--help")
    assert "reports_days" in r.output and "batch" in r.output

    bad = tmp_path / "bad.yaml"
    bad.write_text(json.dumps({"db": url, "retention": {"reports_days": 3}}), "utf-8")
    r = cli("prune", "--config", str(bad))
    assert r.exit_code == 1 and "reports_days" in r.output and "Traceback" not in r.output


def test_a_killed_prune_loses_and_keeps_nothing_more(tmp_path: Path) -> None:
    """Reports of 20 days ago (past 9 days of retention) and of today, the change log of
    the last 15 days rolled up: a prune killed after a few batches, run again, leaves what
    an uninterrupted prune leaves."""
    url = str(tmp_path / "collector.db")
    engine = _engine(url)
    _reports(engine, 30_000, days_ago=20)
    with engine.begin() as conn:
        now = datetime.now(UTC)
        conn.execute(
            db.reports.insert(),
            [
                {
                    "agent_id": "recent",
                    "seq": i,
                    "commune_code": "00070",
                    "host": "pc",
                    "observed_at": now - timedelta(hours=i),
                    "received_at": now,
                    "results": "[]",
                }
                for i in range(100)
            ],
        )
    _changes(engine, communes=100, days=15, per_day=20)
    engine.dispose()
    assert cli("rollup", "--config", str(_config(tmp_path, url, reports_days=30))).exit_code == 0
    twin = _twin(url, tmp_path / "twin.db")
    config = _config(tmp_path, url, reports_days=9, batch=100)

    _kill_after(["prune", "--config", str(config)], lines=20)
    halfway = _state(url)
    assert 100 < len(halfway["reports"]) < 30_100  # some batches done, not all
    r = cli("prune", "--config", str(config))
    assert r.exit_code == 0, r.output

    twin_config = tmp_path / "twin"
    twin_config.mkdir()
    assert cli("prune", "--config", str(_config(twin_config, twin, reports_days=9))).exit_code == 0
    done, expected = _state(url), _state(twin)
    assert done == expected
    assert [agent for agent, _ in done["reports"]] == ["recent"] * 100
    # The change log keeps 9 days, and before them each commune's last change (its state).
    horizon = day_bounds(_today() - timedelta(days=9))[0]
    with make_engine(url).connect() as conn:
        old = conn.execute(
            select(db.commune_changes.c.commune_code).where(db.commune_changes.c.at < horizon)
        ).scalars()
        assert sorted(old) == sorted(load_units().communes)[:100]


def test_a_killed_rollup_counts_every_second_once(tmp_path: Path) -> None:
    """Twenty days of changes for 300 communes rolled up in a subprocess killed after a few
    days, then again: the same rows as an uninterrupted run, each day's colours summing to
    its working time."""
    url = str(tmp_path / "collector.db")
    engine = _engine(url)
    _changes(engine, communes=300, days=20, per_day=12)
    engine.dispose()
    twin = _twin(url, tmp_path / "twin.db")
    first, last = _today() - timedelta(days=20), _today() - timedelta(days=1)
    span = ["--from", str(first), "--to", str(last)]
    config = str(_config(tmp_path, url, reports_days=30))

    _kill_after(["rollup", "--config", config, *span], lines=4)
    halfway = _state(url)
    assert 0 < len(halfway["days"]) < 20 * len(load_units().communes)
    assert cli("rollup", "--config", config, *span).exit_code == 0

    twin_dir = tmp_path / "twin"
    twin_dir.mkdir()
    r = cli("rollup", "--config", str(_config(twin_dir, twin, reports_days=30)), *span)
    assert r.exit_code == 0, r.output
    done = _state(url)
    assert done["days"] == _state(twin)["days"] and done["criteria"] == _state(twin)["criteria"]
    assert len(done["days"]) == 20 * len(load_units().communes)
    for _code, _day, _p, working, *colours in done["days"]:
        assert sum(colours) == working
    # What the service computes in-process for one of those days is what the CLI stored.
    services = services_for(
        make_engine(twin),
        load_catalogue(),
        load_units(),
        calendar=WorkingCalendar(),  # the configuration's default: civil-service hours
        retention=Retention(reports_days=30),
    )
    services.rollups.roll_day(first)
    assert _state(twin)["days"] == done["days"]
