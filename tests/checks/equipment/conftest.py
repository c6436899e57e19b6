"""Session-wide SNMP peers for the equipment tests (started once, on free loopback ports)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import pytest

from tests.conftest import REQUIRE_INTEGRATION, require_binary


def require_snmpsim() -> None:
    """snmpsim + snmpsim-data are dev dependencies: skip without them, FAIL on CI."""
    missing = [m for m in ("snmpsim", "snmpsim_data") if importlib.util.find_spec(m) is None]
    if missing:
        msg = f"real peer {missing} not installed (pip install -e '.[dev]')"
        if REQUIRE_INTEGRATION:
            pytest.fail(msg)
        pytest.skip(msg)


@pytest.fixture(scope="session")
def snmpsim() -> Iterator[object]:
    require_snmpsim()
    from tests.peers.snmp import ALL_DUMPS, Snmpsim

    sim = Snmpsim(ALL_DUMPS)
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture(scope="session")
def snmpd() -> Iterator[object]:
    binary = require_binary("snmpd")
    from tests.peers.snmp import Snmpd

    server = Snmpd(binary)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def silent_udp() -> Iterator[object]:
    from tests.peers.snmp import SilentUdp

    sock = SilentUdp()
    try:
        yield sock
    finally:
        sock.close()
