"""The USB-device checks' pure parts: the IPP codec, a CUPS queue judged as a printer, NUT's
status flags judged as a UPS, SANE's scanner list; and what each check reports when its
service is absent (real closed ports, no mocks)."""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from checks.base import CheckContext
from checks.equipment import ipp
from checks.equipment.cups import (
    CupsCheck,
    CupsConfig,
    QueueReading,
    evaluate_queue,
    reason_words,
)
from checks.equipment.nut import NutCheck, NutConfig, UpsReading, evaluate_nut_ups, ups_section
from checks.equipment.scanner import (
    ScannerCheck,
    ScannerConfig,
    ScanReading,
    evaluate_scanners,
    parse_list,
)
from checks.equipment.ups import evaluate_ups
from checks.messages import msg, text_of
from checks.model import Status
from checks.runner import run_check
from tests.peers.local_devices import free_port


def _attr(tag: int, name: str, value: bytes) -> bytes:
    raw = name.encode()
    return struct.pack(">BH", tag, len(raw)) + raw + struct.pack(">H", len(value)) + value


def _answer(status: int, printers: list[list[bytes]]) -> bytes:
    body = struct.pack(">BBHI", 2, 0, status, 7) + bytes([ipp.OPERATION_GROUP])
    body += _attr(ipp.TAG_CHARSET, "attributes-charset", b"utf-8")
    for attrs in printers:
        body += bytes([ipp.PRINTER_GROUP]) + b"".join(attrs)
    return body + bytes([ipp.END_OF_ATTRIBUTES])


def test_ipp_request_carries_the_required_operation_attributes() -> None:
    body = ipp.encode_request(
        ipp.GET_PRINTER_ATTRIBUTES, 9, "ipp://localhost/printers/q", ("a", "b")
    )
    assert body[:8] == struct.pack(">BBHI", 2, 0, 0x000B, 9)
    decoded = ipp.decode_answer(body)  # a request has the same shape as an answer
    assert decoded.operation == {
        "attributes-charset": ["utf-8"],
        "attributes-natural-language": ["en"],
        "printer-uri": ["ipp://localhost/printers/q"],
        "requested-attributes": ["a", "b"],
    }


def test_ipp_answer_decodes_integers_booleans_sets_and_out_of_band() -> None:
    data = _answer(
        0,
        [
            [
                _attr(ipp.TAG_ENUM, "printer-state", struct.pack(">i", 5)),
                _attr(ipp.TAG_KEYWORD, "printer-state-reasons", b"paused"),
                _attr(ipp.TAG_KEYWORD, "", b"toner-low-warning"),
                _attr(ipp.TAG_BOOLEAN, "printer-is-accepting-jobs", b"\x00"),
                _attr(ipp.TAG_INTEGER, "marker-levels", struct.pack(">i", -3)),
                _attr(0x13, "printer-state-message", b""),  # no-value
            ],
            [_attr(0x42, "printer-name", "máy-in".encode())],
        ],
    )
    answer = ipp.decode_answer(data)
    assert answer.status == 0 and answer.request_id == 7
    first, second = answer.printers
    assert first["printer-state"] == [5]
    assert first["printer-state-reasons"] == ["paused", "toner-low-warning"]
    assert first["printer-is-accepting-jobs"] == [False]
    assert first["marker-levels"] == [-3]
    assert first["printer-state-message"] == []
    assert second == {"printer-name": ["máy-in"]}


@pytest.mark.parametrize("cut", [3, 12, 20])
def test_ipp_answer_cut_short_is_an_error(cut: int) -> None:
    data = _answer(0, [[_attr(ipp.TAG_KEYWORD, "printer-name", b"q1")]])
    with pytest.raises(ipp.IppError):
        ipp.decode_answer(data[:cut])


def test_reasons_in_the_printers_words() -> None:
    assert reason_words(["none"]) == ()
    assert reason_words(["toner-low-warning", "media-empty-error", "paused"]) == (
        "low toner",
        "no paper",
    )
    # An unknown reason counts unless it is only information (-report); offline always does.
    assert reason_words(["cups-missing-filter-warning", "foo-report", "offline-report"]) == (
        "cups missing filter",
        "offline",
    )


def _queue(**attrs: list[object]) -> QueueReading:
    base: dict[str, list[object]] = {
        "printer-state": [3],
        "printer-is-accepting-jobs": [True],
        "device-uri": ["usb://HP/LaserJet%20M15?serial=X"],
        "printer-make-and-model": ["HP LaserJet M15"],
    }
    return QueueReading("q", {**base, **attrs})  # type: ignore[dict-item]


@pytest.mark.parametrize(
    ("attrs", "status", "printer_up"),
    [
        ({}, Status.OK, 1.0),
        ({"printer-state": [4]}, Status.OK, 1.0),
        ({"printer-state-reasons": ["toner-low-warning"]}, Status.WARN, 1.0),
        ({"printer-state-reasons": ["marker-supply-low-warning"]}, Status.WARN, 1.0),
        ({"printer-state-reasons": ["media-empty-error"]}, Status.FAIL, 1.0),
        ({"printer-state-reasons": ["marker-supply-empty-error"]}, Status.FAIL, 1.0),
        ({"printer-state-reasons": ["offline-report"]}, Status.FAIL, 1.0),
        ({"printer-state": [5], "printer-state-reasons": ["paused"]}, Status.FAIL, 0.0),
        ({"printer-is-accepting-jobs": [False]}, Status.FAIL, 1.0),
    ],
)
def test_queue_state_judged_as_a_printer(
    attrs: dict[str, list[object]], status: Status, printer_up: float
) -> None:
    result = evaluate_queue(_queue(**attrs))
    assert result.check == "eq.printer" and result.target == "q"
    assert result.status is status, result.message
    assert result.value("printer_up") == printer_up
    assert result.message.startswith("CUPS (usb, HP LaserJet M15): ")


def test_a_queue_with_cups_own_words_is_said_in_vietnamese() -> None:
    """CUPS's state, reasons and supplies are said in the reader's language; its device and
    its own printer-state-message stay as CUPS sent them, inside the translated message."""
    result = evaluate_queue(
        _queue(
            **{
                "printer-state": [5],
                "printer-state-message": ["Paper jam"],
                "printer-state-reasons": ["media-empty-error"],
                "marker-names": ["Black Toner"],
                "marker-levels": [5],
                "marker-types": ["toner"],
            }
        )
    )
    assert result.message == (
        'CUPS (usb, HP LaserJet M15): stopped "Paper jam", no paper; black toner 5 %'
    )
    assert text_of(result, "vi") == (
        'hàng đợi in CUPS (usb, HP LaserJet M15): đã dừng (CUPS báo: "Paper jam"), '
        "hết giấy; mực in (toner) đen còn 5 %"
    )


def test_queue_markers_as_supplies() -> None:
    result = evaluate_queue(
        _queue(
            **{
                "marker-names": ["Black Toner", "Cyan Ink", "Waste Ink", "Drum"],
                "marker-levels": [42, 15, 97, -3],
                "marker-types": ["toner", "ink-cartridge", "waste-ink", "opc"],
            }
        )
    )
    assert result.value("supply_level_min") == pytest.approx(0.15)  # waste left out
    assert result.value("toner_black") == pytest.approx(0.42)
    assert result.value("ink_cyan") == pytest.approx(0.15)
    assert "Drum: some remaining" in result.message


def test_queue_without_state_is_unknown_and_refused_queue_fails() -> None:
    assert evaluate_queue(QueueReading("q", {})).status is Status.UNKNOWN
    assert text_of(evaluate_queue(QueueReading("q", {})), "vi") == (
        "CUPS không cho biết trạng thái (printer-state) của hàng đợi in này"
    )
    refused = evaluate_queue(QueueReading("q", {}, msg("eq.cups.no_queue")))
    assert refused.status is Status.FAIL and refused.value("printer_up") == 0.0
    assert refused.message == "no such queue in CUPS"
    assert text_of(refused, "vi") == "CUPS không có hàng đợi in này"


def _cups_run(**kw: object) -> list:  # type: ignore[type-arg]
    config = CupsConfig(url=f"http://127.0.0.1:{free_port()}", request_timeout_s=1, **kw)
    return asyncio.run(run_check(CupsCheck(config), CheckContext(host="t")))


def test_no_cupsd_reports_nothing_unless_a_queue_is_configured_or_expected() -> None:
    assert _cups_run() == []
    (queue,) = _cups_run(queues=["hp"])
    assert queue.check == "eq.printer" and queue.status is Status.FAIL
    assert "print service (cupsd)" in queue.message and queue.value("printer_up") == 0.0
    assert text_of(queue, "vi").startswith("dịch vụ in (cupsd) tại http://127.0.0.1:")
    (expected,) = _cups_run(expected=True)
    assert expected.status is Status.FAIL


def test_cups_config_refuses_a_bad_url() -> None:
    with pytest.raises(ValueError, match="url must be http://HOST:PORT"):
        CupsConfig.model_validate({"url": "localhost:631"})


@pytest.mark.parametrize(
    ("flags", "status", "on_line"),
    [
        ("OL", Status.OK, 1.0),
        ("OL CHRG", Status.OK, 1.0),
        ("OL BOOST", Status.OK, 1.0),
        ("OL TRIM", Status.OK, 1.0),
        ("OB DISCHRG", Status.WARN, 0.0),
        ("OB LB", Status.FAIL, 0.0),
        ("OL LB", Status.WARN, 1.0),
        ("OL RB", Status.WARN, 1.0),
        ("OB RB", Status.WARN, 0.0),
        ("OL BYPASS", Status.WARN, 1.0),
        ("OFF", Status.FAIL, 0.0),
        ("OB LB FSD", Status.FAIL, 0.0),
    ],
)
def test_nut_flags_judged_as_the_snmp_ups(flags: str, status: Status, on_line: float) -> None:
    vars_ = {"ups.status": flags, "battery.charge": "80", "battery.runtime": "2400"}
    result = evaluate_nut_ups(UpsReading("ups1", vars_))
    assert result.check == "eq.ups" and result.status is status, result.message
    assert result.value("ups_on_line") == on_line
    # The same section gives the same verdict through the SNMP UPS's own evaluation.
    assert evaluate_ups(ups_section(vars_), "ups1").status is status


def test_nut_figures_and_bad_values() -> None:
    vars_ = {
        "ups.status": "OL",
        "battery.charge": "99.6",
        "battery.runtime": "1799",
        "input.voltage": "228.5",
        "ups.model": "Back-UPS 650",
    }
    result = evaluate_nut_ups(UpsReading("ups1", vars_))
    assert result.value("battery_charge") == 1.0
    assert result.value("ups_runtime") == 29 * 60.0
    assert result.value("input_voltage") == 228.5
    assert result.message.endswith(" [ups.status OL], input 228.5 V")
    said = text_of(result, "vi")
    assert said.startswith("đang dùng điện lưới") and "pin còn 100 %" in said, said
    assert said.endswith(" (cờ trạng thái NUT: OL), điện áp vào 228,5 V")
    bad = evaluate_nut_ups(
        UpsReading("ups1", {"ups.status": "OL", "battery.charge": "n/a", "battery.runtime": "-1"})
    )
    assert bad.value("battery_charge") is None and bad.value("ups_runtime") is None
    assert "ignored values: battery.charge='n/a', battery.runtime='-1'" in bad.message
    assert evaluate_nut_ups(UpsReading("ups1", {})).status is Status.UNKNOWN
    assert text_of(evaluate_nut_ups(UpsReading("ups1", {})), "vi") == (
        "upsd có UPS này nhưng không cho biết trạng thái (ups.status)"
    )
    driver = msg("eq.nut.driver", detail="DATA-STALE")
    stale = evaluate_nut_ups(UpsReading("ups1", {}, driver))
    assert stale.status is Status.UNKNOWN and stale.check == "eq.ups"
    assert stale.message == "the NUT driver does not reach the UPS (DATA-STALE)"
    assert text_of(stale, "vi") == ("trình điều khiển NUT không kết nối được với UPS (DATA-STALE)")


def test_scanimage_list_parsed_and_judged() -> None:
    output = (
        "test:0\tNoname\tfrontend-tester\tvirtual device\n"
        "fujitsu:fi-7160:12\tFUJITSU\tfi-7160\tsheetfed scanner\n"
        "No scanners were identified.\n"
    )
    scanners = parse_list(output)
    assert [s.device for s in scanners] == ["test:0", "fujitsu:fi-7160:12"]
    results = evaluate_scanners(ScanReading(scanners), ["fi-7160", "canon"], expected=False)
    by_target = {r.target: r for r in results}
    assert by_target["fujitsu:fi-7160:12"].status is Status.OK
    assert by_target["canon"].status is Status.FAIL
    assert by_target["canon"].value("scanner_up") == 0.0
    assert "fi-7160" not in by_target  # found under its SANE name
    assert evaluate_scanners(ScanReading(), [], expected=False) == []
    (none,) = evaluate_scanners(ScanReading(), [], expected=True)
    assert none.status is Status.FAIL
    missing = msg("eq.scanner.not_installed", command="scanimage")
    (cannot,) = evaluate_scanners(ScanReading(error=missing), ["x"], expected=False)
    assert cannot.status is Status.UNKNOWN and cannot.check == "eq.scanner"
    assert cannot.message == "scanimage (SANE, Debian sane-utils) is not installed"
    assert text_of(cannot, "vi") == (
        "chưa cài scanimage (SANE, gói Debian sane-utils) nên không hỏi được máy quét"
    )


def test_scanimage_that_fails_says_so_with_its_own_words(tmp_path: Path) -> None:
    failing = tmp_path / "scanimage"
    failing.write_text("#!/bin/sh\necho 'scanimage: open of device failed' >&2\nexit 3\n")
    failing.chmod(0o755)
    config = ScannerConfig(command=str(failing), devices=["test:0"], timeout_s=5)
    (result,) = asyncio.run(run_check(ScannerCheck(config), CheckContext(host="t")))
    assert result.status is Status.UNKNOWN
    assert text_of(result, "vi") == (
        f"{failing} -L bị lỗi (mã thoát 3): scanimage: open of device failed"
    )


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A TCP port whose kernel accepts connections that nobody ever reads or answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield int(listener.getsockname()[1])


def test_silent_cupsd_fails_the_queue_within_its_deadline(silent_port: int) -> None:
    config = CupsConfig(url=f"http://127.0.0.1:{silent_port}", queues=["hp"], request_timeout_s=1)
    start = time.monotonic()
    (result,) = asyncio.run(run_check(CupsCheck(config), CheckContext(host="t")))
    assert time.monotonic() - start < 3
    assert result.status is Status.FAIL and "no answer (timeout)" in result.message
    assert text_of(result, "vi").endswith(" không trả lời (hết thời gian chờ)")


def test_silent_upsd_is_unknown_within_its_deadline(silent_port: int) -> None:
    config = NutConfig(server="127.0.0.1", port=silent_port, ups=["ups1"], request_timeout_s=0.5)
    start = time.monotonic()
    (result,) = asyncio.run(run_check(NutCheck(config), CheckContext(host="t")))
    assert time.monotonic() - start < 3  # two tries of 0.5 s (aionut's retry)
    assert result.check == "eq.ups" and result.status is Status.UNKNOWN
    assert "no answer (timeout)" in result.message
    assert text_of(result, "vi") == (
        f"upsd tại 127.0.0.1:{silent_port} không trả lời (hết thời gian chờ)"
    )


def test_scanimage_that_hangs_is_killed_at_the_deadline(tmp_path: Path) -> None:
    hanging = tmp_path / "scanimage"
    hanging.write_text("#!/bin/sh\nexec sleep 30\n")
    hanging.chmod(0o755)
    config = ScannerConfig(command=str(hanging), devices=["test:0"], timeout_s=2)
    start = time.monotonic()
    (result,) = asyncio.run(run_check(ScannerCheck(config), CheckContext(host="t")))
    assert time.monotonic() - start < 2.5
    assert result.status is Status.UNKNOWN and "gave no list within 1.8 s" in result.message
    assert text_of(result, "vi").endswith(" -L không trả về danh sách máy quét trong 1,8 giây")
