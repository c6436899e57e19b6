"""SNMP polls under one deadline, behind a proxy that makes a real peer slow or silent:
the probe ends at its --timeout, a poll cut short keeps the kind the device answered as,
a device that falls silent mid-walk is said to have stopped answering, and an SNMPv3
access refusal is named as such."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from agent.cli import main
from checks.base import CheckContext
from checks.equipment import oids
from checks.equipment.snmp_checks import SnmpCheck, SnmpConfig, poll_device
from checks.equipment.snmp_client import SnmpTarget
from checks.messages import text_of
from checks.model import Status
from checks.runner import run_checks
from tests.peers.snmp import SNMPD_NO_ACCESS_USER, SlowProxy

# Deadlines of a few seconds, measured: with the CPU alone (make test runs them after the rest;
# beside another test the 4 s probe once ended 10 ms past its bound).
pytestmark = [pytest.mark.integration, pytest.mark.serial]

PRINTER = "printer-hp-m479"
#: Requests that identify a device: the system group, then one row of each identity table.
IDENTIFY_REQUESTS = 1 + len(oids.IDENTITY_TABLES)


@pytest.fixture
def slow_printer(snmpsim) -> Iterator[SlowProxy]:  # type: ignore[no-untyped-def]
    proxy = SlowProxy(snmpsim.port, delay_s=0.6)
    try:
        yield proxy
    finally:
        proxy.close()


def test_probe_of_a_slow_device_ends_at_its_timeout_under_the_detected_kind(slow_printer):
    start = time.monotonic()
    res = CliRunner().invoke(
        main,
        ["probe", "snmp", f"127.0.0.1:{slow_printer.port}", "--community", PRINTER]
        + ["--timeout", "4", "--retries", "0", "--json"],
    )
    elapsed = time.monotonic() - start
    assert elapsed < 5.0, elapsed  # 4 s + the check's 0.5 s of slack for its answer
    body = json.loads(res.output)
    assert res.exit_code == 1
    assert body["status"] == "unknown"
    assert body["device_kind"] == "printer" and body["check"] == "eq.printer"
    assert "took longer than" in body["message"] and "values read" in body["message"]


def test_agent_check_cut_by_its_deadline_keeps_the_detected_kind(slow_printer):
    device = {
        "name": "may-in",
        "host": "127.0.0.1",
        "port": slow_printer.port,
        "community": PRINTER,
        "timeout_s": 1.0,
        "retries": 0,
    }
    check = SnmpCheck(SnmpConfig.model_validate({"devices": [device], "timeout_s": 4.0}))
    start = time.monotonic()
    (result,) = asyncio.run(run_checks([check], CheckContext(host="h")))
    assert time.monotonic() - start < 4.5
    assert result.check == "eq.printer" and result.status is Status.UNKNOWN
    assert "took longer than 3.6 s" in result.message


def test_device_silent_mid_walk_stopped_answering_after_n_rows(snmpsim):  # type: ignore[no-untyped-def]
    proxy = SlowProxy(snmpsim.port, answers=IDENTIFY_REQUESTS + 1)
    try:
        target = SnmpTarget(
            host="127.0.0.1", port=proxy.port, community=PRINTER, timeout_s=0.5, retries=0
        )
        start = time.monotonic()
        polled = asyncio.run(poll_device(target, "may-in"))
        elapsed = time.monotonic() - start
    finally:
        proxy.close()
    assert elapsed < 3.0
    result = polled.result
    assert result.check == "eq.printer" and result.status is Status.UNKNOWN
    assert "the device stopped answering after" in result.message
    assert "wrong community" not in result.message and "device off" not in result.message
    assert "thiết bị ngừng trả lời sau " in text_of(result, "vi")


def test_v3_user_without_access_is_access_denied(snmpd):  # type: ignore[no-untyped-def]
    target = snmpd.v3(user=SNMPD_NO_ACCESS_USER)
    polled = asyncio.run(poll_device(target, "ups"))
    assert polled.result.status is Status.UNKNOWN
    assert polled.result.message.startswith("access denied (authorizationError)")
    assert text_of(polled.result, "vi") == (
        "không đọc được thiết bị qua SNMP: bị từ chối truy cập (authorizationError): thiết bị "
        "biết người dùng SNMPv3 này nhưng không cho xem các giá trị được hỏi"
    )
    assert "exposes none" not in polled.result.message
