"""Hypothesis over the Windows backend's parse functions: any text, and any JSON that
``ConvertTo-Json`` could print with the right keys but wrong values, gives a fact or a
BackendError ("could not measure"), never another exception."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checks.backend import BackendError
from checks.backend import windows_parse as wp
from tests.peers.windows_shell import HEALTHY, sample

PARSERS: dict[str, Callable[[str], Any]] = {
    "routes": wp.parse_routes,
    "neighbours": wp.parse_neighbours,
    "av_devices": wp.parse_av_devices,
    "usb": wp.parse_usb_devices,
    "certificates": wp.parse_store_certificates,
    "firewall": wp.parse_firewall,
    "security_center": wp.parse_security_center,
    "defender": wp.parse_defender,
    "updates": wp.parse_last_update,
    "time": wp.parse_time_sync,
}

#: The keys the scripts print, so that values (not only shapes) are exercised.
KEYS = [
    "DestinationPrefix", "NextHop", "RouteMetric", "InterfaceMetric", "InterfaceAlias",
    "IPAddress", "LinkLayerAddress", "State", "Class", "FriendlyName", "InstanceId", "Status",
    "Manufacturer", "Store", "Subject", "Issuer", "NotBefore", "NotAfter", "HasPrivateKey",
    "Thumbprint", "Name", "Enabled", "displayName", "productState", "AMServiceEnabled",
    "AntivirusEnabled", "RealTimeProtectionEnabled", "AntivirusSignatureAge", "Source",
    "Title", "Date", "Service", "Type", "NtpServer",
]  # fmt: skip

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([float("inf"), float("-inf"), float("nan"), 1e300]),
    st.text(max_size=40),
    st.sampled_from(
        ["0.0.0.0/0", "10.0.0.1", "/Date(99999999999999999)/", "/Date(-1)/",
         "/Date(-99999999999999999)/",
         "9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+01:00", "Running",
         "USB\\VID_096E&PID_0807", "SWD\\MMDEVAPI\\{0.0.1.00000000}.{x}", "9999-12-31T23:59:59Z",
         "Leap Indicator: 3\nStratum: x\n" * 5, "True", "NotConfigured", "OK"]
    ),
)  # fmt: skip
OBJECTS = st.dictionaries(st.sampled_from(KEYS), SCALARS, max_size=12)
OUTPUTS = st.one_of(OBJECTS, st.lists(OBJECTS, max_size=4), SCALARS)


def answer_or_backend_error(parse: Callable[[str], Any], text: str) -> None:
    with contextlib.suppress(BackendError):
        parse(text)


@pytest.mark.parametrize("fact", sorted(PARSERS))
@settings(max_examples=150, deadline=None)
@given(data=OUTPUTS)
def test_any_json_is_a_fact_or_a_backend_error(fact, data):
    answer_or_backend_error(PARSERS[fact], json.dumps(data))


@pytest.mark.parametrize("fact", sorted(PARSERS))
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_a_recorded_sample_with_hostile_values_is_a_fact_or_a_backend_error(fact, data):
    """A healthy sample with one to three of its values replaced (Infinity as a metric, a
    date past year 9999, a number where text was): the keys are right, the values not."""
    items = wp.json_items(sample(HEALTHY[fact]), fact)
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        item = data.draw(st.sampled_from(items))
        item[data.draw(st.sampled_from(sorted(item)))] = data.draw(SCALARS)
    answer_or_backend_error(PARSERS[fact], json.dumps(items))


@pytest.mark.parametrize("fact", sorted(PARSERS))
@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=200))
def test_any_text_is_a_fact_or_a_backend_error(fact, text):
    answer_or_backend_error(PARSERS[fact], text)
