"""eq.device: TCP, HTTP and RTSP OPTIONS against small local responders on 127.0.0.1."""

from __future__ import annotations

import asyncio
import http.server
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from checks.base import CheckContext
from checks.equipment.devices import (
    Device,
    DevicesConfig,
    EquipmentDeviceCheck,
    parse_rtsp_status,
    probe_rtsp,
    rtsp_options_request,
)
from checks.model import Status
from checks.network.probes import Failure
from checks.runner import run_check


class RtspResponder:
    """A minimal RTSP server: answers OPTIONS with a fixed status line, records requests."""

    def __init__(self, status_line: bytes = b"RTSP/1.0 200 OK") -> None:
        self.status_line = status_line
        self.requests: list[bytes] = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(2)
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                self.requests.append(data)
                cseq = next(
                    (
                        line.split(b":", 1)[1].strip()
                        for line in data.split(b"\r\n")
                        if line.lower().startswith(b"cseq:")
                    ),
                    b"0",
                )
                conn.sendall(
                    self.status_line
                    + b"\r\nCSeq: "
                    + cseq
                    + b"\r\nPublic: OPTIONS, DESCRIBE, SETUP, TEARDOWN, PLAY\r\n\r\n"
                )

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


@pytest.fixture
def rtsp() -> Iterator[RtspResponder]:
    server = RtspResponder()
    yield server
    server.close()


@pytest.fixture
def silent() -> Iterator[int]:
    """Accepts connections (kernel backlog) and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield sock.getsockname()[1]
    sock.close()


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def web() -> Iterator[int]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            code = 401 if self.path == "/login" else 200
            self.send_response(code)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def run(devices: list[dict], probe_timeout_s: float = 1.0):
    config = DevicesConfig.model_validate({"devices": devices, "probe_timeout_s": probe_timeout_s})
    check = EquipmentDeviceCheck(config)
    return asyncio.run(run_check(check, CheckContext(host="t")))


def test_options_request_is_rfc2326_shaped():
    assert rtsp_options_request("127.0.0.1", 8554) == (
        b"OPTIONS rtsp://127.0.0.1:8554/ RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: commune-ioc\r\n\r\n"
    )
    assert rtsp_options_request("::1", 554, "stream1").startswith(
        b"OPTIONS rtsp://[::1]:554/stream1 RTSP/1.0\r\n"
    )
    assert parse_rtsp_status(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n") == 200
    assert parse_rtsp_status(b"RTSP/2.0 401 Unauthorized\r\n") == 401
    assert parse_rtsp_status(b"HTTP/1.1 200 OK\r\n") is None
    assert parse_rtsp_status(b"") is None


def test_rtsp_camera_answers(rtsp):
    outcome = asyncio.run(probe_rtsp("127.0.0.1", rtsp.port, 2.0))
    assert outcome.failure is Failure.NONE and outcome.code == 200
    assert rtsp.requests[0].startswith(
        f"OPTIONS rtsp://127.0.0.1:{rtsp.port}/ RTSP/1.0\r\nCSeq: 1\r\n".encode()
    )
    [result] = run(
        [
            {
                "name": "camera-1",
                "kind": "camera",
                "protocol": "rtsp",
                "host": "127.0.0.1",
                "port": rtsp.port,
            }
        ]
    )
    assert result.status is Status.OK and result.target == "camera-1"
    assert result.value("device_up") == 1.0
    assert 0 < result.value("response_time") < 2
    assert result.values["response_time"].unit == "seconds"
    assert "RTSP 200" in result.message


def test_rtsp_needing_credentials_is_up_but_a_server_error_is_not():
    auth = RtspResponder(b"RTSP/1.0 401 Unauthorized")
    broken = RtspResponder(b"RTSP/1.0 503 Service Unavailable")
    try:
        a, b = run(
            [
                {"name": "cam-auth", "protocol": "rtsp", "host": "127.0.0.1", "port": auth.port},
                {"name": "cam-503", "protocol": "rtsp", "host": "127.0.0.1", "port": broken.port},
            ]
        )
    finally:
        auth.close()
        broken.close()
    assert a.status is Status.OK
    assert b.status is Status.FAIL and b.value("device_up") == 0.0 and "RTSP 503" in b.message


def test_silent_rtsp_fails_within_the_deadline(silent):
    start = time.monotonic()
    [result] = run(
        [
            {
                "name": "camera-2",
                "kind": "camera",
                "protocol": "rtsp",
                "host": "127.0.0.1",
                "port": silent,
            }
        ],
        probe_timeout_s=1.0,
    )
    assert time.monotonic() - start < 1.0 + 0.5
    assert result.status is Status.FAIL and result.value("device_up") == 0.0
    assert "timeout" in result.message


def test_not_rtsp_speaking_server_fails(web):
    [result] = run([{"name": "cam", "protocol": "rtsp", "host": "127.0.0.1", "port": web}])
    assert result.status is Status.FAIL and "not an RTSP answer" in result.message


def test_tcp_and_http_devices(web, closed_port):
    results = run(
        [
            {
                "name": "may-cap-so",
                "kind": "queue",
                "protocol": "http",
                "url": f"http://127.0.0.1:{web}/",
            },
            {
                "name": "danh-gia",
                "kind": "satisfaction",
                "protocol": "http",
                "url": f"http://127.0.0.1:{web}/login",
            },
            {
                "name": "kiosk",
                "kind": "satisfaction",
                "protocol": "tcp",
                "host": "127.0.0.1",
                "port": web,
            },
            {
                "name": "camera-3",
                "kind": "camera",
                "protocol": "tcp",
                "host": "127.0.0.1",
                "port": closed_port,
            },
        ]
    )
    assert [r.status for r in results] == [Status.OK, Status.OK, Status.OK, Status.FAIL]
    assert [r.value("device_up") for r in results] == [1.0, 1.0, 1.0, 0.0]
    assert "connection refused" in results[3].message


def test_unresolvable_is_unknown(monkeypatch):
    def no_dns(host, *a, **k):  # no query leaves the machine
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known (test)")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    [result] = run([{"name": "x", "protocol": "tcp", "host": "queue.pasc.example", "port": 80}])
    assert result.status is Status.UNKNOWN and "device_up" not in result.values


def test_config_is_validated():
    with pytest.raises(ValueError, match="needs url"):
        Device(name="q", protocol="http")
    with pytest.raises(ValueError, match="needs port"):
        Device(name="q", protocol="tcp", host="127.0.0.1")
    with pytest.raises(ValueError, match="unique"):
        DevicesConfig.model_validate(
            {"devices": [{"name": "a", "protocol": "rtsp", "host": "127.0.0.1"}] * 2}
        )
    [r] = run([])
    assert r.status is Status.UNKNOWN
