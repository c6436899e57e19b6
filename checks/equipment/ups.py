"""UPS (EQ-03): UPS-MIB (RFC 1628) output source, battery status, charge and runtime.

``parse_ups(values)`` takes the GET of :data:`oids.UPS_SCALARS` exactly as sent. Values
outside the MIB's range (a runtime of -1 minutes, a charge of 250 %) or of the wrong type are
dropped and named, never trusted: a missing runtime is "could not measure", not "0 s left".
"""

from __future__ import annotations

from dataclasses import dataclass

from checks.equipment import oids
from checks.equipment.profiles import as_int, as_text, device_result
from checks.equipment.snmp_client import SnmpValue
from checks.model import CheckResult, Status, Value

CHECK_ID = "eq.ups"

#: upsOutputSource: 1 other, 2 none, 3 normal, 4 bypass, 5 battery, 6 booster, 7 reducer.
OUTPUT_SOURCE = {1: "other", 2: "output off", 3: "on line", 4: "on bypass",
                 5: "on battery", 6: "on line (boosting)", 7: "on line (reducing)"}
#: Sources fed by the mains: the UPS is "on line" (bypass, booster and reducer included).
ON_LINE_SOURCES = frozenset({3, 4, 6, 7})
#: upsBatteryStatus: 1 unknown, 2 batteryNormal, 3 batteryLow, 4 batteryDepleted.
BATTERY_STATUS = {1: "battery status unknown", 2: "battery normal", 3: "battery low",
                  4: "battery depleted"}


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


def _ranged(values: dict[str, SnmpValue], oid: str, name: str, lo: int, hi: int,
            invalid: list[str]) -> int | None:
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
        battery_status=_ranged(values, oids.UPS_BATTERY_STATUS, "upsBatteryStatus", 1, 4,
                               invalid),
        minutes_remaining=_ranged(values, oids.UPS_ESTIMATED_MINUTES_REMAINING,
                                  "upsEstimatedMinutesRemaining", 0, 2**31 - 1, invalid),
        charge_percent=_ranged(values, oids.UPS_ESTIMATED_CHARGE_REMAINING,
                               "upsEstimatedChargeRemaining", 0, 100, invalid),
        seconds_on_battery=_ranged(values, oids.UPS_SECONDS_ON_BATTERY, "upsSecondsOnBattery",
                                   0, 2**31 - 1, invalid),
        invalid=tuple(invalid),
    )


def runtime_words(minutes: int) -> str:
    hours, mins = divmod(minutes, 60)
    return f"{hours} h {mins} min left" if hours else f"{mins} min left"


def evaluate_ups(section: UpsSection, target: str) -> CheckResult:
    result = device_result(CHECK_ID, target)

    if section.empty:
        why = "the device answers SNMP but not the UPS-MIB (RFC 1628)"
        if section.invalid:
            why += f"; unusable values: {', '.join(section.invalid)}"
        return result(Status.UNKNOWN, why)

    values: dict[str, Value] = {}
    if section.output_source is not None and section.output_source != 1:
        on_line = section.output_source in ON_LINE_SOURCES
        values["ups_on_line"] = Value(value=1.0 if on_line else 0.0)
    if section.minutes_remaining is not None:
        values["ups_runtime"] = Value(value=section.minutes_remaining * 60.0, unit="seconds")
    if section.charge_percent is not None:
        values["battery_charge"] = Value(value=section.charge_percent / 100.0, unit="ratio")
    if section.seconds_on_battery is not None:
        values["ups_seconds_on_battery"] = Value(value=float(section.seconds_on_battery),
                                                 unit="seconds")

    parts = []
    if section.output_source is not None:
        parts.append(OUTPUT_SOURCE[section.output_source])
    if section.battery_status is not None:
        parts.append(BATTERY_STATUS[section.battery_status])
    if section.charge_percent is not None:
        parts.append(f"charge {section.charge_percent} %")
    if section.minutes_remaining is not None:
        parts.append(runtime_words(section.minutes_remaining))
    message = ", ".join(parts)
    if section.invalid:
        message += f" (ignored out-of-range values: {', '.join(section.invalid)})"

    if section.output_source == 2 or section.battery_status == 4:
        status = Status.FAIL
    elif section.output_source in (1, 4, 5) or section.battery_status in (1, 3):
        status = Status.WARN
    else:
        status = Status.OK
    return result(status, message, values)
