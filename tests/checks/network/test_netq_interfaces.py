"""net.interfaces: link state and speed from psutil-shaped stats, and this machine's own."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from checks.base import CheckContext
from checks.levels import Bounds, judge
from checks.model import Status
from checks.network.interfaces import (
    InterfacesCheck,
    InterfacesConfig,
    evaluate_interfaces,
    parse_interfaces,
)

# psutil.net_if_stats() of a commune PC: wired 1 Gbit/s up, Wi-Fi down, a VPN with no speed.
STATS = {
    "lo": SimpleNamespace(isup=True, speed=0),
    "enp3s0": SimpleNamespace(isup=True, speed=1000),
    "wlp2s0": SimpleNamespace(isup=False, speed=0),
    "tun0": SimpleNamespace(isup=True, speed=0),
}


def by_target(results):
    return {r.target: r for r in results}


def test_default_reports_every_non_loopback_interface():
    res = by_target(evaluate_interfaces(parse_interfaces(STATS), InterfacesConfig()))
    assert set(res) == {"enp3s0", "wlp2s0", "tun0"}
    assert res["enp3s0"].status is Status.OK and res["enp3s0"].value("link_speed") == 1e9
    assert res["enp3s0"].values["link_speed"].unit == "bits_per_second"
    # Wi-Fi down on a wired PC is not in use, not a warning (reported as down all the same).
    assert res["wlp2s0"].status is Status.OK and res["wlp2s0"].value("link_up") == 0
    assert "link_speed" not in res["tun0"].values  # not reported by the driver


def test_dedicated_interface_must_be_up_and_fast_enough():
    cfg = InterfacesConfig(dedicated_interface="wlp2s0")
    [r] = evaluate_interfaces(parse_interfaces(STATS), cfg)
    assert r.status is Status.FAIL and "dedicated" in r.message
    [r] = evaluate_interfaces(parse_interfaces(STATS), InterfacesConfig(interfaces=["enp3s0"]))
    assert r.status is Status.OK and r.value("link_speed") == 1e9
    # How fast is fast enough is a level of the province's catalogue (none by default).
    expects_10g = {"net.interfaces": {"link_speed": Bounds(warn_below=10e9)}}
    slow = judge(r, expects_10g)
    assert slow.status is Status.WARN and "link_speed 1000 Mbit/s < 10000 Mbit/s" in slow.message
    [missing] = evaluate_interfaces(parse_interfaces(STATS), InterfacesConfig(interfaces=["eth9"]))
    assert missing.status is Status.FAIL and "not found" in missing.message


def test_real_psutil_on_this_machine():
    results = asyncio.run(
        InterfacesCheck(InterfacesConfig(interfaces=["lo"])).run(CheckContext(host="h"))
    )
    assert [r.target for r in results] == ["lo"]
    assert results[0].status is Status.OK and results[0].value("link_up") == 1


# /proc/net/route of a commune PC: default route over the internet (enp3s0), the province's
# 10.20.0.0/16 over the dedicated network (enp4s0 via 10.99.0.1).
ROUTE = """Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
enp3s0\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0
enp3s0\t0001A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0
enp4s0\t0000140A\t0100630A\t0003\t0\t0\t50\t0000FFFF\t0\t0\t0
"""


def test_dedicated_route_longest_prefix(tmp_path, monkeypatch):
    from checks.backend.linux import LinuxBackend, parse_route
    from checks.network.interfaces import route_for

    routes = parse_route(ROUTE)
    assert route_for(routes, "10.20.1.5").interface == "enp4s0"
    assert route_for(routes, "8.8.8.8").interface == "enp3s0"
    (tmp_path / "net").mkdir()
    (tmp_path / "net" / "route").write_text(ROUTE)
    stats = {
        "enp3s0": SimpleNamespace(isup=True, speed=1000),
        "enp4s0": SimpleNamespace(isup=True, speed=100),
    }
    monkeypatch.setattr("checks.network.interfaces.psutil.net_if_stats", lambda: stats)

    def run(dest):
        cfg = InterfacesConfig(dedicated_interface="enp4s0", dedicated_route=dest)
        check = InterfacesCheck(cfg, backend=LinuxBackend(proc=tmp_path))
        return by_target(asyncio.run(check.run(CheckContext(host="h"))))

    good = run("10.20.1.5")
    assert good["route:10.20.1.5"].status is Status.OK
    assert good["route:10.20.1.5"].value("route_via_dedicated") == 1
    bad = run("203.0.113.9")["route:203.0.113.9"]
    assert bad.status is Status.FAIL and "not the dedicated enp4s0" in bad.message


def test_dedicated_route_needs_the_interface():
    with pytest.raises(ValueError, match="dedicated_interface"):
        InterfacesConfig(dedicated_route="10.0.0.1")
    with pytest.raises(ValueError):
        InterfacesConfig.model_validate(
            {"dedicated_interface": "x", "dedicated_route": "not-an-ip"}
        )
