"""Pure parse/evaluate functions on rows exactly as devices sent them (the recorded walks),
and on malformed answers: wrong types, missing instances, out-of-range values."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from checks.equipment import oids
from checks.equipment.printer import (
    PrinterSection,
    Supply,
    decode_error_state,
    evaluate_printer,
    parse_printer,
)
from checks.equipment.profiles import DeviceKind, detect_kind, parse_identity
from checks.equipment.snmp_client import convert
from checks.equipment.switch import (
    Interface,
    Poll,
    SwitchSection,
    counter_delta,
    counter_rate,
    evaluate_switch,
    parse_switch,
)
from checks.equipment.ups import UpsSection, evaluate_ups, parse_ups
from checks.model import Status
from tests.checks.checks_fixtures import judged
from tests.peers.snmp import (
    PRINTER_DUMPS,
    ROUTER_DUMPS,
    SWITCH_DUMPS,
    UPS_DUMPS,
    read_snmprec,
)

PRINTER_ROWS = read_snmprec(PRINTER_DUMPS["printer-hp-m479"])
EATON = dict(read_snmprec(UPS_DUMPS["ups-eaton-93e-80"]))
C3750_ROWS = read_snmprec(SWITCH_DUMPS["switch-cisco-c3750"])


def _identity_of(rows):  # type: ignore[no-untyped-def]
    values = dict(rows)
    probe = [
        (o, v)
        for o, v in rows
        if o.startswith((oids.HR_PRINTER_STATUS + ".", oids.PRT_MARKER_SUPPLIES_LEVEL + "."))
    ]
    return parse_identity({o: values.get(o) for o in oids.IDENTITY}, probe)


@pytest.mark.parametrize(
    ("dumps", "kind"),
    [
        (UPS_DUMPS, DeviceKind.UPS),
        (SWITCH_DUMPS, DeviceKind.SWITCH),
        (ROUTER_DUMPS, DeviceKind.ROUTER),
        (PRINTER_DUMPS, DeviceKind.PRINTER),
    ],
)
def test_kind_detected_from_recorded_walks(dumps, kind):  # type: ignore[no-untyped-def]
    for name, path in dumps.items():
        assert detect_kind(_identity_of(read_snmprec(path))) is kind, name


def test_huawei_ups_card_is_a_ups_despite_its_net_snmp_object_id():
    identity = _identity_of(read_snmprec(UPS_DUMPS["ups-huawei-gse200m"]))
    assert identity.object_id.startswith("1.3.6.1.4.1.8072.")  # Net-SNMP's, not a UPS vendor's
    assert detect_kind(identity) is DeviceKind.UPS


def test_kind_fallbacks():
    assert detect_kind(parse_identity({})) is DeviceKind.UNKNOWN
    assert detect_kind(parse_identity({oids.SYS_DESCR: b"Linux pc 6.1"})) is DeviceKind.HOST
    assert detect_kind(parse_identity({oids.SYS_DESCR: b"HP LaserJet 400"})) is DeviceKind.PRINTER
    assert (
        detect_kind(parse_identity({oids.SYS_DESCR: b"x", oids.SYS_SERVICES: 2}))
        is DeviceKind.SWITCH
    )
    brother = {oids.SYS_DESCR: b"NC-8300h", oids.SYS_OBJECT_ID: "1.3.6.1.4.1.2435.2.3.9.1"}
    assert detect_kind(parse_identity(brother)) is DeviceKind.PRINTER
    apc = {
        oids.SYS_DESCR: b"APC Web/SNMP Management Card",
        oids.SYS_OBJECT_ID: "1.3.6.1.4.1.318.1.3.27",
    }
    assert detect_kind(parse_identity(apc)) is DeviceKind.UPS
    # An APC rack PDU (recorded walk) is not a UPS: it stays a plain host.
    pdu = dict(read_snmprec(UPS_DUMPS["ups-eaton-93e-80"].parent / "apc-7902b.snmprec"))
    assert detect_kind(parse_identity({o: pdu.get(o) for o in oids.IDENTITY})) is DeviceKind.HOST
    assert detect_kind(parse_identity({oids.SYS_DESCR: b"Eaton Powerware 9130"})) is DeviceKind.UPS
    assert (
        detect_kind(parse_identity({oids.SYS_DESCR: b"x", oids.SYS_SERVICES: 6})) is DeviceKind.HOST
    )
    # Wrong types are ignored, not trusted: a string where an integer belongs.
    assert (
        detect_kind(parse_identity({oids.SYS_DESCR: b"x", oids.IP_FORWARDING: b"1"}))
        is DeviceKind.HOST
    )


# ------------------------------------------------------------------------------- printer


def test_printer_record_parsed():
    section = parse_printer(PRINTER_ROWS)
    assert [s.level for s in section.supplies] == [12, -3, -2, 64, -3, 21000]
    assert section.device_status == 3 and section.printer_status == 3
    assert section.errors == ("low toner",)
    result = evaluate_printer(section, "p")
    assert result.value("supply_level_min") == pytest.approx(0.12)
    assert result.value("toner_black") == pytest.approx(0.12)
    assert result.value("toner_cyan") is None  # "some remaining" is not a level
    assert result.value("drum") == pytest.approx(0.7)
    assert result.status is Status.WARN
    assert "black toner 12 %" in result.message
    assert "cyan toner: some remaining" in result.message
    assert "magenta toner: level not reported" in result.message


def _with(rows, **changes):  # type: ignore[no-untyped-def]
    """The recorded rows with some instances replaced (value None = removed)."""
    out = [(o, v) for o, v in rows if o not in changes.get("drop", ())]
    for oid, value in changes.get("set", {}).items():
        out = [(o, v) for o, v in out if o != oid] + [(oid, value)]
    return out


def test_printer_down_or_jammed_fails():
    down = parse_printer(_with(PRINTER_ROWS, set={oids.HR_DEVICE_STATUS + ".1": 5}))
    assert evaluate_printer(down, "p").status is Status.FAIL
    assert evaluate_printer(down, "p").value("printer_up") == 0.0
    jammed = parse_printer(
        _with(PRINTER_ROWS, set={oids.HR_PRINTER_DETECTED_ERROR_STATE + ".1": bytes([0x04, 0x00])})
    )
    assert jammed.errors == ("jammed",)
    assert evaluate_printer(jammed, "p").status is Status.FAIL


def test_printer_all_levels_special_has_no_minimum():
    rows = _with(
        PRINTER_ROWS,
        set={
            oids.PRT_MARKER_SUPPLIES_LEVEL + ".1.1": -1,
            oids.PRT_MARKER_SUPPLIES_LEVEL + ".1.4": -3,
            oids.PRT_MARKER_SUPPLIES_MAX_CAPACITY + ".1.6": -2,
        },
    )
    result = evaluate_printer(parse_printer(rows), "p")
    assert result.value("supply_level_min") is None  # could not measure, not "empty"


def test_printer_malformed_values_are_ignored():
    rows = _with(
        PRINTER_ROWS,
        set={
            oids.PRT_MARKER_SUPPLIES_LEVEL + ".1.1": b"12",  # a string where an Integer32 belongs
            oids.HR_DEVICE_STATUS + ".1": "1.3.6",  # an OID
            oids.HR_PRINTER_DETECTED_ERROR_STATE + ".1": 7,  # an integer instead of BITS
        },
    )
    section = parse_printer(rows)
    assert section.supplies[0].level is None and section.device_status is None
    assert section.errors == ()
    assert "hrDeviceStatus" in section.missing
    result = evaluate_printer(section, "p")
    assert result.value("supply_level_min") == pytest.approx(0.64)


def test_printer_without_status_or_usable_level_is_unknown():
    section = PrinterSection(
        supplies=(Supply("1.1", "black toner", 3, 3, 100, -3),),
        missing=("hrPrinterStatus", "hrDeviceStatus"),
    )
    result = evaluate_printer(section, "p")
    assert result.status is Status.UNKNOWN and result.values == {}
    assert result.message == (
        "the device answers but sends no usable printer status or "
        "supply level (not reported: hrPrinterStatus, hrDeviceStatus)"
    )


def test_printer_value_names_clash_and_are_capped():
    section = PrinterSection(
        supplies=(
            Supply("1.1", "black toner", 3, 3, 100, 50),
            Supply("1.2", "Black toner", 3, 3, 100, 30),
            Supply("1.3", "waste", 4, 4, 100, 90),
        ),
        printer_status=4,
        device_status=2,
    )
    result = evaluate_printer(section, "p")
    assert result.status is Status.OK
    assert {k: v.value for k, v in result.values.items()} == {
        "supply_level_min": 0.3,
        "toner_black": 0.5,
        "toner_black_1_2": 0.3,
        "printer_up": 1.0,
    }
    assert result.message == "running, printing; black toner 50 %, black toner 30 %, waste 90 %"
    many = PrinterSection(
        supplies=tuple(Supply(f"1.{i}", "", 3, 99, 100, 50) for i in range(40)),
        printer_status=3,
        device_status=2,
    )
    assert len(evaluate_printer(many, "p").values) == 33  # 32 levels at most, then printer_up


@pytest.mark.parametrize(
    ("device", "printer", "errors", "message"),
    [
        (4, None, (), "testing; black toner 5 %"),
        (2, 3, ("low paper",), "running, idle, low paper; black toner 5 %"),
    ],
)
def test_printer_warnings(device, printer, errors, message):  # type: ignore[no-untyped-def]
    section = PrinterSection(
        supplies=(Supply("1.1", "black", 3, 3, 100, 5),),
        printer_status=printer,
        device_status=device,
        errors=errors,
    )
    result = evaluate_printer(section, "p")
    assert (result.status, result.message) == (Status.WARN, message)


def test_an_emptying_supply_is_the_catalogues_to_judge():
    """A running printer with 5 % toner left is ok as it reports itself; EQ-02's level on
    supply_level_min (fail below 10 %) judges the supply."""
    section = PrinterSection(
        supplies=(Supply("1.1", "black", 3, 3, 100, 5),), printer_status=1, device_status=2
    )
    result = evaluate_printer(section, "p")
    assert (result.status, result.message) == (Status.OK, "running; black toner 5 %")
    verdict = judged(result)
    assert verdict.status is Status.FAIL and "supply_level_min 5% < 10%" in verdict.message


def test_no_printer_mib_is_unknown():
    assert evaluate_printer(parse_printer(C3750_ROWS), "p").status is Status.UNKNOWN


def test_error_state_bits_msb_first():
    assert decode_error_state(bytes([0x80])) == ("low paper",)
    assert decode_error_state(bytes([0x00, 0x02])) == ("overdue preventive maintenance",)
    assert decode_error_state(b"") == ()


# ----------------------------------------------------------------------------------- UPS


def test_ups_recorded_on_line():
    result = evaluate_ups(parse_ups(EATON), "u")
    assert result.value("ups_on_line") == 1.0
    assert result.value("ups_runtime") == EATON[oids.UPS_ESTIMATED_MINUTES_REMAINING] * 60
    assert result.value("battery_charge") == EATON[oids.UPS_ESTIMATED_CHARGE_REMAINING] / 100
    assert result.status is Status.OK and "on line" in result.message


def test_ups_on_battery():
    values = {
        **EATON,
        oids.UPS_OUTPUT_SOURCE: 5,
        oids.UPS_ESTIMATED_MINUTES_REMAINING: 18,
        oids.UPS_SECONDS_ON_BATTERY: 240,
    }
    result = evaluate_ups(parse_ups(values), "u")
    assert result.value("ups_on_line") == 0.0 and result.value("ups_runtime") == 1080
    assert result.status is Status.WARN
    assert result.message.startswith("on battery, battery normal, charge 100 %, 18 min left")


def test_ups_depleted_or_off_fails():
    assert evaluate_ups(parse_ups({**EATON, oids.UPS_BATTERY_STATUS: 4}), "u").status is Status.FAIL
    off = evaluate_ups(parse_ups({**EATON, oids.UPS_OUTPUT_SOURCE: 2}), "u")
    assert off.status is Status.FAIL and off.value("ups_on_line") == 0.0


def test_ups_recorded_minus_one_is_missing_not_zero():
    huawei = dict(read_snmprec(UPS_DUMPS["ups-huawei-gse200m"]))
    assert huawei[oids.UPS_ESTIMATED_MINUTES_REMAINING] == -1
    result = evaluate_ups(parse_ups(huawei), "u")
    assert result.value("ups_runtime") is None and result.value("battery_charge") is None
    assert "upsEstimatedMinutesRemaining=-1" in result.message


def test_ups_malformed_and_missing():
    bad = {
        oids.UPS_OUTPUT_SOURCE: b"3",
        oids.UPS_BATTERY_STATUS: 9,
        oids.UPS_ESTIMATED_CHARGE_REMAINING: 250,
        oids.UPS_ESTIMATED_MINUTES_REMAINING: None,
    }
    result = evaluate_ups(parse_ups(bad), "u")
    assert result.status is Status.UNKNOWN and result.values == {}
    assert "upsOutputSource=b'3'" in result.message
    assert evaluate_ups(parse_ups({}), "u").status is Status.UNKNOWN


@pytest.mark.parametrize(
    ("section", "status", "message", "values"),
    [
        (UpsSection(output_source=1, battery_status=2), Status.WARN, "other, battery normal", {}),
        (
            UpsSection(output_source=7, battery_status=2, minutes_remaining=65),
            Status.OK,
            "on line (reducing), battery normal, 1 h 5 min left",
            {"ups_on_line": 1.0, "ups_runtime": 3900.0},
        ),
        (
            UpsSection(output_source=4, battery_status=3),
            Status.WARN,
            "on bypass, battery low",
            {"ups_on_line": 1.0},
        ),
        (
            UpsSection(output_source=3, battery_status=1, charge_percent=40, seconds_on_battery=0),
            Status.WARN,
            "on line, battery status unknown, charge 40 %",
            {"ups_on_line": 1.0, "battery_charge": 0.4, "ups_seconds_on_battery": 0.0},
        ),
        (
            UpsSection(battery_status=2, invalid=("x=1",)),
            Status.OK,
            "battery normal (ignored values: x=1)",
            {},
        ),
        (
            UpsSection(invalid=("upsOutputSource=9",)),
            Status.UNKNOWN,
            "the device answers SNMP but neither the UPS-MIB (RFC 1628) nor a vendor UPS "
            "MIB read here (PowerNet-MIB (APC), XUPS-MIB (Eaton), LIEBERT-GP-POWER-MIB "
            "(Liebert/Emerson)); unusable values: upsOutputSource=9",
            {},
        ),
    ],
)
def test_ups_states(section, status, message, values):  # type: ignore[no-untyped-def]
    result = evaluate_ups(section, "u")
    assert (result.status, result.message) == (status, message)
    assert {k: v.value for k, v in result.values.items()} == values


# ------------------------------------------------------------------------ switch, counters

MAX64 = 2**64


def test_counter_across_the_64_bit_boundary():
    assert counter_delta(MAX64 - 100, 50) == 150
    assert counter_delta(MAX64 - 1, 0) == 1
    assert counter_rate(MAX64 - 1_000, 9_000, 10.0) == 1_000.0


def test_counter_reset_is_not_a_wrap():
    # A reboot: 10^12 then 5. "Wrapping" would mean ~1.8e19 bytes in 60 s.
    assert counter_delta(10**12, 5, max_delta=1.25e11 * 60) is None
    assert counter_rate(10**12, 5, 60.0) is None


def test_counter_32_bit_wrap_and_malformed():
    assert counter_delta(2**32 - 10, 10, bits=32) == 20
    assert counter_delta(-1, 5) is None and counter_delta(5, MAX64) is None
    assert counter_rate(1, 2, 0.0) is None


@given(st.integers(0, MAX64 - 1), st.integers(0, 10**12))
def test_counter_delta_property(previous, delta):  # type: ignore[no-untyped-def]
    assert counter_delta(previous, (previous + delta) % MAX64) == delta


def _iface_rows(index, oper, hc_in, admin=1, name="ge-0/0/1"):  # type: ignore[no-untyped-def]
    return [
        (f"{oids.IF_DESCR}.{index}", name.encode()),
        (f"{oids.IF_TYPE}.{index}", 6),
        (f"{oids.IF_ADMIN_STATUS}.{index}", admin),
        (f"{oids.IF_OPER_STATUS}.{index}", oper),
        (f"{oids.IF_NAME}.{index}", name.encode()),
        (f"{oids.IF_HC_IN_OCTETS}.{index}", hc_in),
        (f"{oids.IF_HC_OUT_OCTETS}.{index}", 0),
    ]


def test_switch_rates_between_two_polls_across_the_wrap():
    first = parse_switch(_iface_rows(1, 1, MAX64 - 500))
    second = parse_switch(_iface_rows(1, 1, 1_500))
    result = evaluate_switch(
        second, "s", previous=Poll(first, 100.0, 1000.0), current=Poll(second, 110.0, 1010.0)
    )
    assert result.value("if_in_rate") == (2_000 / 10) * 8  # bits per second
    rebooted = evaluate_switch(
        second, "s", previous=Poll(first, 100.0, 1000.0), current=Poll(second, 110.0, 5.0)
    )
    assert rebooted.value("if_in_rate") is None


def test_switch_recorded_and_uplinks():
    section = parse_switch(C3750_ROWS)
    up = next(i for i in section.interfaces if i.oper == 1 and i.if_type == 6)
    down = next(i for i in section.interfaces if i.admin == 1 and i.oper == 2)
    assert evaluate_switch(section, "s", uplinks=[up.name]).status is Status.OK
    failing = evaluate_switch(section, "s", uplinks=[up.name, down.name, "nope"])
    assert failing.status is Status.FAIL and failing.value("uplinks_down") == 2
    assert f"uplink {down.name} is down" in failing.message
    assert "uplink 'nope' not found" in failing.message


def test_switch_message_counts_errors_and_names_uplinks():
    section = SwitchSection(
        (
            Interface("1", "ge1", if_type=6, admin=1, oper=1, in_errors=3),
            Interface("2", "ge2", if_type=6, admin=1, oper=2, out_errors=2),
            Interface("3", "lo", if_type=24, admin=1, oper=2),
            Interface("4", "ge4", if_type=6, admin=2, oper=2),
        )
    )
    counts = "1 of 3 interfaces up, 1 enabled but down, 5 interface errors since restart"
    ok = evaluate_switch(section, "s", uplinks=["ge1"])
    assert (ok.status, ok.message) == (Status.OK, counts)
    assert {k: v.value for k, v in ok.values.items()} == {
        "interfaces_up": 1.0,
        "interfaces_down": 1.0,
        "if_errors": 5.0,
        "uplinks_down": 0.0,
    }
    failing = evaluate_switch(section, "s", uplinks=["ge2", "x"])
    assert (failing.status, failing.message) == (
        Status.FAIL,
        f"uplink ge2 is down; uplink 'x' not found ({counts})",
    )
    assert "uplinks_down" not in evaluate_switch(section, "s").values


def test_switch_malformed_rows():
    rows = [*_iface_rows(1, b"up", 5), *_iface_rows(2, 2, "1.3.6")]
    result = evaluate_switch(parse_switch(rows), "s")
    assert result.value("interfaces_up") == 0 and result.value("interfaces_down") == 1
    assert evaluate_switch(parse_switch([]), "s").status is Status.UNKNOWN


def test_a_switch_with_no_usable_interface_state_is_unknown_not_ok():
    # Every port's ifOperStatus garbled, "unknown" (4) or out of range: nothing was measured.
    rows = [*_iface_rows(1, b"up", 5), *_iface_rows(2, 4, 5), *_iface_rows(3, 99, 5)]
    result = evaluate_switch(parse_switch(rows), "s")
    assert result.status is Status.UNKNOWN
    assert "none of the 3 interfaces has a usable state" in result.message
    # One usable port is enough to judge the device.
    rows.extend(_iface_rows(4, 1, 5))
    assert evaluate_switch(parse_switch(rows), "s").status is Status.OK


# ------------------------------------------------------------------ pysnmp value conversion


def test_convert_pysnmp_values():
    from pysnmp.proto import rfc1902, rfc1905

    assert convert(rfc1905.NoSuchInstance()) is None
    assert convert(rfc1905.NoSuchObject()) is None
    assert convert(rfc1905.EndOfMibView()) is None
    assert convert(rfc1902.Counter64(MAX64 - 1)) == MAX64 - 1
    assert convert(rfc1902.TimeTicks(123)) == 123
    assert convert(rfc1902.Integer32(-3)) == -3
    assert convert(rfc1902.OctetString(b"\x20")) == b"\x20"
    assert convert(rfc1902.IpAddress("10.0.0.1")) == "10.0.0.1"
    assert convert(rfc1902.ObjectIdentifier("1.3.6.1.4.1.9")) == "1.3.6.1.4.1.9"


def test_printer_whose_states_are_both_unknown_is_unknown_not_up():
    """hrDeviceStatus unknown(1) and hrPrinterStatus unknown(2) with no supply level say
    nothing of the printer: unknown, and no printer_up."""
    section = PrinterSection(printer_status=2, device_status=1, missing=("prtMarkerSuppliesLevel",))
    result = evaluate_printer(section, "p")
    assert result.status is Status.UNKNOWN and result.values == {}
    assert result.message == (
        "the device answers but sends no usable printer status or supply level "
        "(hrDeviceStatus unknown; hrPrinterStatus unknown; not reported: prtMarkerSuppliesLevel)"
    )
    # A level is a measurement: judged, but printer_up stays unsaid.
    levelled = PrinterSection(
        supplies=(Supply("1.1", "black toner", 3, 3, 100, 50),), printer_status=2, device_status=1
    )
    result = evaluate_printer(levelled, "p")
    assert result.status is Status.OK and result.value("printer_up") is None
    # An error condition is a state: a jam with unknown statuses still fails.
    jammed = PrinterSection(printer_status=2, device_status=1, errors=("jammed",))
    assert evaluate_printer(jammed, "p").status is Status.FAIL
    # idle with an unknown device status: up.
    idle = PrinterSection(printer_status=3, device_status=1)
    assert evaluate_printer(idle, "p").value("printer_up") == 1.0
