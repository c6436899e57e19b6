"""UPS (EQ-03): UPS-MIB (RFC 1628) output source, battery status, charge and runtime.

``parse_ups(values)`` takes the GET of :data:`oids.UPS_SCALARS` exactly as sent. Values
outside the MIB's range (a runtime of -1 minutes, a charge of 250 %) or of the wrong type are
dropped and named, never trusted: a missing runtime is "could not measure", not "0 s left".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from checks.equipment import oids
from checks.equipment.profiles import as_int, as_text, device_result, worst
from checks.equipment.snmp_client import SnmpValue
from checks.model import CheckResult, Status, Value

CHECK_ID = "eq.ups"

#: upsOutputSource: 1 other, 2 none, 3 normal, 4 bypass, 5 battery, 6 booster, 7 reducer.
OUTPUT_SOURCE = {
    1: "other",
    2: "output off",
    3: "on line",
    4: "on bypass",
    5: "on battery",
    6: "on line (boosting)",
    7: "on line (reducing)",
}
#: Sources fed by the mains: the UPS is "on line" (bypass, booster and reducer included).
ON_LINE_SOURCES = frozenset({3, 4, 6, 7})
#: upsBatteryStatus: 1 unknown, 2 batteryNormal, 3 batteryLow, 4 batteryDepleted.
BATTERY_STATUS = {
    1: "battery status unknown",
    2: "battery normal",
    3: "battery low",
    4: "battery depleted",
}

#: What each state alone says of the UPS; a state not listed is OK. The output switched off
#: fails; another source, bypass and battery power warn.
SOURCE_VERDICT = {1: Status.WARN, 2: Status.FAIL, 4: Status.WARN, 5: Status.WARN}
#: A depleted battery fails; a low battery, or one whose state the UPS does not know, warns.
BATTERY_VERDICT = {1: Status.WARN, 3: Status.WARN, 4: Status.FAIL}


@dataclass(frozen=True)
class UpsSection:
    model: str = ""
    output_source: int | None = None
    battery_status: int | None = None
    minutes_remaining: int | None = None
    charge_percent: int | None = None
    seconds_on_battery: int | None = None
    invalid: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return self.output_source is None and self.battery_status is None


def _ranged(
    values: dict[str, SnmpValue], oid: str, name: str, lo: int, hi: int, invalid: list[str]
) -> int | None:
    raw = values.get(oid)
    if raw is None:
        return None
    number = as_int(raw)
    if number is None or not lo <= number <= hi:
        invalid.append(f"{name}={raw!r}")
        return None
    return number


def parse_ups(values: dict[str, SnmpValue]) -> UpsSection:
    invalid: list[str] = []
    return UpsSection(
        model=as_text(values.get(oids.UPS_IDENT_MODEL)),
        output_source=_ranged(values, oids.UPS_OUTPUT_SOURCE, "upsOutputSource", 1, 7, invalid),
        battery_status=_ranged(values, oids.UPS_BATTERY_STATUS, "upsBatteryStatus", 1, 4, invalid),
        minutes_remaining=_ranged(
            values,
            oids.UPS_ESTIMATED_MINUTES_REMAINING,
            "upsEstimatedMinutesRemaining",
            0,
            2**31 - 1,
            invalid,
        ),
        charge_percent=_ranged(
            values,
            oids.UPS_ESTIMATED_CHARGE_REMAINING,
            "upsEstimatedChargeRemaining",
            0,
            100,
            invalid,
        ),
        seconds_on_battery=_ranged(
            values, oids.UPS_SECONDS_ON_BATTERY, "upsSecondsOnBattery", 0, 2**31 - 1, invalid
        ),
        invalid=tuple(invalid),
    )


def runtime_words(minutes: int) -> str:
    hours, mins = divmod(minutes, 60)
    return f"{hours} h {mins} min left" if hours else f"{mins} min left"


def _ups_values(section: UpsSection) -> dict[str, Value]:
    values: dict[str, Value] = {}
    if section.output_source is not None and section.output_source != 1:
        on_line = section.output_source in ON_LINE_SOURCES
        values["ups_on_line"] = Value(value=1.0 if on_line else 0.0)
    if section.minutes_remaining is not None:
        values["ups_runtime"] = Value(value=section.minutes_remaining * 60.0, unit="seconds")
    if section.charge_percent is not None:
        values["battery_charge"] = Value(value=section.charge_percent / 100.0, unit="ratio")
    if section.seconds_on_battery is not None:
        values["ups_seconds_on_battery"] = Value(
            value=float(section.seconds_on_battery), unit="seconds"
        )
    return values


def _ups_message(section: UpsSection) -> str:
    """The reported states in words, each one only when the UPS sent it."""
    words: tuple[tuple[int | None, Callable[[int], str]], ...] = (
        (section.output_source, OUTPUT_SOURCE.__getitem__),
        (section.battery_status, BATTERY_STATUS.__getitem__),
        (section.charge_percent, lambda percent: f"charge {percent} %"),
        (section.minutes_remaining, runtime_words),
    )
    message = ", ".join(write(value) for value, write in words if value is not None)
    if section.invalid:
        message += f" (ignored out-of-range values: {', '.join(section.invalid)})"
    return message


def evaluate_ups(section: UpsSection, target: str) -> CheckResult:
    result = device_result(CHECK_ID, target)

    if section.empty:
        why = "the device answers SNMP but not the UPS-MIB (RFC 1628)"
        if section.invalid:
            why += f"; unusable values: {', '.join(section.invalid)}"
        return result(Status.UNKNOWN, why)

    status = worst(
        SOURCE_VERDICT.get(section.output_source or 0, Status.OK),
        BATTERY_VERDICT.get(section.battery_status or 0, Status.OK),
    )
    return result(status, _ups_message(section), _ups_values(section))
