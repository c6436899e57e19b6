"""Debian's snmpd (net-snmp 5.9) on loopback: SNMPv3 authPriv works; a wrong key, a wrong
community and a device that never answers are ``unknown`` with the reason, in time."""

from __future__ import annotations

import asyncio
import dataclasses
import time

import pytest

from checks.base import CheckContext
from checks.equipment.profiles import DeviceKind
from checks.equipment.snmp_checks import SnmpCheck, SnmpConfig, poll_device
from checks.equipment.snmp_client import SnmpTarget
from checks.messages import text_of
from checks.model import Status
from checks.runner import run_check
from checks.secrets import check_secrets
from tests.peers.snmp import SNMPD_AUTH, SNMPD_COMMUNITY, SNMPD_PRIV, SNMPD_USER

pytestmark = pytest.mark.integration


def _timed_poll(target: SnmpTarget, kind: DeviceKind | None = None):  # type: ignore[no-untyped-def]
    start = time.monotonic()
    polled = asyncio.run(poll_device(target, "dev", kind))
    return polled, time.monotonic() - start


def test_v3_authpriv_sha_aes_get(snmpd):  # type: ignore[no-untyped-def]
    polled, _ = _timed_poll(snmpd.v3())
    assert polled.result.status is Status.OK
    assert polled.result.check == "eq.snmp_host"
    assert "commune-ioc test snmpd" in polled.result.message
    assert polled.result.value("uptime") is not None and polled.result.value("uptime") > 0


def test_v3_authpriv_sha256_aes256(snmpd):  # type: ignore[no-untyped-def]
    target = dataclasses.replace(
        snmpd.v3(), user=f"{SNMPD_USER}256", auth_proto="SHA256", priv_proto="AES256"
    )
    polled, _ = _timed_poll(target, DeviceKind.HOST)
    assert polled.result.status is Status.OK, polled.result.message


def test_v2c_get(snmpd):  # type: ignore[no-untyped-def]
    polled, _ = _timed_poll(snmpd.v2c(), DeviceKind.HOST)
    assert polled.result.status is Status.OK


@pytest.mark.parametrize("which", ["auth", "priv"])
def test_wrong_v3_key_is_unknown_in_time(snmpd, which):  # type: ignore[no-untyped-def]
    target = snmpd.v3(**{f"{which}_key": "not-the-right-key"})
    polled, elapsed = _timed_poll(target, DeviceKind.UPS)
    assert elapsed < target.budget_s + 1, elapsed
    result = polled.result
    # Configured kind: reported under its check id, so EQ-03 shows it, as "could not measure".
    assert result.check == "eq.ups" and result.status is Status.UNKNOWN
    assert "credentials" in result.message or "authentication key" in result.message
    said = text_of(result, "vi")
    assert said.startswith("không đọc được thiết bị qua SNMP: ")
    assert "sai thông tin đăng nhập SNMPv3" in said or "sai khóa xác thực SNMPv3" in said


def test_wrong_community_is_unknown_in_time(snmpd):  # type: ignore[no-untyped-def]
    target = snmpd.v2c("wrong-community")
    polled, elapsed = _timed_poll(target)
    assert elapsed < target.budget_s + 1, elapsed
    assert polled.result.status is Status.UNKNOWN
    assert polled.result.message == (
        f"no answer within {target.budget_s:g} s (2 tries of {target.timeout_s:g} s) — wrong "
        "community or device off"
    )
    assert text_of(polled.result, "vi") == (
        "không đọc được thiết bị qua SNMP: không có trả lời trong "
        f"{target.budget_s:g} giây (2 lần thử, mỗi lần {target.timeout_s:g} giây): sai "
        "community hoặc thiết bị đang tắt".replace(".", ",")
    )


def test_silent_device_is_unknown_in_time(silent_udp):  # type: ignore[no-untyped-def]
    target = SnmpTarget(
        host="127.0.0.1", port=silent_udp.port, community="public", timeout_s=0.5, retries=2
    )
    polled, elapsed = _timed_poll(target, DeviceKind.PRINTER)
    assert target.budget_s - 0.2 < elapsed < target.budget_s + 1, elapsed
    assert polled.result.check == "eq.printer" and polled.result.status is Status.UNKNOWN
    assert "no answer within 1.5 s" in polled.result.message


def test_check_scrubs_secrets_and_remembers_the_kind(snmpd, silent_udp):  # type: ignore[no-untyped-def]
    cfg = SnmpConfig.model_validate(
        {
            "devices": [
                {
                    "name": "pc",
                    "host": "127.0.0.1",
                    "port": snmpd.port,
                    "version": "3",
                    "user": SNMPD_USER,
                    "auth_key": SNMPD_AUTH,
                    "priv_key": SNMPD_PRIV,
                    "timeout_s": 2.0,
                    "retries": 1,
                },
                {
                    "name": "off",
                    "host": "127.0.0.1",
                    "port": silent_udp.port,
                    "community": SNMPD_COMMUNITY,
                    "timeout_s": 0.3,
                    "retries": 0,
                },
            ]
        }
    )
    check = SnmpCheck(cfg)
    # The agent builds its scrub list from every Secret of the check configurations.
    assert set(check_secrets([check])) == {SNMPD_AUTH, SNMPD_PRIV, SNMPD_COMMUNITY}
    ctx = CheckContext(host="h", secrets=check_secrets([check]))
    results = {r.target: r for r in asyncio.run(run_check(check, ctx))}
    assert results["pc"].status is Status.OK, results["pc"].message
    assert results["pc"].check == "eq.snmp_host"
    assert results["off"].status is Status.UNKNOWN
    for r in results.values():
        assert SNMPD_AUTH not in r.model_dump_json() and SNMPD_COMMUNITY not in r.model_dump_json()
    assert SNMPD_AUTH not in repr(cfg) and SNMPD_COMMUNITY not in repr(cfg)
