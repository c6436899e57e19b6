"""A reflector port that cannot be opened: the collector serves on and says, Vietnamese first,
what is lost (the vc.quality measurements, the criterion that reads them) and what to do."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import httpx
import pytest

from collector.api.app import create_app
from collector.api.server import BackgroundServer
from tests.conftest import app_config

# The UDP reflector: the database is only the store behind it, the same on either
# engine (any_engine: the PostgreSQL pass leaves it out).
pytestmark = pytest.mark.any_engine


@pytest.fixture
def busy_udp_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        yield int(s.getsockname()[1])


def test_a_busy_reflector_port_says_what_is_lost(
    services, busy_udp_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(services, app_config(reflector_port=busy_udp_port))
    with caplog.at_level(logging.ERROR, logger="collector"), BackgroundServer(app) as url:
        assert httpx.get(f"{url}/healthz").status_code == 200  # ingest goes on
    [message] = [r.getMessage() for r in caplog.records if "vc.quality" in r.getMessage()]
    assert f"127.0.0.1:{busy_udp_port}" in message
    vi = message.index("Không mở được bộ phản xạ UDP")
    en = message.index("UDP reflector for vc.quality not started")
    assert vi < en
    assert message.count("VC-02") == 2 and message.count("--reflector-port") == 2
    assert "không rõ" in message and "unknown" in message
