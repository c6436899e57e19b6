"""Generic TCP and HTTP(S) probes, shared by several check ids and by ``ioc-agent probe``.

A probe returns an *outcome* (what happened, measured), and ``evaluate_*`` turns it into a
:class:`CheckResult`. Reachability checks distinguish three cases:

* the target answered -> ok (or fail on a bad HTTP status / missing content);
* the target should answer and did not (refused, timed out, unreachable) -> ``fail``;
* we could not even try (name does not resolve, bad URL, config problem) -> ``unknown``.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from checks import http
from checks.messages import msg, said
from checks.model import Category, CheckResult, MessageRef, Status, Value
from checks.resolve import Unresolved, reason_message, resolve_one


class Failure(StrEnum):
    NONE = ""
    REFUSED = "refused"
    TIMEOUT = "timeout"
    UNREACHABLE = "unreachable"
    TLS = "tls"
    RESOLVE = "resolve"  # -> unknown: could not even try
    CONFIG = "config"  # -> unknown


_UNKNOWN_FAILURES = {Failure.RESOLVE, Failure.CONFIG}


def split_host_port(target: str, default_port: int | None = None) -> tuple[str, int]:
    """Split ``host:port`` or ``[v6]:port``; raise ValueError with a readable reason."""
    text = target.strip()
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
        if not sep:
            raise ValueError(f"{target!r}: missing ']' after the IPv6 address")
    else:
        host, _, port_text = text.rpartition(":") if ":" in text else (text, "", "")
    if not host:
        raise ValueError(f"{target!r}: missing host, expected HOST:PORT")
    if not port_text:
        if default_port is None:
            raise ValueError(f"{target!r}: missing port, expected HOST:PORT")
        return host, default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"{target!r}: port must be a number from 1 to 65535")
    return host, int(port_text)


def _classify_oserror(exc: BaseException) -> Failure:
    """Walk the cause chain: :mod:`checks.http` wraps the socket error we need to classify."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, socket.gaierror):
            return Failure.RESOLVE
        if isinstance(seen, ConnectionRefusedError):
            return Failure.REFUSED
        if isinstance(seen, TimeoutError):
            return Failure.TIMEOUT
        if isinstance(seen, ssl.SSLError):
            return Failure.TLS
        seen = seen.__cause__ or seen.__context__
    return Failure.UNREACHABLE


def _reason(exc: BaseException) -> str:
    seen: BaseException = exc
    while (seen.__cause__ or seen.__context__) is not None:
        seen = seen.__cause__ or seen.__context__  # type: ignore[assignment]
    return str(seen) or type(seen).__name__


# --------------------------------------------------------------------------- TCP


@dataclass(frozen=True)
class TcpOutcome:
    target: str
    failure: Failure
    connect_time_s: float
    detail: str = ""


async def probe_tcp(host: str, port: int, timeout_s: float) -> TcpOutcome:
    """Open (and close) one TCP connection; the deadline covers name resolution too."""
    target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    start = time.monotonic()
    try:
        _, (address, _) = await resolve_one(host, port, timeout_s)
    except Unresolved as exc:
        return TcpOutcome(target, Failure.RESOLVE, time.monotonic() - start, exc.reason)
    left = max(0.01, timeout_s - (time.monotonic() - start))
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(address, port), left)
    except TimeoutError:
        return TcpOutcome(target, Failure.TIMEOUT, time.monotonic() - start, "timeout")
    except OSError as exc:
        return TcpOutcome(target, _classify_oserror(exc), time.monotonic() - start, _reason(exc))
    elapsed = time.monotonic() - start
    writer.close()
    # The connection was made; how it closes does not matter.
    with contextlib.suppress(OSError, TimeoutError):
        await asyncio.wait_for(writer.wait_closed(), 1.0)
    return TcpOutcome(target, Failure.NONE, elapsed)


async def probe_tcp_targets(
    targets: list[str], timeout_s: float, default_port: int | None = None
) -> list[tuple[str, TcpOutcome]]:
    """Probe every ``HOST:PORT`` target concurrently: (target as written, outcome)."""

    async def one(target: str) -> tuple[str, TcpOutcome]:
        host, port = split_host_port(target, default_port)
        return target, await probe_tcp(host, port, timeout_s)

    return list(await asyncio.gather(*(one(t) for t in targets)))


def evaluate_tcp(
    check_id: str,
    outcome: TcpOutcome,
    *,
    target: str | None = None,
    category: Category = Category.NETWORK,
) -> CheckResult:
    up = outcome.failure is Failure.NONE
    values = {"tcp_up": Value(value=1.0 if up else 0.0, unit="")}
    if up:
        values["tcp_connect_time"] = Value(value=outcome.connect_time_s, unit="seconds")
        status, message = Status.OK, msg("net.tcp.connected", elapsed=outcome.connect_time_s)
    elif outcome.failure in _UNKNOWN_FAILURES:
        status, message = Status.UNKNOWN, reason_message(outcome.detail)
        values = {}
    elif outcome.failure is Failure.TIMEOUT:
        status, message = Status.FAIL, msg("net.timeout")
    elif outcome.failure is Failure.REFUSED:
        status, message = Status.FAIL, msg("net.refused")
    else:
        status, message = Status.FAIL, msg("net.unreachable", detail=outcome.detail)
    return CheckResult(
        check=check_id,
        category=category,
        target=target if target is not None else outcome.target,
        status=status,
        values=values,
        **said(message),
        duration_s=outcome.connect_time_s,
    )


# --------------------------------------------------------------------------- HTTP


#: Body bytes read at most when looking for expected content.
MAX_BODY_BYTES = 1 << 20


@dataclass(frozen=True)
class HttpOutcome:
    url: str
    failure: Failure
    response_time_s: float
    status_code: int | None = None
    cert_not_after: datetime | None = None
    content_found: bool | None = None
    detail: str = ""
    now: datetime = field(default_factory=lambda: datetime.now(UTC))


def cert_not_after(peercert: dict[str, Any] | None) -> datetime | None:
    """``ssl.SSLSocket.getpeercert()`` gives 'notAfter' as 'Jun  1 12:00:00 2026 GMT'."""
    if not peercert or "notAfter" not in peercert:
        return None
    return datetime.fromtimestamp(ssl.cert_time_to_seconds(peercert["notAfter"]), UTC)


def der_not_after(der: bytes) -> datetime | None:
    """The end of validity of a DER certificate, read without verifying it."""
    from cryptography import x509  # heavy: only when a certificate was not verified

    try:
        return x509.load_der_x509_certificate(der).not_valid_after_utc
    except ValueError:
        return None


def _peer_not_after(response: http.Response) -> datetime | None:
    """When the server's certificate ends. Verified, ``getpeercert()`` gives it; without
    verification (``--insecure``, ``verify_tls: false``) it is empty, so the peer's DER is
    read instead: the days left are reported either way, the catalogue judges them."""
    verified = cert_not_after(response.peer_cert)
    if verified is not None:
        return verified
    der = response.peer_cert_der
    return der_not_after(der) if der else None


async def probe_http(
    url: str,
    timeout_s: float,
    *,
    expect: str | None = None,
    verify: Any = True,
    method: str = "GET",
) -> HttpOutcome:
    """One request, no redirects followed (a 3xx is an answer); total deadline ``timeout_s``."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return HttpOutcome(url, Failure.CONFIG, 0.0, detail="URL must be http:// or https://")
    start = time.monotonic()
    try:
        await resolve_one(parts.hostname, parts.port or 443, timeout_s)
    except Unresolved as exc:
        return HttpOutcome(url, Failure.RESOLVE, time.monotonic() - start, detail=exc.reason)
    left = max(0.01, timeout_s - (time.monotonic() - start))
    try:
        return await asyncio.wait_for(_request(url, left, expect, verify, method, start), left)
    except TimeoutError:
        return HttpOutcome(url, Failure.TIMEOUT, time.monotonic() - start, detail="timeout")


async def _request(
    url: str, timeout_s: float, expect: str | None, verify: Any, method: str, start: float
) -> HttpOutcome:
    # The response time starts with the request (connecting included): building the TLS
    # context (loading a CA bundle: 100 ms and more, cold) is not the server's time. The
    # deadline still counts from ``start``.
    wanted = expect.encode() if expect is not None else None
    client = http.Client(verify=verify, timeout_s=timeout_s)
    try:
        response = await client.arequest(
            method, url, consume=http.read_limited(MAX_BODY_BYTES if wanted else 0, wanted)
        )
    except http.TimeoutException:
        return HttpOutcome(url, Failure.TIMEOUT, time.monotonic() - start, detail="timeout")
    except http.UnsupportedProtocol as exc:
        return HttpOutcome(url, Failure.CONFIG, 0.0, detail=str(exc))
    except http.HTTPError as exc:
        failure, detail = _classify_oserror(exc), _reason(exc)
        if failure is Failure.RESOLVE:
            detail = f"cannot resolve {urlsplit(url).hostname}: {detail}"
        return HttpOutcome(url, failure, time.monotonic() - start, detail=detail)
    finally:
        client.close()
    return HttpOutcome(
        url,
        Failure.NONE,
        response.elapsed_s,
        status_code=response.status_code,
        cert_not_after=_peer_not_after(response),
        content_found=None if wanted is None else wanted in response.content,
    )


#: How a request that got no HTTP answer is judged and told (the message's ``detail`` is
#: the reason).
_HTTP_FAILURES = {
    Failure.RESOLVE: (Status.UNKNOWN, "net.cannot_try"),
    Failure.CONFIG: (Status.UNKNOWN, "net.http.bad_url"),
    Failure.TIMEOUT: (Status.FAIL, "net.timeout"),
    Failure.REFUSED: (Status.FAIL, "net.refused"),
    Failure.TLS: (Status.FAIL, "net.http.tls_error"),
    Failure.UNREACHABLE: (Status.FAIL, "net.unreachable"),
}


def _http_problems(outcome: HttpOutcome, expect: str | None) -> MessageRef | None:
    """What is wrong with an answer, as it was seen: the status code, the content. How long
    it took and how long its certificate has left are values the catalogue judges."""
    code = outcome.status_code or 0
    bad_code = not 200 <= code < 400
    missing = outcome.content_found is False
    if not missing:
        return msg("net.http.bad_status", code=str(code)) if bad_code else None
    what = "net.http.bad_status_content" if bad_code else "net.http.content_missing"
    return msg(what if expect else what + "_any", code=str(code), expect=expect)


def _http_answer(
    outcome: HttpOutcome, expect: str | None
) -> tuple[Status, MessageRef, dict[str, Value]]:
    """Status, message and values of a request that got an HTTP answer."""
    code = outcome.status_code or 0
    values = {
        "http_up": Value(value=1.0 if 200 <= code < 400 else 0.0),
        "http_status": Value(value=float(code)),
        "http_response_time": Value(value=outcome.response_time_s, unit="seconds"),
    }
    took = msg("net.http.answered", code=str(code), elapsed=outcome.response_time_s)
    if outcome.cert_not_after is not None:
        days = (outcome.cert_not_after - outcome.now).total_seconds() / 86400
        values["tls_cert_days_left"] = Value(value=days, unit="days")
        took = msg(
            "net.http.answered_cert", code=str(code), elapsed=outcome.response_time_s, days=days
        )
    found = _http_problems(outcome, expect)
    if found is None:
        return Status.OK, took, values
    return Status.FAIL, found, values


def evaluate_http(
    check_id: str,
    outcome: HttpOutcome,
    *,
    target: str | None = None,
    category: Category = Category.NETWORK,
    expect: str | None = None,
) -> CheckResult:
    values: dict[str, Value]
    if outcome.failure is Failure.NONE:
        status, message, values = _http_answer(outcome, expect)
    else:
        status, words = _HTTP_FAILURES[outcome.failure]
        message = (
            reason_message(outcome.detail)
            if outcome.failure is Failure.RESOLVE
            else msg(words, detail=outcome.detail)
        )
        values = {} if status is Status.UNKNOWN else {"http_up": Value(value=0.0)}
    return CheckResult(
        check=check_id,
        category=category,
        target=target if target is not None else outcome.url,
        status=status,
        values=values,
        **said(message),
        duration_s=outcome.response_time_s,
    )
