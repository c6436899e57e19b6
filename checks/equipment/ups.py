"""UPS (EQ-03): output source, battery status, charge and runtime.

Read from the UPS-MIB (RFC 1628) or, on cards that report them only in their vendor's MIB,
from a vendor profile (APC PowerNet-MIB, Eaton XUPS-MIB, Liebert/Emerson
LIEBERT-GP-POWER-MIB): each :class:`UpsProfile` says where its figures are and maps its
enumerations to the UPS-MIB's, so every profile gives the same values and the same verdicts.

``parse_ups(values, profile)`` takes the GET of ``profile.scalars`` exactly as sent. Values
outside the MIB's range (a runtime of -1 minutes, a charge of 250 %) or of the wrong type are
dropped and named, never trusted: a missing runtime is "could not measure", not "0 s left".
States the UPS reports (on battery, battery low) are facts judged here; thresholds on the
figures belong to the criteria catalogue.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from checks.equipment import oids
from checks.equipment.profiles import Mib, as_int, as_text, device_result
from checks.equipment.snmp_client import SnmpValue
from checks.levels import worst
from checks.messages import kept, msg, written
from checks.model import MAX_PARAM_CHARS, CheckResult, MessageRef, Status, Value

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
ON_BATTERY = 5
BATTERY_LOW = 3
#: A charge the UPS reports as full, in percent (the top of the MIBs' range): with it, a
#: runtime of 0 is not an estimate.
FULL_CHARGE_PERCENT = 100


@dataclass(frozen=True)
class UpsSection:
    model: str = ""
    output_source: int | None = None
    battery_status: int | None = None
    minutes_remaining: int | None = None
    charge_percent: int | None = None
    seconds_on_battery: int | None = None
    invalid: tuple[str, ...] = ()
    #: The vendor's own words for its battery state when they say more than the UPS-MIB
    #: value it is mapped to ("battery disconnected" is judged as depleted).
    battery_words: str = ""
    #: The MIB the figures come from (named in the message unless it is the UPS-MIB).
    source: str = "UPS-MIB (RFC 1628)"

    @property
    def empty(self) -> bool:
        return self.output_source is None and self.battery_status is None


@dataclass(frozen=True)
class Reading:
    """Where one figure of a UPS profile is read and how it becomes the UPS-MIB's value.

    ``codes`` maps a vendor enumeration to the UPS-MIB one (a code not listed is out of
    range); ``words`` gives the vendor's own name of a state; ``seconds`` is the length of
    one unit of a time (60 for minutes, 0.01 for TimeTicks).
    """

    oid: str
    name: str
    lo: int = 0
    hi: int = 2**31 - 1
    codes: Mapping[int, int] | None = None
    words: Mapping[int, str] = field(default_factory=dict)
    seconds: float = 1.0


@dataclass(frozen=True)
class UpsProfile:
    """One MIB's battery status, charge, runtime and output source, read as the UPS-MIB's."""

    mib: Mib
    name: str
    scalars: tuple[str, ...]
    model: str
    output_source: Reading
    battery_status: Reading
    runtime: Reading
    charge: Reading
    on_battery: Reading | None = None


#: upsOutputSource / lgpPwrStateUpsOutputSource codes are the UPS-MIB's own (1..7).
_SAME_SOURCE = {code: code for code in range(1, 8)}
_SAME_BATTERY = {code: code for code in range(1, 5)}

STANDARD = UpsProfile(
    mib=Mib.UPS,
    name="UPS-MIB (RFC 1628)",
    scalars=oids.UPS_SCALARS,
    model=oids.UPS_IDENT_MODEL,
    output_source=Reading(oids.UPS_OUTPUT_SOURCE, "upsOutputSource", codes=_SAME_SOURCE),
    battery_status=Reading(oids.UPS_BATTERY_STATUS, "upsBatteryStatus", codes=_SAME_BATTERY),
    runtime=Reading(
        oids.UPS_ESTIMATED_MINUTES_REMAINING, "upsEstimatedMinutesRemaining", seconds=60
    ),
    charge=Reading(oids.UPS_ESTIMATED_CHARGE_REMAINING, "upsEstimatedChargeRemaining", hi=100),
    on_battery=Reading(oids.UPS_SECONDS_ON_BATTERY, "upsSecondsOnBattery"),
)

#: upsBasicOutputStatus (PowerNet-MIB) as upsOutputSource: on line, eco, hot standby are the
#: mains; smart boost/trim the booster/reducer; the bypasses bypass; sleeping and off no
#: output; a battery test runs on the battery; rebooting and unknown are "other".
APC_OUTPUT = {
    1: 1,  # unknown
    2: 3,  # onLine
    3: 5,  # onBattery
    4: 6,  # onSmartBoost
    5: 2,  # timedSleeping
    6: 4,  # softwareBypass
    7: 2,  # off
    8: 1,  # rebooting
    9: 4,  # switchedBypass
    10: 4,  # hardwareFailureBypass
    11: 2,  # sleepingUntilPowerReturn
    12: 7,  # onSmartTrim
    13: 3,  # ecoMode
    14: 3,  # hotStandby
    15: 5,  # onBatteryTest
    16: 4,  # emergencyStaticBypass
}
APC = UpsProfile(
    mib=Mib.APC_UPS,
    name="PowerNet-MIB (APC)",
    scalars=oids.APC_UPS_SCALARS,
    model=oids.APC_UPS_MODEL,
    output_source=Reading(oids.APC_OUTPUT_STATUS, "upsBasicOutputStatus", codes=APC_OUTPUT),
    # upsBasicBatteryStatus: 1 unknown, 2 normal, 3 low, 4 batteryInFaultCondition.
    battery_status=Reading(
        oids.APC_BATTERY_STATUS,
        "upsBasicBatteryStatus",
        codes=_SAME_BATTERY,
        words={4: "battery fault"},
    ),
    runtime=Reading(
        oids.APC_RUNTIME_REMAINING, "upsAdvBatteryRunTimeRemaining", hi=2**32 - 1, seconds=0.01
    ),
    charge=Reading(oids.APC_BATTERY_CAPACITY, "upsAdvBatteryCapacity", hi=100),
    on_battery=Reading(
        oids.APC_TIME_ON_BATTERY, "upsBasicBatteryTimeOnBattery", hi=2**32 - 1, seconds=0.01
    ),
)

#: xupsBatteryAbmStatus (the charger's cycle) as upsBatteryStatus: charging, discharging,
#: floating, resting and under test are a normal battery; a disconnected battery gives no
#: backup at all (judged as depleted); "check battery" is the UPS asking for a look (low).
XUPS_BATTERY = {1: 2, 2: 2, 3: 2, 4: 2, 5: 1, 6: 4, 7: 2, 8: 3}
XUPS_BATTERY_WORDS = {
    1: "battery charging",
    2: "battery discharging",
    6: "battery disconnected",
    7: "battery under test",
    8: "check battery",
}
#: xupsOutputSource: 1..7 as the UPS-MIB; parallel capacity / redundancy and the
#: high-efficiency mode are the mains.
XUPS_OUTPUT = {**_SAME_SOURCE, 8: 3, 9: 3, 10: 3}
XUPS = UpsProfile(
    mib=Mib.XUPS,
    name="XUPS-MIB (Eaton)",
    scalars=oids.XUPS_SCALARS,
    model=oids.XUPS_MODEL,
    output_source=Reading(oids.XUPS_OUTPUT_SOURCE, "xupsOutputSource", codes=XUPS_OUTPUT),
    battery_status=Reading(
        oids.XUPS_BATTERY_ABM_STATUS,
        "xupsBatteryAbmStatus",
        codes=XUPS_BATTERY,
        words=XUPS_BATTERY_WORDS,
    ),
    runtime=Reading(oids.XUPS_BAT_TIME_REMAINING, "xupsBatTimeRemaining"),
    charge=Reading(oids.XUPS_BAT_CAPACITY, "xupsBatCapacity", hi=100),
)

LIEBERT = UpsProfile(
    mib=Mib.LIEBERT_UPS,
    name="LIEBERT-GP-POWER-MIB (Liebert/Emerson)",
    scalars=oids.LIEBERT_UPS_SCALARS,
    model=oids.LGP_AGENT_MODEL,
    output_source=Reading(
        oids.LGP_UPS_OUTPUT_SOURCE, "lgpPwrStateUpsOutputSource", codes=_SAME_SOURCE
    ),
    battery_status=Reading(
        oids.LGP_BATTERY_CAPACITY_STATUS, "lgpPwrBatteryCapacityStatus", codes=_SAME_BATTERY
    ),
    runtime=Reading(oids.LGP_BATTERY_TIME_REMAINING, "lgpPwrBatteryTimeRemaining", seconds=60),
    charge=Reading(oids.LGP_BATTERY_CAPACITY, "lgpPwrBatteryCapacity", hi=100),
)

#: Tried in this order; the first whose MIB answers is read. The UPS-MIB first: its meaning
#: is the standard's, and a card that speaks both gives the same figures there.
PROFILES = (STANDARD, APC, XUPS, LIEBERT)


def profile_for(mibs: frozenset[Mib]) -> UpsProfile:
    """The profile of the first UPS MIB that answers, else the UPS-MIB's (which then tells
    that nothing answered)."""
    return next((p for p in PROFILES if p.mib in mibs), STANDARD)


def _read(values: dict[str, SnmpValue], reading: Reading, invalid: list[str]) -> int | None:
    """The value of ``reading`` in the UPS-MIB's terms, or None (missing, or named in
    ``invalid`` when out of range or of the wrong type)."""
    raw = values.get(reading.oid)
    if raw is None:
        return None
    number = as_int(raw)
    if number is not None and reading.codes is not None:
        number = reading.codes.get(number)
    elif number is not None and not reading.lo <= number <= reading.hi:
        number = None
    if number is None:
        invalid.append(f"{reading.name}={raw!r}")
    return number


def _seconds(values: dict[str, SnmpValue], reading: Reading, invalid: list[str]) -> float | None:
    number = _read(values, reading, invalid)
    return None if number is None else number * reading.seconds


def parse_ups(values: dict[str, SnmpValue], profile: UpsProfile = STANDARD) -> UpsSection:
    """``values`` = the GET of ``profile.scalars``, exactly as sent.

    A runtime of 0 at a full charge is a card that does not estimate runtime (recorded on
    line, charged): it is left out and named, like an out-of-range value.
    """
    invalid: list[str] = []
    runtime_s = _seconds(values, profile.runtime, invalid)
    charge = _read(values, profile.charge, invalid)
    if runtime_s == 0 and charge == FULL_CHARGE_PERCENT:
        invalid.append(f"{profile.runtime.name}=0 at {FULL_CHARGE_PERCENT} % charge")
        runtime_s = None
    on_battery_s = (
        _seconds(values, profile.on_battery, invalid) if profile.on_battery is not None else None
    )
    raw_battery = as_int(values.get(profile.battery_status.oid))
    return UpsSection(
        model=as_text(values.get(profile.model)),
        output_source=_read(values, profile.output_source, invalid),
        battery_status=_read(values, profile.battery_status, invalid),
        minutes_remaining=None if runtime_s is None else int(runtime_s // 60),
        charge_percent=charge,
        seconds_on_battery=None if on_battery_s is None else int(on_battery_s),
        invalid=tuple(invalid),
        battery_words=profile.battery_status.words.get(raw_battery or 0, ""),
        source=profile.name,
    )


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


def _ups_message(section: UpsSection) -> MessageRef:
    """The reported states in words, each one only when the UPS sent it: a list of kept
    messages (checks/messages.py), so that each is said in the reader's language."""
    battery = section.battery_words or BATTERY_STATUS.get(section.battery_status or 0, "")
    parts = []
    if section.output_source is not None:
        words = OUTPUT_SOURCE.get(section.output_source, "")
        parts.append(kept(f"term.ups_source_{section.output_source}", {}, words))
    if section.battery_status is not None:
        parts.append(kept(f"term.{battery.replace(' ', '_')}", {}, battery))
    if section.charge_percent is not None:
        parts.append(kept("eq.ups.charge", {"percent": section.charge_percent}))
    if section.minutes_remaining is not None:
        hours, mins = divmod(section.minutes_remaining, 60)
        left = kept("eq.ups.runtime_h", {"h": hours, "m": mins}) if hours else None
        parts.append(left or kept("eq.ups.runtime_m", {"m": mins}))
    said = ", ".join(parts)
    if len(said) > MAX_PARAM_CHARS:  # too many to keep: said in English
        said = written(said, "en")
    suffix = ("_source" if section.source != STANDARD.name else "") + (
        "_ignored" if section.invalid else ""
    )
    return msg(
        f"eq.ups.state{suffix}",
        states=said,
        source=section.source,
        ignored=", ".join(section.invalid),
    )


def evaluate_ups(section: UpsSection, target: str) -> CheckResult:
    result = device_result(CHECK_ID, target)

    if section.empty:
        if section.source == STANDARD.name:
            why = (
                "the device answers SNMP but neither the UPS-MIB (RFC 1628) nor a vendor UPS "
                f"MIB read here ({', '.join(p.name for p in PROFILES[1:])})"
            )
        else:
            why = f"the device answers SNMP but sends no UPS state in the {section.source}"
        if section.invalid:
            why += f"; unusable values: {', '.join(section.invalid)}"
        return result(Status.UNKNOWN, why)
    return result(ups_verdict(section), _ups_message(section), _ups_values(section))


def ups_verdict(section: UpsSection) -> Status:
    """The worst of what the output source and the battery state say; a battery the UPS calls
    low while it runs on it fails (the load is about to lose power), whatever the figures."""
    if section.output_source == ON_BATTERY and section.battery_status == BATTERY_LOW:
        return Status.FAIL
    return worst(
        SOURCE_VERDICT.get(section.output_source or 0, Status.OK),
        BATTERY_VERDICT.get(section.battery_status or 0, Status.OK),
    )
