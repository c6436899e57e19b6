"""A corpus of real-device recordings (snmpsim-data) beyond the ones the other tests use,
served by one snmpsim process (one community per recording) and polled at once as the
check does: each recording's kind, status and key values, written here from reading the
``.snmprec`` file. ``why`` says how an expectation was decided where the recording does not
say it plainly; :data:`UNDECIDED` lists the recordings left out and the reason."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from checks.equipment.profiles import CHECK_ID, DeviceKind
from checks.equipment.snmp_checks import DevicePoll, poll_device
from checks.equipment.snmp_client import snmp_engine
from checks.model import Status
from tests.checks.equipment.conftest import require_snmpsim

pytestmark = pytest.mark.integration

HOST, UPS, SWITCH, ROUTER = DeviceKind.HOST, DeviceKind.UPS, DeviceKind.SWITCH, DeviceKind.ROUTER
OK, UNKNOWN = Status.OK, Status.UNKNOWN


@dataclass(frozen=True)
class Case:
    recording: str  # under snmpsim_data/data, without .snmprec[.bz2]
    kind: DeviceKind
    status: Status
    values: dict[str, float | None] = field(default_factory=dict)
    why: str = ""
    #: Words the message must hold.
    words: str = ""


def _ports(up: int, down: int) -> dict[str, float | None]:
    """ifOperStatus up, and admin up but oper down/lowerLayerDown (loopbacks left out)."""
    return {"interfaces_up": up, "interfaces_down": down}


def _uptime(ticks: int) -> dict[str, float | None]:
    """hrSystemUptime when recorded, else sysUpTime (TimeTicks)."""
    return {"uptime": ticks / 100}


CORPUS: dict[str, Case] = {
    # ---------------------------------------------------------------- UPS and PDUs
    "ups-eaton-9px": Case(
        "UPS/eaton-9px-partial",
        UPS,
        OK,
        # XUPS-MIB only: xupsBatTimeRemaining 17218 s (286 whole minutes), xupsBatCapacity
        # 100, xupsOutputSource normal(3), xupsBatteryAbmStatus resting(4).
        {"ups_on_line": 1.0, "ups_runtime": 286 * 60.0, "battery_charge": 1.0},
    ),
    "ups-emerson": Case(
        "UPS/emerson-network-power",
        UPS,
        UNKNOWN,
        {},
        "sysDescr 'UPS Web/SNMP Agent, Emerson Network Power' with ipForwarding 1; the "
        "recording holds no UPS object at all (no UPS-MIB, no enterprise 13400 data), so "
        "a UPS whose state cannot be read",
    ),
    "ups-eastpower": Case(
        "UPS/eastpower-istars-swv053",
        UPS,
        OK,
        # upsOutputSource normal(3), upsBatteryStatus normal(2), charge 100 %, runtime 0:
        # 0 minutes at a full charge is not an estimate.
        {"ups_on_line": 1.0, "battery_charge": 1.0, "ups_runtime": None},
    ),
    "ups-vertiv": Case(
        "UPS/vertiv-power",
        HOST,
        OK,
        _uptime(205301818),
        "filed as a UPS, but the Liebert card serves a 'Liebert PEX' (lgpAgentDevice "
        "1.3.6.1.4.1.476.1.42.4.3.6, lgpEnvironmental data: a cooling unit); no power MIB "
        "answers, so it is read as a plain host",
    ),
    "pdu-apc-8641": Case(
        "UPS/apc-8641", HOST, OK, _uptime(165528150), "APC rack PDU (sysObjectID 318.1.3.4.6)"
    ),
    "pdu-apc-8932": Case(
        "UPS/apc-8932", HOST, OK, _uptime(165328680), "APC rack PDU (sysObjectID 318.1.3.4.6)"
    ),
    "power-tripplite": Case(
        "network/appliance/tripplite-poweralert",
        HOST,
        OK,
        _uptime(165750470),
        "NOT DECIDED: a Tripp Lite PowerAlert card (850.1.1.1) could sit in a UPS or a PDU and "
        "the recording holds no Tripp Lite or UPS-MIB data to tell; the rules give a host, "
        "pinned here so that a change shows",
    ),
    # ------------------------------------------------------- access and L3 switches
    "sw-cisco-c3560": Case(
        "network/switch/cisco-c3560",
        SWITCH,
        OK,
        _ports(7, 49),
        "L3 switch: ipForwarding 1, dot1dBaseNumPorts 0 in the default context (Cisco keeps "
        "a bridge table per VLAN); sysServices 6 says it bridges",
    ),
    "sw-brocade-ds5100b": Case("network/switch/brocade-ds-5100b", SWITCH, OK, _ports(15, 0)),
    "sw-brocade-fc": Case("network/switch/brocade-fiber-channel", SWITCH, OK, _ports(33, 0)),
    "sw-brocade-icx6430": Case("network/switch/brocade-icx6430-24", SWITCH, OK, _ports(1, 28)),
    "sw-bdcom-s5612": Case("network/switch/bdcom-s5612", SWITCH, OK, _ports(14, 12)),
    "sw-cisco-n5000": Case("network/switch/cisco-n5000", SWITCH, OK, _ports(41, 18)),
    "sw-cts-converter": Case(
        "network/switch/cts-media-converter",
        SWITCH,
        OK,
        _ports(3, 0),
        "a media converter: sysServices 2 (layer 2 only), no BRIDGE-MIB",
    ),
    "sw-dlink-des3038": Case("network/switch/dlink-des3038", SWITCH, OK, _ports(17, 15)),
    "sw-h3c-e528": Case("network/switch/h3c-e528-1", SWITCH, OK, _ports(4, 27)),
    "sw-huawei-s12704": Case("network/switch/huawei-s12704", SWITCH, OK, _ports(24, 31)),
    "sw-metel-poe": Case("network/switch/metel-poe-box", SWITCH, OK, _ports(3, 1)),
    "sw-zte-5250": Case("network/switch/zte-zxr10-5250", SWITCH, OK, _ports(28, 24)),
    "sw-ruijie-s5750": Case("network/switch/ruijie-s5750-24gt12sfp", SWITCH, OK, _ports(15, 12)),
    "sw-arista-7150s": Case("cloud/arista-dcs-7150s-52-cl", SWITCH, OK, _ports(40, 4)),
    "sw-dptech-dpx800": Case(
        "network/switch/dptech-dpx800-a5",
        ROUTER,
        OK,
        _ports(12, 44),
        "filed as a switch, but it answers no BRIDGE-MIB and forwards (ipForwarding 1, "
        "sysServices 78); the DPX chassis is a multi-service gateway: read as a router",
    ),
    "sw-netmanage": Case(
        "os/linux/netmanage",
        SWITCH,
        OK,
        _ports(4, 27),
        "filed under Linux with a dummy sysDescr, but it is a bridge with 28 ports (the "
        "same interfaces as the H3C E528 recording)",
    ),
    # ------------------------------------------- appliances: WLAN controllers, fabrics
    "wlc-cisco": Case("network/appliance/cisco-controller", SWITCH, OK, _ports(3, 6)),
    "wlc-meru": Case(
        "network/appliance/meru-networks-controller",
        SWITCH,
        UNKNOWN,
        {},
        "WLAN controller (Meru, 15983.1.1) that forwards; the recording has no IF-MIB, so "
        "its interfaces cannot be judged",
    ),
    "wlc-aruba-7210": Case("network/wifi/aruba-7210", SWITCH, OK, _ports(9, 11)),
    "wlc-sangfor": Case(
        "network/wifi/sangfor-wac",
        SWITCH,
        OK,
        _ports(23, 0),
        "sysDescr 'Linux Wac': the vendor rule (Sangfor WAC, 35047.2.12) comes before the "
        "Linux one",
    ),
    "fabric-cisco-ucs": Case("network/appliance/cisco-ucs-6100", SWITCH, OK, _ports(318, 0)),
    # ----------------------------------------------------------------------- routers
    "rt-huawei-ne": Case(
        "network/router/huawei-unknown-001",
        ROUTER,
        OK,
        _ports(85, 16),
        "no sysDescr; forwards with dot1dBaseNumPorts 0 and a routing table of ~46,000 rows",
    ),
    "rt-juniper-mx960": Case("network/router/juniper-mx960-16-1r6-7-a", ROUTER, OK, _ports(58, 31)),
    "rt-cisco-unmarked": Case(
        "network/router/cisco-unmarked-0",
        SWITCH,
        OK,
        _ports(24, 4),
        "filed as a router, but it bridges 7 ports, does not forward and sysServices is 2 "
        "(layer 2 only): a Catalyst switch",
    ),
    "rt-huawei-s5720": Case(
        "network/router/huawei-s5720",
        SWITCH,
        OK,
        _ports(14, 24),
        "filed as a router; S5720-36C-EI is an L3 switch (32 bridge ports)",
    ),
    "rt-ruijie-n18010": Case(
        "network/router/ruijie-n18010",
        SWITCH,
        OK,
        _ports(257, 134),
        "filed as a router; its sysDescr says 'Core Routing Switch'",
    ),
    "rt-brocade": Case(
        "network/router/brocade-unknown-001",
        SWITCH,
        OK,
        _ports(7, 0),
        "filed as a router with an address for sysDescr; its sysObjectID 1588.2.1.1.1 is "
        "Brocade's Fibre Channel switch family",
    ),
    # --------------------------------------------------------------------- firewalls
    "fw-fortinet": Case("network/firewall/fortinet-xcu", ROUTER, OK, _ports(15, 5)),
    "fw-paloalto": Case(
        "network/firewall/paloalto-pa-5000",
        ROUTER,
        OK,
        _ports(20, 4),
        "no ipForwarding nor sysServices recorded: the vendor rule decides",
    ),
    "fw-clavister": Case("network/firewall/clavister-amaranten", ROUTER, OK, _ports(9, 0)),
    "fw-venus": Case(
        "network/firewall/venus-vsos-v0600r0705b20180507",
        ROUTER,
        OK,
        _ports(5, 6),
        "ipForwarding 2 (not forwarding) yet a firewall (Venus VSOS): the vendor rule",
    ),
    "fw-sangfor-ad": Case(
        "network/firewall/sangfor-ad1800-fp2",
        HOST,
        OK,
        _uptime(2344484425),
        "filed as a firewall; an AD-1800 is Sangfor's application delivery (load balancer) "
        "appliance, sysDescr 'Linux AD-1800-FP2': read as a Linux host although it forwards",
    ),
    # ---------------------------------------------------------- Linux, Windows, others
    "linux-forwarding": Case(
        "os/linux/unknown-002",
        HOST,
        OK,
        _uptime(32926309),
        "a Net-SNMP Linux host with ipForwarding 1: a host",
    ),
    "linux-slackware": Case(
        "os/linux/slackware",
        HOST,
        OK,
        _uptime(233512142),
        "two hrPrinterTable rows (local print queues), no Printer-MIB",
    ),
    "linux-sangfor-server": Case(
        "os/linux/unknown-005",
        HOST,
        OK,
        _uptime(9802800),
        "sysDescr 'Linux Server ...' on a Sangfor sysObjectID (35047.2.10), ipForwarding 1",
    ),
    "windows-xp": Case(
        "os/windows/XP",
        HOST,
        OK,
        _uptime(23294484),
        "four hrPrinterTable rows from Windows print queues, no Printer-MIB",
    ),
    "windows-2003": Case("os/windows/server-2003-5-2", HOST, OK, _uptime(865046546)),
    "storage-netapp": Case("storage/netapp-fas3270", HOST, OK, _uptime(1227663119)),
    "storage-huawei-ism": Case(
        "network/appliance/huawei-ism",
        HOST,
        OK,
        _uptime(1570547037),
        "sysServices 10 (layers 2 and 4): not a bridge",
    ),
    "sensor-geist": Case("iot/geist-temperature-sensor", HOST, OK, _uptime(165813805)),
    # ----------------------------------------------------------------------- cameras
    "cam-semac": Case(
        "camera/semac-ipcam-500",
        HOST,
        OK,
        _uptime(1670247979),
        "an IP camera on Net-SNMP with two hrPrinterTable rows: not a printer",
    ),
    "cam-samsung": Case("camera/samsung-ipolis", HOST, OK, _uptime(17811354)),
    "cam-hikvision-nvr": Case(
        "camera/hikvision-network-video-recorder", HOST, OK, _uptime(2178049673)
    ),
    "cam-wds": Case("camera/wds-ips-1022", HOST, OK, _uptime(584100)),
}

#: States no recording of snmpsim-data shows, written for these tests (``recordings/``, each
#: file says so in its first line) and served by the same snmpsim.
WRITTEN = {
    "ups-apc-on-battery-low": Case(
        "apc-smart-ups-on-battery-low",
        UPS,
        Status.FAIL,
        # upsBasicOutputStatus onBattery(3), upsBasicBatteryStatus batteryLow(3),
        # upsAdvBatteryCapacity 9, upsAdvBatteryRunTimeRemaining 12000 ticks (2 min),
        # upsBasicBatteryTimeOnBattery 90000 ticks (15 min).
        {
            "ups_on_line": 0.0,
            "battery_charge": 0.09,
            "ups_runtime": 120.0,
            "ups_seconds_on_battery": 900.0,
        },
        "APC Smart-UPS sysObjectID (318.1.3.2.12), PowerNet-MIB only",
        "ups: on battery, battery low, charge 9 %, 2 min left (PowerNet-MIB (APC))",
    ),
    "ups-liebert-zero-runtime": Case(
        "liebert-ups-zero-runtime",
        UPS,
        OK,
        # lgpPwrStateUpsOutputSource normal(3), lgpPwrBatteryCapacityStatus normal(2),
        # lgpPwrBatteryCapacity 100, lgpPwrBatteryTimeRemaining 0: not an estimate.
        {"ups_on_line": 1.0, "battery_charge": 1.0, "ups_runtime": None},
        "Liebert card answering LIEBERT-GP-POWER-MIB, ipForwarding 1",
        "(ignored values: lgpPwrBatteryTimeRemaining=0 at 100 % charge)",
    ),
    "printer-states-unknown": Case(
        "printer-states-unknown",
        DeviceKind.PRINTER,
        UNKNOWN,
        {"printer_up": None},
        "Printer-MIB answers (prtGeneral) on a Net-SNMP sysObjectID",
        "(hrDeviceStatus unknown; hrPrinterStatus unknown; not reported: prtMarkerSuppliesLevel)",
    ),
}

#: Recordings of snmpsim-data not in the corpus, and why.
UNDECIDED = {
    "UPS/juniper-ac": "malformed: hex-tagged values that are not hex ('4x|Juniper')",
    "camera/hikvision": "holds no system group: nothing to identify",
    "network/appliance/network-research-squid": "holds no system group",
    "network/switch/h3c-comware-lsq1wcmd0": "only the system group (sysServices 78, no "
    "forwarding or bridge data): an H3C WLAN module that the rules can only call a host",
    "network/appliance/infosec-nsae-6500": "forwards; what the product is could not be "
    "found out from the recording",
    "bmc/hp-onboard-administrator": "a blade enclosure manager that forwards (router by the "
    "rules); no rule was written for management controllers",
    "network/wifi/ruijie-m18000": "3,271 interfaces: too slow to walk for this test",
    "network/switch/h3c-comware-lsq1wcmd0-2509p61": "1,317 interfaces: too slow to walk here",
}


HERE = Path(__file__).parent / "recordings"


def _path(recording: str) -> Path:
    from tests.peers.snmp import DATA

    found = sorted(DATA.glob(recording + ".snmprec*")) or sorted(HERE.glob(recording + ".snmprec"))
    assert len(found) == 1, recording
    return found[0]


@pytest.fixture(scope="module")
def corpus_polls() -> Iterator[dict[str, DevicePoll]]:
    """Every recording served by one snmpsim and polled at once on one engine."""
    require_snmpsim()
    from tests.peers.snmp import Snmpsim

    cases = {**CORPUS, **WRITTEN}
    sim = Snmpsim({name: _path(case.recording) for name, case in cases.items()})

    async def poll_all() -> list[DevicePoll]:
        async with snmp_engine() as engine:
            return await asyncio.gather(
                *(
                    poll_device(sim.target(n, timeout_s=5.0, retries=1), n, engine=engine)
                    for n in cases
                )
            )

    try:
        yield dict(zip(cases, asyncio.run(poll_all()), strict=True))
    finally:
        sim.stop()


def test_the_corpus_is_new_and_broad():
    from tests.peers.snmp import ALL_DUMPS

    used = {str(p) for p in ALL_DUMPS.values()}
    assert len(CORPUS) >= 30
    assert not {str(_path(c.recording)) for c in CORPUS.values()} & used
    assert not {c.recording for c in CORPUS.values()} & set(UNDECIDED)
    kinds = {c.kind for c in CORPUS.values()}
    assert kinds == {HOST, UPS, SWITCH, ROUTER}


@pytest.mark.parametrize("name", [*CORPUS, *WRITTEN])
def test_recording(corpus_polls, name):  # type: ignore[no-untyped-def]
    case, polled = {**CORPUS, **WRITTEN}[name], corpus_polls[name]
    result = polled.result
    assert polled.kind is case.kind, (case.why, result.message)
    assert result.check == CHECK_ID[case.kind] and result.target == name
    assert result.status is case.status, result.message
    for value_name, expected in case.values.items():
        got = result.value(value_name)
        assert got == (pytest.approx(expected) if expected is not None else None), value_name
    assert result.message.startswith(f"{case.kind.value}: ")
    assert case.words in result.message
