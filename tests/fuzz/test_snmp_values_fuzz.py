"""Hypothesis over the equipment profiles' parse and evaluate functions (checks/equipment/)
with any value a device might send at the OIDs they read: integers of any size and sign
(negative gauges, counters past 64 bits), octet strings of any bytes, OIDs, nothing.

Whatever the values, parse never raises and evaluate returns a valid CheckResult (finite
figures, a status, a message): a wrong value is ignored or makes the result ``unknown``,
never a crash that would cost the device's (or the cycle's) other results.
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from checks.equipment import oids
from checks.equipment.printer import evaluate_printer, parse_printer
from checks.equipment.profiles import detect_kind, parse_identity
from checks.equipment.snmp_checks import evaluate_host
from checks.equipment.switch import Poll, evaluate_switch, parse_switch
from checks.equipment.ups import evaluate_ups, parse_ups
from checks.model import CheckResult

EXAMPLES = 300
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None)

snmp_values = st.one_of(
    st.none(),
    st.integers(),
    st.integers(min_value=-(2**31), max_value=2**64 + 5),
    st.sampled_from(
        [-1, 0, 1, 2, 3, 4, 5, 2**31 - 1, -(2**31), 2**32 - 1, 2**63, 2**64 - 1, 10**400]
    ),
    st.binary(max_size=40),
    st.sampled_from([b"", b"\x00", b"\xff\xfe", b"\x80", b"\x00" * 300, "1.3.6.1.4.1.9.1.516"]),
    st.text(max_size=20),
)
indexes = st.sampled_from(["1", "2", "1.1", "0", "4294967295", "", "x"])


def _valid(result: CheckResult) -> None:
    assert isinstance(result, CheckResult)
    CheckResult.model_validate(result.model_dump())  # what the collector would accept
    for v in result.values.values():
        assert math.isfinite(v.value)


@FUZZ
@given(
    values=st.dictionaries(st.sampled_from(oids.IDENTITY), snmp_values),
    probe=st.lists(
        st.tuples(st.sampled_from([oids.HR_PRINTER_STATUS + ".1"]), snmp_values), max_size=2
    ),
)
@example(values={oids.SYS_UPTIME: 10**400}, probe=[])
@example(values={oids.SYS_UPTIME: -5, oids.SYS_DESCR: b"\xff\x00"}, probe=[])
def test_identity_with_any_values(values: dict[str, Any], probe: list[Any]) -> None:
    identity = parse_identity(values, probe)
    kind = detect_kind(identity)
    _valid(evaluate_host(identity, "dev", kind))


def _rows(cols: tuple[str, ...]) -> st.SearchStrategy[list[tuple[str, Any]]]:
    return st.lists(
        st.tuples(
            st.tuples(st.sampled_from(cols), indexes).map(lambda t: f"{t[0]}.{t[1]}"), snmp_values
        ),
        max_size=12,
    )


@FUZZ
@given(
    rows=_rows((*oids.PRINTER_COLUMNS, oids.HR_DEVICE_STATUS)),
)
@example(
    rows=[
        (oids.PRT_MARKER_SUPPLIES_MAX_CAPACITY + ".1.1", 0),
        (oids.PRT_MARKER_SUPPLIES_LEVEL + ".1.1", 10**400),
    ],
)
def test_printer_with_any_values(rows: list[Any]) -> None:
    _valid(evaluate_printer(parse_printer(rows), "printer"))


@FUZZ
@given(values=st.dictionaries(st.sampled_from(oids.UPS_SCALARS), snmp_values))
@example(values={oids.UPS_ESTIMATED_MINUTES_REMAINING: 10**400, oids.UPS_BATTERY_STATUS: 2})
@example(values={oids.UPS_ESTIMATED_CHARGE_REMAINING: -7, oids.UPS_BATTERY_STATUS: b"2"})
def test_ups_with_any_values(values: dict[str, Any]) -> None:
    _valid(evaluate_ups(parse_ups(values), "ups"))


@FUZZ
@given(
    before=_rows(oids.SWITCH_COLUMNS),
    after=_rows(oids.SWITCH_COLUMNS),
    elapsed=st.floats(min_value=-10, max_value=1e6, allow_nan=False),
    uptimes=st.tuples(
        st.none() | st.floats(min_value=0, max_value=1e12),
        st.none() | st.floats(min_value=0, max_value=1e12),
    ),
    uplinks=st.lists(st.sampled_from(["Gi0/1", "uplink", "1", ""]), max_size=2),
)
# Defects found here: an error counter or uptime past float range raised OverflowError.
@example(
    before=[(oids.IF_OPER_STATUS + ".1", 1), (oids.IF_IN_ERRORS + ".1", 10**400)],
    after=[],
    elapsed=1.0,
    uptimes=(None, None),
    uplinks=[],
)
def test_switch_with_any_values_over_two_polls(
    before: list[Any],
    after: list[Any],
    elapsed: float,
    uptimes: tuple[Any, Any],
    uplinks: list[str],
) -> None:
    first, second = parse_switch(before), parse_switch(after)
    previous = Poll(first, 1000.0, uptimes[0])
    current = Poll(second, 1000.0 + elapsed, uptimes[1])
    _valid(evaluate_switch(first, "sw", uplinks=uplinks))
    _valid(evaluate_switch(second, "sw", uplinks=uplinks, previous=previous, current=current))
