"""The criteria catalogue is reloaded by a running ``ioc-collector serve``; a broken one is
refused with its line and field in the log and the old rules stay in force.

Real collector process on a SQLite file, real agent enrollment and reports over HTTP: the
commune's criterion is read back from the database the process writes.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from collector.criteria.catalogue import guidance_path, load_catalogue
from collector.domain.units import load_units
from collector.service import services_for
from collector.storage.connect import make_engine
from tests.conftest import METRICS_TOKEN_HASH, SCRAPE

BIN = Path(sys.executable).parent
HK = "00070"

CATALOGUE = """\
profile: province-test
stale_after_s: 3600
criteria:
  - id: DISK-01
    title: {{vi: Dung lượng đĩa, en: Free disk space}}
    basis: Province decision
    kind: automated
    severity: {severity}
    rules:
      - check: host.disk
        value: disk_free_ratio
        warn_below: {warn}
        fail_below: 0.1
"""
GUIDANCE = """\
DISK-01:
  explanation: {vi: Máy còn đủ dung lượng đĩa., en: The computer has enough free disk.}
  remediation: {vi: ["Xoá tệp tạm, dọn thùng rác."], en: [Delete temporary files.]}
"""
SEVERITY_LINE = 8  # of "severity:" above, for the error message


def wait_for(what: str, cond: Callable[[], object], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


class Serve:
    """``ioc-collector serve`` with its stderr (the log) collected line by line."""

    def __init__(self, tmp: Path, catalogue: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.db = tmp / "ioc.db"
        config = tmp / "collector.yaml"
        config.write_text(
            f"db: {self.db}\nlisten: 127.0.0.1:{port}\nreflector_port: 0\n"
            "reevaluate_every_s: 0\ncatalogue_reload_s: 0.2\n"
            f"metrics_token_hashes: [{METRICS_TOKEN_HASH}]\n",
            encoding="utf-8",
        )
        self.proc = subprocess.Popen(
            [
                str(BIN / "ioc-collector"),
                "serve",
                "--config",
                str(config),
                "--catalogue",
                str(catalogue),
                "--migrate",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.log: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        wait_for("the collector to listen", lambda: self._up() or self.proc.poll() is not None)
        assert self.proc.poll() is None, "\n".join(self.log)

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.log.append(line.rstrip("\n"))

    def _up(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def metric(self, series: str) -> float:
        """One series of the collector's own metrics (``/metrics?part=readiness``)."""
        text = httpx.get(f"{self.url}/metrics?part=readiness", headers=SCRAPE, timeout=30).text
        [value] = [
            line.rsplit(" ", 1)[1] for line in text.splitlines() if line.startswith(series + " ")
        ]
        return float(value)

    def logged(self, *words: str) -> list[str]:
        return [line for line in self.log if all(w in line for w in words)]

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


@pytest.fixture
def catalogue_file(tmp_path: Path) -> Path:
    path = tmp_path / "criteria.yaml"
    path.write_text(CATALOGUE.format(severity="major", warn=0.2), encoding="utf-8")
    return path


@pytest.fixture
def serve(tmp_path: Path, catalogue_file: Path) -> Iterator[Serve]:
    proc = Serve(tmp_path, catalogue_file)
    try:
        yield proc
    finally:
        proc.stop()


def report(agent: dict[str, str], seq: int, free: float) -> dict[str, object]:
    return {
        "agent_id": agent["agent_id"],
        "seq": seq,
        "commune_code": HK,
        "host": "pasc-pc-1",
        "observed_at": datetime.now(UTC).isoformat(),
        "results": [
            {
                "check": "host.disk",
                "category": "host",
                "target": "/",
                "status": "ok",
                "values": {"disk_free_ratio": {"value": free, "unit": "ratio"}},
            }
        ],
    }


def test_broken_catalogue_is_refused_with_line_and_field_and_old_rules_stay(
    serve: Serve, catalogue_file: Path
) -> None:
    # Reads the collector's database with the collector's first rules (details pending after
    # a report are evaluated by whoever asks first, under its own rules).
    reading = services_for(make_engine(str(serve.db)), load_catalogue(catalogue_file), load_units())

    def disk() -> str:
        return str(reading.readiness.settled_state(HK).criteria["DISK-01"]["status"])

    [(_, code)] = reading.identities.create_enrollment_codes([HK])
    agent = httpx.post(f"{serve.url}/api/v1/enroll", json={"code": code, "host": "pc"}).json()
    auth = {"Authorization": f"Bearer {agent['token']}"}

    def send(seq: int, free: float) -> None:
        r = httpx.post(
            f"{serve.url}/api/v1/reports",
            json={"reports": [report(agent, seq, free)]},
            headers=auth,
        )
        assert r.status_code == 200, r.text

    send(1, 0.3)
    assert disk() == "pass"  # 0.3 free, warn below 0.2
    assert serve.metric("ioc_catalogue_last_reload_successful") == 1

    # 1. A wrong value, signalled with SIGHUP: refused, naming the line and the field.
    catalogue_file.write_text(CATALOGUE.format(severity="urgent", warn=0.5), encoding="utf-8")
    serve.proc.send_signal(signal.SIGHUP)
    wait_for("the refusal in the log", lambda: serve.logged("NOT reloaded", "SIGHUP"))
    [refusal] = serve.logged("NOT reloaded")
    assert "stays in use" in refusal
    wait_for("the detail lines", lambda: serve.logged(f"line {SEVERITY_LINE}", "severity"))
    assert serve.logged(str(catalogue_file))
    send(2, 0.3)
    assert disk() == "pass"  # still the old rule (warn below 0.2), not the broken one's 0.5
    # ... and said on /metrics, for the IocCatalogueReloadFailed alert.
    assert serve.metric("ioc_catalogue_last_reload_successful") == 0
    assert serve.metric('ioc_catalogue_reloads_total{result="refused"}') == 1

    # 2. Not even YAML, noticed without a signal (the file changed): refused with its line.
    catalogue_file.write_text("profile: x\ncriteria: [\n  - id: A\n", encoding="utf-8")
    wait_for("the second refusal", lambda: serve.logged("NOT reloaded", "file changed"))
    wait_for("its line", lambda: serve.logged("not valid YAML", "line "))
    send(3, 0.3)
    assert disk() == "pass"
    assert serve.proc.poll() is None  # still serving

    # 3. A valid change takes effect at once: the stored report is judged again.
    catalogue_file.write_text(CATALOGUE.format(severity="major", warn=0.5), encoding="utf-8")
    serve.proc.send_signal(signal.SIGHUP)
    wait_for("the reload", lambda: serve.logged("catalogue reloaded", "1 communes re-evaluated"))
    assert disk() == "warn"  # 0.3 free, now below warn 0.5, without a new report
    assert serve.metric("ioc_catalogue_last_reload_successful") == 1
    assert serve.metric('ioc_catalogue_reloads_total{result="refused"}') == 2
    assert serve.metric('ioc_catalogue_reloads_total{result="applied"}') == 1
    send(4, 0.05)
    assert disk() == "fail"

    # 4. A guidance file added beside it is watched too: its texts reach agents at once.
    guidance_path(catalogue_file).write_text(GUIDANCE, encoding="utf-8")
    wait_for("the guidance", lambda: serve.logged("catalogue reloaded", "file changed"))
    levels = httpx.get(f"{serve.url}/api/v1/levels", headers=auth).json()
    assert levels["remediation"]["host.disk"][0]["steps"]["vi"] == ["Xoá tệp tạm, dọn thùng rác."]
