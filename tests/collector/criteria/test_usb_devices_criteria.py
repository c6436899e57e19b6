"""A commune whose printer, UPS and scanner hang on a PC's USB port is judged by EQ-02 and
EQ-03 from the results the USB checks make (eq.cups → eq.printer, eq.nut → eq.ups,
eq.scanner), with the catalogue's own levels."""

from __future__ import annotations

from datetime import UTC, datetime

from checks.equipment.cups import QueueReading, evaluate_queue
from checks.equipment.nut import UpsReading, evaluate_nut_ups
from checks.equipment.scanner import Scanner, ScanReading, evaluate_scanners
from checks.model import CheckResult
from collector.criteria.catalogue import load_catalogue
from collector.criteria.engine import CriterionStatus, Observation, evaluate_commune
from collector.criteria.rules import Rules

NOW = datetime(2025, 7, 31, 8, 0, tzinfo=UTC)
RULES = Rules.of(load_catalogue())


def _observed(result: CheckResult, host: str = "pc-mot-cua") -> Observation:
    values = {name: v.value for name, v in result.values.items()}
    return Observation(
        host, result.check, result.target, result.status.value, values, result.message, NOW
    )


def _queue(levels: list[int], reasons: list[str], state: int = 3) -> Observation:
    attrs: dict[str, list[object]] = {
        "printer-state": [state],
        "printer-state-reasons": reasons or ["none"],
        "printer-is-accepting-jobs": [True],
        "marker-names": ["Black Toner"] * len(levels),
        "marker-levels": list(levels),
        "marker-types": ["toner"] * len(levels),
    }
    return _observed(evaluate_queue(QueueReading("HP_LaserJet_M15", attrs)))  # type: ignore[arg-type]


def _ups(status: str, charge: str, runtime: str) -> Observation:
    vars_ = {"ups.status": status, "battery.charge": charge, "battery.runtime": runtime}
    return _observed(evaluate_nut_ups(UpsReading("ups-phong-mot-cua", vars_)))


def _scanners(found: tuple[str, ...], wanted: list[str]) -> list[Observation]:
    reading = ScanReading(tuple(Scanner(d) for d in found))
    return [_observed(r) for r in evaluate_scanners(reading, wanted, expected=False)]


def _status(criterion: str, observations: list[Observation]) -> CriterionStatus:
    return evaluate_commune(RULES, "xã", observations, now=NOW).criteria[criterion].status


def test_usb_printer_judged_by_eq02() -> None:
    assert _status("EQ-02", [_queue([60], [])]) is CriterionStatus.PASS
    assert _status("EQ-02", [_queue([15], [])]) is CriterionStatus.WARN  # below 20 %
    assert _status("EQ-02", [_queue([7], ["toner-low-warning"])]) is CriterionStatus.FAIL
    assert _status("EQ-02", [_queue([60], ["media-empty-error"])]) is CriterionStatus.FAIL
    assert _status("EQ-02", [_queue([60], ["paused"], state=5)]) is CriterionStatus.FAIL


def test_scanners_count_only_when_reported() -> None:
    printer = _queue([60], [])
    assert _status("EQ-02", [printer, *_scanners(("test:0",), [])]) is CriterionStatus.PASS
    missing = _scanners((), ["fujitsu:fi-7160"])
    assert _status("EQ-02", [printer, *missing]) is CriterionStatus.FAIL
    ev = evaluate_commune(RULES, "xã", [printer, *missing], now=NOW).criteria["EQ-02"]
    assert "eq.scanner" in ev.reason_en


def test_usb_ups_judged_by_eq03() -> None:
    assert _status("EQ-03", [_ups("OL CHRG", "100", "3600")]) is CriterionStatus.PASS
    assert _status("EQ-03", [_ups("OL", "90", "1200")]) is CriterionStatus.WARN  # < 30 min
    assert _status("EQ-03", [_ups("OB DISCHRG", "70", "2400")]) is CriterionStatus.FAIL
    assert _status("EQ-03", [_ups("OB LB", "9", "120")]) is CriterionStatus.FAIL
