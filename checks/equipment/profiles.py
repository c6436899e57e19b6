"""Which kind of device answers: printer, UPS, switch, router or plain host.

Decided first by which standard MIBs answer (the reliable signal: a Huawei UPS card reports
the Net-SNMP sysObjectID of its embedded Linux), then by sysDescr words as a fallback. Pure
functions over the values :mod:`checks.equipment.snmp_client` returns.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from checks.equipment import oids
from checks.equipment.snmp_client import Row, SnmpValue
from checks.model import MAX_MESSAGE_CHARS, Category, CheckResult, Status, Value


class ResultMaker(Protocol):
    """Makes a result of one device."""

    def __call__(
        self, status: Status, message: str, values: dict[str, Value] | None = None
    ) -> CheckResult: ...


def device_result(check_id: str, target: str) -> ResultMaker:
    """How the results of the device ``target`` under ``check_id`` are made (equipment
    category; the message cut to the model's limit)."""

    def result(status: Status, message: str, values: dict[str, Value] | None = None) -> CheckResult:
        return CheckResult(
            check=check_id,
            category=Category.EQUIPMENT,
            target=target,
            status=status,
            values=values or {},
            message=message[:MAX_MESSAGE_CHARS],
        )

    return result


_SEVERITY = {Status.OK: 0, Status.WARN: 1, Status.FAIL: 2}


def worst(*statuses: Status) -> Status:
    """The most severe of the verdicts (OK, WARN, FAIL) that parts of a device give."""
    return max(statuses, key=_SEVERITY.__getitem__)


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
    ups_mib: bool = False
    printer_mib: bool = False

    @property
    def uptime_s(self) -> float | None:
        return self.host_uptime_s if self.host_uptime_s is not None else self.agent_uptime_s


def _oid(value: SnmpValue) -> str:
    return value if isinstance(value, str) else ""


def _ticks(value: SnmpValue) -> float | None:
    """TimeTicks (RFC 2578: 0..2^32-1 hundredths of a second); anything else is missing."""
    ticks = as_int(value)
    return ticks / 100.0 if ticks is not None and 0 <= ticks < 2**32 else None


def parse_identity(values: dict[str, SnmpValue], printer_rows: Sequence[Row] = ()) -> Identity:
    """``values`` = the GET of :data:`oids.IDENTITY`; ``printer_rows`` = a short walk of
    hrPrinterStatus / prtMarkerSuppliesLevel (empty when the Printer-MIB is absent)."""
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
        ups_mib=as_int(values.get(oids.UPS_BATTERY_STATUS)) is not None
        or as_int(values.get(oids.UPS_OUTPUT_SOURCE)) is not None,
        printer_mib=any(v is not None for _, v in printer_rows),
    )


#: sysObjectID prefixes (IANA enterprise numbers) of vendors whose devices here are printers or
#: UPS: a hint used only when neither the Printer-MIB nor the UPS-MIB answers (an APC card
#: speaks only its own PowerNet-MIB; such a device is still a UPS, read as "unknown").
_PRINTER_ENTERPRISES = (
    "1.3.6.1.4.1.11.2.3.9.",  # HP hpNetPeripheral (LaserJet, JetDirect)
    "1.3.6.1.4.1.1602.",  # Canon
    "1.3.6.1.4.1.2435.",  # Brother
    "1.3.6.1.4.1.1248.",  # Seiko Epson
    "1.3.6.1.4.1.1347.",  # Kyocera
    "1.3.6.1.4.1.367.",  # Ricoh
    "1.3.6.1.4.1.253.",  # Xerox
    "1.3.6.1.4.1.641.",  # Lexmark
)
_UPS_ENTERPRISES = (
    "1.3.6.1.4.1.318.1.3.27",  # APC Smart-UPS network management card
    "1.3.6.1.4.1.534.",  # Eaton Powerware
    "1.3.6.1.4.1.705.",  # MGE UPS Systems (Eaton)
    "1.3.6.1.4.1.935.",  # Phoenixtec (Kentek)
)

_PRINTER_WORDS = re.compile(r"\b(printer|laserjet|jetdirect|officejet|mfp|imagerunner)\b", re.I)
_UPS_WORDS = re.compile(r"\b(ups|smart-ups|powerware)\b", re.I)


#: (test, kind) in the order tried: the MIBs that answer, then sysObjectID, then sysDescr,
#: then sysServices (RFC 3418): bit value 2 = layer 2 (bridging) without layer 3 = a switch.
_KIND_RULES: tuple[tuple[Callable[[Identity], object], DeviceKind], ...] = (
    (lambda i: i.printer_mib, DeviceKind.PRINTER),
    (lambda i: i.ups_mib, DeviceKind.UPS),
    (lambda i: i.bridge_ports is not None and i.bridge_ports > 0, DeviceKind.SWITCH),
    (lambda i: i.ip_forwarding == 1, DeviceKind.ROUTER),
    (lambda i: (i.object_id + ".").startswith(_PRINTER_ENTERPRISES), DeviceKind.PRINTER),
    (lambda i: (i.object_id + ".").startswith(_UPS_ENTERPRISES), DeviceKind.UPS),
    (lambda i: _PRINTER_WORDS.search(i.descr), DeviceKind.PRINTER),
    (lambda i: _UPS_WORDS.search(i.descr), DeviceKind.UPS),
    (lambda i: i.services is not None and i.services & 2 and not i.services & 4, DeviceKind.SWITCH),
)


def detect_kind(identity: Identity) -> DeviceKind:
    """The first rule of :data:`_KIND_RULES` that holds, else a plain host; ``unknown`` only
    when nothing answered."""
    if not identity.answered:
        return DeviceKind.UNKNOWN
    return next((kind for holds, kind in _KIND_RULES if holds(identity)), DeviceKind.HOST)
