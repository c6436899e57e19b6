"""`ioc-agent probe udp|sip|stun|throughput`: same output style and exit codes as `probe tcp`."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from click.testing import CliRunner

from agent.cli import main
from tests.peers.netq import reflector_thread, silent_udp

# The agent's probes: the database is only the store behind it, the same on either
# engine (any_engine: the PostgreSQL pass leaves it out).
pytestmark = pytest.mark.any_engine


@pytest.fixture(autouse=True)
def state_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("IOC_AGENT_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("IOC_AGENT_CONFIG", raising=False)


def run(*args: str):
    return CliRunner().invoke(main, ["probe", *args])


def test_probe_udp_json_against_a_reflector():
    with reflector_thread() as port:
        res = run("udp", f"127.0.0.1:{port}", "--count", "10", "--interval", "0.005", "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["check"] == "vc.quality" and data["status"] == "ok"
    assert data["values"]["loss"]["value"] == 0.0 and data["values"]["mos"]["value"] > 4


def test_probe_udp_table_and_missing_target():
    with reflector_thread() as port:
        res = run("udp", f"127.0.0.1:{port}", "--count", "5", "--interval", "0.005", "--lang", "en")
    assert res.exit_code == 0 and "rtt" in res.output.lower()
    res = run("udp")
    assert res.exit_code == 2 and "missing HOST" in res.output


@pytest.mark.serial  # times a deadline of about a second: the CPU alone
def test_probe_sip_and_stun_silent_exit_1_within_deadline():
    with silent_udp() as port:
        start = time.monotonic()
        sip = run("sip", f"127.0.0.1:{port}", "--timeout", "0.5", "--json")
        stun = run("stun", f"127.0.0.1:{port}", "--timeout", "0.5", "--json")
        elapsed = time.monotonic() - start
    assert sip.exit_code == 1 and json.loads(sip.output)["status"] == "fail"
    assert stun.exit_code == 1 and json.loads(stun.output)["values"]["stun_up"]["value"] == 0
    assert elapsed < 2 * 0.5 + 1.0
    assert run("sip", "host:notaport").exit_code == 2


def test_probe_throughput_against_the_collector(collector):
    [(_, code)] = collector.services.identities.create_enrollment_codes(["00070"])
    token = httpx.post(f"{collector.url}/api/v1/enroll", json={"code": code, "host": "pc"}).json()[
        "token"
    ]
    res = run(
        "throughput",
        collector.url,
        "--download-bytes",
        str(1 << 20),
        "--upload-bytes",
        str(1 << 20),
        "--token",
        token,
        "--json",
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["values"]["download_bandwidth"]["value"] > 0
    assert token not in res.output
    anonymous = run("throughput", collector.url, "--download-bytes", str(1 << 20), "--json")
    assert anonymous.exit_code == 1 and "401" in anonymous.output
