"""The agent's own HTTP client, on the standard library (``http.client``), not httpx.

``ioc-agent run`` pushes a report a minute, asks for the levels and the time: a dozen
requests that need no HTTP/2, no connection pool and no async transport. httpx with its
transport stack costs about 4 MiB of resident memory and 30 ms of start-up in a process that
measures a commune PC (docs/BENCHMARKS.md, agent footprint); this module costs next to
nothing beyond ``ssl``, which the agent needs anyway.

What it keeps from httpx's behaviour as the agent used it:

* TLS: the context comes from :func:`checks.tls.httpx_verify` (the same verification,
  the same pin checked in the handshake, before the request and its token are sent; one
  context shared by every client) — ``verify=False`` is an unverified context;
* proxies from the environment (``HTTPS_PROXY``, ``HTTP_PROXY``, ``ALL_PROXY``, ``NO_PROXY``,
  as httpx's ``trust_env``; a proxy's ``user:password@`` becomes ``Proxy-Authorization``),
  through ``CONNECT`` for HTTPS;
* the timeout bounds the connection, and every read and write of it (httpx's
  ``Timeout(x)``); redirects are not followed;
* errors: :class:`HTTPError` and its subclasses, named as httpx names them
  (``ConnectError``, ``ConnectTimeout``, ``ReadTimeout``, ``ReadError``,
  ``RemoteProtocolError``, ``UnsupportedProtocol``) so the operator's messages read as
  before; the socket or TLS error is the ``__cause__`` (:func:`checks.tls.tls_refusal`
  walks it).

A :class:`Client` keeps one connection open between requests (keep-alive) and opens a new
one when the server closed it. Blocking calls; :meth:`Client.arequest` runs one in a thread
for the asyncio code.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import http.client
import json
import ssl
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.message import Message
from typing import Any
from urllib.parse import unquote, urlsplit

from checks.tls import TLSVerify, httpx_verify


class HTTPError(Exception):
    """A request that got no HTTP answer (or a 4xx/5xx with :meth:`Response.raise_for_status`)."""


class TransportError(HTTPError):
    """The connection failed: the cause is the socket or TLS error."""


class ConnectError(TransportError):
    pass


class ReadError(TransportError):
    pass


class TimeoutException(TransportError):
    pass


class ConnectTimeout(TimeoutException):
    """No connection (TCP, a proxy's tunnel, the TLS handshake) within the timeout."""


class ReadTimeout(TimeoutException):
    """Connected, but the answer did not come within the timeout."""


class RemoteProtocolError(TransportError):
    """The server closed the connection or answered something that is not HTTP."""


class UnsupportedProtocol(HTTPError):
    pass


class HTTPStatusError(HTTPError):
    pass


@dataclass
class Response:
    status_code: int
    reason_phrase: str
    headers: Message
    content: bytes
    url: str = ""
    #: The server's certificate on HTTPS: DER, and as ``getpeercert()`` gives it (empty
    #: when it was not verified).
    peer_cert_der: bytes | None = None
    peer_cert: dict[str, Any] = field(default_factory=dict)
    #: Seconds from sending the request (connecting included) to the answer's headers.
    elapsed_s: float = 0.0

    @property
    def text(self) -> str:
        charset = self.headers.get_content_charset() or "utf-8"
        return self.content.decode(charset, errors="replace")

    def json(self) -> Any:
        """The body as JSON; ValueError when it is not."""
        return json.loads(self.content)

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise HTTPStatusError(f"HTTP {self.status_code} {self.reason_phrase} for {self.url}")


#: An answer whose body is still to be read (what a ``consume`` function gets).
RawResponse = http.client.HTTPResponse
#: Reads an answer's body (in the request's thread); what it returns is ``content``.
Consume = Callable[[http.client.HTTPResponse], bytes]
#: A request body: bytes, or chunks sent as they come (chunked transfer encoding).
Body = bytes | Iterable[bytes]


def _read_all(resp: http.client.HTTPResponse) -> bytes:
    return resp.read()


def read_limited(max_body: int, stop_at: bytes | None = None) -> Consume:
    """Read at most ``max_body`` bytes of the body (0: none), stopping early once
    ``stop_at`` is in what was read."""

    def consume(resp: http.client.HTTPResponse) -> bytes:
        body = b""
        while len(body) < max_body and not (stop_at and stop_at in body):
            chunk = resp.read1(min(65536, max_body - len(body)))
            if not chunk:
                break
            body += chunk
        return body

    return consume


@functools.cache
def _unverified() -> ssl.SSLContext:
    """The context of ``verify=False``, built once like the verifying ones."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def tls_context(verify: TLSVerify | ssl.SSLContext) -> ssl.SSLContext:
    """The context of :func:`checks.tls.httpx_verify` for ``verify`` (shared, built once);
    ``False``: no verification; a context is used as it is. Reading a CA file may raise
    OSError."""
    if isinstance(verify, ssl.SSLContext):
        return verify
    ctx = httpx_verify(verify)
    return ctx if isinstance(ctx, ssl.SSLContext) else _unverified()


def _proxy_for(scheme: str, host: str) -> str | None:
    proxies = urllib.request.getproxies()
    proxy = proxies.get(scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass(host):
        return None
    return proxy if "://" in proxy else f"http://{proxy}"


@dataclass
class _Target:
    scheme: str
    host: str
    port: int
    path: str


def _target(url: str) -> _Target:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsupportedProtocol(f"Request URL has an unsupported protocol '{parts.scheme}://'")
    if not parts.hostname:
        raise UnsupportedProtocol(f"Request URL is missing a host: {url!r}")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsupportedProtocol(f"Invalid port in URL {url!r}") from exc
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return _Target(parts.scheme, parts.hostname, port, path)


@dataclass
class Client:
    """Requests to one or more servers with the same TLS verification, timeout and default
    headers; one kept-alive connection at a time."""

    verify: TLSVerify | ssl.SSLContext = True
    timeout_s: float = 10.0
    headers: dict[str, str] = field(default_factory=dict)
    trust_env: bool = True
    _conn: http.client.HTTPConnection | None = field(default=None, init=False, repr=False)
    _key: tuple[str, str, int] | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _closing: bool = field(default=False, init=False, repr=False)
    #: Through a plain-HTTP proxy: the headers it needs (its credentials), else None.
    _proxied: dict[str, str] | None = field(default=None, init=False, repr=False)

    def close(self) -> None:
        """Close the kept connection; a request under way (in its thread) closes it when
        it ends, so this never blocks the event loop."""
        if self._lock.acquire(blocking=False):
            try:
                self._drop()
            finally:
                self._lock.release()
        else:
            self._closing = True

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn, self._key, self._closing, self._proxied = None, None, False, None

    def _connection(self, t: _Target) -> tuple[http.client.HTTPConnection, bool]:
        """The connection for ``t``: the kept one, or a new one (then False)."""
        if self._conn is not None and self._key == (t.scheme, t.host, t.port):
            return self._conn, True
        self._drop()
        proxy = _proxy_for(t.scheme, t.host) if self.trust_env else None
        host, port, auth = t.host, t.port, {}
        if proxy:
            p = urlsplit(proxy)
            host, port = p.hostname or "", p.port or 8080
            if p.username is not None:
                creds = f"{unquote(p.username)}:{unquote(p.password or '')}"
                auth = {"Proxy-Authorization": "Basic " + base64.b64encode(creds.encode()).decode()}
        conn: http.client.HTTPConnection
        if t.scheme == "https":
            conn = http.client.HTTPSConnection(
                host, port, timeout=self.timeout_s, context=tls_context(self.verify)
            )
            if proxy:  # a tunnel: the proxy's credentials go with CONNECT, never further
                conn.set_tunnel(t.host, t.port, headers=auth or None)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=self.timeout_s)
            if proxy:  # the request in absolute form, to the proxy, with its credentials
                self._proxied = auth
        self._conn, self._key = conn, (t.scheme, t.host, t.port)
        return conn, False

    def request(
        self,
        method: str,
        url: str,
        *,
        content: Body | str | None = None,
        headers: dict[str, str] | None = None,
        consume: Consume | None = None,
    ) -> Response:
        """One request; the answer whatever its status. ``content`` may be an iterable of
        chunks (sent with chunked transfer encoding). ``consume`` reads the body instead of
        reading it whole (e.g. :func:`read_limited`); the connection is then closed.
        Raises :class:`ConnectError` or :class:`ConnectTimeout` when no connection can be
        made, the standard library's errors after that."""
        t = _target(url)
        body = content.encode() if isinstance(content, str) else content
        # A kept connection the server closed meanwhile is opened again once; a streamed
        # body cannot be sent twice.
        again = body is None or isinstance(body, bytes)
        with self._lock:
            for attempt in (1, 2):
                conn, kept = self._connection(t)
                path, extra = t.path, headers or {}
                if self._proxied is not None:
                    path = f"http://{t.host}:{t.port}{t.path}"
                    extra = {**self._proxied, **extra}
                try:
                    return self._exchange(conn, method, url, path, body, extra, consume)
                except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                    self._drop()
                    if not (kept and again) or attempt == 2:
                        raise
                except BaseException:
                    self._drop()
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _exchange(
        self,
        conn: http.client.HTTPConnection,
        method: str,
        url: str,
        path: str,
        body: Body | None,
        headers: dict[str, str] | None,
        consume: Consume | None,
    ) -> Response:
        all_headers = {**self.headers, **(headers or {})}
        if isinstance(body, bytes):
            all_headers.setdefault("Content-Length", str(len(body)))
        sent = time.monotonic()
        if conn.sock is None:  # a new connection: its failures are the connection's
            try:
                conn.connect()
            except TimeoutError as exc:
                raise ConnectTimeout(str(exc) or "timed out") from exc
            except OSError as exc:
                raise ConnectError(str(exc) or type(exc).__name__) from exc
        conn.request(method, path, body=body, headers=all_headers)
        # Read now: the connection lets go of its socket when the answer closes it.
        sock = conn.sock
        der, cert = None, {}
        if isinstance(sock, ssl.SSLSocket):
            der, cert = sock.getpeercert(binary_form=True), sock.getpeercert() or {}
        resp = conn.getresponse()
        elapsed = time.monotonic() - sent
        content = (consume or _read_all)(resp)
        if resp.will_close or consume is not None or self._closing:
            self._drop()
        answer = Response(resp.status, resp.reason, resp.headers, content, url, der, cert)
        answer.elapsed_s = elapsed
        return answer

    def send(
        self,
        method: str,
        url: str,
        *,
        content: Body | str | None = None,
        headers: dict[str, str] | None = None,
        consume: Consume | None = None,
    ) -> Response:
        """:meth:`request` with the standard library's errors turned into :class:`HTTPError`
        subclasses (the original as the cause). A CA file that cannot be read is the
        OSError itself, not a connection error."""
        if url.startswith("https:"):
            tls_context(self.verify)  # built once; raises OSError for an unreadable CA file
        try:
            return self.request(method, url, content=content, headers=headers, consume=consume)
        except HTTPError:
            raise
        except TimeoutError as exc:
            raise ReadTimeout(str(exc) or "timed out") from exc
        except http.client.HTTPException as exc:
            raise RemoteProtocolError(str(exc) or type(exc).__name__) from exc
        except OSError as exc:
            raise ReadError(str(exc) or type(exc).__name__) from exc

    async def arequest(
        self,
        method: str,
        url: str,
        *,
        content: Body | str | None = None,
        headers: dict[str, str] | None = None,
        consume: Consume | None = None,
    ) -> Response:
        """:meth:`send` in a worker thread (the event loop goes on meanwhile)."""
        return await asyncio.to_thread(
            self.send, method, url, content=content, headers=headers, consume=consume
        )


def get(url: str, *, verify: TLSVerify = True, timeout_s: float = 10.0) -> Response:
    """One GET on a connection of its own."""
    client = Client(verify=verify, timeout_s=timeout_s)
    try:
        return client.send("GET", url)
    finally:
        client.close()
