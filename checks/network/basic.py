"""Network reachability checks: default gateway, DNS, and the TCP/HTTP probes under the ids
the criteria catalogue relies on.

* ``net.gateway`` — NET-01 precondition: a default route exists and its gateway answers ARP.
* ``net.dns`` — names resolve (default: the National Public Service Portal).
* ``net.tcp`` / ``net.http`` — generic probes of configured targets.
* ``net.dedicated`` — NET-01: TCP connect to the provincial gateway over the dedicated data
  network (default: the collector's host:port).
* ``net.portal`` — NET-03: HTTPS to the National Public Service Portal, 2xx/3xx within 3 s.
* ``svc.http`` — SYS-01: the province's core information systems, by name.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar
from urllib.parse import urlsplit

from annotated_types import Gt, Le, MinLen

from checks.backend import Route
from checks.base import CannotMeasure, Check, CheckConfig, CheckContext
from checks.messages import msg
from checks.model import Category, CheckResult, MessageRef, Status, Value
from checks.network.probes import (
    HttpOutcome,
    TcpOutcome,
    evaluate_http,
    evaluate_tcp,
    probe_http,
    probe_tcp_targets,
    split_host_port,
)
from checks.resolve import Unresolved
from checks.resolve import resolve as resolve_name
from checks.schema import STRICT, After, Before, Doc, Record
from checks.tls import httpx_verify

PORTAL_URL = "https://dichvucong.gov.vn/"
PORTAL_HOST = "dichvucong.gov.vn"

# --------------------------------------------------------------------------- gateway


@dataclass(frozen=True)
class GatewaySection:
    gateway: str | None
    interface: str = ""
    reachable: bool = False


def parse_gateway(route: Route | None, neighbours: list[Any]) -> GatewaySection:
    if route is None:
        return GatewaySection(gateway=None)
    reachable = any(n.ip == route.gateway and n.complete for n in neighbours)
    return GatewaySection(gateway=route.gateway, interface=route.interface, reachable=reachable)


def evaluate_gateway(section: GatewaySection) -> CheckResult:
    if section.gateway is None:
        return GatewayCheck.result(
            Status.FAIL,
            values={"gateway_present": Value(value=0.0), "gateway_reachable": Value(value=0.0)},
            message=msg("net.gateway.no_route"),
        )
    status = Status.OK if section.reachable else Status.FAIL
    message = msg(
        "net.gateway.answers" if section.reachable else "net.gateway.silent",
        gateway=section.gateway,
        interface=section.interface,
    )
    return GatewayCheck.result(
        status,
        target=section.gateway,
        values={
            "gateway_present": Value(value=1.0),
            "gateway_reachable": Value(value=1.0 if section.reachable else 0.0),
        },
        message=message,
    )


def _poke(ip: str) -> None:
    """Send one UDP datagram to the discard port so the kernel resolves the gateway's MAC."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.5)
        with contextlib.suppress(OSError):  # the ARP table says whether it worked
            sock.sendto(b"", (ip, 9))


class GatewayCheck(Check):
    id = "net.gateway"
    category = Category.NETWORK

    async def fetch(self, ctx: CheckContext) -> tuple[Route | None, list[Any]]:
        """The default route and the neighbour table (a BackendError, e.g. not supported on
        this platform, is ``unknown``)."""
        backend = self.backend
        route = await asyncio.to_thread(backend.default_gateway)
        neighbours = await asyncio.to_thread(backend.neighbours)
        section = parse_gateway(route, neighbours)
        if section.gateway and not section.reachable:
            # The entry may simply have expired: ask the kernel to resolve it, re-read.
            await asyncio.to_thread(_poke, section.gateway)
            await asyncio.sleep(0.5)
            neighbours = await asyncio.to_thread(backend.neighbours)
        return route, neighbours

    def parse(self, raw: tuple[Route | None, list[Any]]) -> GatewaySection:
        return parse_gateway(*raw)

    def evaluate(self, section: GatewaySection) -> list[CheckResult]:
        return [evaluate_gateway(section)]


# --------------------------------------------------------------------------- DNS


@dataclass(frozen=True, kw_only=True)
class DnsConfig(CheckConfig):
    names: Annotated[list[str], MinLen(1)] = field(default_factory=lambda: [PORTAL_HOST])
    resolve_timeout_s: Annotated[float, Gt(0), Le(60)] = 3.0


@dataclass(frozen=True)
class DnsOutcome:
    name: str
    addresses: tuple[str, ...]
    elapsed_s: float
    error: str = ""
    timed_out: bool = False


def evaluate_dns(outcome: DnsOutcome) -> CheckResult:
    values: dict[str, Value] = {}
    message: MessageRef
    if outcome.timed_out:
        status = Status.UNKNOWN
        message = (
            msg("net.dns.cannot_resolve", name=outcome.name, detail=outcome.error)
            if outcome.error
            else msg("net.dns.no_answer", name=outcome.name, elapsed=outcome.elapsed_s)
        )
    elif outcome.addresses:
        status = Status.OK
        values = {
            "dns_resolve_time": Value(value=outcome.elapsed_s, unit="seconds"),
            "dns_addresses": Value(value=float(len(outcome.addresses))),
        }
        message = msg("net.dns.resolved", count=len(outcome.addresses), elapsed=outcome.elapsed_s)
    else:
        status = Status.FAIL
        values = {"dns_addresses": Value(value=0.0)}
        message = (
            msg("net.dns.unresolved_why", detail=outcome.error)
            if outcome.error
            else msg("net.dns.unresolved")
        )
    return DnsCheck.result(
        status,
        target=outcome.name,
        values=values,
        message=message,
        duration_s=outcome.elapsed_s,
    )


async def resolve(name: str, timeout_s: float) -> DnsOutcome:
    start = time.monotonic()
    try:
        infos = await resolve_name(name, None, timeout_s)
    except Unresolved as exc:
        elapsed = time.monotonic() - start
        return DnsOutcome(name, (), elapsed, error=exc.why, timed_out=exc.unanswered)
    addresses = tuple(sorted({str(info[4][0]) for info in infos}))
    return DnsOutcome(name, addresses, time.monotonic() - start)


class DnsCheck(Check):
    id = "net.dns"
    category = Category.NETWORK
    Config: ClassVar[type[CheckConfig]] = DnsConfig
    config: DnsConfig

    def targets(self) -> list[str]:
        return list(self.config.names)

    async def fetch(self, ctx: CheckContext) -> list[DnsOutcome]:
        return list(
            await asyncio.gather(
                *(resolve(n, self.config.resolve_timeout_s) for n in self.config.names)
            )
        )

    def evaluate(self, section: list[DnsOutcome]) -> list[CheckResult]:
        return [evaluate_dns(o) for o in section]


# --------------------------------------------------------------------------- TCP


def _host_port(value: str) -> str:
    split_host_port(value)  # raises ValueError with the reason
    return value


def _host_ports(v: list[str]) -> list[str]:
    return [_host_port(t) for t in v]


@dataclass(frozen=True, kw_only=True)
class TcpConfig(CheckConfig):
    timeout_s: Annotated[float, Gt(0), Le(300)] = 10.0
    targets: Annotated[list[str], After(_host_ports), Doc("HOST:PORT targets")] = field(
        default_factory=list
    )
    connect_timeout_s: Annotated[float, Gt(0), Le(300)] = 3.0


class TcpCheck(Check):
    id = "net.tcp"
    category = Category.NETWORK
    Config: ClassVar[type[CheckConfig]] = TcpConfig
    config: TcpConfig

    def targets(self) -> list[str]:
        return list(self.config.targets) or [""]

    def _probe_targets(self, ctx: CheckContext) -> list[str]:
        if not self.config.targets:
            raise CannotMeasure(msg("check.no_targets"))
        return list(self.config.targets)

    async def fetch(self, ctx: CheckContext) -> list[tuple[str, TcpOutcome]]:
        return await probe_tcp_targets(self._probe_targets(ctx), self.config.connect_timeout_s)

    def evaluate(self, section: list[tuple[str, TcpOutcome]]) -> list[CheckResult]:
        return [
            evaluate_tcp(self.id, outcome, target=target, category=self.category)
            for target, outcome in section
        ]


def collector_host_port(url: str | None) -> str | None:
    """``https://ioc.example.vn:8443/x`` -> ``ioc.example.vn:8443`` (default ports filled)."""
    if not url:
        return None
    parts = urlsplit(url)
    if not parts.hostname:
        return None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{host}:{port}"


@dataclass(frozen=True, kw_only=True)
class DedicatedConfig(TcpConfig):
    timeout_s: Annotated[float, Gt(0), Le(300)] = 10.0


class DedicatedCheck(TcpCheck):
    """TCP connect to the provincial gateway over the dedicated data network (NET-01)."""

    id = "net.dedicated"
    Config: ClassVar[type[CheckConfig]] = DedicatedConfig

    def _probe_targets(self, ctx: CheckContext) -> list[str]:
        if self.config.targets:
            return list(self.config.targets)
        default = collector_host_port(ctx.collector_url)
        if default is None:
            raise CannotMeasure(msg("net.dedicated.not_configured"))
        return [default]


# --------------------------------------------------------------------------- HTTP


def _url(v: str) -> str:
    parts = urlsplit(v)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{v!r} is not an http:// or https:// URL")
    return v


@dataclass(frozen=True, kw_only=True)
class HttpTarget(Record):
    """An HTTP(S) target; ``name`` labels it (core information systems)."""

    __pydantic_config__ = STRICT

    url: Annotated[str, After(_url)]
    name: str | None = None
    expect: Annotated[str | None, Doc("substring the body must contain")] = None


def _coerce_targets(v: Any) -> Any:
    """Allow a bare URL string in place of ``{url: ...}``."""
    if isinstance(v, list):
        return [{"url": item} if isinstance(item, str) else item for item in v]
    return v


@dataclass(frozen=True, kw_only=True)
class HttpConfig(CheckConfig):
    timeout_s: Annotated[float, Gt(0), Le(300)] = 15.0
    targets: Annotated[list[HttpTarget], Before(_coerce_targets)] = field(default_factory=list)
    request_timeout_s: Annotated[float, Gt(0), Le(300)] = 5.0
    verify_tls: bool = True
    ca_file: Annotated[str | None, Doc("CA bundle for a private PKI")] = None


class HttpCheck(Check):
    id = "net.http"
    category = Category.NETWORK
    Config: ClassVar[type[CheckConfig]] = HttpConfig
    config: HttpConfig

    def _targets(self) -> list[HttpTarget]:
        return list(self.config.targets)

    def _label(self, target: HttpTarget) -> str:
        """The result's target: the target's ``name`` when it has one, else its URL."""
        return target.name or target.url

    def targets(self) -> list[str]:
        return [self._label(t) for t in self._targets()] or [""]

    def _verify(self) -> Any:
        if self.config.ca_file and self.config.verify_tls:
            return httpx_verify(self.config.ca_file)
        return httpx_verify(self.config.verify_tls)  # a shared context, not one per cycle

    async def fetch(self, ctx: CheckContext) -> list[tuple[HttpTarget, HttpOutcome]]:
        targets = self._targets()
        if not targets:
            raise CannotMeasure(msg("check.no_targets"))
        verify = self._verify()

        async def one(target: HttpTarget) -> tuple[HttpTarget, HttpOutcome]:
            return target, await probe_http(
                target.url, self.config.request_timeout_s, expect=target.expect, verify=verify
            )

        return list(await asyncio.gather(*(one(t) for t in targets)))

    def evaluate(self, section: list[tuple[HttpTarget, HttpOutcome]]) -> list[CheckResult]:
        return [
            evaluate_http(
                self.id,
                outcome,
                target=self._label(target),
                category=self.category,
                expect=target.expect,
            )
            for target, outcome in section
        ]


@dataclass(frozen=True, kw_only=True)
class PortalConfig(HttpConfig):
    targets: Annotated[list[HttpTarget], Before(_coerce_targets)] = field(
        default_factory=lambda: [HttpTarget(url=PORTAL_URL)]
    )


class PortalCheck(HttpCheck):
    """The National Public Service Portal over HTTPS (NET-03)."""

    id = "net.portal"
    Config: ClassVar[type[CheckConfig]] = PortalConfig


def _named(v: list[HttpTarget]) -> list[HttpTarget]:
    for t in v:
        if not t.name:
            raise ValueError(f"service {t.url!r} needs a name (e.g. 'LGSP')")
    return v


@dataclass(frozen=True, kw_only=True)
class ServiceConfig(HttpConfig):
    targets: Annotated[list[HttpTarget], Before(_coerce_targets), After(_named)] = field(
        default_factory=list
    )


class ServiceCheck(HttpCheck):
    """The province's core information systems (SYS-01); target = the system's name."""

    id = "svc.http"
    category = Category.SERVICES
    Config: ClassVar[type[CheckConfig]] = ServiceConfig
