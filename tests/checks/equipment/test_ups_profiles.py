"""UPS profiles: the UPS-MIB and the vendor MIBs (PowerNet, XUPS, Liebert) give the same
values and verdicts for the same state; states the UPS reports are judged as facts."""

from __future__ import annotations

import pytest

from checks.equipment import oids
from checks.equipment.profiles import Mib
from checks.equipment.ups import (
    APC,
    LIEBERT,
    PROFILES,
    STANDARD,
    XUPS,
    UpsProfile,
    evaluate_ups,
    parse_ups,
    profile_for,
)
from checks.model import Status
from tests.peers.snmp import DATA, read_snmprec


def encode(profile: UpsProfile, source: str, battery: str, charge: int, runtime_s: int):  # type: ignore[no-untyped-def]
    """One UPS state as each MIB writes it (the vendor codes, the vendor units)."""
    codes = {
        # (output source, battery status) codes of each MIB for: on line / on battery, normal / low
        STANDARD.name: ({"line": 3, "battery": 5}, {"normal": 2, "low": 3}),
        APC.name: ({"line": 2, "battery": 3}, {"normal": 2, "low": 3}),
        XUPS.name: ({"line": 3, "battery": 5}, {"normal": 3, "low": 8}),
        LIEBERT.name: ({"line": 3, "battery": 5}, {"normal": 2, "low": 3}),
    }[profile.name]
    runtime_units = round(runtime_s / profile.runtime.seconds)
    return {
        profile.output_source.oid: codes[0][source],
        profile.battery_status.oid: codes[1][battery],
        profile.charge.oid: charge,
        profile.runtime.oid: runtime_units,
    }


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.mib.value)
@pytest.mark.parametrize(
    ("state", "status", "words"),
    [
        (("line", "normal", 100, 1800), Status.OK, "on line, battery normal, charge 100 %, 30 min"),
        (("battery", "normal", 80, 1200), Status.WARN, "on battery, battery normal, charge 80 %"),
        (("line", "low", 30, 600), Status.WARN, "on line"),
        # The reported case: on battery, battery low, 9 %, 2 minutes left: it fails.
        (("battery", "low", 9, 120), Status.FAIL, "on battery"),
    ],
)
def test_every_profile_gives_the_same_values_and_verdict(profile, state, status, words):  # type: ignore[no-untyped-def]
    result = evaluate_ups(parse_ups(encode(profile, *state), profile), "u")
    source, _battery, charge, runtime_s = state
    assert result.status is status
    assert words in result.message
    assert {k: v.value for k, v in result.values.items()} == {
        "ups_on_line": 1.0 if source == "line" else 0.0,
        "ups_runtime": float(runtime_s),
        "battery_charge": charge / 100,
    }
    if profile is not STANDARD:
        assert f"({profile.name})" in result.message


def test_on_battery_and_low_fails_in_the_ups_mib_words():
    values = {
        oids.UPS_OUTPUT_SOURCE: 5,
        oids.UPS_BATTERY_STATUS: 3,
        oids.UPS_ESTIMATED_CHARGE_REMAINING: 9,
        oids.UPS_ESTIMATED_MINUTES_REMAINING: 2,
        oids.UPS_SECONDS_ON_BATTERY: 1500,
    }
    result = evaluate_ups(parse_ups(values), "u")
    assert result.status is Status.FAIL
    assert result.message == "on battery, battery low, charge 9 %, 2 min left"


def test_zero_runtime_at_full_charge_is_not_reported():
    values = {
        oids.UPS_OUTPUT_SOURCE: 3,
        oids.UPS_BATTERY_STATUS: 2,
        oids.UPS_ESTIMATED_CHARGE_REMAINING: 100,
        oids.UPS_ESTIMATED_MINUTES_REMAINING: 0,
    }
    result = evaluate_ups(parse_ups(values), "u")
    assert result.status is Status.OK and result.value("ups_runtime") is None
    assert "0 min left" not in result.message
    assert result.message.endswith(
        "(ignored values: upsEstimatedMinutesRemaining=0 at 100 % charge)"
    )
    # Below a full charge, 0 minutes is an estimate: kept (the catalogue judges it).
    drained = evaluate_ups(parse_ups({**values, oids.UPS_ESTIMATED_CHARGE_REMAINING: 40}), "u")
    assert drained.value("ups_runtime") == 0.0 and "0 min left" in drained.message


def test_xups_recording_read_through_its_profile():
    """eaton-9px-partial answers only the XUPS-MIB: xupsBatTimeRemaining 17218 s,
    xupsBatCapacity 100 %, xupsBatteryAbmStatus resting(4), xupsOutputSource normal(3)."""
    recorded = dict(read_snmprec(DATA / "UPS/eaton-9px-partial.snmprec.bz2"))
    assert recorded[oids.XUPS_BAT_TIME_REMAINING] == 17218
    assert recorded[oids.XUPS_BATTERY_ABM_STATUS] == 4
    section = parse_ups({o: recorded.get(o) for o in XUPS.scalars}, XUPS)
    result = evaluate_ups(section, "u")
    assert result.status is Status.OK
    assert result.value("ups_runtime") == 286 * 60  # minute resolution, as the UPS-MIB
    assert result.value("battery_charge") == 1.0 and result.value("ups_on_line") == 1.0
    assert result.message == (
        "on line, battery normal, charge 100 %, 4 h 46 min left (XUPS-MIB (Eaton))"
    )


@pytest.mark.parametrize(
    ("profile", "oid", "code", "status", "words"),
    [
        (XUPS, oids.XUPS_BATTERY_ABM_STATUS, 6, Status.FAIL, "battery disconnected"),
        (XUPS, oids.XUPS_BATTERY_ABM_STATUS, 2, Status.OK, "battery discharging"),
        (XUPS, oids.XUPS_BATTERY_ABM_STATUS, 5, Status.WARN, "battery status unknown"),
        (APC, oids.APC_BATTERY_STATUS, 4, Status.FAIL, "battery fault"),
        (APC, oids.APC_OUTPUT_STATUS, 7, Status.FAIL, "output off"),
        (APC, oids.APC_OUTPUT_STATUS, 12, Status.OK, "on line (reducing)"),
        (APC, oids.APC_OUTPUT_STATUS, 9, Status.WARN, "on bypass"),
        (LIEBERT, oids.LGP_BATTERY_CAPACITY_STATUS, 4, Status.FAIL, "battery depleted"),
    ],
)
def test_vendor_states(profile, oid, code, status, words):  # type: ignore[no-untyped-def]
    values = {**encode(profile, "line", "normal", 100, 1800), oid: code}
    result = evaluate_ups(parse_ups(values, profile), "u")
    assert result.status is status and words in result.message


def test_vendor_codes_out_of_the_mib_are_named_not_trusted():
    values = {**encode(APC, "line", "normal", 100, 1800), oids.APC_OUTPUT_STATUS: 99}
    result = evaluate_ups(parse_ups(values, APC), "u")
    assert "upsBasicOutputStatus=99" in result.message and "ups_on_line" not in result.values


def test_apc_times_are_timeticks():
    values = {
        oids.APC_OUTPUT_STATUS: 3,
        oids.APC_BATTERY_STATUS: 2,
        oids.APC_RUNTIME_REMAINING: 720000,  # 2 h in hundredths of a second
        oids.APC_TIME_ON_BATTERY: 6000,
        oids.APC_BATTERY_CAPACITY: 97,
    }
    result = evaluate_ups(parse_ups(values, APC), "u")
    assert result.value("ups_runtime") == 7200.0
    assert result.value("ups_seconds_on_battery") == 60.0
    assert "2 h 0 min left" in result.message


def test_profile_choice_and_nothing_answered():
    assert profile_for(frozenset()) is STANDARD
    assert profile_for(frozenset({Mib.XUPS, Mib.UPS})) is STANDARD
    assert profile_for(frozenset({Mib.XUPS, Mib.BRIDGE})) is XUPS
    assert profile_for(frozenset({Mib.APC_UPS})) is APC
    assert profile_for(frozenset({Mib.LIEBERT_UPS})) is LIEBERT
    silent = evaluate_ups(parse_ups({}, LIEBERT), "u")
    assert silent.status is Status.UNKNOWN
    assert silent.message == (
        "the device answers SNMP but sends no UPS state in the "
        "LIEBERT-GP-POWER-MIB (Liebert/Emerson)"
    )
