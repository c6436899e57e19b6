"""The kind table (profiles.KIND_RULES) on identities built by hand and from recordings: the
cases users met (PCs and cameras taken for printers, a UPS card and forwarding Linux hosts
taken for routers, L3 and Fibre Channel switches and WLAN controllers taken for routers or
hosts)."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.equipment import oids
from checks.equipment.profiles import (
    KIND_RULES,
    MIB_SCALARS,
    MIB_TABLES,
    DeviceKind,
    KindRule,
    Mib,
    answering_mibs,
    detect_kind,
    kind_rule,
    parse_identity,
)
from tests.peers.snmp import DATA, read_snmprec

HR_PRINTER_ROW = (oids.HR_PRINTER_STATUS + ".1", 3)
SUPPLY_ROW = (oids.PRT_MARKER_SUPPLIES_LEVEL + ".1.1", 40)


def identity_of(path: Path):  # type: ignore[no-untyped-def]
    """The identity the check builds from a recording: the identity GET and the first row
    of each probed table (plus the HOST-RESOURCES printer rows, which must be ignored)."""
    rows = read_snmprec(path)
    values = dict(rows)
    stems = (*(t + "." for t in oids.IDENTITY_TABLES), oids.HR_PRINTER_STATUS + ".")
    return parse_identity(
        {o: values.get(o) for o in oids.IDENTITY}, [r for r in rows if r[0].startswith(stems)]
    )


def _id(**values):  # type: ignore[no-untyped-def]
    names = {
        "descr": oids.SYS_DESCR,
        "object_id": oids.SYS_OBJECT_ID,
        "services": oids.SYS_SERVICES,
        "forwarding": oids.IP_FORWARDING,
        "bridge_ports": oids.DOT1D_BASE_NUM_PORTS,
    }
    rows = values.pop("rows", [])
    return parse_identity({names[k]: v for k, v in values.items()}, rows)


def test_the_host_resources_printer_table_is_never_enough():
    assert HR_PRINTER_ROW[0] not in str(MIB_TABLES) and Mib.PRINTER in MIB_TABLES
    pc = _id(descr=b"Hardware: x86 - Software: Windows", rows=[HR_PRINTER_ROW])
    assert detect_kind(pc) is DeviceKind.HOST and not pc.printer_mib
    printer = _id(descr=b"NPI1A2B3C", rows=[HR_PRINTER_ROW, SUPPLY_ROW])
    assert detect_kind(printer) is DeviceKind.PRINTER


@pytest.mark.parametrize(
    ("recording", "kind", "rule"),
    [
        # Windows and Net-SNMP fill hrPrinterTable from their print queues.
        ("os/windows/XP.snmprec.bz2", DeviceKind.HOST, "Microsoft Windows"),
        ("os/linux/slackware.snmprec.bz2", DeviceKind.HOST, "Linux host"),
        ("camera/semac-ipcam-500.snmprec.bz2", DeviceKind.HOST, "Linux host"),
        # ipForwarding = 1, looked at after the vendor and sysDescr.
        ("UPS/emerson-network-power.snmprec.bz2", DeviceKind.UPS, "Emerson Network Power UPS card"),
        ("os/linux/unknown-002.snmprec.bz2", DeviceKind.HOST, "Linux host"),
        # Switches that came out as routers or hosts.
        (
            "network/switch/cisco-c3560.snmprec.bz2",
            DeviceKind.SWITCH,
            "Cisco switch, L3 too (BRIDGE-MIB answers, with 0 ports when its tables are per VLAN)",
        ),
        (
            "network/switch/brocade-ds-5100b.snmprec.bz2",
            DeviceKind.SWITCH,
            "Brocade Fibre Channel switch",
        ),
        (
            "network/appliance/meru-networks-controller.snmprec.bz2",
            DeviceKind.SWITCH,
            "WLAN controller",
        ),
        # Vendor UPS MIB only (XUPS), and a UPS card on the Net-SNMP sysObjectID.
        ("UPS/eaton-9px-partial.snmprec.bz2", DeviceKind.UPS, "MGE/Eaton UPS"),
        ("UPS/huawei-gse200m.snmprec.bz2", DeviceKind.UPS, "a UPS MIB answers"),
    ],
)
def test_reported_cases(recording, kind, rule):  # type: ignore[no-untyped-def]
    identity = identity_of(DATA / recording)
    assert detect_kind(identity) is kind
    found = kind_rule(identity)
    assert found is not None and found.name == rule


def test_recorded_facts_behind_the_cases():
    """What the recordings hold that used to mislead the detection."""
    xp = dict(read_snmprec(DATA / "os/windows/XP.snmprec.bz2"))
    assert any(o.startswith(oids.HR_PRINTER_STATUS + ".") for o in xp)
    assert not any(o.startswith("1.3.6.1.2.1.43.") for o in xp)
    emerson = dict(read_snmprec(DATA / "UPS/emerson-network-power.snmprec.bz2"))
    assert emerson[oids.IP_FORWARDING] == 1
    assert emerson[oids.SYS_DESCR].startswith(b"UPS Web/SNMP Agent")
    c3560 = dict(read_snmprec(DATA / "network/switch/cisco-c3560.snmprec.bz2"))
    assert c3560[oids.DOT1D_BASE_NUM_PORTS] == 0 and c3560[oids.IP_FORWARDING] == 1


def test_rules_read_whole_arcs_and_every_condition():
    assert detect_kind(_id(object_id="1.3.6.1.4.1.318.1.3.2.11")) is DeviceKind.UPS
    # 318.1.3.20 is not under 318.1.3.2, and an APC rack PDU is not a UPS.
    assert detect_kind(_id(object_id="1.3.6.1.4.1.318.1.3.20", descr=b"x")) is DeviceKind.HOST
    assert detect_kind(_id(object_id="1.3.6.1.4.1.318.1.3.4.6")) is DeviceKind.HOST
    # An APC card that answers the PowerNet UPS group is a UPS whatever its product arc.
    apc = _id(object_id="1.3.6.1.4.1.318.1.3.99")
    assert detect_kind(apc) is DeviceKind.HOST
    apc_ups = parse_identity(
        {oids.SYS_OBJECT_ID: "1.3.6.1.4.1.318.1.3.99", oids.APC_BATTERY_STATUS: 2}
    )
    assert apc_ups.mibs == {Mib.APC_UPS} and detect_kind(apc_ups) is DeviceKind.UPS
    # A Cisco router without BRIDGE-MIB stays a router; with bridge tables, a switch.
    isr = {"object_id": "1.3.6.1.4.1.9.1.1041", "services": 78, "forwarding": 1}
    assert detect_kind(_id(descr=b"Cisco IOS Software", **isr)) is DeviceKind.ROUTER
    assert detect_kind(_id(descr=b"x", bridge_ports=0, **isr)) is DeviceKind.SWITCH
    # Huawei with 0 bridge ports and forwarding: a router (per-VLAN tables are Cisco's).
    ne = {"object_id": "1.3.6.1.4.1.2011.2.89.5", "services": 78, "forwarding": 1}
    assert detect_kind(_id(bridge_ports=0, **ne)) is DeviceKind.ROUTER


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        ({"descr": b"Linux gw 6.1", "forwarding": 1}, DeviceKind.HOST),
        ({"descr": b"RouterOS CCR", "forwarding": 1}, DeviceKind.ROUTER),
        ({"descr": b"x", "services": 2}, DeviceKind.SWITCH),
        ({"descr": b"x", "services": 3}, DeviceKind.SWITCH),
        # Layer 2 with the application layer (a storage manager): not a bridge.
        ({"descr": b"ISM SNMP Agent", "services": 10}, DeviceKind.HOST),
        ({"descr": b"x", "services": 6}, DeviceKind.HOST),
        ({"descr": b"Amaranten Firewall 8.90"}, DeviceKind.ROUTER),
        ({"descr": b"Fibre Channel Switch."}, DeviceKind.SWITCH),
        ({"descr": b"UPS Web/SNMP Agent", "forwarding": 1}, DeviceKind.UPS),
        ({"descr": b"Juniper mx960 internet router"}, DeviceKind.ROUTER),
        ({"descr": b"x", "forwarding": b"1"}, DeviceKind.HOST),  # a string: ignored
        ({"descr": b"x", "bridge_ports": 24, "forwarding": 1}, DeviceKind.SWITCH),
    ],
)
def test_generic_rules(values, kind):  # type: ignore[no-untyped-def]
    assert detect_kind(_id(**values)) is kind


def test_nothing_answered_is_unknown():
    assert detect_kind(parse_identity({})) is DeviceKind.UNKNOWN


def test_the_table_is_ordered_vendor_rules_first():
    names = [r.name for r in KIND_RULES]
    first_mib_rule = names.index("Printer-MIB answers")
    assert all(r.object_ids for r in KIND_RULES[:first_mib_rule])
    assert names.index("Linux host") < names.index("forwards IP") == len(names) - 1
    assert names.index("a UPS MIB answers") < names.index("Linux host")
    assert all(isinstance(r, KindRule) and r.name for r in KIND_RULES)
    assert len(set(names)) == len(names)


def test_answering_mibs_wants_integers_and_rows():
    assert answering_mibs({oids.UPS_BATTERY_STATUS: b"2"}) == frozenset()
    assert answering_mibs({oids.XUPS_OUTPUT_SOURCE: 3}) == {Mib.XUPS}
    assert answering_mibs({}, [(oids.FC_MGMT + ".1.1.0", 1)]) == {Mib.FIBRE_CHANNEL}
    assert answering_mibs({}, [HR_PRINTER_ROW]) == frozenset()
    assert set(MIB_SCALARS) | set(MIB_TABLES) == set(Mib)
