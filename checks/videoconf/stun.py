"""``vc.stun``: STUN Binding request (RFC 5389) to the meeting platform's STUN/TURN server
(VC-01, WebRTC reachability).

fetch: one Binding request over UDP, retransmitted per RFC 5389 §7.2.1 (RTO 500 ms,
doubling) until the deadline. parse: the response header and its XOR-MAPPED-ADDRESS
(RFC 5389 §15.2; MAPPED-ADDRESS §15.1 from RFC 3489 servers as a fallback). evaluate: a
success response -> ok (with the address the server saw); an error response -> warn (the
server is alive but refused the request); no answer / port unreachable -> fail.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import struct
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar

from annotated_types import Gt, Le

from checks.base import CannotMeasure, Check, CheckConfig, CheckContext
from checks.messages import msg, said
from checks.model import Category, CheckResult, Status, Value
from checks.network.probes import split_host_port
from checks.schema import After, Doc
from checks.videoconf.common import Exchange, no_answer, udp_exchange

MAGIC_COOKIE = 0x2112A442
BINDING_REQUEST = 0x0001
BINDING_SUCCESS = 0x0101
BINDING_ERROR = 0x0111
ATTR_MAPPED_ADDRESS = 0x0001
ATTR_ERROR_CODE = 0x0009
ATTR_XOR_MAPPED_ADDRESS = 0x0020
HEADER = struct.Struct("!HHI12s")  # type, length, magic cookie, transaction id
DEFAULT_PORT = 3478


def binding_request(transaction_id: bytes) -> bytes:
    """A Binding request with no attributes (RFC 5389 §6)."""
    return HEADER.pack(BINDING_REQUEST, 0, MAGIC_COOKIE, transaction_id)


def new_transaction_id() -> bytes:
    return os.urandom(12)


@dataclass(frozen=True)
class StunResponse:
    message_type: int
    transaction_id: bytes
    mapped: tuple[str, int] | None = None
    error_code: int | None = None
    error_reason: str = ""

    @property
    def success(self) -> bool:
        return self.message_type == BINDING_SUCCESS


class StunParseError(ValueError):
    pass


def _xor_address(value: bytes, transaction_id: bytes) -> tuple[str, int]:
    family = value[1]
    port = struct.unpack("!H", value[2:4])[0] ^ (MAGIC_COOKIE >> 16)
    if family == 0x01:
        raw = struct.unpack("!I", value[4:8])[0] ^ MAGIC_COOKIE
        return str(ipaddress.IPv4Address(raw)), port
    if family == 0x02:
        key = struct.pack("!I", MAGIC_COOKIE) + transaction_id
        raw6 = bytes(a ^ b for a, b in zip(value[4:20], key, strict=True))
        return str(ipaddress.IPv6Address(raw6)), port
    raise StunParseError(f"unknown address family {family}")


def _plain_address(value: bytes) -> tuple[str, int]:
    family, port = value[1], struct.unpack("!H", value[2:4])[0]
    if family == 0x01:
        return str(ipaddress.IPv4Address(value[4:8])), port
    if family == 0x02:
        return str(ipaddress.IPv6Address(value[4:20])), port
    raise StunParseError(f"unknown address family {family}")


def parse_response(data: bytes, transaction_id: bytes | None = None) -> StunResponse:
    """Parse a Binding response; raise StunParseError if it is not one (or not ours)."""
    if len(data) < HEADER.size:
        raise StunParseError("shorter than a STUN header")
    msg_type, length, cookie, tid = HEADER.unpack_from(data)
    if msg_type & 0xC000 or cookie != MAGIC_COOKIE:
        raise StunParseError("not a STUN message (magic cookie)")
    if msg_type not in (BINDING_SUCCESS, BINDING_ERROR):
        raise StunParseError(f"not a Binding response (type 0x{msg_type:04x})")
    if transaction_id is not None and tid != transaction_id:
        raise StunParseError("transaction id does not match")
    if HEADER.size + length > len(data):
        raise StunParseError("truncated attributes")
    body = data[HEADER.size : HEADER.size + length]
    xor_mapped = mapped = None
    error_code, reason = None, ""
    pos = 0
    while pos + 4 <= len(body):
        attr_type, attr_len = struct.unpack_from("!HH", body, pos)
        value = body[pos + 4 : pos + 4 + attr_len]
        if attr_type == ATTR_XOR_MAPPED_ADDRESS:
            xor_mapped = _xor_address(value, tid)
        elif attr_type == ATTR_MAPPED_ADDRESS:
            mapped = _plain_address(value)
        elif attr_type == ATTR_ERROR_CODE and attr_len >= 4:
            error_code = (value[2] & 0x07) * 100 + value[3]
            reason = value[4:].decode("utf-8", "replace")
        pos += 4 + attr_len + (-attr_len % 4)  # attributes are padded to 4 bytes
    return StunResponse(msg_type, tid, xor_mapped or mapped, error_code, reason)


@dataclass(frozen=True)
class StunOutcome:
    target: str
    exchange: Exchange
    response: StunResponse | None = None
    parse_error: str = ""


async def probe_stun(host: str, port: int, timeout_s: float) -> StunOutcome:
    target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    tid = new_transaction_id()

    def accept(data: bytes) -> bool:
        try:
            parse_response(data, tid)
        except (StunParseError, struct.error, IndexError):
            return False
        return True

    exchange = await udp_exchange(
        host, port, lambda _local: binding_request(tid), accept, timeout_s
    )
    if exchange.answer is None:
        return StunOutcome(target, exchange)
    return StunOutcome(target, exchange, parse_response(exchange.answer, tid))


def evaluate_stun(outcome: StunOutcome, check_id: str = "vc.stun") -> CheckResult:
    ex = outcome.exchange
    base: dict[str, Any] = {
        "check": check_id,
        "category": Category.VIDEOCONF,
        "target": outcome.target,
        "duration_s": ex.elapsed_s,
    }
    resp = outcome.response
    if resp is None:
        return no_answer(check_id, outcome.target, ex, "stun_up", "net.port_unreachable")
    values = {
        "stun_up": Value(value=1.0),
        "stun_response_time": Value(value=ex.elapsed_s, unit="seconds"),
    }
    if resp.success:
        text = (
            msg(
                "vc.stun.mapped",
                elapsed=ex.elapsed_s,
                mapped=f"{resp.mapped[0]}:{resp.mapped[1]}",
            )
            if resp.mapped
            else msg("vc.stun.unmapped", elapsed=ex.elapsed_s)
        )
        return CheckResult(status=Status.OK, values=values, **said(text), **base)
    text = msg(
        "vc.stun.error",
        code=str(resp.error_code or ""),
        reason=resp.error_reason or "",
        elapsed=ex.elapsed_s,
    )
    return CheckResult(status=Status.WARN, values=values, **said(text), **base)


def _target(v: str) -> str:
    split_host_port(v, default_port=DEFAULT_PORT)
    return v


def _servers(v: list[str]) -> list[str]:
    return [_target(s) for s in v]


@dataclass(frozen=True, kw_only=True)
class StunConfig(CheckConfig):
    timeout_s: Annotated[float, Gt(0), Le(300)] = 5.0
    servers: Annotated[list[str], After(_servers), Doc("HOST[:PORT], default 3478")] = field(
        default_factory=list
    )


class StunCheck(Check):
    id = "vc.stun"
    category = Category.VIDEOCONF
    Config: ClassVar[type[CheckConfig]] = StunConfig
    config: StunConfig

    def targets(self) -> list[str]:
        return list(self.config.servers) or [""]

    async def fetch(self, ctx: CheckContext) -> list[tuple[str, StunOutcome]]:
        if not self.config.servers:
            raise CannotMeasure(msg("check.not_configured", option="vc.stun.servers"))
        # Leave the runner 0.2 s to report: our own deadline answers first.
        budget = max(0.1, self.config.timeout_s - 0.2)

        async def one(server: str) -> tuple[str, StunOutcome]:
            host, port = split_host_port(server, default_port=DEFAULT_PORT)
            return server, await probe_stun(host, port, budget)

        return list(await asyncio.gather(*(one(s) for s in self.config.servers)))

    def evaluate(self, section: list[tuple[str, StunOutcome]]) -> list[CheckResult]:
        return [
            evaluate_stun(outcome, self.id).model_copy(update={"target": server})
            for server, outcome in section
        ]
