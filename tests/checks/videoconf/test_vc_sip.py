"""vc.sip: SIP OPTIONS over UDP and TCP against Debian's kamailio, and against silent peers."""

from __future__ import annotations

import asyncio
import time

import pytest

from checks.base import CheckContext
from checks.model import Status
from checks.videoconf.common import Exchange
from checks.videoconf.sip import (
    SipCheck,
    SipConfig,
    SipOutcome,
    SipResponse,
    SipTarget,
    evaluate_sip,
    options_request,
    parse_response,
)
from tests.conftest import require_binary
from tests.peers.netq import silent_tcp, silent_udp
from tests.peers.videoconf import kamailio

CTX = CheckContext(host="h")

# A response as kamailio 5.6 sends it (sl_send_reply 200), recorded.
RECORDED_200 = (
    b"SIP/2.0 200 OK\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1:40000;branch=z9hG4bKabc;rport=40000\r\n"
    b"From: <sip:ioc-agent@127.0.0.1:40000>;tag=1234\r\n"
    b"To: <sip:127.0.0.1:5060>;tag=2f1e0c8a\r\n"
    b"Call-ID: abc@commune-ioc\r\n"
    b"CSeq: 1 OPTIONS\r\n"
    b"Server: kamailio (5.6.3 (x86_64/linux))\r\n"
    b"Content-Length: 0\r\n\r\n"
)


def test_options_request_has_the_rfc3261_mandatory_headers():
    req = options_request(
        "10.0.0.5", 5060, "udp", ("10.1.1.1", 40000), "cid@x", "z9hG4bKdeadbeef", "tag1"
    ).decode()
    first, *headers = req.split("\r\n")
    assert first == "OPTIONS sip:10.0.0.5:5060 SIP/2.0"
    names = {h.split(":", 1)[0] for h in headers if h}
    assert {"Via", "Max-Forwards", "To", "From", "Call-ID", "CSeq", "Content-Length"} <= names
    assert "branch=z9hG4bK" in req and req.endswith("\r\n\r\n")


def test_parse_recorded_response_and_compact_call_id():
    assert parse_response(RECORDED_200) == SipResponse(200, "OK", "abc@commune-ioc")
    compact = b"SIP/2.0 404 Not Found\r\ni: x@y\r\nl: 0\r\n\r\n"
    assert parse_response(compact) == SipResponse(404, "Not Found", "x@y")
    assert parse_response(b"HTTP/1.1 200 OK\r\n\r\n") is None


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (200, Status.OK),
        (404, Status.OK),
        (405, Status.OK),
        (483, Status.OK),
        (503, Status.WARN),
        (603, Status.WARN),
    ],
)
def test_any_final_answer_means_alive(code, status):
    outcome = SipOutcome("s:5060", "udp", Exchange(b"x", 0.01), SipResponse(code, "R", "c"))
    result = evaluate_sip(outcome)
    assert result.status is status
    assert result.value("sip_up") == 1 and result.value("sip_status_code") == code
    assert result.values["sip_response_time"].unit == "seconds"


def test_no_answer_fails_and_unresolvable_is_unknown():
    dead = evaluate_sip(SipOutcome("s:5060", "udp", Exchange(None, 1.0, "timeout", "no")))
    assert dead.status is Status.FAIL and dead.value("sip_up") == 0
    unknown = evaluate_sip(SipOutcome("s:5060", "udp", Exchange(None, 0, "resolve", "x")))
    assert unknown.status is Status.UNKNOWN and not unknown.values


def test_unconfigured_is_unknown_never_pass():
    [r] = asyncio.run(SipCheck().run(CTX))
    assert r.status is Status.UNKNOWN and "not configured" in r.message


def test_config_accepts_short_strings():
    cfg = SipConfig.model_validate({"targets": ["mcu.tinh.gov.vn", "10.0.0.5:5061/tcp"]})
    assert [t.label for t in cfg.targets] == ["mcu.tinh.gov.vn/udp", "10.0.0.5:5061/tcp"]


@pytest.mark.integration
def test_kamailio_answers_options_over_udp_and_tcp(tmp_path):
    binary = require_binary("kamailio")
    with kamailio(binary, tmp_path) as port:
        targets = [f"127.0.0.1:{port}/udp", f"127.0.0.1:{port}/tcp"]
        check = SipCheck(SipConfig.model_validate({"targets": targets}))
        results = asyncio.run(check.run(CTX))
    assert [r.target for r in results] == [f"127.0.0.1:{port}/udp", f"127.0.0.1:{port}/tcp"]
    for r in results:
        assert r.status is Status.OK, r.message
        assert r.value("sip_up") == 1 and r.value("sip_status_code") == 200
        assert 0 < r.value("sip_response_time") < 1


@pytest.mark.serial  # times a deadline of about a second: the CPU alone
@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_silent_sip_server_fails_within_the_deadline(transport):
    peer = silent_udp if transport == "udp" else silent_tcp
    with peer() as port:
        target = SipTarget(server=f"127.0.0.1:{port}", transport=transport)
        check = SipCheck(SipConfig(timeout_s=1.0, targets=[target]))
        start = time.monotonic()
        [r] = asyncio.run(check.run(CTX))
        elapsed = time.monotonic() - start
    assert r.status is Status.FAIL and r.value("sip_up") == 0
    assert elapsed < 1.0 + 0.5
