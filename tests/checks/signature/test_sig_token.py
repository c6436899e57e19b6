"""sig.token: USB token presence from recorded sysfs trees (tests/fixtures/sysfs)."""

from __future__ import annotations

import asyncio
import shutil

import pytest

from checks.backend.linux import LinuxBackend
from checks.backend.linux_endpoint import read_usb_devices
from checks.backend.windows import WindowsBackend
from checks.base import CheckContext
from checks.model import Status
from checks.runner import run_check
from checks.signature.token import TokenCheck, TokenConfig
from tests import paths
from tests.peers.windows_shell import recorded

SYSFS = paths.FIXTURES / "sysfs"
TOKENS = [
    {"vendor_id": "096E", "product_id": "0x0807", "name": "Feitian ePass2003"},
    {"vendor_id": "0529", "product_id": "0620", "name": "SafeNet eToken 5110"},
]


def run(check: TokenCheck):
    return asyncio.run(run_check(check, CheckContext(host="t")))


def test_recorded_sysfs_lists_devices_and_skips_interfaces(tmp_path):
    root = tmp_path / "sys"
    shutil.copytree(SYSFS / "token_present", root)
    # An interface entry ('1-1:1.0') has no ids; made here (no ':' in repository paths).
    iface = root / "bus" / "usb" / "devices" / "1-1:1.0"
    iface.mkdir()
    (iface / "bInterfaceClass").write_text("0b\n")
    devices = read_usb_devices(root)
    assert [(d.vendor_id, d.product_id) for d in devices] == [
        ("096e", "0807"),
        ("046d", "c077"),
        ("1d6b", "0002"),
    ]
    assert devices[0].product == "USB Token"


def test_token_present():
    backend = LinuxBackend(sys=SYSFS / "token_present")
    check = TokenCheck(TokenConfig.model_validate({"tokens": TOKENS}), backend=backend)
    [result] = run(check)
    assert result.status is Status.OK and result.value("token_present") == 1.0
    assert result.target == "usb-token" and "Feitian ePass2003" in result.message


def test_token_absent_fails():
    backend = LinuxBackend(sys=SYSFS / "token_absent")
    check = TokenCheck(TokenConfig.model_validate({"tokens": TOKENS}), backend=backend)
    [result] = run(check)
    assert result.status is Status.FAIL and result.value("token_present") == 0.0
    assert "096e:0807" in result.message


def test_no_usb_bus_means_no_token(tmp_path):
    check = TokenCheck(
        TokenConfig.model_validate({"tokens": TOKENS}), backend=LinuxBackend(sys=tmp_path)
    )
    assert run(check)[0].status is Status.FAIL


def test_nothing_configured_is_unknown():
    [result] = run(TokenCheck(backend=LinuxBackend(sys=SYSFS / "token_present")))
    assert result.status is Status.UNKNOWN and "no signature token configured" in result.message


def test_windows_token_from_recorded_pnp_devices():
    [result] = run(
        TokenCheck(
            TokenConfig.model_validate({"tokens": TOKENS}), backend=WindowsBackend(recorded())
        )
    )
    assert result.status is Status.OK and result.value("token_present") == 1
    [absent] = run(
        TokenCheck(
            TokenConfig.model_validate({"tokens": TOKENS}),
            backend=WindowsBackend(recorded(usb="av_devices_speaker_only.json")),
        )
    )
    assert absent.status is Status.FAIL and absent.value("token_present") == 0
    [broken] = run(
        TokenCheck(
            TokenConfig.model_validate({"tokens": TOKENS}),
            backend=WindowsBackend(recorded(usb=None)),
        )
    )
    assert broken.status is Status.UNKNOWN and "PowerShell" in broken.message


def test_bad_ids_are_refused_with_the_value():
    with pytest.raises(ValueError, match="'96e0x' is not a 4-digit hex USB id"):
        TokenConfig.model_validate({"tokens": [{"vendor_id": "96e0x", "product_id": "0807"}]})
