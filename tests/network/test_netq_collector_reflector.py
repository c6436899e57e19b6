"""The collector app starts its UDP reflector when Settings ask (as `ioc-collector serve`
does from `reflector_port`), and not otherwise."""

from __future__ import annotations

import asyncio

from checks.network.quality import probe_udp
from collector.api.app import Settings, create_app
from collector.config import CollectorConfig
from collector.server import BackgroundServer
from tests.integration.peers import free_port


def test_app_lifespan_serves_the_reflector(store):
    port = free_port()
    app = create_app(store, Settings(reevaluate_every_s=0, reflector_port=port))
    with BackgroundServer(app):
        outcome = asyncio.run(probe_udp("127.0.0.1", port, count=5, interval_s=0.005,
                                        wait_s=0.5))
    assert outcome.section is not None and outcome.section.received == 5


def test_reflector_off_by_default_in_app_settings_on_in_serve_config(store):
    assert Settings().reflector_port is None
    assert CollectorConfig().reflector_port == 8322
    port = free_port()
    with BackgroundServer(create_app(store, Settings(reevaluate_every_s=0))):
        outcome = asyncio.run(probe_udp("127.0.0.1", port, count=5, interval_s=0.005,
                                        wait_s=0.3))
    assert outcome.section is not None and outcome.section.received == 0
