"""Fixtures of the security tests: a throwaway PKI, HTTPS collectors, agent configurations."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from collector.api.app import create_app
from collector.api.server import BackgroundServer, TLSFiles
from collector.config import CollectorConfig
from collector.service import Services
from tests.conftest import app_config
from tests.peers.pki import CA, ServerCert, issue_server, make_ca

HK = "00070"  # Phường Hoàn Kiếm (Hà Nội)
BIN = Path(sys.executable).parent

#: Checks that would reach beyond the test (default public targets) or wait on peers that
#: are not there: off, so a cycle takes well under a second.
QUIET_CHECKS: dict[str, Any] = {
    cid: {"enabled": False}
    for cid in (
        "net.dns",
        "net.portal",
        "net.dedicated",
        "net.gateway",
        "net.tcp",
        "net.http",
        "svc.http",
        "net.throughput",
        "vc.quality",
        "vc.stun",
        "vc.sip",
        "vc.h323",
        "vc.devices",
        "net.interfaces",
    )
}


def agent_config(url: str, state_dir: Path, **collector: Any) -> dict[str, Any]:
    return {
        "collector": {"url": url, "timeout_s": 10, **collector},
        "state_dir": str(state_dir),
        "host": "pasc-pc-1",
        "interval_s": 60,
        "sender": {"backoff_base_s": 0.05, "backoff_cap_s": 0.2},
        "checks": dict(QUIET_CHECKS),
    }


class PKI:
    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.ca: CA = make_ca(directory, "IOC province CA")
        self.other_ca: CA = make_ca(directory, "Some other CA")
        self.good: ServerCert = issue_server(self.ca, directory, stem="good")

    def server(self, **kw: Any) -> ServerCert:
        return issue_server(self.ca, self.dir, **kw)


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    return PKI(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def serve(services: Services) -> Iterator[Callable[..., str]]:
    """Start real collectors on ``store`` with ``config`` (HTTPS with ``cert``); each
    call returns the new collector's URL, and all are stopped after the test."""
    servers: list[BackgroundServer] = []

    def start(config: CollectorConfig | None = None, cert: ServerCert | None = None) -> str:
        app = create_app(services, config or app_config())
        tls = None if cert is None else TLSFiles(cert.cert_file, cert.key_file)
        server = BackgroundServer(app, tls=tls)
        servers.append(server)
        return server.start()

    try:
        yield start
    finally:
        for s in servers:
            s.stop()


@pytest.fixture
def https_collector(serve: Callable[..., str]) -> Callable[..., str]:
    """Start a real collector over HTTPS with the given certificate; returns its URL."""
    return lambda cert, config=None: serve(config, cert)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IOC_")}
    env.update({"PYTHONUNBUFFERED": "1", "NO_COLOR": "1", "COLUMNS": "200", **extra})
    return env


def wait_http(
    url: str, proc: subprocess.Popen[Any], verify: Any = True, timeout_s: float = 30.0
) -> None:
    """Until ``url`` answers (the subprocess collector is up), or fail with its output."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"collector exited with {proc.returncode}")
        try:
            if httpx.get(url, verify=verify, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {timeout_s} s")
