"""``eq.device``: queue-number machines, satisfaction terminals and IP cameras respond (EQ-04).

Decree 61/2018 (the precedent Circular 03/2025 builds on) lists automatic queue-number
machines and cameras covering the one-stop area; citizen satisfaction is tracked on
terminals. Each configured device is probed by one of:

* ``tcp`` — a TCP connect to ``host:port`` (reuses :func:`checks.network.probes.probe_tcp`);
* ``http`` — a GET of ``url`` (reuses :func:`checks.network.probes.probe_http`; 2xx/3xx up,
  and 401/403 too: a login page proves the device is alive);
* ``rtsp`` — an RTSP ``OPTIONS`` request (RFC 2326 §10.1, RFC 7826 §13.1), the cheapest
  request every IP camera answers: ``OPTIONS rtsp://host:port/ RTSP/1.0`` with ``CSeq: 1``;
  up when the status line is ``RTSP/1.0 200`` (or 401: the camera answers but wants
  credentials, which OPTIONS does not need to prove reachability).

Target = the device's configured name. Values ``device_up`` 1/0 and, when it answered,
``response_time`` (seconds). Unreachable, refused, silent or a wrong answer -> ``fail``; a
name that does not resolve -> ``unknown``. Configuration::

    checks:
      eq.device:
        devices:
          - {name: may-cap-so, kind: queue, protocol: http, url: "http://192.168.1.50/"}
          - {name: danh-gia-hai-long, kind: satisfaction, protocol: tcp, host: 192.168.1.51,
             port: 9100}
          - {name: camera-1, kind: camera, protocol: rtsp, host: 192.168.1.60}
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Literal

from annotated_types import Ge, Gt, Le, MaxLen, MinLen

from checks.base import CannotMeasure, Check, CheckConfig, CheckContext
from checks.messages import msg
from checks.model import Category, CheckResult, Status, Value
from checks.network.probes import (
    _UNKNOWN_FAILURES,
    Failure,
    _classify_oserror,
    _reason,
    probe_http,
    probe_tcp,
)
from checks.resolve import Unresolved, reason_message, resolve_one
from checks.schema import STRICT, Doc, Record

RTSP_DEFAULT_PORT = 554
#: An RTSP response head is small; stop reading beyond this.
MAX_RTSP_HEAD_BYTES = 8192
#: Statuses that prove the device's RTSP server is alive.
RTSP_UP_CODES = frozenset({200, 401})
HTTP_ALIVE_CODES = frozenset({401, 403})

DeviceKind = Literal["queue", "satisfaction", "camera", "other"]


@dataclass(frozen=True, kw_only=True)
class Device(Record):
    __pydantic_config__ = STRICT

    name: Annotated[str, MinLen(1), MaxLen(100)]
    kind: DeviceKind = "other"
    protocol: Literal["tcp", "http", "rtsp"] = "tcp"
    host: str | None = None
    port: Annotated[int, Ge(1), Le(65535)] | None = None
    url: Annotated[str | None, Doc("for protocol http")] = None
    path: Annotated[str, Doc("RTSP request path (protocol rtsp)")] = "/"

    def __post_init__(self) -> None:
        """What a protocol needs (run after pydantic's validation, and on plain
        construction)."""
        if self.protocol == "http":
            if not self.url or not self.url.startswith(("http://", "https://")):
                raise ValueError(f"device {self.name!r}: protocol http needs url: http(s)://...")
        elif not self.host:
            raise ValueError(f"device {self.name!r}: protocol {self.protocol} needs host")
        elif self.protocol == "tcp" and self.port is None:
            raise ValueError(f"device {self.name!r}: protocol tcp needs port")


@dataclass(frozen=True, kw_only=True)
class DevicesConfig(CheckConfig):
    timeout_s: Annotated[float, Gt(0), Le(300)] = 15.0
    devices: list[Device] = field(default_factory=list)
    probe_timeout_s: Annotated[float, Gt(0), Le(60)] = 3.0

    def __post_init__(self) -> None:
        names = [d.name for d in self.devices]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"device names must be unique: {', '.join(sorted(dup))}")


# --------------------------------------------------------------------------- RTSP


@dataclass(frozen=True)
class DeviceOutcome:
    failure: Failure
    response_time_s: float
    code: int | None = None
    detail: str = ""


def rtsp_options_request(host: str, port: int, path: str = "/") -> bytes:
    """The request of RFC 2326 §10.1: request line, ``CSeq``, blank line."""
    authority = f"[{host}]" if ":" in host else host
    if not path.startswith("/"):
        path = "/" + path
    return (
        f"OPTIONS rtsp://{authority}:{port}{path} RTSP/1.0\r\n"
        "CSeq: 1\r\n"
        "User-Agent: commune-ioc\r\n"
        "\r\n"
    ).encode("ascii")


def parse_rtsp_status(head: bytes) -> int | None:
    """The status code of ``RTSP/1.0 200 OK`` (or ``RTSP/2.0 ...``), else None."""
    line = head.split(b"\r\n", 1)[0].split(b"\n", 1)[0].decode("latin-1")
    parts = line.split(" ", 2)
    if len(parts) < 2 or parts[0] not in ("RTSP/1.0", "RTSP/2.0") or not parts[1].isdigit():
        return None
    return int(parts[1])


async def probe_rtsp(host: str, port: int, timeout_s: float, path: str = "/") -> DeviceOutcome:
    """Send ``OPTIONS`` and read the status line; the whole exchange is under ``timeout_s``."""
    start = time.monotonic()
    try:
        _, (address, _) = await resolve_one(host, port, timeout_s)
    except Unresolved as exc:
        return DeviceOutcome(Failure.RESOLVE, time.monotonic() - start, detail=exc.reason)
    timeout_s = max(0.01, timeout_s - (time.monotonic() - start))

    async def exchange() -> bytes:
        reader, writer = await asyncio.open_connection(address, port)
        try:
            writer.write(rtsp_options_request(host, port, path))
            await writer.drain()
            head = b""
            while b"\r\n\r\n" not in head and len(head) < MAX_RTSP_HEAD_BYTES:
                chunk = await reader.read(MAX_RTSP_HEAD_BYTES - len(head))
                if not chunk:
                    break
                head += chunk
            return head
        finally:
            writer.close()
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    try:
        head = await asyncio.wait_for(exchange(), timeout_s)
    except TimeoutError:
        return DeviceOutcome(Failure.TIMEOUT, time.monotonic() - start, detail="timeout")
    except OSError as exc:
        return DeviceOutcome(_classify_oserror(exc), time.monotonic() - start, detail=_reason(exc))
    elapsed = time.monotonic() - start
    code = parse_rtsp_status(head)
    if code is None:
        shown = head[:40].decode("latin-1", errors="replace")
        detail = "closed without answering" if not head else f"not an RTSP answer: {shown!r}"
        return DeviceOutcome(Failure.UNREACHABLE, elapsed, detail=detail)
    return DeviceOutcome(Failure.NONE, elapsed, code=code)


# --------------------------------------------------------------------------- evaluate


def evaluate_device(device: Device, outcome: DeviceOutcome) -> CheckResult:
    values: dict[str, Value] = {}
    kind = device.kind
    if outcome.failure in _UNKNOWN_FAILURES:
        status, message = Status.UNKNOWN, reason_message(outcome.detail)
    elif outcome.failure is not Failure.NONE:
        status = Status.FAIL
        values["device_up"] = Value(value=0.0)
        message = {
            Failure.TIMEOUT: msg("eq.device.timeout", kind=kind),
            Failure.REFUSED: msg("eq.device.refused", kind=kind),
        }.get(outcome.failure) or msg("eq.device.unreachable", kind=kind, detail=outcome.detail)
    else:
        up = _answer_ok(device, outcome.code)
        values["device_up"] = Value(value=1.0 if up else 0.0)
        values["response_time"] = Value(value=outcome.response_time_s, unit="seconds")
        status = Status.OK if up else Status.FAIL
        what = "connected" if device.protocol == "tcp" else "answered" if up else "unexpected"
        message = msg(
            f"eq.device.{what}",
            kind=kind,
            protocol=device.protocol.upper(),
            code=str(outcome.code),
            elapsed=outcome.response_time_s,
        )
    return EquipmentDeviceCheck.result(
        status,
        message,
        target=device.name,
        values=values,
        duration_s=outcome.response_time_s,
    )


def _answer_ok(device: Device, code: int | None) -> bool:
    if device.protocol == "tcp":
        return True
    if code is None:
        return False
    if device.protocol == "rtsp":
        return code in RTSP_UP_CODES
    return 200 <= code < 400 or code in HTTP_ALIVE_CODES


async def probe_device(device: Device, timeout_s: float, verify: Any = True) -> DeviceOutcome:
    if device.protocol == "http":
        assert device.url is not None  # validated
        h = await probe_http(device.url, timeout_s, verify=verify)
        return DeviceOutcome(h.failure, h.response_time_s, h.status_code, h.detail)
    assert device.host is not None  # validated
    if device.protocol == "rtsp":
        return await probe_rtsp(
            device.host, device.port or RTSP_DEFAULT_PORT, timeout_s, device.path
        )
    assert device.port is not None  # validated
    t = await probe_tcp(device.host, device.port, timeout_s)
    return DeviceOutcome(t.failure, t.connect_time_s, None, t.detail)


class EquipmentDeviceCheck(Check):
    id = "eq.device"
    category = Category.EQUIPMENT
    Config: ClassVar[type[CheckConfig]] = DevicesConfig
    config: DevicesConfig

    def targets(self) -> list[str]:
        return [d.name for d in self.config.devices] or [""]

    async def fetch(self, ctx: CheckContext) -> list[tuple[Device, DeviceOutcome]]:
        if not self.config.devices:
            raise CannotMeasure(msg("eq.device.none"))

        async def one(device: Device) -> tuple[Device, DeviceOutcome]:
            return device, await probe_device(device, self.config.probe_timeout_s)

        return list(await asyncio.gather(*(one(d) for d in self.config.devices)))

    def evaluate(self, section: list[tuple[Device, DeviceOutcome]]) -> list[CheckResult]:
        return [evaluate_device(device, outcome) for device, outcome in section]
