"""Which kind of device answers: printer, UPS, switch, router or plain host.

Decided by an ordered table of rules, :data:`KIND_RULES` (data, not code): vendor rules on
the sysObjectID first, then which MIBs answer (a Huawei UPS card reports the Net-SNMP
sysObjectID of its embedded Linux but answers the UPS-MIB), then sysDescr words, then
sysServices and ipForwarding. docs/DEVICES.md explains the order. Pure functions over the
values :mod:`checks.equipment.snmp_client` returns.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from checks.equipment import oids
from checks.equipment.snmp_client import Row, SnmpValue
from checks.messages import said
from checks.model import Category, CheckResult, MessageRef, Status, Value


class ResultMaker(Protocol):
    """Makes a result of one device."""

    def __call__(
        self, status: Status, message: str | MessageRef, values: dict[str, Value] | None = None
    ) -> CheckResult: ...


def device_result(check_id: str, target: str) -> ResultMaker:
    """How the results of the device ``target`` under ``check_id`` are made (equipment
    category; the message cut to the model's limit)."""

    def result(
        status: Status, message: str | MessageRef, values: dict[str, Value] | None = None
    ) -> CheckResult:
        return CheckResult(
            check=check_id,
            category=Category.EQUIPMENT,
            target=target,
            status=status,
            values=values or {},
            **said(message),
        )

    return result


class DeviceKind(StrEnum):
    PRINTER = "printer"
    UPS = "ups"
    SWITCH = "switch"
    ROUTER = "router"
    HOST = "host"
    UNKNOWN = "unknown"


#: The check id that reports each kind.
CHECK_ID = {
    DeviceKind.PRINTER: "eq.printer",
    DeviceKind.UPS: "eq.ups",
    DeviceKind.SWITCH: "eq.switch",
    DeviceKind.ROUTER: "eq.switch",
    DeviceKind.HOST: "eq.snmp_host",
    DeviceKind.UNKNOWN: "eq.snmp_host",
}


def as_int(value: SnmpValue) -> int | None:
    """An integer as sent, or None when the device sent another type (or nothing)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def as_text(value: SnmpValue) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace").strip("\x00 \r\n\t")
    if isinstance(value, str):
        return value
    return ""


def index_of(oid: str, column: str) -> str | None:
    """``1.3.6.1.2.1.2.2.1.8.12`` under column ``1.3.6.1.2.1.2.2.1.8`` -> ``"12"``."""
    stem = column + "."
    return oid[len(stem) :] if oid.startswith(stem) else None


def columns(rows: Sequence[Row], *cols: str) -> dict[str, dict[str, SnmpValue]]:
    """Rows regrouped as ``{column: {index: value}}`` for the given columns."""
    out: dict[str, dict[str, SnmpValue]] = {c: {} for c in cols}
    for oid, value in rows:
        for col in cols:
            idx = index_of(oid, col)
            if idx is not None:
                out[col][idx] = value
                break
    return out


class Mib(StrEnum):
    """The MIBs whose answer says what a device is (see :data:`MIB_SCALARS`/``MIB_TABLES``).

    The HOST-RESOURCES printer table is not one of them: Windows and Net-SNMP fill it from
    the local print queues, so a PC or a camera has rows there; only the Printer-MIB says
    that a device is a printer.
    """

    PRINTER = "Printer-MIB"
    UPS = "UPS-MIB"
    APC_UPS = "PowerNet-MIB UPS"
    XUPS = "XUPS-MIB"
    LIEBERT_UPS = "LIEBERT-GP-POWER-MIB"
    BRIDGE = "BRIDGE-MIB"
    FIBRE_CHANNEL = "FC-MGMT-MIB"


#: A MIB answers when one of its scalars (read in the identity GET) has a value of the
#: right type...
MIB_SCALARS: dict[Mib, tuple[str, ...]] = {
    Mib.UPS: (oids.UPS_BATTERY_STATUS, oids.UPS_OUTPUT_SOURCE),
    Mib.APC_UPS: (oids.APC_BATTERY_STATUS, oids.APC_OUTPUT_STATUS),
    Mib.XUPS: (oids.XUPS_BAT_CAPACITY, oids.XUPS_OUTPUT_SOURCE),
    Mib.LIEBERT_UPS: (oids.LGP_BATTERY_CAPACITY_STATUS, oids.LGP_UPS_OUTPUT_SOURCE),
    Mib.BRIDGE: (oids.DOT1D_BASE_NUM_PORTS,),
}
#: ...or one of its tables (walked for one row, :data:`oids.IDENTITY_TABLES`) has a row.
MIB_TABLES: dict[Mib, tuple[str, ...]] = {
    Mib.PRINTER: (oids.PRT_MARKER_SUPPLIES_LEVEL, oids.PRT_GENERAL),
    Mib.FIBRE_CHANNEL: (oids.FC_MGMT,),
}
UPS_MIBS = frozenset({Mib.UPS, Mib.APC_UPS, Mib.XUPS, Mib.LIEBERT_UPS})


@dataclass(frozen=True)
class Identity:
    """The identifying scalars of a device (SNMPv2-MIB system group and a few probes)."""

    answered: bool
    descr: str = ""
    object_id: str = ""
    #: sysUpTime: uptime of the SNMP agent, seconds.
    agent_uptime_s: float | None = None
    #: hrSystemUptime: uptime of the host itself, seconds.
    host_uptime_s: float | None = None
    services: int | None = None
    ip_forwarding: int | None = None
    bridge_ports: int | None = None
    mibs: frozenset[Mib] = frozenset()

    @property
    def uptime_s(self) -> float | None:
        return self.host_uptime_s if self.host_uptime_s is not None else self.agent_uptime_s

    @property
    def ups_mib(self) -> bool:
        return not UPS_MIBS.isdisjoint(self.mibs)

    @property
    def printer_mib(self) -> bool:
        return Mib.PRINTER in self.mibs


def _oid(value: SnmpValue) -> str:
    return value if isinstance(value, str) else ""


def _ticks(value: SnmpValue) -> float | None:
    """TimeTicks (RFC 2578: 0..2^32-1 hundredths of a second); anything else is missing."""
    ticks = as_int(value)
    return ticks / 100.0 if ticks is not None and 0 <= ticks < 2**32 else None


def answering_mibs(values: dict[str, SnmpValue], table_rows: Sequence[Row] = ()) -> frozenset[Mib]:
    """The MIBs of :class:`Mib` that answered: an integer in one of their scalars, or a row
    under one of their tables."""
    found = {
        mib
        for mib, scalars in MIB_SCALARS.items()
        if any(as_int(values.get(o)) is not None for o in scalars)
    }
    for mib, tables in MIB_TABLES.items():
        stems = tuple(t + "." for t in tables)
        if any(oid.startswith(stems) and v is not None for oid, v in table_rows):
            found.add(mib)
    return frozenset(found)


def parse_identity(values: dict[str, SnmpValue], table_rows: Sequence[Row] = ()) -> Identity:
    """``values`` = the GET of :data:`oids.IDENTITY`; ``table_rows`` = the first row of each of
    :data:`oids.IDENTITY_TABLES` (empty when the MIB is absent). Rows of other tables (the
    HOST-RESOURCES printer table) are ignored."""
    answered = any(v is not None for v in values.values())
    return Identity(
        answered=answered,
        descr=as_text(values.get(oids.SYS_DESCR)),
        object_id=_oid(values.get(oids.SYS_OBJECT_ID)),
        agent_uptime_s=_ticks(values.get(oids.SYS_UPTIME)),
        host_uptime_s=_ticks(values.get(oids.HR_SYSTEM_UPTIME)),
        services=as_int(values.get(oids.SYS_SERVICES)),
        ip_forwarding=as_int(values.get(oids.IP_FORWARDING)),
        bridge_ports=as_int(values.get(oids.DOT1D_BASE_NUM_PORTS)),
        mibs=answering_mibs(values, table_rows),
    )


#: sysServices bits (RFC 3418): 2^(L-1) for OSI layer L.
LAYER_2 = 2
LAYER_3 = 4
#: Layers above the network (transport, applications): a host or an appliance, not a bridge.
HOST_LAYERS = 8 | 64


@dataclass(frozen=True)
class KindRule:
    """One line of the kind table: every condition given must hold (an empty one is not
    asked). sysObjectID prefixes match whole arcs (``...318.1.3.2`` is not ``...318.1.3.20``);
    sysDescr patterns are searched without regard to case."""

    name: str
    kind: DeviceKind
    #: sysObjectID under one of these.
    object_ids: tuple[str, ...] = ()
    #: sysDescr matching this regular expression.
    descr: str = ""
    #: One of these MIBs answers.
    answers: frozenset[Mib] = frozenset()
    #: sysServices has all these bits.
    services: int = 0
    #: sysServices is reported and has none of these bits.
    services_without: int = 0
    #: dot1dBaseNumPorts is reported and at least this.
    bridge_ports_min: int | None = None
    #: ipForwarding is forwarding(1).
    forwarding: bool = False

    def holds(self, identity: Identity) -> bool:
        oid = identity.object_id
        checks = (
            not self.object_ids
            or any(oid == p or oid.startswith(p + ".") for p in self.object_ids),
            not self.descr or re.search(self.descr, identity.descr, re.I) is not None,
            not self.answers or not self.answers.isdisjoint(identity.mibs),
            (identity.services or 0) & self.services == self.services,
            not self.services_without
            or (identity.services is not None and not identity.services & self.services_without),
            self.bridge_ports_min is None
            or (
                identity.bridge_ports is not None and identity.bridge_ports >= self.bridge_ports_min
            ),
            not self.forwarding or identity.ip_forwarding == 1,
        )
        return all(checks)


def _enterprise(*arcs: str) -> tuple[str, ...]:
    return tuple(f"1.3.6.1.4.1.{a}" for a in arcs)


#: How a device's kind is decided: the first rule that holds (docs/DEVICES.md explains the
#: order). Vendor rules first (sysObjectID, sometimes with a MIB or sysDescr), then the
#: MIBs that answer, then sysDescr words, then sysServices and ipForwarding; no rule, a host.
KIND_RULES: tuple[KindRule, ...] = (
    # --- vendors: UPS and PDU
    KindRule("APC Smart-UPS", DeviceKind.UPS, _enterprise("318.1.3.2")),
    KindRule("APC UPS network management card", DeviceKind.UPS, _enterprise("318.1.3.27")),
    KindRule("APC rack PDU", DeviceKind.HOST, _enterprise("318.1.3.4")),
    KindRule(
        "APC card answering PowerNet UPS",
        DeviceKind.UPS,
        _enterprise("318"),
        answers=frozenset({Mib.APC_UPS}),
    ),
    KindRule("Eaton/Powerware UPS (XUPS)", DeviceKind.UPS, _enterprise("534.1")),
    KindRule("Eaton ePDU", DeviceKind.HOST, _enterprise("534.6")),
    KindRule("MGE/Eaton UPS", DeviceKind.UPS, _enterprise("705.1")),
    KindRule(
        "Liebert card answering the power MIB",
        DeviceKind.UPS,
        _enterprise("476"),
        answers=frozenset({Mib.LIEBERT_UPS, Mib.UPS}),
    ),
    KindRule("Emerson Network Power UPS card", DeviceKind.UPS, _enterprise("13400.2.1")),
    KindRule("Phoenixtec UPS", DeviceKind.UPS, _enterprise("935")),
    # --- vendors: printers
    KindRule(
        "printer maker",
        DeviceKind.PRINTER,
        _enterprise("11.2.3.9", "1602", "2435", "1248", "1347", "367", "253", "641"),
    ),
    # --- vendors: PCs, whose print queues fill the HOST-RESOURCES printer table
    KindRule("Microsoft Windows", DeviceKind.HOST, _enterprise("311.1.1.3")),
    # --- vendors: switches that a generic rule would miss
    KindRule(
        "Cisco switch, L3 too (BRIDGE-MIB answers, with 0 ports when its tables are per VLAN)",
        DeviceKind.SWITCH,
        _enterprise("9"),
        services=LAYER_2,
        bridge_ports_min=0,
    ),
    KindRule("Brocade Fibre Channel switch", DeviceKind.SWITCH, _enterprise("1588.2.1.1")),
    KindRule(
        "WLAN controller",
        DeviceKind.SWITCH,
        _enterprise("14823.1.1", "14525.3", "15983.1.1", "25053.3", "35047.2.12"),
    ),
    # --- vendors: firewalls (they route between their zones)
    KindRule(
        "firewall maker",
        DeviceKind.ROUTER,
        _enterprise("12356.101", "25461", "5089", "14331", "15227"),
    ),
    # --- the MIBs that answer
    KindRule("Printer-MIB answers", DeviceKind.PRINTER, answers=frozenset({Mib.PRINTER})),
    KindRule("a UPS MIB answers", DeviceKind.UPS, answers=UPS_MIBS),
    KindRule("Fibre Channel switch", DeviceKind.SWITCH, answers=frozenset({Mib.FIBRE_CHANNEL})),
    KindRule("bridge with ports (access or L3 switch)", DeviceKind.SWITCH, bridge_ports_min=1),
    # --- sysDescr words
    KindRule(
        "printer words",
        DeviceKind.PRINTER,
        descr=r"\b(printer|laserjet|jetdirect|officejet|mfp|imagerunner)\b",
    ),
    KindRule("UPS words", DeviceKind.UPS, descr=r"\b(ups|smart-ups|powerware)\b"),
    KindRule("firewall words", DeviceKind.ROUTER, descr=r"\b(firewall|ngfw)\b"),
    KindRule("switch words", DeviceKind.SWITCH, descr=r"\bswitch\b"),
    KindRule("Linux host", DeviceKind.HOST, descr=r"^linux\b"),
    KindRule("Net-SNMP on Linux", DeviceKind.HOST, _enterprise("8072.3.2.10")),
    KindRule("router words", DeviceKind.ROUTER, descr=r"\brouter\b"),
    # --- sysServices and ipForwarding
    KindRule(
        "layer 2 only (sysServices)",
        DeviceKind.SWITCH,
        services=LAYER_2,
        services_without=LAYER_3 | HOST_LAYERS,
    ),
    KindRule("forwards IP", DeviceKind.ROUTER, forwarding=True),
)


def kind_rule(identity: Identity) -> KindRule | None:
    """The first rule of :data:`KIND_RULES` that holds, or None (a plain host)."""
    return next((rule for rule in KIND_RULES if rule.holds(identity)), None)


def detect_kind(identity: Identity) -> DeviceKind:
    """The kind of the first rule that holds, else a plain host; ``unknown`` only when
    nothing answered."""
    if not identity.answered:
        return DeviceKind.UNKNOWN
    rule = kind_rule(identity)
    return rule.kind if rule is not None else DeviceKind.HOST
