"""The collector app starts its UDP reflector when its configuration names a port (as
`ioc-collector serve` does by default), and not when the port is 0."""

from __future__ import annotations

import asyncio

import pytest

from checks.network.quality import probe_udp
from collector.api.app import create_app
from collector.api.server import BackgroundServer
from collector.config import CollectorConfig
from tests.conftest import app_config
from tests.peers.prometheus import free_port

# The UDP reflector: the database is only the store behind it, the same on either
# engine (any_engine: the PostgreSQL pass leaves it out).
pytestmark = pytest.mark.any_engine


def test_app_lifespan_serves_the_reflector(services):
    port = free_port()
    app = create_app(services, app_config(reflector_port=port))
    with BackgroundServer(app):
        outcome = asyncio.run(probe_udp("127.0.0.1", port, count=5, interval_s=0.005, wait_s=0.5))
    assert outcome.section is not None and outcome.section.received == 5


def test_reflector_on_by_default_in_the_configuration_off_with_port_0(services):
    assert CollectorConfig().reflector_port == 8322
    port = free_port()
    with BackgroundServer(create_app(services, app_config(reflector_port=0))):
        outcome = asyncio.run(probe_udp("127.0.0.1", port, count=5, interval_s=0.005, wait_s=0.3))
    assert outcome.section is not None and outcome.section.received == 0
