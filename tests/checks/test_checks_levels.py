"""checks.levels.levels: one judgement of a value against warn/fail levels."""

from __future__ import annotations

import pytest

from checks.levels import levels, percent
from checks.model import Status


@pytest.mark.parametrize(
    ("value", "status"),
    [
        (0.5, Status.OK),
        (0.9, Status.OK),
        (0.91, Status.WARN),
        (0.95, Status.WARN),
        (0.96, Status.FAIL),
    ],
)
def test_upper_levels_are_strict(value, status):
    assert levels(value, warn_above=0.9, fail_above=0.95).status is status


@pytest.mark.parametrize(
    ("value", "status"),
    [
        (0.30, Status.OK),
        (0.20, Status.OK),
        (0.15, Status.WARN),
        (0.10, Status.WARN),
        (0.05, Status.FAIL),
    ],
)
def test_lower_levels_are_strict(value, status):
    assert levels(value, warn_below=0.20, fail_below=0.10).status is status


def test_text_names_the_value_and_its_levels():
    judged = levels(0.08, warn_below=0.20, fail_below=0.10, fmt=percent)
    assert judged.status is Status.FAIL
    assert judged.value_text == "8%"
    assert judged.text == "8% (warn below 20%, fail below 10%)"
    assert judged.bound == 0.10 and judged.side == "below" and judged.bound_text == "10%"
    assert judged.crossed == "< 10%"


def test_unit_follows_the_value_and_no_levels_is_ok():
    judged = levels(0.62, warn_above=0.5, unit="s")
    assert judged.status is Status.WARN and judged.crossed == "> 0.5 s"
    assert judged.text == "0.62 s (warn above 0.5 s)"
    plain = levels(3.0)
    assert plain.status is Status.OK and plain.text == "3" and plain.crossed == ""


def test_fail_wins_over_warn_and_both_directions():
    judged = levels(120.0, warn_above=30, fail_above=60, warn_below=1)
    assert judged.status is Status.FAIL and judged.bound == 60
    assert levels(0.5, warn_above=30, fail_above=60, warn_below=1).status is Status.WARN
