"""The whole ``ioc-agent check`` with the Windows backend selected and the recorded call
layer (tests/peers/windows_shell.py) on this Linux machine, then its results in the
criteria engine: every check that asks the platform is answered, and a commune whose
healthy PCs all run Windows turns green.

The Windows facts (gateway, routes, devices, token, certificate store, firewall,
antivirus, updates, scanners) come from the real CLI code path and are what the engine
judges for VC-03, SIG-01, SEC-01 (and EQ-02 for the scanner). The rest is
platform-independent code: what is measured over the network (the dedicated network, the
portal, videoconference quality, printers, the clock against the collector) needs peers
this test does not start, and host.disk/host.memory are psutil's readings of this test
machine, not of a Windows PC; they are supplied healthy, as the engine tests supply them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from agent.cli import main
from checks.backend import using_backend
from checks.backend.windows import SCRIPTS, WindowsBackend
from collector.criteria.catalogue import load_catalogue
from collector.criteria.engine import (
    Attestation,
    Colour,
    CriterionStatus,
    Observation,
    evaluate_commune,
)
from collector.criteria.rules import Rules
from tests.peers.windows_shell import RecordedPowerShell, recorded, sample

NOW = datetime.now(UTC).replace(microsecond=0)
RULES = Rules.of(load_catalogue())

#: Checks that ask the platform backend (grep self.backend): each must be answered.
BACKEND_CHECKS = {
    "net.gateway",
    "vc.devices",
    "sig.token",
    "sig.certificate",
    "sec.antivirus",
    "sec.firewall",
    "sec.updates",
    "eq.scanner",
}

CONFIG = """\
host: {host}
state_dir: {state}
checks:
  host.disk: {{paths: ["/"]}}  # psutil measures disks; C:\\ does not exist on this machine
  net.dns: {{names: [localhost]}}
  net.portal: {{enabled: false}}  # the national portal is not a loopback target
  net.interfaces: {{dedicated_interface: "Ethernet 2", dedicated_route: 10.160.5.9}}
  sig.token:
    tokens: [{{vendor_id: "096e", product_id: "0807", name: "Feitian ePass2003"}}]
  eq.scanner: {{expected: true, command: /nonexistent/scanimage}}  # WIA answers, not SANE
"""


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def fresh(name: str, **dates: timedelta) -> str:
    """A sample with its date fields moved relative to now (same shape, same text
    otherwise), so that a healthy PC stays healthy whatever day the test runs."""
    items = json.loads(sample(name).lstrip("\ufeff"))
    now = datetime.now(UTC)  # when the test runs, not when the module was collected
    for item in items if isinstance(items, list) else [items]:
        for key, delta in dates.items():
            item[key] = _iso(now + delta)
    return json.dumps(items, ensure_ascii=False, indent=4).replace("\n", "\r\n")


def windows_pc(**files: str | None) -> WindowsBackend:
    texts = {
        "updates": fresh("updates.json", Date=-timedelta(days=3)),
        "certificates": fresh(
            "certificates.json", NotBefore=-timedelta(days=300), NotAfter=timedelta(days=400)
        ),
    }
    return WindowsBackend(recorded(texts, **files))


def ioc_agent_check(tmp_path: Path, host: str, backend: WindowsBackend) -> list[dict]:
    state = tmp_path / host
    state.mkdir()
    cfg = tmp_path / f"{host}.yaml"
    cfg.write_text(CONFIG.format(host=host, state=state), encoding="utf-8")
    with using_backend(backend):
        result = CliRunner().invoke(main, ["check", "--config", str(cfg), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["results"]


def observe(host: str, results: list[dict]) -> list[Observation]:
    """What the collector stores of a result (as collector.service.ingest maps it)."""
    return [
        Observation(
            host,
            r["check"],
            r["target"],
            r["status"],
            {k: v["value"] for k, v in r["values"].items()},
            r["message"],
            NOW,
        )
        for r in results
    ]


def platform_independent(host: str) -> list[Observation]:
    """Healthy results of the checks that do not ask the platform backend."""

    def obs(check: str, target: str = "", **values: float) -> Observation:
        return Observation(host, check, target, "ok", values, "", NOW)

    return [
        obs("net.dedicated", tcp_up=1),
        obs("net.throughput", download_bandwidth=150e6),
        obs("net.portal", http_response_time=0.5),
        obs("vc.sip"),
        obs("vc.quality", rtt=0.04, jitter=0.005, loss=0.0),
        obs("host.clock", clock_offset_abs=0.02),
        obs("host.disk", target="C:\\", disk_free_ratio=0.5),
        obs("host.memory", memory_available_ratio=0.4),
        obs("eq.printer", target="printer-1", supply_level_min=0.6),
        obs("eq.ups", target="ups-1", ups_on_line=1, ups_runtime=2400),
        obs("eq.device", target="queue-machine"),
        obs("svc.http", target="email", http_response_time=0.3),
    ]


def attested() -> list[Attestation]:
    return [
        Attestation(
            cid, "pass", "decision no. 1", "op", NOW - timedelta(days=1), NOW + timedelta(days=100)
        )
        for cid in ("ATT-01", "ATT-02", "ATT-03")
    ]


def test_every_backend_check_is_answered_by_the_windows_backend(tmp_path):
    backend = windows_pc()
    results = ioc_agent_check(tmp_path, "pc-win-1", backend)
    by_check: dict[str, list[dict]] = {}
    for r in results:
        by_check.setdefault(r["check"], []).append(r)
        assert "not implemented" not in r["message"], r
    for check in BACKEND_CHECKS:
        [r] = by_check[check]
        assert r["status"] == "ok", r
    assert by_check["net.gateway"][0]["target"] == "192.168.1.1"
    devices = by_check["vc.devices"][0]["values"]
    assert {k: v["value"] for k, v in devices.items()} == {
        "camera_count": 1,
        "microphone_count": 1,
        "speaker_count": 1,
    }
    assert "Feitian ePass2003" in by_check["sig.token"][0]["message"]
    [cert] = by_check["sig.certificate"]
    assert cert["target"] == "certificate-store"
    assert "NGUYỄN VĂN AN, issued by VNPT Certification Authority" in cert["message"]
    assert 399 <= cert["values"]["cert_days_left"]["value"] <= 400
    assert "Bkav Pro (Security Center)" in by_check["sec.antivirus"][0]["message"]
    [scanner] = by_check["eq.scanner"]
    assert scanner["target"] == "Máy quét Bộ phận Một cửa (Brother ADS-2200)"
    assert scanner["message"].startswith("found by WIA: ")
    assert scanner["values"]["scanner_up"]["value"] == 1
    assert by_check["sec.updates"][0]["values"]["updates_age"]["value"] == pytest.approx(
        3, abs=0.01
    )
    [route] = [r for r in by_check["net.interfaces"] if r["target"].startswith("route:")]
    assert route["status"] == "ok" and route["message"] == "via Ethernet 2 (10.160.12.1)"
    # The facts were asked for through the call layer only (Defender's status is not
    # needed when Security Center decides; no check reads the clock state yet).
    shell = backend.shell
    assert isinstance(shell, RecordedPowerShell)
    asked = {script for script, _ in shell.calls}
    assert asked == {v for k, v in SCRIPTS.items() if k not in ("defender", "time")}


def test_a_commune_whose_healthy_pcs_all_run_windows_is_green(tmp_path):
    pcs = {
        # Vietnamese Windows 10, BKAV registered, webcam under the class Image.
        "pc-win-1": windows_pc(),
        # English Windows 11, Defender alone, PowerShell 5.1 shapes (numeric states).
        "pc-win-2": windows_pc(
            av_devices="av_devices_en.json",
            security_center="security_center_defender_only.json",
            neighbours="neighbours_ps51_numeric.json",
            firewall="firewall_on.json",
            time="time_en.json",
        ),
    }
    observations: list[Observation] = []
    for host, backend in pcs.items():
        results = ioc_agent_check(tmp_path, host, backend)
        measured = {r["check"] for r in results if r["status"] != "unknown"}
        assert BACKEND_CHECKS | {"host.disk", "host.memory", "host.cpu"} <= measured
        from_windows = [r for r in results if r["check"] in BACKEND_CHECKS]
        observations += observe(host, from_windows) + platform_independent(host)
    ev = evaluate_commune(RULES, "xã", observations, attested(), now=NOW)
    for cid in ("VC-03", "SIG-01", "SEC-01"):
        assert ev.criteria[cid].status is CriterionStatus.PASS, ev.criteria[cid].reason_en
    assert ev.colour is Colour.GREEN, {
        c: o.reason_en for c, o in ev.criteria.items() if o.status is not CriterionStatus.PASS
    }


def test_one_windows_pc_with_its_firewall_off_is_not_green(tmp_path):
    results = ioc_agent_check(
        tmp_path, "pc-win-3", windows_pc(firewall="firewall_public_off_ps51.json")
    )
    [fw] = [r for r in results if r["check"] == "sec.firewall"]
    assert fw["status"] == "fail" and "off: Public" in fw["message"]
    from_windows = [r for r in results if r["check"] in BACKEND_CHECKS]
    observations = observe("pc-win-3", from_windows) + platform_independent("pc-win-3")
    ev = evaluate_commune(RULES, "xã", observations, attested(), now=NOW)
    assert ev.criteria["SEC-01"].status is not CriterionStatus.PASS
    assert ev.colour is not Colour.GREEN
