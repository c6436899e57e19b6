"""``vc.sip``: SIP OPTIONS "ping" (RFC 3261 §11) to the provincial SIP server / MCU (VC-01).

fetch: one OPTIONS request over UDP (retransmitted per RFC 3261 Timer A: 500 ms, doubling,
until the deadline) or TCP (one connection, one request). Provisional 1xx answers are
skipped; the first final response (>= 200) ends the exchange.

evaluate — our choice, since a monitoring OPTIONS is not an authorised call:

* 2xx -> ok: the server answers for itself;
* 4xx (401/407 authentication required, 403, 404 not found, 405 method not allowed,
  483 too many hops, ...) -> ok: a SIP stack parsed our request and answered it, which is
  what "reachable" means; many MCUs refuse unauthenticated OPTIONS this way;
* 5xx / 6xx -> warn: alive, but says it cannot serve now (503 overloaded, 600 busy);
* no answer, connection refused, port unreachable -> fail (``sip_up`` = 0);
* name does not resolve -> unknown (we could not even try).
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Literal

from annotated_types import Gt, Le

from checks.base import CannotMeasure, Check, CheckConfig, CheckContext
from checks.messages import msg, said
from checks.model import Category, CheckResult, Status, Value
from checks.network.probes import split_host_port
from checks.resolve import Unresolved, resolve_one
from checks.schema import STRICT, After, Before, Doc, Record
from checks.videoconf.common import Exchange, no_answer, udp_exchange

DEFAULT_PORT = 5060
USER_AGENT = "commune-ioc"
MAX_RESPONSE_BYTES = 64 * 1024
STATUS_RE = re.compile(rb"^SIP/2\.0 (\d{3}) ?([^\r\n]*)")


def _hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def options_request(
    host: str,
    port: int,
    transport: str,
    local: tuple[str, int],
    call_id: str,
    branch: str,
    tag: str,
) -> bytes:
    """An OPTIONS request with the mandatory headers of RFC 3261 §8.1.1."""
    me = _hostport(*local)
    lines = [
        f"OPTIONS sip:{_hostport(host, port)} SIP/2.0",
        f"Via: SIP/2.0/{transport.upper()} {me};branch={branch};rport",
        "Max-Forwards: 70",
        f"To: <sip:{_hostport(host, port)}>",
        f"From: <sip:ioc-agent@{me}>;tag={tag}",
        f"Call-ID: {call_id}",
        "CSeq: 1 OPTIONS",
        f"Contact: <sip:ioc-agent@{me};transport={transport.lower()}>",
        "Accept: application/sdp",
        f"User-Agent: {USER_AGENT}",
        "Content-Length: 0",
        "",
        "",
    ]
    return "\r\n".join(lines).encode()


@dataclass(frozen=True)
class SipResponse:
    code: int
    reason: str
    call_id: str

    @property
    def final(self) -> bool:
        return self.code >= 200


def parse_response(data: bytes) -> SipResponse | None:
    """Status line and Call-ID of a SIP response; None if it is not one."""
    match = STATUS_RE.match(data)
    if match is None:
        return None
    call_id = ""
    head = data.split(b"\r\n\r\n", 1)[0]
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() in (b"call-id", b"i"):  # "i" is the compact form
            call_id = value.strip().decode("utf-8", "replace")
    return SipResponse(int(match.group(1)), match.group(2).decode("utf-8", "replace"), call_id)


@dataclass(frozen=True)
class SipOutcome:
    target: str
    transport: str
    exchange: Exchange
    response: SipResponse | None = None


def _ids() -> tuple[str, str, str]:
    token = os.urandom(8).hex()
    # "z9hG4bK" marks an RFC 3261 branch (§8.1.1.7).
    return f"{token}@commune-ioc", f"z9hG4bK{token}", token[:8]


async def probe_sip(host: str, port: int, transport: str, timeout_s: float) -> SipOutcome:
    target = _hostport(host, port)
    call_id, branch, tag = _ids()
    if transport == "udp":

        def accept(data: bytes) -> bool:
            resp = parse_response(data)
            return resp is not None and resp.final and resp.call_id == call_id

        exchange = await udp_exchange(
            host,
            port,
            lambda local: options_request(host, port, "udp", local, call_id, branch, tag),
            accept,
            timeout_s,
        )
    else:
        exchange = await _tcp_exchange(host, port, call_id, branch, tag, timeout_s)
    response = parse_response(exchange.answer) if exchange.answer else None
    return SipOutcome(target, transport, exchange, response)


async def _tcp_exchange(
    host: str, port: int, call_id: str, branch: str, tag: str, timeout_s: float
) -> Exchange:
    start = time.monotonic()
    try:
        _, (address, _) = await resolve_one(host, port, timeout_s)
    except Unresolved as exc:
        return Exchange(None, time.monotonic() - start, "resolve", exc.reason)
    left = max(0.01, timeout_s - (time.monotonic() - start))
    try:
        talk = _tcp_talk(host, address, port, call_id, branch, tag, start)
        return await asyncio.wait_for(talk, left)
    except TimeoutError:
        return Exchange(
            None, time.monotonic() - start, "timeout", f"no answer within {timeout_s:g} s"
        )
    except ConnectionRefusedError:
        return Exchange(None, time.monotonic() - start, "refused", "connection refused")
    except OSError as exc:
        return Exchange(None, time.monotonic() - start, "timeout", str(exc))


async def _tcp_talk(
    host: str, address: str, port: int, call_id: str, branch: str, tag: str, start: float
) -> Exchange:
    reader, writer = await asyncio.open_connection(address, port)
    try:
        name = writer.get_extra_info("sockname")
        local = (str(name[0]), int(name[1]))
        sent_at = time.monotonic()
        writer.write(options_request(host, port, "tcp", local, call_id, branch, tag))
        await writer.drain()
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            if len(head) > MAX_RESPONSE_BYTES:
                raise OSError("response header too large")
            length = 0
            for line in head.split(b"\r\n"):
                key, _, value = line.partition(b":")
                if key.strip().lower() in (b"content-length", b"l") and value.strip().isdigit():
                    length = min(int(value.strip()), MAX_RESPONSE_BYTES)
            if length:
                await reader.readexactly(length)
            resp = parse_response(head)
            if resp is not None and resp.final and resp.call_id == call_id:
                return Exchange(head, time.monotonic() - sent_at, local=local)
    except asyncio.IncompleteReadError:
        return Exchange(
            None, time.monotonic() - start, "timeout", "connection closed without a final answer"
        )
    finally:
        writer.close()


def evaluate_sip(
    outcome: SipOutcome, check_id: str = "vc.sip", target: str | None = None
) -> CheckResult:
    ex = outcome.exchange
    base: dict[str, Any] = {
        "check": check_id,
        "category": Category.VIDEOCONF,
        "target": target or f"{outcome.target}/{outcome.transport}",
        "duration_s": ex.elapsed_s,
    }
    resp = outcome.response
    if resp is None:
        refused = "net.refused" if outcome.transport == "tcp" else "net.port_unreachable"
        return no_answer(check_id, base["target"], ex, "sip_up", refused)
    values = {
        "sip_up": Value(value=1.0),
        "sip_response_time": Value(value=ex.elapsed_s, unit="seconds"),
        "sip_status_code": Value(value=float(resp.code)),
    }
    said_ = {"code": str(resp.code), "reason": resp.reason, "elapsed": ex.elapsed_s}
    if resp.code >= 500:
        text = msg("vc.sip.cannot_serve", **said_)
        return CheckResult(status=Status.WARN, values=values, **said(text), **base)
    text = msg("vc.sip.alive" if resp.code >= 300 else "vc.sip.answered", **said_)
    return CheckResult(status=Status.OK, values=values, **said(text), **base)


def _server(v: str) -> str:
    split_host_port(v, default_port=DEFAULT_PORT)
    return v


@dataclass(frozen=True, kw_only=True)
class SipTarget(Record):
    __pydantic_config__ = STRICT

    server: Annotated[
        str, After(_server), Doc("HOST[:PORT] of the SIP server or MCU (default port 5060)")
    ]
    transport: Literal["udp", "tcp"] = "udp"

    @property
    def label(self) -> str:
        return f"{self.server}/{self.transport}"


def _coerce_targets(v: Any) -> Any:
    """Allow "host:5060" or "host:5060/tcp" in place of {server: ..., transport: ...}."""
    if isinstance(v, list):
        out = []
        for item in v:
            if isinstance(item, str):
                server, _, transport = item.partition("/")
                item = {"server": server, "transport": transport or "udp"}
            out.append(item)
        return out
    return v


@dataclass(frozen=True, kw_only=True)
class SipConfig(CheckConfig):
    timeout_s: Annotated[float, Gt(0), Le(300)] = 5.0
    targets: Annotated[list[SipTarget], Before(_coerce_targets)] = field(default_factory=list)


class SipCheck(Check):
    id = "vc.sip"
    category = Category.VIDEOCONF
    Config: ClassVar[type[CheckConfig]] = SipConfig
    config: SipConfig

    def targets(self) -> list[str]:
        return [t.label for t in self.config.targets] or [""]

    async def fetch(self, ctx: CheckContext) -> list[tuple[SipTarget, SipOutcome]]:
        if not self.config.targets:
            raise CannotMeasure(msg("check.not_configured", option="vc.sip.targets"))
        budget = max(0.1, self.config.timeout_s - 0.2)

        async def one(t: SipTarget) -> tuple[SipTarget, SipOutcome]:
            host, port = split_host_port(t.server, default_port=DEFAULT_PORT)
            return t, await probe_sip(host, port, t.transport, budget)

        return list(await asyncio.gather(*(one(t) for t in self.config.targets)))

    def evaluate(self, section: list[tuple[SipTarget, SipOutcome]]) -> list[CheckResult]:
        return [evaluate_sip(outcome, self.id, target=t.label) for t, outcome in section]
