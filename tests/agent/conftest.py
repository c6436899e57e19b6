"""Fixtures for agent tests: a scripted stand-in collector (loopback guard: tests/conftest.py)."""

from __future__ import annotations

import http.server
import json
import socket
import threading
from collections import deque
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def state_dir(tmp_path, monkeypatch: pytest.MonkeyPatch):
    """Never touch /var/lib/ioc-agent from a test."""
    path = tmp_path / "state"
    monkeypatch.setenv("IOC_AGENT_STATE_DIR", str(path))
    return path


Reply = tuple[int, dict[str, str], Any]


class Collector(http.server.ThreadingHTTPServer):
    """Answers each POST from a script (a queue of replies or a function of the request);
    records every request as (method, path, headers, json body)."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.base = f"http://127.0.0.1:{self.server_address[1]}"
        self.requests: list[tuple[str, str, dict[str, str], Any]] = []
        self.script: deque[Reply | Callable[[Any], Reply]] = deque()
        self.default: Callable[[Any], Reply] = ack_all

    def reply(self, body: Any) -> Reply:
        item = self.script.popleft() if self.script else self.default
        return item(body) if callable(item) else item


def ack_all(body: Any) -> Reply:
    seqs = [r["seq"] for r in body["reports"]]
    return (
        200,
        {},
        {
            "accepted": len(seqs),
            "duplicates": 0,
            "acked_seqs": seqs,
            "server_time": datetime.now(UTC).isoformat(),
        },
    )


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Collector

    def log_message(self, *args: object) -> None:
        pass

    def _answer(self, body: Any) -> None:
        self.server.requests.append((self.command, self.path, dict(self.headers), body))
        status, headers, payload = self.server.reply(body)
        data = json.dumps(payload).encode()
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length", 0))
        raw = self.rfile.read(length)
        self._answer(json.loads(raw) if raw else None)

    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/api/v1/time":
            self.server.requests.append(("GET", self.path, dict(self.headers), None))
            data = json.dumps({"server_time": datetime.now(UTC).isoformat()}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        else:
            self._answer(None)


@pytest.fixture
def collector() -> Iterator[Collector]:
    server = Collector()
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port
