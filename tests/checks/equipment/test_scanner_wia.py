"""Scanners on Windows: WIA's device list (tests/fixtures/windows/scanners*.json, built from
the documented format) parsed into the backend's ``scanners`` fact, and ``eq.scanner``
judging it through the Windows backend over the recorded call layer, with the same
statuses and values as the SANE path."""

from __future__ import annotations

import asyncio

import pytest

from checks.backend import BackendError, NotSupportedError, ScannerDevice
from checks.backend import windows_parse as wp
from checks.backend.linux import LinuxBackend
from checks.backend.windows import SCANNERS_SCRIPT, WindowsBackend
from checks.base import CheckContext
from checks.equipment.scanner import ScannerCheck, ScannerConfig
from checks.messages import text_of
from checks.model import CheckResult, Status
from checks.runner import run_check
from tests.peers.windows_shell import recorded, sample

CANON = ScannerDevice(
    "CanoScan LiDE 300",
    "{6BDD1FC6-810F-11D0-BEC7-08002BE2092F}\\0000",
    True,
    "OK",
    "CanoScan LiDE 300",
)


# --------------------------------------------------------------------------- parse


def test_several_wia_devices_keep_scanners_only_with_their_connection():
    scanners = wp.parse_scanners(sample("scanners.json"))
    # The webcam (WIA type 2, camera) is not a scanner even though it is in class Image.
    assert [s.name for s in scanners] == [
        "CanoScan LiDE 300",
        "EPSON DS-530",
        "HP ScanJet Pro 2500 f1",
        "fi-7160",
    ]
    assert scanners[0] == CANON
    assert [(s.connected, s.status) for s in scanners] == [
        (True, "OK"),
        (False, ""),  # installed, not plugged in: Plug and Play does not list it present
        (False, "Error"),
        (True, "OK"),
    ]
    assert scanners[1].description == "EPSON DS-530 Scanner"


def test_one_scanner_with_a_vietnamese_name_bom_and_crlf():
    (scanner,) = wp.parse_scanners(sample("scanners_one_vi.json"))
    assert scanner.name == "Máy quét Bộ phận Một cửa (Brother ADS-2200)"
    assert scanner.description == "Máy quét tài liệu mạng"
    assert scanner.connected and scanner.device_id.endswith("\\0000")


def test_a_bare_object_is_one_device_and_no_device_is_an_empty_list():
    bare = '{"DeviceID": "{6BDD}\\\\0007", "Type": 1, "Name": null, "Description": "Quét"}'
    (scanner,) = wp.parse_scanners(bare)
    assert scanner.name == "Quét" and not scanner.connected  # Name missing: Description
    assert wp.parse_scanners(sample("scanners_none.json")) == []
    assert wp.parse_scanners("") == []


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (sample("scanners_truncated.json"), "unreadable PowerShell output"),
        ("New-Object : Retrieving the COM class factory failed", "unreadable"),
        ('[{"Type": 1, "Name": "x"}]', "without DeviceID"),
        ('[{"DeviceID": "d", "Type": "Scanner"}]', "non-numeric Type"),
        ('[{"DeviceID": "d"}]', "non-numeric Type"),
        ("[1, 2]", "not a list of objects"),
    ],
)
def test_malformed_wia_output_is_a_backend_error(text, why):
    with pytest.raises(BackendError, match=why):
        wp.parse_scanners(text)


def test_backend_runs_the_wia_script_and_linux_leaves_scanners_to_sane():
    shell = recorded(scanners="scanners.json")
    assert len(WindowsBackend(shell, timeout_s=7).scanners()) == 4
    assert shell.calls == [(SCANNERS_SCRIPT, 7)]
    with pytest.raises(NotSupportedError):
        LinuxBackend().scanners()


# --------------------------------------------------------------------------- eq.scanner


def check(files: dict[str, str | None], texts: dict[str, str] | None = None, **config):
    backend = WindowsBackend(recorded(texts, **files))
    # A SANE command that cannot exist: the Windows path must never fall back to it.
    cfg = ScannerConfig(command="/nonexistent/scanimage", **config)
    results = asyncio.run(run_check(ScannerCheck(cfg, backend=backend), CheckContext(host="t")))
    return {r.target: r for r in results}, backend


def only(results: dict[str, CheckResult], target: str) -> CheckResult:
    result = results[target]
    assert result.check == "eq.scanner"
    return result


def test_wia_scanners_found_are_ok_and_a_missing_one_fails():
    results, backend = check(
        {"scanners": "scanners.json"}, devices=["LiDE 300", "DS-530", "\\0004", "Canon"]
    )
    assert set(results) == {"Canon", "CanoScan LiDE 300", "DS-530", "fi-7160"}
    found = only(results, "CanoScan LiDE 300")
    assert found.status is Status.OK and found.value("scanner_up") == 1.0
    assert found.message == "found by WIA: CanoScan LiDE 300"
    fi = only(results, "fi-7160")  # "\\0004" matched its WIA device id
    assert fi.status is Status.OK
    # Installed but unplugged: configured and not connected is fail, and says why.
    ds = only(results, "DS-530")
    assert ds.status is Status.FAIL and ds.value("scanner_up") == 0.0
    assert ds.message == (
        "not found by WIA (scanners found: CanoScan LiDE 300, fi-7160; "
        "not connected: EPSON DS-530, HP ScanJet Pro 2500 f1 (Error))"
    )
    assert text_of(ds, "vi") == (
        "WIA không tìm thấy máy quét này (máy quét tìm thấy: CanoScan LiDE 300, fi-7160; "
        "chưa kết nối: EPSON DS-530, HP ScanJet Pro 2500 f1 (Error))"
    )
    # "Canon" is the manufacturer, not in the WIA name or id: not found.
    assert only(results, "Canon").status is Status.FAIL
    assert len(backend.shell.calls) == 1


def test_vietnamese_scanner_expected_is_found():
    results, _ = check({"scanners": "scanners_one_vi.json"}, expected=True)
    (result,) = results.values()
    assert result.target == "Máy quét Bộ phận Một cửa (Brother ADS-2200)"
    assert result.status is Status.OK
    assert result.message == (
        "found by WIA: Máy quét tài liệu mạng (Máy quét Bộ phận Một cửa (Brother ADS-2200))"
    )


def test_no_wia_scanner_when_one_is_expected_fails():
    results, _ = check({"scanners": "scanners_none.json"}, expected=True)
    result = only(results, "")
    assert result.status is Status.FAIL and result.value("scanner_up") == 0.0
    assert result.message == "WIA finds no scanner"


@pytest.mark.parametrize(
    ("files", "texts", "why"),
    [
        ({"scanners": "scanners_truncated.json"}, None, "unreadable PowerShell output"),
        ({"scanners": None}, None, "the term is not recognized"),  # WIA/PowerShell failing
        ({}, {"scanners": '[{"Type": 1}]'}, "without DeviceID"),
    ],
)
def test_wia_that_cannot_be_read_is_unknown(files, texts, why):
    results, _ = check(files, texts, devices=["LiDE 300"])
    result = only(results, "LiDE 300")
    assert result.status is Status.UNKNOWN and result.values == {}
    assert result.message.startswith("WIA could not be asked: ") and why in result.message
    said = text_of(result, "vi")
    assert said.startswith("không hỏi được WIA (dịch vụ máy quét của Windows): ") and why in said


def test_wia_is_not_asked_when_no_scanner_is_configured_or_expected():
    results, backend = check({"scanners": "scanners.json"})
    assert results == {} and backend.shell.calls == []
