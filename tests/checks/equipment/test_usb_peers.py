"""The USB-device checks against Debian's own services on loopback: a private cupsd
(``eq.cups``), NUT's ``dummy-ups`` behind ``upsd`` (``eq.nut``), SANE's ``test`` backend
(``eq.scanner``). Each state is driven through the real program, and the check's statuses
and values are asserted for it."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from agent.cli import main
from checks.base import Check, CheckContext
from checks.equipment.cups import CupsCheck, CupsConfig
from checks.equipment.nut import NutCheck, NutConfig
from checks.equipment.scanner import ScannerCheck, ScannerConfig
from checks.levels import judge, table_from_json
from checks.messages import text_of
from checks.model import CheckResult, Status
from checks.runner import run_check
from tests.conftest import REQUIRE_INTEGRATION, require_binary
from tests.peers.local_devices import (
    NUT_DRIVERS,
    Cupsd,
    Nut,
    dev_file,
    sane_config,
    wait_for,
)

pytestmark = pytest.mark.integration

CTX = CheckContext(host="test")
#: The catalogue's levels as an agent starts with them (agent/default_levels.json).
DEFAULT_LEVELS = table_from_json(
    json.loads((Path(__file__).parents[3] / "agent" / "default_levels.json").read_text())["levels"]
)


def _run(check: Check) -> dict[str, CheckResult]:
    start = time.monotonic()
    results = asyncio.run(run_check(check, CTX))
    assert time.monotonic() - start < check.config.timeout_s + 1
    return {r.target: r for r in results}


def _require_path(path: Path, package: str) -> None:
    if not path.exists():
        msg = f"real peer {path} is not installed (apt-get install {package}; .ci/run does)"
        if REQUIRE_INTEGRATION:
            pytest.fail(msg)
        pytest.skip(msg)


# --------------------------------------------------------------------------- CUPS

#: What each queue's backend tells cupsd while it prints (the lines a USB printer's backend
#: writes): supply levels, a low toner, an empty paper tray; a printer gone (unplugged).
REPORTS = {
    "laser-usb": "ATTR: marker-names=Black\\ Toner,Waste\\ Toner\\ Box\n"
    "ATTR: marker-types=toner,waste-toner\n"
    "ATTR: marker-levels=80,95\n",
    "toner-low": "ATTR: marker-names=Black\\ Toner\n"
    "ATTR: marker-types=toner\n"
    "ATTR: marker-levels=7\n"
    "STATE: +toner-low-warning\n",
    "no-paper": "STATE: +media-empty-error\n",
    "unplugged": "STATE: +offline-report\n",
}


@pytest.fixture(scope="module")
def cupsd() -> Iterator[Cupsd]:
    require_binary("cupsd")
    require_binary("cupsdisable")
    server = Cupsd()
    try:
        for queue, report in REPORTS.items():
            server.add_queue(queue, report)
            server.print_job(queue)
        yield server
    finally:
        server.stop()


def _cups(cupsd: Cupsd, *queues: str) -> dict[str, CheckResult]:
    return _run(CupsCheck(CupsConfig(url=cupsd.url, queues=list(queues))))


def test_cups_every_queue_with_its_state_reasons_and_supplies(cupsd: Cupsd) -> None:
    results = _cups(cupsd)
    assert set(results) == {"laser-usb", "toner-low", "no-paper", "unplugged"}
    assert {r.check for r in results.values()} == {"eq.printer"}

    laser = results["laser-usb"]
    assert laser.status is Status.OK, laser.message
    assert laser.value("printer_up") == 1.0
    # The waste toner box fills up: it is not a supply running out.
    assert laser.value("supply_level_min") == pytest.approx(0.80)
    assert laser.value("toner_black") == pytest.approx(0.80)
    assert "idle" in laser.message and "black toner 80 %" in laser.message

    low = results["toner-low"]
    assert low.status is Status.WARN and "low toner" in low.message
    assert low.value("supply_level_min") == pytest.approx(0.07)
    # 7 % is below EQ-02's fail level (10 %): the catalogue's judgement, not the check's.
    assert judge(low, DEFAULT_LEVELS).status is Status.FAIL

    empty = results["no-paper"]
    assert empty.status is Status.FAIL and "no paper" in empty.message
    assert empty.value("printer_up") == 1.0  # the queue runs; the printer cannot print

    # cupsd drops offline-report when the backend ends: the printer was reached after all.
    assert results["unplugged"].status is Status.OK, results["unplugged"].message


def test_cups_printer_offline_while_a_job_waits_for_it(cupsd: Cupsd) -> None:
    cupsd.hold("unplugged")
    try:
        cupsd.print_job("unplugged", wait=False)
        waiting = wait_for(
            lambda: (r := _cups(cupsd, "unplugged")["unplugged"]).status is Status.FAIL and r,
            20,
            "the queue to report offline",
            cupsd.dir / "log" / "error_log",
        )
        assert "printing, offline" in waiting.message
    finally:
        cupsd.hold("unplugged", held=False)
    cupsd.wait_idle("unplugged")
    back = _cups(cupsd, "unplugged")["unplugged"]
    assert back.status is Status.OK and "idle" in back.message


def test_cups_queue_stopped_then_rejecting_then_back(cupsd: Cupsd) -> None:
    cupsd.admin("cupsdisable", "-r", "Paper jam on tray 2", "laser-usb")
    try:
        stopped = _cups(cupsd, "laser-usb")["laser-usb"]
        assert stopped.status is Status.FAIL
        assert stopped.value("printer_up") == 0.0
        assert 'stopped "Paper jam on tray 2"' in stopped.message
        assert 'đã dừng (CUPS báo: "Paper jam on tray 2")' in text_of(stopped, "vi")
    finally:
        cupsd.admin("cupsenable", "laser-usb")
    assert _cups(cupsd, "laser-usb")["laser-usb"].status is Status.OK

    cupsd.admin("cupsreject", "laser-usb")
    try:
        rejecting = _cups(cupsd, "laser-usb")["laser-usb"]
        assert rejecting.status is Status.FAIL and "not accepting jobs" in rejecting.message
    finally:
        cupsd.admin("cupsaccept", "laser-usb")


def test_cups_queue_added_with_lpadmin_and_a_missing_queue(cupsd: Cupsd) -> None:
    cupsd.admin("lpadmin", "-p", "added", "-v", "file:///dev/null", "-E")
    try:
        results = _cups(cupsd, "added", "khong-co")
    finally:
        cupsd.admin("lpadmin", "-x", "added")
    added = results["added"]
    # A raw queue reports no supplies: its state alone is judged.
    assert added.status is Status.OK and added.value("supply_level_min") is None
    missing = results["khong-co"]
    assert missing.status is Status.FAIL and "no such queue" in missing.message


def test_cups_probe_through_the_cli(cupsd: Cupsd) -> None:
    result = CliRunner().invoke(
        main, ["probe", "cups", "toner-low", "--url", cupsd.url, "--json", "--lang", "en"]
    )
    body = json.loads(result.output)
    assert body["check"] == "eq.printer" and body["target"] == "toner-low"
    # The probe judges with the catalogue's levels: 7 % of toner fails EQ-02's level.
    assert body["status"] == "fail" and result.exit_code == 1


# --------------------------------------------------------------------------- NUT


@pytest.fixture(scope="module")
def nut() -> Iterator[Nut]:
    require_binary("upsc")
    _require_path(NUT_DRIVERS / "dummy-ups", "nut-server")
    _require_path(NUT_DRIVERS / "upsd", "nut-server")
    server = Nut()
    try:
        yield server
    finally:
        server.stop()


def _nut(nut: Nut, **kw: object) -> dict[str, CheckResult]:
    return _run(NutCheck(NutConfig.model_validate({"server": "127.0.0.1", "port": nut.port, **kw})))


def test_nut_on_line_on_battery_low_battery(nut: Nut) -> None:
    nut.set_state(dev_file("OL CHRG", 100, 3600, 229))
    on_line = _nut(nut)["ups1"]
    assert on_line.check == "eq.ups" and on_line.status is Status.OK, on_line.message
    assert on_line.value("ups_on_line") == 1.0
    assert on_line.value("ups_runtime") == 3600.0
    assert on_line.value("battery_charge") == 1.0
    assert on_line.value("input_voltage") == 229.0

    nut.set_state(dev_file("OB DISCHRG", 64, 1500, 0))
    on_battery = _nut(nut)["ups1"]
    assert on_battery.status is Status.WARN and "on battery" in on_battery.message
    assert on_battery.value("ups_on_line") == 0.0
    assert on_battery.value("ups_runtime") == 1500.0
    # The catalogue's EQ-03 levels: on battery fails (ups_on_line below 1), 25 min left warns.
    judged = judge(on_battery, DEFAULT_LEVELS)
    assert judged.status is Status.FAIL and "ups_runtime" in judged.message

    nut.set_state(dev_file("OB LB", 9, 120, 0))
    low = _nut(nut)["ups1"]
    assert low.status is Status.FAIL and "battery low" in low.message
    assert low.value("battery_charge") == pytest.approx(0.09)
    assert low.value("ups_runtime") == 120.0

    nut.set_state(dev_file("OL RB", 100, 3600))
    replace = _nut(nut, ups=["ups1"])["ups1"]
    assert replace.status is Status.WARN and "replace battery" in replace.message
    assert "(cờ trạng thái NUT: OL RB)" in text_of(replace, "vi")


def test_nut_unknown_ups_and_silent_server(nut: Nut) -> None:
    missing = _nut(nut, ups=["khong-co"])["khong-co"]
    assert missing.status is Status.UNKNOWN and "UNKNOWN-UPS" in missing.message
    assert text_of(missing, "vi") == "upsd không biết UPS này (UNKNOWN-UPS)"

    # Nobody on the port: nothing to report unless a UPS is configured or expected.
    closed = NutConfig(server="127.0.0.1", port=1)
    assert _run(NutCheck(closed)) == {}
    expected = _run(NutCheck(closed.model_copy(update={"ups": ["ups1"]})))["ups1"]
    assert expected.check == "eq.ups" and expected.status is Status.UNKNOWN
    assert "does not answer" in expected.message


def test_nut_login_never_logged(nut: Nut, caplog: pytest.LogCaptureFixture) -> None:
    nut.set_state(dev_file("OL", 100, 3600))
    caplog.set_level(logging.DEBUG)
    result = _nut(nut, ups=["ups1"], username="monuser", password="s3cret-nut-pass")["ups1"]
    assert result.status is Status.OK  # upsd takes the login; LIST VAR needs none
    assert "s3cret-nut-pass" not in caplog.text


def test_nut_probe_through_the_cli(nut: Nut) -> None:
    nut.set_state(dev_file("OB LB", 5, 60, 0))
    result = CliRunner().invoke(
        main, ["probe", "nut", f"ups1@127.0.0.1:{nut.port}", "--json", "--lang", "en"]
    )
    body = json.loads(result.output)
    assert body["check"] == "eq.ups" and body["status"] == "fail" and result.exit_code == 1


# --------------------------------------------------------------------------- SANE


@pytest.fixture
def sane(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    require_binary("scanimage")
    directory = sane_config(tmp_path / "sane")
    monkeypatch.setenv("SANE_CONFIG_DIR", str(directory))
    return directory


def test_sane_test_backend_scanners_found(sane: Path) -> None:
    results = _run(ScannerCheck(ScannerConfig(expected=True, devices=["test:0"], timeout_s=20)))
    assert "test:0" in results and "test:1" in results, results
    for result in results.values():
        assert result.check == "eq.scanner" and result.status is Status.OK
        assert result.value("scanner_up") == 1.0
        assert "frontend-tester" in result.message


def test_sane_no_scanner(sane: Path) -> None:
    sane_config(sane, backends=())
    missing = _run(ScannerCheck(ScannerConfig(devices=["fujitsu:fi-7160"], timeout_s=20)))
    assert missing["fujitsu:fi-7160"].status is Status.FAIL
    assert missing["fujitsu:fi-7160"].value("scanner_up") == 0.0
    none = _run(ScannerCheck(ScannerConfig(expected=True, timeout_s=20)))[""]
    assert none.status is Status.FAIL and "no scanner" in none.message
    # Nothing configured or expected: SANE is not even asked.
    assert _run(ScannerCheck(ScannerConfig())) == {}


def test_sane_probe_through_the_cli(sane: Path) -> None:
    env = {"SANE_CONFIG_DIR": os.environ["SANE_CONFIG_DIR"]}
    result = CliRunner(env=env).invoke(main, ["probe", "scanner", "--json", "--lang", "en"])
    bodies = json.loads(result.output)
    assert {b["target"] for b in bodies} >= {"test:0", "test:1"}
    assert result.exit_code == 0
