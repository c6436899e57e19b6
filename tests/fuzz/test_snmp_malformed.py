"""The eq.snmp polling against a loopback UDP responder that answers SNMP GET, GETNEXT and
GETBULK requests badly: garbage bytes, truncated BER, the wrong request-id, values of the
wrong type or out of range (an OctetString where an Integer belongs, counters past their
width, negative gauges), a 60 kB string, a walk that never advances.

``poll_device`` (what the check runs for each device) must give ``unknown`` with a reason
for an answer it cannot use, a correct status where the values are usable, and never
raise, within the configured timeout.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from checks.equipment import oids
from checks.equipment.profiles import DeviceKind
from checks.equipment.snmp_checks import poll_device
from checks.equipment.snmp_client import SnmpTarget
from checks.model import CheckResult, Status

pytest.importorskip("pysnmp")

from pyasn1.codec.ber import decoder, encoder  # noqa: E402
from pysnmp.proto import api, rfc1902  # noqa: E402

P = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]

#: Values of the wrong type or range, handed out in turn whatever was asked.
ODD_VALUES: list[Callable[[], Any]] = [
    lambda: rfc1902.OctetString(b"\xff\x00not a number"),
    lambda: rfc1902.Integer32(-(2**31)),
    lambda: rfc1902.Counter64(2**64 - 1),
    lambda: rfc1902.Gauge32(2**32 - 1),
    lambda: rfc1902.ObjectIdentifier("1.3"),
    lambda: rfc1902.IpAddress("10.0.0.1"),
    lambda: rfc1902.TimeTicks(2**32 - 1),
    lambda: rfc1902.Integer32(-1),
    lambda: rfc1902.OctetString(b""),
]

#: A UPS whose figures are negative or absurd (what a broken network card sends).
UPS_VALUES: dict[str, Any] = {
    oids.SYS_DESCR: rfc1902.OctetString(b"UPS card \xff\xfe"),
    oids.SYS_OBJECT_ID: rfc1902.ObjectIdentifier("1.3.6.1.4.1.705.1"),
    oids.SYS_UPTIME: rfc1902.TimeTicks(123),
    oids.UPS_BATTERY_STATUS: rfc1902.Integer32(2),  # batteryNormal
    oids.UPS_OUTPUT_SOURCE: rfc1902.Integer32(3),  # normal
    oids.UPS_SECONDS_ON_BATTERY: rfc1902.Integer32(-30),
    oids.UPS_ESTIMATED_MINUTES_REMAINING: rfc1902.Integer32(-(2**31)),
    oids.UPS_ESTIMATED_CHARGE_REMAINING: rfc1902.Integer32(2**31 - 1),
    oids.UPS_IDENT_MODEL: rfc1902.OctetString(b"\x00" * 64),
}


class BadResponder:
    """SNMPv2c on 127.0.0.1: decodes each request and answers according to ``mode``."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.requests = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self._odd = itertools.cycle(ODD_VALUES)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        deadline = time.monotonic() + 120  # bounded even if a test forgets to stop it
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                data, peer = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            self.requests += 1
            answer = self._answer(data)
            if answer is not None:
                self.sock.sendto(answer, peer)

    def _answer(self, data: bytes) -> bytes | None:
        if self.mode == "garbage":
            return os.urandom(len(data))
        request, _ = decoder.decode(data, asn1Spec=P.Message())
        pdu = P.apiMessage.get_pdu(request)
        response = P.apiMessage.get_response(request)
        rsp_pdu = P.apiMessage.get_pdu(response)
        asked = [str(oid) for oid, _ in P.apiPDU.get_varbinds(pdu)]
        walking = not pdu.isSameTypeWith(P.GetRequestPDU())
        binds: list[tuple[str, Any]] = []
        for oid in asked:
            if self.mode == "stuck" and walking:
                binds.append((oid, self._next_odd()))  # the same OID again: never advances
            elif walking:
                # One row under the column asked for, then a jump out of it (end of walk).
                depth = oid.count(".") - max(
                    (c.count(".") for c in _COLUMNS if oid.startswith(c)), default=oid.count(".")
                )
                binds.append(
                    (oid + ".1", self._next_odd())
                    if depth == 0
                    else ("1.3.6.1.6.3.99", rfc1902.Integer32(0))
                )
            elif self.mode == "ups":
                binds.append((oid, UPS_VALUES.get(oid, rfc1902.Integer32(-1))))
            elif self.mode == "huge":
                binds.append((oid, rfc1902.OctetString(b"\xfe" * (60_000 // len(asked)))))
            else:
                binds.append((oid, self._next_odd()))
        P.apiPDU.set_varbinds(rsp_pdu, [(rfc1902.ObjectName(o), v) for o, v in binds])
        if self.mode == "wrong_id":
            P.apiPDU.set_request_id(rsp_pdu, int(P.apiPDU.get_request_id(pdu)) + 1)
        encoded: bytes = encoder.encode(response)
        if self.mode == "truncated":
            return encoded[: len(encoded) // 2]
        return encoded

    def _next_odd(self) -> Any:
        return next(self._odd)()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


_COLUMNS = (*oids.PRINTER_COLUMNS, oids.HR_DEVICE_STATUS, *oids.SWITCH_COLUMNS)
KINDS = [None, DeviceKind.PRINTER, DeviceKind.UPS, DeviceKind.SWITCH]


@pytest.fixture
def responder(request: pytest.FixtureRequest) -> Iterator[BadResponder]:
    r = BadResponder(request.param)
    try:
        yield r
    finally:
        r.close()


def poll(
    responder: BadResponder, kind: DeviceKind | None, timeout_s: float = 3.0, retries: int = 1
) -> tuple[CheckResult, float]:
    """Poll ``responder``. Answers that are meant to be used get a generous timeout (the
    machine may be busy); the tests of unusable answers pass a short one and time it."""
    target = SnmpTarget(
        "127.0.0.1", responder.port, community="public", timeout_s=timeout_s, retries=retries
    )
    start = time.monotonic()
    polled = asyncio.run(poll_device(target, "dev", kind, max_rows=200))
    elapsed = time.monotonic() - start
    CheckResult.model_validate(polled.result.model_dump())  # what the collector accepts
    return polled.result, elapsed


@pytest.mark.parametrize("responder", ["garbage", "truncated", "wrong_id"], indirect=True)
@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.value if k else "auto")
def test_unusable_answers_are_unknown_in_time(
    responder: BadResponder, kind: DeviceKind | None
) -> None:
    result, elapsed = poll(responder, kind, timeout_s=0.4, retries=0)
    assert result.status is Status.UNKNOWN, result
    assert "no answer within 0.4 s" in result.message, result.message
    assert elapsed < 3.0
    assert responder.requests >= 1  # it was asked, and what it sent was not taken


@pytest.mark.parametrize("responder", ["odd_types", "huge", "stuck"], indirect=True)
@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.value if k else "auto")
def test_wrong_types_and_sizes_never_crash(
    responder: BadResponder, kind: DeviceKind | None
) -> None:
    result, elapsed = poll(responder, kind)
    assert result.status in set(Status)
    assert result.message  # says what it saw or why it could not judge
    assert elapsed < 20.0


@pytest.mark.parametrize("responder", ["odd_types"], indirect=True)
def test_printer_whose_figures_are_all_unusable_is_unknown(responder: BadResponder) -> None:
    """Defect found here: a printer status of -1 (no value of the MIB's enumeration) and
    levels that were not numbers gave ``ok`` and printer_up=1."""
    result, _ = poll(responder, DeviceKind.PRINTER)
    assert result.status is Status.UNKNOWN, result
    assert "no usable printer status" in result.message


@pytest.mark.parametrize("responder", ["ups"], indirect=True)
def test_ups_with_absurd_figures_keeps_the_usable_ones(responder: BadResponder) -> None:
    result, _ = poll(responder, None)
    assert result.check == "eq.ups", result
    # Negative minutes and a 2^31 % charge are not figures: they are left out, not shown.
    assert "battery_runtime" not in result.values
    assert all(v.value >= 0 for v in result.values.values()), result.values
    assert result.status in set(Status)
