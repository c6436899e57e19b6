"""checks.http, the agent's standard-library HTTP client, against real loopback servers:
kept-alive connections and their reopening, streamed bodies, bounded reads, proxies from the
environment, TLS verification and pinning, and errors named as the operator reads them."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from checks import http
from checks.tls import Pinned, tls_refusal


class _KeepAlive(BaseHTTPRequestHandler):
    """HTTP/1.1: answers ``/who`` with the client's port (one port = one connection), echoes
    ``POST /echo`` (chunked bodies too) and, as a proxy would, the request line on ``/line``
    or any absolute URL."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def _answer(self, body: bytes, close: bool = False) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        self.server.seen.append((self.requestline, dict(self.headers)))  # type: ignore[attr-defined]
        if self.path == "/who":
            self._answer(str(self.client_address[1]).encode())
        elif self.path == "/bye":
            self._answer(b"bye", close=True)
        elif self.path == "/big":
            self._answer(b"x" * 300_000 + b"NEEDLE" + b"y" * 300_000)
        else:
            self._answer(self.requestline.encode())

    def do_POST(self) -> None:  # noqa: N802
        if self.headers.get("Transfer-Encoding") == "chunked":
            body = b""
            while size := int(self.rfile.readline().strip(), 16):
                body += self.rfile.read(size)
                self.rfile.readline()
            self.rfile.readline()
        else:
            body = self.rfile.read(int(self.headers["Content-Length"]))
        self._answer(f"{len(body)} {hashlib.sha256(body).hexdigest()}".encode())


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _KeepAlive)
    srv.daemon_threads = True
    srv.seen = []  # type: ignore[attr-defined]
    srv.base = f"http://127.0.0.1:{srv.server_address[1]}"  # type: ignore[attr-defined]
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture(autouse=True)
def _no_proxy_from_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


def test_one_connection_kept_and_reopened_when_the_server_closes_it(server) -> None:
    client = http.Client(timeout_s=5)
    try:
        first = client.send("GET", server.base + "/who").text
        assert client.send("GET", server.base + "/who").text == first  # same connection
        assert client.send("GET", server.base + "/bye").text == "bye"  # the server closes
        third = client.send("GET", server.base + "/who").text
        assert third != first  # a new connection, opened by itself
    finally:
        client.close()


def test_streamed_body_is_sent_whole_in_chunks(server) -> None:
    chunks = [bytes([i]) * 70_000 for i in range(5)]
    data = b"".join(chunks)
    answer = asyncio.run(
        http.Client(timeout_s=5).arequest("POST", server.base + "/echo", content=iter(chunks))
    )
    assert answer.status_code == 200
    assert answer.text == f"{len(data)} {hashlib.sha256(data).hexdigest()}"


def test_read_limited_stops_at_the_needle_or_the_limit(server) -> None:
    client = http.Client(timeout_s=5)
    found = client.send("GET", server.base + "/big", consume=http.read_limited(1 << 20, b"NEEDLE"))
    assert b"NEEDLE" in found.content and len(found.content) < 600_000
    capped = client.send("GET", server.base + "/big", consume=http.read_limited(1000))
    assert len(capped.content) == 1000
    none = client.send("GET", server.base + "/big", consume=http.read_limited(0))
    assert none.content == b"" and none.status_code == 200


def test_refused_connection_is_a_connect_error_with_the_socket_error_as_cause(closed_port):
    with pytest.raises(http.ConnectError) as caught:
        http.get(f"http://127.0.0.1:{closed_port}/", timeout_s=2)
    assert isinstance(caught.value.__cause__, ConnectionRefusedError)
    assert "Connection refused" in str(caught.value)


def test_silent_server_is_a_timeout_within_the_bound(silent_server) -> None:
    host, port = silent_server
    started = time.monotonic()
    with pytest.raises(http.ReadTimeout):  # connected (the backlog), never answered
        http.get(f"http://{host}:{port}/", timeout_s=0.3)
    assert time.monotonic() - started < 2


def test_server_hanging_up_without_an_answer_is_a_protocol_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:

        def hang_up() -> None:
            conn, _ = listener.accept()
            conn.recv(4096)
            conn.close()

        thread = threading.Thread(target=hang_up, daemon=True)
        thread.start()
        port = listener.getsockname()[1]
        with pytest.raises(http.RemoteProtocolError, match="without response"):
            http.get(f"http://127.0.0.1:{port}/", timeout_s=5)
        thread.join(timeout=5)


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/", "http:///nohost", "http://127.0.0.1:99999/"])
def test_bad_url_is_unsupported_protocol(url: str) -> None:
    with pytest.raises(http.UnsupportedProtocol):
        http.get(url)


def test_proxy_from_the_environment_with_credentials(server, monkeypatch) -> None:
    """HTTP_PROXY: the request goes to the proxy in absolute form, with the proxy's
    credentials; NO_PROXY sends it straight to the server again."""
    monkeypatch.setenv("HTTP_PROXY", f"http://ops:s%40cret@127.0.0.1:{server.server_address[1]}")
    answer = http.get("http://commune.invalid:8321/api/v1/time", timeout_s=5)
    assert answer.text == "GET http://commune.invalid:8321/api/v1/time HTTP/1.1"
    line, headers = server.seen[-1]
    assert headers["Proxy-Authorization"] == "Basic b3BzOnNAY3JldA=="  # ops:s@cret
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert http.get(server.base + "/line", timeout_s=5).text == "GET /line HTTP/1.1"
    assert "Proxy-Authorization" not in server.seen[-1][1]  # never to the server itself
    # Without the environment (eq.cups asks the local cupsd): no proxy either.
    monkeypatch.delenv("NO_PROXY")
    direct = http.Client(timeout_s=5, trust_env=False).send("GET", server.base + "/line")
    assert direct.text == "GET /line HTTP/1.1"


@pytest.fixture
def tls_server(server, tls_cert):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*tls_cert)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    server.base = f"https://127.0.0.1:{server.server_address[1]}"
    return server


def _fingerprint(cert_pem) -> str:
    der = ssl.PEM_cert_to_DER_cert(cert_pem.read_text())
    return hashlib.sha256(der).hexdigest()


def test_tls_ca_file_pin_and_refusals(tls_server, tls_cert) -> None:
    cert = tls_cert[0]
    ok = http.get(tls_server.base + "/who", verify=str(cert), timeout_s=5)
    assert ok.status_code == 200 and ok.peer_cert_der and ok.peer_cert["notAfter"]
    pinned = http.get(
        tls_server.base + "/who", verify=Pinned(_fingerprint(cert), str(cert)), timeout_s=5
    )
    assert pinned.status_code == 200
    # The system store does not hold this self-signed certificate; a wrong pin is refused
    # during the handshake, before the request is sent.
    sent_before = len(tls_server.seen)
    for verify in (True, Pinned("0" * 64, str(cert))):
        with pytest.raises(http.ConnectError) as caught:
            http.get(tls_server.base + "/who", verify=verify, timeout_s=5)
        refusal = tls_refusal(caught.value)
        assert refusal is not None and "not trusted" in refusal
    assert len(tls_server.seen) == sent_before
    # verify=False: not verified, the certificate still read (its days left are shown).
    insecure = http.get(tls_server.base + "/who", verify=False, timeout_s=5)
    assert insecure.peer_cert == {} and insecure.peer_cert_der == ok.peer_cert_der


def test_unreadable_ca_file_is_the_os_error_itself(server, tmp_path) -> None:
    with pytest.raises(OSError) as caught:
        http.get("https://127.0.0.1:1/", verify=str(tmp_path / "missing.pem"))
    assert not isinstance(caught.value, http.HTTPError)


class _ConnectProxy:
    """A loopback HTTPS proxy: answers one ``CONNECT host:port`` per connection, records its
    request head, then relays bytes both ways (the TLS stays end to end)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.heads: list[str] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._tunnel, args=(client,), daemon=True).start()

    def _tunnel(self, client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            head += client.recv(4096)
        self.heads.append(head.decode())
        host, _, port = head.split()[1].decode().rpartition(":")
        upstream = socket.create_connection((host, int(port)), timeout=5)
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self.sock.close()


def test_https_through_a_connect_proxy_keeps_tls_end_to_end(tls_server, tls_cert, monkeypatch):
    """HTTPS_PROXY: a CONNECT tunnel with the proxy's credentials in the CONNECT only; the
    server's certificate is still verified (and pinned) through it."""
    proxy = _ConnectProxy()
    try:
        monkeypatch.setenv("HTTPS_PROXY", f"http://ops:pw@127.0.0.1:{proxy.port}")
        cert = str(tls_cert[0])
        answer = http.get(tls_server.base + "/line", verify=Pinned(_fingerprint(tls_cert[0]), cert))
        assert answer.text == "GET /line HTTP/1.1"
        port = tls_server.server_address[1]
        assert proxy.heads[-1].startswith(f"CONNECT 127.0.0.1:{port} HTTP/1.")
        assert "Proxy-Authorization: Basic b3BzOnB3" in proxy.heads[-1]  # ops:pw
        assert "Proxy-Authorization" not in tls_server.seen[-1][1]
        with pytest.raises(http.ConnectError) as caught:  # not trusted, tunnel or not
            http.get(tls_server.base + "/line", verify=True, timeout_s=5)
        assert tls_refusal(caught.value) is not None
    finally:
        proxy.close()
