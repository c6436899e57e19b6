"""Switches and routers (EQ-04): IF-MIB (RFC 2863) interface state, errors and traffic.

``parse_switch(rows)`` takes the walked rows of :data:`oids.SWITCH_COLUMNS`;
``evaluate_switch`` gives the ``eq.switch`` result. Traffic rates need two polls:
:func:`counter_delta` handles a counter that wrapped past 2^N and tells a wrap from a reset
(device reboot, counter cleared), for which no rate can be given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from checks.equipment import oids
from checks.equipment.profiles import as_int, as_text, columns, device_result
from checks.equipment.snmp_client import Row, SnmpValue
from checks.messages import msg
from checks.model import CheckResult, Status, Value

CHECK_ID = "eq.switch"

IF_UP = 1
#: ifOperStatus down(2) and lowerLayerDown(7): the port is configured up but has no link.
OPER_DOWN = frozenset({2, 7})
SOFTWARE_LOOPBACK = 24  # IANAifType softwareLoopback
#: ifOperStatus values that say something: up, down, testing, dormant, notPresent,
#: lowerLayerDown (4 is "unknown"; anything else is not in RFC 2863).
OPER_KNOWN = frozenset({1, 2, 3, 5, 6, 7})

#: Highest plausible traffic, bytes/s (1 Tbit/s): a larger "rate" after a wrap is a reset.
MAX_RATE_BYTES_PER_S = 1.25e11


def counter_delta(
    previous: int, current: int, bits: int = 64, max_delta: float | None = None
) -> int | None:
    """Increase of an SNMP counter between two polls, across at most one wrap past 2^bits.

    A counter that went down either wrapped (``2^bits - previous + current``) or was reset.
    When ``max_delta`` is given, a wrapped delta above it is taken as a reset: ``None``.
    Values outside ``0 .. 2^bits - 1`` (a malformed answer) also give ``None``.
    """
    modulus = 1 << bits
    if not (0 <= previous < modulus and 0 <= current < modulus):
        return None
    if current >= previous:
        return current - previous
    delta = modulus - previous + current
    if max_delta is not None and delta > max_delta:
        return None
    return delta


def counter_rate(
    previous: int,
    current: int,
    elapsed_s: float,
    bits: int = 64,
    max_rate: float = MAX_RATE_BYTES_PER_S,
) -> float | None:
    """Per-second rate between two polls ``elapsed_s`` apart, or None (reset, bad interval)."""
    if elapsed_s <= 0:
        return None
    delta = counter_delta(previous, current, bits, max_delta=max_rate * elapsed_s)
    if delta is None or delta / elapsed_s > max_rate:
        return None
    return delta / elapsed_s


@dataclass(frozen=True)
class Interface:
    index: str
    name: str
    descr: str = ""
    alias: str = ""
    if_type: int | None = None
    admin: int | None = None
    oper: int | None = None
    in_errors: int | None = None
    out_errors: int | None = None
    hc_in_octets: int | None = None
    hc_out_octets: int | None = None

    def matches(self, wanted: str) -> bool:
        w = wanted.strip().lower()
        return w in (self.index, self.name.lower(), self.descr.lower(), self.alias.lower())


@dataclass(frozen=True)
class SwitchSection:
    interfaces: tuple[Interface, ...] = ()


def _counter(value: SnmpValue, bits: int) -> int | None:
    """A Counter32/Counter64 value in its range (RFC 2578 7.1.6, 7.1.10); a device that
    sends anything else (negative, past the width, another type) has no figure here."""
    n = as_int(value)
    return n if n is not None and 0 <= n < 2**bits else None


def parse_switch(rows: Sequence[Row]) -> SwitchSection:
    cols = columns(rows, *oids.SWITCH_COLUMNS)
    indices: set[str] = set(cols[oids.IF_OPER_STATUS]) | set(cols[oids.IF_ADMIN_STATUS])
    out = []
    for idx in sorted(indices, key=lambda i: int(i) if i.isdigit() else 0):
        descr = as_text(cols[oids.IF_DESCR].get(idx))
        out.append(
            Interface(
                index=idx,
                name=as_text(cols[oids.IF_NAME].get(idx)) or descr or idx,
                descr=descr,
                alias=as_text(cols[oids.IF_ALIAS].get(idx)),
                if_type=as_int(cols[oids.IF_TYPE].get(idx)),
                admin=as_int(cols[oids.IF_ADMIN_STATUS].get(idx)),
                oper=as_int(cols[oids.IF_OPER_STATUS].get(idx)),
                in_errors=_counter(cols[oids.IF_IN_ERRORS].get(idx), 32),
                out_errors=_counter(cols[oids.IF_OUT_ERRORS].get(idx), 32),
                hc_in_octets=_counter(cols[oids.IF_HC_IN_OCTETS].get(idx), 64),
                hc_out_octets=_counter(cols[oids.IF_HC_OUT_OCTETS].get(idx), 64),
            )
        )
    return SwitchSection(tuple(out))


@dataclass(frozen=True)
class Poll:
    """One earlier poll, kept by the check between cycles to compute rates."""

    section: SwitchSection
    at_s: float  # monotonic time of the poll
    uptime_s: float | None = None


def _traffic(previous: Poll, current: Poll) -> tuple[float, float] | None:
    """Total in/out bits per second between two polls; None after a reboot or on no data."""
    if (
        previous.uptime_s is not None
        and current.uptime_s is not None
        and current.uptime_s < previous.uptime_s
    ):
        return None  # rebooted: every counter restarted
    elapsed = current.at_s - previous.at_s
    before = {i.index: i for i in previous.section.interfaces}
    total_in = total_out = 0.0
    seen = False
    for iface in current.section.interfaces:
        old = before.get(iface.index)
        if old is None:
            continue
        for attr, acc in (("hc_in_octets", "in"), ("hc_out_octets", "out")):
            a, b = getattr(old, attr), getattr(iface, attr)
            if a is None or b is None:
                continue
            rate = counter_rate(a, b, elapsed)
            if rate is None:
                continue
            seen = True
            if acc == "in":
                total_in += rate * 8
            else:
                total_out += rate * 8
    return (total_in, total_out) if seen else None


def _uplink_problems(ports: list[Interface], uplinks: Sequence[str]) -> tuple[list[str], list[str]]:
    """What is wrong with the uplinks the site named: those not up, those not found."""
    down, missing = [], []
    for wanted in uplinks:
        match = next((i for i in ports if i.matches(wanted)), None)
        if match is None:
            missing.append(repr(wanted))
        elif match.oper != IF_UP:
            down.append(match.name)
    return down, missing


def _traffic_values(previous: Poll | None, current: Poll | None) -> dict[str, Value]:
    """Total in/out rates between two polls; nothing without both, or after a reboot."""
    traffic = None if previous is None or current is None else _traffic(previous, current)
    if traffic is None:
        return {}
    return {
        "if_in_rate": Value(value=traffic[0], unit="bits_per_second"),
        "if_out_rate": Value(value=traffic[1], unit="bits_per_second"),
    }


def evaluate_switch(
    section: SwitchSection,
    target: str,
    *,
    uplinks: Sequence[str] = (),
    previous: Poll | None = None,
    current: Poll | None = None,
) -> CheckResult:
    result = device_result(CHECK_ID, target)

    ports = [i for i in section.interfaces if i.if_type != SOFTWARE_LOOPBACK]
    if not ports:
        return result(Status.UNKNOWN, msg("eq.switch.no_ifmib"))
    if not any(i.oper in OPER_KNOWN for i in ports):
        return result(Status.UNKNOWN, msg("eq.switch.no_state", count=len(ports)))
    up = [i for i in ports if i.oper == IF_UP]
    down = [i for i in ports if i.admin == IF_UP and i.oper in OPER_DOWN]
    errors = sum((i.in_errors or 0) + (i.out_errors or 0) for i in ports)
    values = {
        "interfaces_up": Value(value=float(len(up)), unit="count"),
        "interfaces_down": Value(value=float(len(down)), unit="count"),
        "if_errors": Value(value=float(errors), unit="count"),
        **_traffic_values(previous, current),
    }
    down_uplinks, missing = _uplink_problems(ports, uplinks)
    if uplinks:
        values["uplinks_down"] = Value(value=float(len(down_uplinks) + len(missing)), unit="count")
    said = {
        "up": len(up),
        "total": len(ports),
        "down": len(down),
        "errors": errors,
        "uplinks_down": ", ".join(down_uplinks),
        "uplinks_missing": ", ".join(missing),
    }
    suffix = "_errors" if errors else ""
    if down_uplinks or missing:
        kind = "down_missing" if down_uplinks and missing else "down" if down_uplinks else "missing"
        return result(Status.FAIL, msg(f"eq.switch.uplinks_{kind}{suffix}", **said), values)
    return result(Status.OK, msg(f"eq.switch.ports{suffix}", **said), values)
