"""Real network-quality and online-meeting check results, sent through the ingest API, drive
the collector's criteria NET-01/02/03, VC-01/02/03 and SYS-01 to pass / warn / fail / unknown.

Every result here is measured by the real check against a real peer on 127.0.0.1: the
collector itself (HTTP, throughput endpoints), its UDP reflector (clean or impaired),
silent SIP/STUN/H.323 peers, and recorded device trees."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import httpx

from checks.backend.linux import LinuxBackend
from checks.base import CheckContext
from checks.model import AgentReport, CheckResult, ReportBatch
from checks.network.basic import (
    DedicatedCheck,
    HttpTarget,
    PortalCheck,
    PortalConfig,
    ServiceCheck,
    ServiceConfig,
)
from checks.network.quality import QualityCheck, QualityConfig
from checks.network.throughput import ThroughputCheck, ThroughputConfig
from checks.runner import run_checks
from checks.videoconf.devices import DevicesCheck
from checks.videoconf.h323 import H323Check, H323Config
from checks.videoconf.sip import SipCheck, SipConfig, SipTarget
from checks.videoconf.stun import StunCheck, StunConfig
from collector.api.reflector import start_reflector
from tests.peers.netq import ImpairedReflector, blackhole_tcp, silent_tcp, silent_udp

HK = "00070"
CRITERIA = ("NET-01", "NET-02", "NET-03", "VC-01", "VC-02", "VC-03", "SYS-01")


def enroll(collector) -> dict:
    [(_, code)] = collector.services.identities.create_enrollment_codes([HK])
    r = httpx.post(f"{collector.url}/api/v1/enroll", json={"code": code, "host": "pasc-pc-1"})
    assert r.status_code == 201, r.text
    return r.json()


def devices(root: Path, camera: bool) -> LinuxBackend:
    if camera:
        (root / "sys/class/video4linux/video0").mkdir(parents=True)
        (root / "sys/class/video4linux/video0/index").write_text("0\n")
    (root / "dev/snd").mkdir(parents=True)
    for name in ("pcmC0D0c", "pcmC0D0p"):
        (root / "dev/snd" / name).touch()
    return LinuxBackend(sys=root / "sys", dev=root / "dev")


def measure(
    collector, agent: dict, reflector: ImpairedReflector, backend: LinuxBackend, sip_alive: bool
) -> list[CheckResult]:
    """One agent cycle of the issue's checks against peers on loopback."""
    url = collector.url
    ctx = CheckContext(host="pasc-pc-1", collector_url=url, token=agent["token"])
    # Throughput first and alone: it shares this process (GIL) with the collector thread,
    # and must not compete with the timed UDP probe on a loaded 2-core machine.
    throughput = asyncio.run(
        run_checks(
            [
                ThroughputCheck(
                    ThroughputConfig(
                        download_bytes=4 << 20,
                        upload_bytes=1 << 20,
                        max_seconds=3,
                        timeout_s=10,
                        every_s=0,
                    )
                )
            ],
            ctx,
        )
    )
    with silent_udp() as udp, silent_tcp() as tcp, blackhole_tcp() as dead:

        async def go() -> list[CheckResult]:
            transport, _ = await start_reflector("127.0.0.1", 0, reflector)
            port = transport.get_extra_info("sockname")[1]
            checks = [
                DedicatedCheck(),  # default target: the collector's host:port
                PortalCheck(PortalConfig(targets=[HttpTarget(url=f"{url}/healthz")])),
                ServiceCheck(
                    ServiceConfig(targets=[HttpTarget(name="LGSP", url=f"{url}/healthz")])
                ),
                QualityCheck(
                    QualityConfig(target=f"127.0.0.1:{port}", count=40, interval_s=0.01, wait_s=1.5)
                ),
                # An MCU answering on H.323 (a listener) or nothing at all (silent peers).
                H323Check(
                    H323Config(targets=[f"127.0.0.1:{tcp if sip_alive else dead}"], timeout_s=1.0)
                ),
                SipCheck(SipConfig(targets=[SipTarget(server=f"127.0.0.1:{udp}")], timeout_s=1.0)),
                # Not configured (unknown, never pass) or configured and silent (fail): an
                # any_of with an unknown member and no pass is unknown, not fail.
                StunCheck(StunConfig(servers=[f"127.0.0.1:{udp}"], timeout_s=1.0))
                if not sip_alive
                else StunCheck(),
                DevicesCheck(backend=backend),
            ]
            try:
                return await run_checks(checks, ctx)
            finally:
                transport.close()

        return throughput + asyncio.run(go())


def send_and_read(collector, agent: dict, results: list[CheckResult], seq: int) -> dict:
    report = AgentReport(
        agent_id=agent["agent_id"],
        seq=seq,
        commune_code=HK,
        host="pasc-pc-1",
        observed_at=datetime.now(UTC),
        results=results,
    )
    r = httpx.post(
        f"{collector.url}/api/v1/reports",
        content=ReportBatch(reports=[report]).model_dump_json(),
        headers={"Authorization": f"Bearer {agent['token']}", "Content-Type": "application/json"},
    )
    assert r.status_code == 200, r.text
    state = collector.services.readiness.settled_state(HK)
    return {cid: state.criteria[cid]["status"] for cid in CRITERIA}


def test_ready_commune_passes_every_network_and_meeting_criterion(collector, tmp_path):
    agent = enroll(collector)
    results = measure(
        collector, agent, ImpairedReflector(), devices(tmp_path, camera=True), sip_alive=True
    )
    statuses = send_and_read(collector, agent, results, seq=1)
    assert statuses == dict.fromkeys(CRITERIA, "pass"), [
        (r.check, r.target, r.status.value, r.message) for r in results
    ]


def test_impaired_commune_warns_and_fails_where_it_should(collector, tmp_path):
    agent = enroll(collector)
    # 200 ms round trip, no loss: VC-02 warns (RTT > 150 ms) but does not fail (< 300 ms).
    slow = ImpairedReflector(base_s=0.200)
    results = measure(
        collector, agent, slow, devices(tmp_path / "a", camera=False), sip_alive=False
    )
    statuses = send_and_read(collector, agent, results, seq=1)
    assert statuses["VC-02"] == "warn"
    assert statuses["VC-03"] == "fail"  # no camera
    assert statuses["VC-01"] == "fail"  # SIP, H.323 and STUN all silent
    assert statuses["NET-01"] == statuses["NET-02"] == "pass"


def test_lossy_path_fails_vc02(collector, tmp_path):
    # A fresh collector: the collector keeps each (check, target) until it is stale, so
    # the silent targets measured above would still count here.
    agent = enroll(collector)
    # 10 % loss: VC-02 fails (> 5 %).
    lossy = ImpairedReflector(drop=set(range(0, 40, 10)))
    results = measure(collector, agent, lossy, devices(tmp_path / "b", camera=True), sip_alive=True)
    statuses = send_and_read(collector, agent, results, seq=1)
    assert statuses["VC-02"] == "fail" and statuses["VC-01"] == "pass"
    assert statuses["VC-03"] == "pass"


def test_unmeasured_throughput_leaves_net02_unknown_never_pass(collector, tmp_path):
    agent = enroll(collector)
    ctx = CheckContext(host="pasc-pc-1", collector_url=collector.url, token="revoked")
    results = asyncio.run(run_checks([ThroughputCheck(ThroughputConfig(every_s=0))], ctx))
    assert results[0].status.value == "unknown"
    statuses = send_and_read(collector, agent, results, seq=1)
    assert statuses["NET-02"] == "unknown"
