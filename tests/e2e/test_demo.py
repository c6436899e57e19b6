"""`ioc-collector demo --once --json` (what `make demo` runs) on the whole nation, a month
of history before it, and `make demo` itself keeping stdout for the demo."""

from __future__ import annotations

import itertools
import json
import os
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, func, select

from collector.demo.simulator import expected_summary, plan_nation
from collector.domain.units import load_units
from collector.storage import schema as db
from tests.conftest import require_binary
from tests.paths import ROOT
from tests.peers.prometheus import free_port


def test_demo_prints_the_national_summary_in_under_3_minutes(tmp_path: Path) -> None:
    bindir = Path(sys.executable).parent
    started = time.monotonic()
    busy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # someone else holds this port
    busy.bind(("127.0.0.1", 0))
    with busy:
        proc = _run_demo(bindir, tmp_path, reflector_port=busy.getsockname()[1])
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout)
    assert (summary["provinces"], summary["communes"]) == (34, 3321)
    colours = [summary[c] for c in ("green", "yellow", "red", "grey")]
    assert sum(colours) == 3321
    assert len(summary["by_province"]) == 34
    for p in summary["by_province"]:
        assert p["green"] + p["yellow"] + p["red"] + p["grey"] == p["communes"]
    # The figures are the seeded plan's, except Phường Hoàn Kiếm where this machine's own
    # agent reported too (its real, unconfigured results are never all green).
    plan = plan_nation(load_units(), seed=1)
    expected = expected_summary(plan)
    assert plan["00070"].expected_colour == "green"
    assert summary["green"] == expected["green"] - 1
    assert summary["grey"] == expected["grey"]
    # The picture looks like the reported one: most provinces mostly green, a few far behind.
    ratios = sorted(p["green_ratio"] for p in summary["by_province"])
    assert 0.5 < summary["green_ratio"] < 0.7
    assert ratios[0] < 0.1 and sum(r >= 0.99 for r in ratios) >= 7
    assert "this machine" in proc.stderr
    assert elapsed < 180, f"demo took {elapsed:.0f} s"
    assert "Không mở được bộ phản xạ UDP" in proc.stderr  # --reflector-port was used
    _check_demo_database(tmp_path / ".demo" / "ioc-demo.db", summary)


def _run_demo(bindir: Path, cwd: Path, reflector_port: int) -> subprocess.CompletedProcess[str]:
    args = ["demo", "--once", "--json", "--listen", f"127.0.0.1:{free_port()}"]
    return subprocess.run(
        [str(bindir / "ioc-collector"), *args, "--reflector-port", str(reflector_port)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "IOC_AGENT_STATE_DIR": str(cwd / "agent-state")},
    )


def _check_demo_database(path: Path, summary: dict[str, object]) -> None:
    """Attestations signed by the demo operator after the account exists, each audited; the
    coverage history: a point every evening of the simulated month, then the finished
    nation's."""
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        created = conn.execute(
            select(db.users.c.created_at).where(db.users.c.username == "demo-operator")
        ).scalar_one()
        a = db.attestations
        signers = set(conn.execute(select(a.c.entered_by).distinct()).scalars())
        first = conn.execute(select(func.min(a.c.entered_at))).scalar_one()
        count = conn.execute(select(func.count()).select_from(a)).scalar_one()
        audited = conn.execute(
            select(func.count())
            .select_from(db.audit_log)
            .where(db.audit_log.c.action == "attestation.add")
            .where(db.audit_log.c.actor == "demo-operator")
        ).scalar_one()
        cd = db.commune_days.c
        rolled = conn.execute(
            select(cd.day, func.count(), func.sum(cd.working_s), func.sum(cd.green_s))
            .group_by(cd.day)
            .order_by(cd.day)
        ).all()
        h = db.coverage_history.c
        history = conn.execute(
            select(h.taken_at, h.green).where(h.scope == "00").order_by(h.taken_at)
        ).all()
    engine.dispose()
    assert signers == {"demo-operator"} and first >= created
    assert count > 9000 and audited == count
    *month, now = history
    assert now.green == summary["green"]
    # 17:30 in Asia/Ho_Chi_Minh, each day of the 30 before today (and today after 17:30).
    assert len(month) in (30, 31)
    assert {b.taken_at - a.taken_at for a, b in itertools.pairwise(month)} == {timedelta(days=1)}
    assert {(row.taken_at.hour, row.taken_at.minute) for row in month} == {(10, 30)}  # UTC
    # The trend: faults fixed during the month.
    assert month[0].green < month[-1].green
    # Every simulated day rolled up for every commune (a period report has its figures):
    # working days with working time, most of it green, none of it before the first report
    # grey (every agent first reports as the office opens).
    assert len(rolled) in (30, 31) and {n for _, n, _, _ in rolled} == {3321}
    working = [(day, w, g) for day, _, w, g in rolled if w]
    assert 18 <= len(working) <= 23
    assert all(0.3 < g / w < 0.9 for _, w, g in working), working


def test_make_demo_keeps_stdout_for_the_demo(tmp_path: Path) -> None:
    """What `make demo DEMO_ARGS="--once --json"` prints on stdout is the demo's alone,
    on the first run (installing) as on the next ones."""
    make = require_binary("make")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "ioc-collector").write_text('#!/bin/sh\necho "{\\"argv\\": \\"$*\\"}"\n')
    (bindir / "python").write_text("#!/bin/sh\necho pip chatter\n")
    for tool in bindir.iterdir():
        tool.chmod(0o755)
    stamp = tmp_path / ".installed"
    # As typed in a shell: under `make test` the inherited MAKELEVEL would make this make a
    # sub-make, and a sub-make announces its directory on stdout.
    shell = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    for first_run in (True, False):
        proc = subprocess.run(
            [make, "demo", f"BIN={bindir}", f"STAMP={stamp}", "DEMO_ARGS=--once --json"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            env=shell,
        )
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout) == {"argv": "demo --once --json"}, proc.stdout
        assert ("pip chatter" in proc.stderr) is first_run
        assert stamp.exists()
