"""vc.h323 reachability, vc.devices from recorded sysfs/devfs trees, and the whole set of
meeting checks bounded by the slowest deadline when their peers are silent."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from checks.backend import AvDevices
from checks.backend.linux import LinuxBackend, parse_snd, parse_v4l
from checks.backend.windows import WindowsBackend
from checks.base import CheckContext
from checks.model import Status
from checks.network.quality import QualityCheck, QualityConfig
from checks.runner import run_checks
from checks.videoconf.devices import DevicesCheck, evaluate_devices
from checks.videoconf.h323 import H323Check, H323Config
from checks.videoconf.sip import SipCheck, SipConfig
from checks.videoconf.stun import StunCheck, StunConfig
from tests.peers.netq import blackhole_tcp, silent_tcp, silent_udp
from tests.peers.windows_shell import recorded

CTX = CheckContext(host="h")

# ----------------------------------------------------------------- H.323


@pytest.mark.serial  # times a deadline of about a second: the CPU alone
def test_h323_listener_is_ok_blackhole_fails_within_deadline():
    with silent_tcp() as port:
        [ok] = asyncio.run(H323Check(H323Config(targets=[f"127.0.0.1:{port}"])).run(CTX))
    assert ok.status is Status.OK and ok.value("tcp_up") == 1 and ok.check == "vc.h323"
    with blackhole_tcp() as port:
        check = H323Check(H323Config(timeout_s=1.0, targets=[f"127.0.0.1:{port}"]))
        start = time.monotonic()
        [dead] = asyncio.run(check.run(CTX))
        elapsed = time.monotonic() - start
    assert dead.status is Status.FAIL and dead.value("tcp_up") == 0
    assert elapsed < 1.5


def test_h323_unconfigured_is_unknown():
    [r] = asyncio.run(H323Check().run(CTX))
    assert r.status is Status.UNKNOWN and "not configured" in r.message


# ----------------------------------------------------------------- devices


def _tree(root: Path, video: dict[str, tuple[str, str]], snd: list[str]) -> LinuxBackend:
    v4l = root / "sys" / "class" / "video4linux"
    for node, (index, name) in video.items():
        (v4l / node).mkdir(parents=True)
        (v4l / node / "index").write_text(index + "\n")
        (v4l / node / "name").write_text(name + "\n")
    if snd:
        (root / "dev" / "snd").mkdir(parents=True)
        for n in snd:
            (root / "dev" / "snd" / n).touch()
    return LinuxBackend(proc=root / "proc", sys=root / "sys", dev=root / "dev")


# A laptop with a UVC webcam (capture node + metadata node) and an HDA card with a USB
# headset, as listed on a Debian 12 machine.
LAPTOP_SND = [
    "controlC0",
    "controlC1",
    "pcmC0D0c",
    "pcmC0D0p",
    "pcmC0D3p",
    "pcmC1D0c",
    "pcmC1D0p",
    "seq",
    "timer",
    "hwC0D0",
]


def test_parsers():
    assert parse_snd(LAPTOP_SND) == (("card0", "card1"), ("card0", "card1"))
    assert parse_snd(["pcmC0D3p", "controlC0"]) == ((), ("card0",))  # HDMI out only
    nodes = [("video0", "0\n", "Integrated Camera"), ("video1", "1\n", "Integrated Camera")]
    assert parse_v4l(nodes) == ("video0 (Integrated Camera)",)


def test_devices_all_present_is_ok(tmp_path):
    backend = _tree(
        tmp_path, {"video0": ("0", "HD Webcam"), "video1": ("1", "HD Webcam")}, LAPTOP_SND
    )
    [r] = asyncio.run(DevicesCheck(backend=backend).run(CTX))
    assert r.status is Status.OK, r.message
    assert (r.value("camera_count"), r.value("microphone_count"), r.value("speaker_count")) == (
        1,
        2,
        2,
    )
    assert r.values["camera_count"].unit == "count"


def test_devices_missing_kind_fails(tmp_path):
    backend = _tree(tmp_path, {}, ["pcmC0D3p"])  # no camera dir, HDMI audio out only
    [r] = asyncio.run(DevicesCheck(backend=backend).run(CTX))
    assert r.status is Status.FAIL
    assert (r.value("camera_count"), r.value("microphone_count"), r.value("speaker_count")) == (
        0,
        0,
        1,
    )
    assert "no camera" in r.message and "no microphone" in r.message


def test_devices_unreadable_is_unknown(tmp_path):
    class Denied(LinuxBackend):
        def _sound(self):  # as a non-root user without the audio group would see it
            raise PermissionError(13, "Permission denied")

    backend = Denied(sys=tmp_path / "sys", dev=tmp_path / "dev")
    (tmp_path / "sys" / "class" / "video4linux" / "video0").mkdir(parents=True)
    [r] = asyncio.run(DevicesCheck(backend=backend).run(CTX))
    assert r.status is Status.UNKNOWN and "microphone_count" not in r.values
    assert r.value("camera_count") == 1 and "Permission denied" in r.message


def test_devices_unreadable_kind_reports_no_count():
    r = evaluate_devices(AvDevices(("video0",), None, None, "permission denied"))
    assert r.status is Status.UNKNOWN and set(r.values) == {"camera_count"}
    assert "cannot read" in r.message


def test_windows_backend_devices_from_recorded_pnp():
    [r] = asyncio.run(DevicesCheck(backend=WindowsBackend(recorded())).run(CTX))
    assert r.status is Status.OK
    assert (r.value("camera_count"), r.value("microphone_count"), r.value("speaker_count")) == (
        1,
        1,
        1,
    )
    only = WindowsBackend(recorded(av_devices="av_devices_speaker_only.json"))
    [r] = asyncio.run(DevicesCheck(backend=only).run(CTX))
    assert r.status is Status.FAIL and r.message.startswith("no camera, no microphone")


# ----------------------------------------------------------------- concurrency


@pytest.mark.serial  # times a deadline of about a second: the CPU alone
def test_cycle_is_bounded_by_the_slowest_deadline_not_the_sum():
    """Four meeting checks against silent peers, 1 s deadline each: < 2 s in all."""
    with silent_udp() as udp, silent_tcp() as tcp, blackhole_tcp() as dead:
        checks = [
            QualityCheck(
                QualityConfig(
                    timeout_s=1.0, target=f"127.0.0.1:{udp}", count=10, interval_s=0.02, wait_s=0.5
                )
            ),
            SipCheck(
                SipConfig.model_validate(
                    {"timeout_s": 1.0, "targets": [f"127.0.0.1:{udp}/udp", f"127.0.0.1:{tcp}/tcp"]}
                )
            ),
            StunCheck(StunConfig(timeout_s=1.0, servers=[f"127.0.0.1:{udp}"])),
            H323Check(H323Config(timeout_s=1.0, targets=[f"127.0.0.1:{dead}"])),
        ]
        start = time.monotonic()
        results = asyncio.run(run_checks(checks, CTX))
        elapsed = time.monotonic() - start
    print(f"\n4 checks, 1 s deadlines, silent peers: {elapsed:.2f} s")
    assert elapsed < 2.0
    assert [r.check for r in results] == ["vc.quality", "vc.sip", "vc.sip", "vc.stun", "vc.h323"]
    assert all(r.status in (Status.UNKNOWN, Status.FAIL) for r in results)
