"""vc.stun: RFC 5389 Binding against Debian's coturn, parsing, and a silent server."""

from __future__ import annotations

import asyncio
import socket
import struct
import time

import pytest

from checks.base import CheckContext
from checks.model import Status
from checks.videoconf.common import Exchange
from checks.videoconf.stun import (
    MAGIC_COOKIE,
    StunCheck,
    StunConfig,
    StunOutcome,
    StunParseError,
    binding_request,
    evaluate_stun,
    parse_response,
    probe_stun,
)
from tests.conftest import require_binary
from tests.peers.netq import silent_udp
from tests.peers.videoconf import coturn

CTX = CheckContext(host="h")
TID = bytes(range(12))


def _response(attrs: bytes, msg_type: int = 0x0101, tid: bytes = TID) -> bytes:
    return struct.pack("!HHI12s", msg_type, len(attrs), MAGIC_COOKIE, tid) + attrs


def _xor_v4(ip: str, port: int) -> bytes:
    raw = struct.unpack("!I", socket.inet_aton(ip))[0] ^ MAGIC_COOKIE
    value = struct.pack("!BBHI", 0, 1, port ^ (MAGIC_COOKIE >> 16), raw)
    return struct.pack("!HH", 0x0020, len(value)) + value


def test_binding_request_header():
    req = binding_request(TID)
    assert len(req) == 20
    assert struct.unpack("!HHI", req[:8]) == (0x0001, 0, 0x2112A442)
    assert req[8:] == TID


def test_parse_xor_mapped_address_ipv4_and_ipv6():
    resp = parse_response(_response(_xor_v4("192.0.2.1", 32853)), TID)
    assert resp.success and resp.mapped == ("192.0.2.1", 32853)
    # IPv6: the address is XORed with the cookie followed by the transaction id.
    addr = socket.inet_pton(socket.AF_INET6, "2001:db8::1")
    key = struct.pack("!I", MAGIC_COOKIE) + TID
    x = bytes(a ^ b for a, b in zip(addr, key, strict=True))
    value = struct.pack("!BBH", 0, 2, 443 ^ 0x2112) + x
    resp6 = parse_response(_response(struct.pack("!HH", 0x20, 20) + value), TID)
    assert resp6.mapped == ("2001:db8::1", 443)


def test_parse_rejects_strangers_and_reads_error_code():
    with pytest.raises(StunParseError):
        parse_response(_response(b"", tid=bytes(12)), TID)  # not our transaction
    with pytest.raises(StunParseError):
        parse_response(b"\x01\x01\x00\x00" + bytes(16))  # no magic cookie
    err = struct.pack("!HH", 0x0009, 4 + 12) + bytes([0, 0, 4, 0]) + b"Bad Request "
    resp = parse_response(_response(err, msg_type=0x0111), TID)
    assert not resp.success and resp.error_code == 400
    result = evaluate_stun(StunOutcome("s:3478", Exchange(b"x", 0.01), resp))
    assert result.status is Status.WARN and result.value("stun_up") == 1


def test_unconfigured_is_unknown_never_pass():
    [r] = asyncio.run(StunCheck().run(CTX))
    assert r.status is Status.UNKNOWN and "not configured" in r.message


@pytest.mark.integration
def test_coturn_answers_binding_with_our_address(tmp_path):
    binary = require_binary("turnserver")
    with coturn(binary, tmp_path) as port:
        outcome = asyncio.run(probe_stun("127.0.0.1", port, 2.0))
        [checked] = asyncio.run(StunCheck(StunConfig(servers=[f"127.0.0.1:{port}"])).run(CTX))
    assert outcome.response is not None and outcome.response.success
    # The server saw us from the very socket we sent on.
    assert outcome.response.mapped == outcome.exchange.local
    assert outcome.response.mapped[0] == "127.0.0.1"
    result = evaluate_stun(outcome)
    assert result.status is Status.OK and result.value("stun_up") == 1
    assert 0 < result.value("stun_response_time") < 1
    assert checked.status is Status.OK and checked.target == f"127.0.0.1:{port}"


@pytest.mark.serial  # times a deadline of about a second: the CPU alone
def test_silent_stun_server_fails_within_the_deadline():
    with silent_udp() as port:
        check = StunCheck(StunConfig(timeout_s=1.0, servers=[f"127.0.0.1:{port}"]))
        start = time.monotonic()
        [r] = asyncio.run(check.run(CTX))
        elapsed = time.monotonic() - start
    assert r.status is Status.FAIL and r.value("stun_up") == 0
    assert elapsed < 1.0 + 0.5
