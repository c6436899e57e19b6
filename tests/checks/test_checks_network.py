import asyncio
import socket
import time
from datetime import UTC, datetime, timedelta

import pytest

from checks.base import CheckContext
from checks.model import Category, Status
from checks.network.basic import (
    PORTAL_URL,
    DedicatedCheck,
    DedicatedConfig,
    DnsCheck,
    DnsConfig,
    DnsOutcome,
    HttpCheck,
    HttpConfig,
    HttpTarget,
    PortalCheck,
    PortalConfig,
    ServiceCheck,
    ServiceConfig,
    TcpCheck,
    TcpConfig,
    collector_host_port,
    evaluate_dns,
    resolve,
)
from checks.network.probes import (
    Failure,
    HttpOutcome,
    TcpOutcome,
    cert_not_after,
    evaluate_http,
    evaluate_tcp,
    probe_http,
    probe_tcp,
    split_host_port,
)
from tests.checks.checks_fixtures import judged

CTX = CheckContext(host="h")


# ----------------------------------------------------------------- parsing targets


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10.0.0.1:443", ("10.0.0.1", 443)),
        ("gw.tinh.gov.vn:8443", ("gw.tinh.gov.vn", 8443)),
        ("[::1]:22", ("::1", 22)),
    ],
)
def test_split_host_port(text, expected):
    assert split_host_port(text) == expected


@pytest.mark.parametrize("text", ["host", ":80", "host:0", "host:99999", "host:http", "[::1"])
def test_split_host_port_rejects(text):
    with pytest.raises(ValueError):
        split_host_port(text)


def test_collector_host_port():
    assert collector_host_port("https://ioc.example.vn:8443/x") == "ioc.example.vn:8443"
    assert collector_host_port("https://ioc.example.vn") == "ioc.example.vn:443"
    assert collector_host_port("http://10.1.2.3") == "10.1.2.3:80"
    assert collector_host_port(None) is None


# ----------------------------------------------------------------- TCP


def test_tcp_open_port_ok(silent_server):
    host, port = silent_server
    result = evaluate_tcp("net.tcp", asyncio.run(probe_tcp(host, port, 2)))
    assert result.status is Status.OK
    assert result.value("tcp_up") == 1
    assert result.values["tcp_connect_time"].unit == "seconds"


def test_tcp_closed_port_fails(closed_port):
    result = evaluate_tcp("net.tcp", asyncio.run(probe_tcp("127.0.0.1", closed_port, 2)))
    assert result.status is Status.FAIL
    assert result.message == "connection refused"
    assert result.value("tcp_up") == 0


@pytest.mark.serial  # times a deadline of about a second: the CPU alone
def test_tcp_timeout_is_fail_within_deadline():
    # A listener whose accept queue is full drops further SYNs: connect() hangs.
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    try:
        for _ in range(4):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            fillers.append(s)
        time.sleep(0.1)
        start = time.monotonic()
        outcome = asyncio.run(probe_tcp("127.0.0.1", port, 0.5))
        elapsed = time.monotonic() - start
    finally:
        for s in fillers:
            s.close()
        server.close()
    if outcome.failure is Failure.NONE:
        pytest.skip("this kernel accepted the connection despite a full backlog")
    assert elapsed < 1.5
    result = evaluate_tcp("net.tcp", outcome)
    assert result.status is Status.FAIL and result.message == "timeout"


def test_tcp_unresolvable_is_unknown():
    outcome = asyncio.run(probe_tcp("nowhere.invalid", 80, 2))
    assert outcome.failure is Failure.RESOLVE
    assert evaluate_tcp("net.tcp", outcome).status is Status.UNKNOWN


def test_evaluate_tcp_unreachable():
    outcome = TcpOutcome("10.9.9.9:80", Failure.UNREACHABLE, 0.01, "No route to host")
    result = evaluate_tcp("net.dedicated", outcome)
    assert result.status is Status.FAIL and "No route to host" in result.message


def test_tcp_check_per_target(silent_server, closed_port):
    host, port = silent_server
    cfg = TcpConfig(targets=[f"{host}:{port}", f"127.0.0.1:{closed_port}"])
    results = asyncio.run(TcpCheck(cfg).run(CTX))
    assert [r.status for r in results] == [Status.OK, Status.FAIL]
    assert results[0].target == f"{host}:{port}"


def test_tcp_check_without_targets_is_unknown():
    (result,) = asyncio.run(TcpCheck().run(CTX))
    assert result.status is Status.UNKNOWN and result.message == "no targets configured"


def test_tcp_config_rejects_bad_target():
    with pytest.raises(ValueError, match="missing port"):
        TcpConfig.model_validate({"targets": ["gateway"]})


def test_dedicated_defaults_to_collector(silent_server):
    host, port = silent_server
    ctx = CheckContext(host="h", collector_url=f"http://{host}:{port}")
    (result,) = asyncio.run(DedicatedCheck().run(ctx))
    assert result.check == "net.dedicated" and result.status is Status.OK
    assert result.target == f"{host}:{port}"


def test_dedicated_unknown_without_target_or_collector():
    (result,) = asyncio.run(DedicatedCheck(DedicatedConfig()).run(CTX))
    assert result.status is Status.UNKNOWN


# ----------------------------------------------------------------- HTTP


def test_http_ok_with_expected_content(http_server):
    http_server.routes["/"] = (200, {}, b"<html>Cong Dich vu cong</html>")
    outcome = asyncio.run(probe_http(http_server.base + "/", 2, expect="Dich vu cong"))
    result = evaluate_http("net.http", outcome)
    assert result.status is Status.OK
    assert result.value("http_up") == 1 and result.value("http_status") == 200
    assert result.values["http_response_time"].unit == "seconds"
    assert "tls_cert_days_left" not in result.values  # plain HTTP


@pytest.mark.serial  # times a deadline of about a second: the CPU alone
def test_http_response_time_leaves_out_building_the_client(http_server, monkeypatch):
    """A cold client (loading a CA bundle can take 100 ms and more) is not the server's time:
    with building the client made 0.5 s slow, the loopback answer still reads as quick,
    while the whole probe did take the 0.5 s."""
    from checks import http

    built = http.Client.__init__

    def slow_init(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        time.sleep(0.5)
        built(self, *args, **kwargs)

    monkeypatch.setattr(http.Client, "__init__", slow_init)
    started = time.monotonic()
    outcome = asyncio.run(probe_http(http_server.base + "/", 5))
    assert time.monotonic() - started >= 0.5
    assert outcome.status_code is not None  # the server answered
    assert outcome.response_time_s < 0.4, outcome


def test_http_missing_content_fails(http_server):
    http_server.routes["/"] = (200, {}, b"maintenance")
    outcome = asyncio.run(probe_http(http_server.base + "/", 2, expect="Dich vu cong"))
    result = evaluate_http("net.http", outcome, expect="Dich vu cong")
    assert result.status is Status.FAIL and "not found" in result.message


def test_http_redirect_counts_as_up(http_server):
    http_server.routes["/"] = (302, {"Location": "/login"}, b"")
    result = evaluate_http("net.portal", asyncio.run(probe_http(http_server.base + "/", 2)))
    assert result.status is Status.OK and result.value("http_status") == 302


def test_http_500_fails(http_server):
    http_server.routes["/"] = (500, {}, b"oops")
    result = evaluate_http("net.http", asyncio.run(probe_http(http_server.base + "/", 2)))
    assert result.status is Status.FAIL and result.message == "HTTP 500"
    assert result.value("http_up") == 0


def test_http_refused_fails(closed_port):
    outcome = asyncio.run(probe_http(f"http://127.0.0.1:{closed_port}/", 2))
    assert outcome.failure is Failure.REFUSED
    result = evaluate_http("net.http", outcome)
    assert result.status is Status.FAIL and result.message == "connection refused"


def test_http_silent_server_times_out_within_deadline(silent_server):
    host, port = silent_server
    start = time.monotonic()
    outcome = asyncio.run(probe_http(f"http://{host}:{port}/", 0.5))
    assert time.monotonic() - start < 1.5
    result = evaluate_http("net.http", outcome)
    assert result.status is Status.FAIL and result.message == "timeout"


def test_http_unresolvable_and_bad_url_are_unknown():
    outcome = asyncio.run(probe_http("https://portal.invalid/", 2))
    assert evaluate_http("net.http", outcome).status is Status.UNKNOWN
    outcome = asyncio.run(probe_http("ftp://x/", 2))
    assert outcome.failure is Failure.CONFIG
    assert evaluate_http("net.http", outcome).status is Status.UNKNOWN


def test_http_slow_answer_fails():
    outcome = HttpOutcome("https://p/", Failure.NONE, 3.4, status_code=200)
    result = evaluate_http("net.portal", outcome)
    assert result.status is Status.OK  # it answered; the catalogue judges how fast (NET-03)
    result = judged(result)
    assert result.status is Status.FAIL and "http_response_time 3.4 s > 3 s" in result.message
    outcome = HttpOutcome("https://p/", Failure.NONE, 2.9, status_code=200)
    assert judged(evaluate_http("net.portal", outcome)).status is Status.OK


NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("outcome", "kw", "status", "message", "values"),
    [
        (
            HttpOutcome("https://p/", Failure.UNREACHABLE, 0.2, detail="No route to host"),
            {},
            Status.FAIL,
            "unreachable: No route to host",
            {"http_up": 0.0},
        ),
        (
            HttpOutcome("https://p/", Failure.TLS, 0.2, detail="bad cert"),
            {},
            Status.FAIL,
            "TLS error: bad cert",
            {"http_up": 0.0},
        ),
        (
            HttpOutcome("https://p/", Failure.RESOLVE, 0.2, detail="cannot resolve p: nx"),
            {},
            Status.UNKNOWN,
            "cannot resolve p: nx",
            {},
        ),
        (
            HttpOutcome("https://p/", Failure.CONFIG, 0.0, detail="bad"),
            {},
            Status.UNKNOWN,
            "bad URL: bad",
            {},
        ),
        (
            HttpOutcome(
                "https://p/", Failure.NONE, 4.0, 503, NOW + timedelta(days=3), False, now=NOW
            ),
            {"expect": "x"},
            Status.FAIL,
            "HTTP 503; expected content 'x' not found; "
            "http_response_time 4 s > 3 s; tls_cert_days_left 3 days < 14 days",
            {
                "http_up": 0.0,
                "http_status": 503.0,
                "http_response_time": 4.0,
                "tls_cert_days_left": 3.0,
            },
        ),
        (
            HttpOutcome(
                "https://p/", Failure.NONE, 0.5, None, NOW - timedelta(days=3), False, now=NOW
            ),
            {},
            Status.FAIL,
            "HTTP 0; expected content not found; tls_cert_days_left -3 days < 0 days",
            {
                "http_up": 0.0,
                "http_status": 0.0,
                "http_response_time": 0.5,
                "tls_cert_days_left": -3.0,
            },
        ),
    ],
)
def test_http_outcomes(outcome, kw, status, message, values):  # type: ignore[no-untyped-def]
    result = judged(evaluate_http("net.http", outcome, **kw))
    assert (result.status, result.message) == (status, message)
    assert {k: v.value for k, v in result.values.items()} == values
    assert (result.target, result.duration_s) == ("https://p/", outcome.response_time_s)


def test_tls_days_left_from_recorded_peercert():
    # As ssl.SSLSocket.getpeercert() returns it.
    peer = {"notAfter": "Jul 31 23:59:59 2026 GMT", "subject": ((("commonName", "x"),),)}
    not_after = cert_not_after(peer)
    assert not_after == datetime(2026, 7, 31, 23, 59, 59, tzinfo=UTC)
    now = not_after - timedelta(days=10)
    outcome = HttpOutcome("https://p/", Failure.NONE, 0.1, 200, not_after, now=now)
    result = judged(evaluate_http("net.portal", outcome))
    assert result.status is Status.WARN
    assert result.value("tls_cert_days_left") == pytest.approx(10)
    assert result.values["tls_cert_days_left"].unit == "days"
    expired = HttpOutcome(
        "https://p/", Failure.NONE, 0.1, 200, not_after, now=not_after + timedelta(days=1)
    )
    assert judged(evaluate_http("net.portal", expired)).status is Status.FAIL
    assert cert_not_after({}) is None


def test_tls_error_fails():
    outcome = HttpOutcome("https://p/", Failure.TLS, 0.1, detail="certificate has expired")
    result = evaluate_http("net.portal", outcome)
    assert result.status is Status.FAIL and "TLS" in result.message


def test_portal_default_target_and_override(http_server):
    assert [t.url for t in PortalConfig().targets] == [PORTAL_URL]
    http_server.routes["/"] = (200, {}, b"ok")
    (result,) = asyncio.run(
        PortalCheck(PortalConfig.model_validate({"targets": [http_server.base + "/"]})).run(CTX)
    )
    assert result.check == "net.portal" and result.status is Status.OK


def test_services_named_targets(http_server, closed_port):
    http_server.routes["/health"] = (200, {}, b"LGSP OK")
    cfg = ServiceConfig.model_validate(
        {
            "targets": [
                {"name": "LGSP", "url": http_server.base + "/health", "expect": "OK"},
                {"name": "E-mail", "url": f"http://127.0.0.1:{closed_port}/"},
            ]
        }
    )
    results = asyncio.run(ServiceCheck(cfg).run(CTX))
    assert [(r.target, r.status) for r in results] == [("LGSP", Status.OK), ("E-mail", Status.FAIL)]
    assert results[0].category is Category.SERVICES
    with pytest.raises(ValueError, match="needs a name"):
        ServiceConfig.model_validate({"targets": ["https://x.example/"]})


def test_http_check_accepts_plain_url_strings(http_server):
    http_server.routes["/"] = (204, {}, b"")
    cfg = HttpConfig.model_validate({"targets": [http_server.base + "/"]})
    (result,) = asyncio.run(HttpCheck(cfg).run(CTX))
    assert result.status is Status.OK and result.target == http_server.base + "/"


# ----------------------------------------------------------------- DNS


def test_dns_resolves_localhost():
    outcome = asyncio.run(resolve("localhost", 2))
    result = evaluate_dns(outcome)
    assert result.status is Status.OK
    assert result.value("dns_addresses") >= 1
    assert result.values["dns_resolve_time"].unit == "seconds"


def test_dns_name_that_does_not_resolve_fails():
    (result,) = asyncio.run(DnsCheck(DnsConfig(names=["no-such-name.invalid"])).run(CTX))
    assert result.status is Status.FAIL and "does not resolve" in result.message
    assert result.target == "no-such-name.invalid"


def test_dns_timeout_is_unknown(monkeypatch):
    def slow(*args, **kwargs):
        time.sleep(0.5)
        raise socket.gaierror(socket.EAI_NONAME, "late")

    monkeypatch.setattr(socket, "getaddrinfo", slow)
    result = evaluate_dns(asyncio.run(resolve("example.vn", 0.1)))
    assert result.status is Status.UNKNOWN


def test_dns_server_failure_is_unknown(monkeypatch):
    def again(*args, **kwargs):
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", again)
    assert evaluate_dns(asyncio.run(resolve("example.vn", 1))).status is Status.UNKNOWN


def test_dns_default_name_is_the_portal():
    assert DnsConfig().names == ["dichvucong.gov.vn"]
    assert evaluate_dns(DnsOutcome("x", (), 0.01)).status is Status.FAIL


# ----------------------------------------------------------------- HTTPS (local, self-signed)


def test_https_days_left_with_trusted_ca(https_server, tls_cert):
    https_server.routes["/"] = (200, {}, b"ok")
    cfg = HttpConfig(targets=[HttpTarget(url=https_server.base + "/")], ca_file=str(tls_cert[0]))
    (result,) = asyncio.run(HttpCheck(cfg).run(CTX))
    assert result.status is Status.OK, result.message
    assert result.value("tls_cert_days_left") == pytest.approx(30, abs=0.1)


def test_https_untrusted_certificate_fails(https_server):
    https_server.routes["/"] = (200, {}, b"ok")
    (result,) = asyncio.run(
        HttpCheck(HttpConfig(targets=[HttpTarget(url=https_server.base + "/")])).run(CTX)
    )
    assert result.status is Status.FAIL and "TLS error" in result.message


def test_https_without_verification_still_reports_days_left(https_server):
    https_server.routes["/"] = (200, {}, b"ok")
    cfg = HttpConfig(targets=[HttpTarget(url=https_server.base + "/")], verify_tls=False)
    (result,) = asyncio.run(HttpCheck(cfg).run(CTX))
    assert result.status is Status.OK
    assert result.value("tls_cert_days_left") == pytest.approx(30, abs=0.1)


def test_expired_certificate_without_verification_is_judged_by_its_days_left(http_server, tmp_path):
    """The check reports the negative days left; the catalogue's levels make it fail."""
    import ssl

    from cryptography.hazmat.primitives import serialization

    from tests.peers.certs import _KEY, days_from

    cert = days_from(datetime.now(UTC), -3)
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        _KEY.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    http_server.socket = ctx.wrap_socket(http_server.socket, server_side=True)
    http_server.routes["/"] = (200, {}, b"ok")
    url = f"https://127.0.0.1:{http_server.server_address[1]}/"
    (result,) = asyncio.run(
        HttpCheck(HttpConfig(targets=[HttpTarget(url=url)], verify_tls=False)).run(CTX)
    )
    assert result.value("tls_cert_days_left") == pytest.approx(-3, abs=0.1)
    verdict = judged(result)
    assert verdict.status is Status.FAIL and "tls_cert_days_left" in verdict.message


def test_http_target_name_labels_the_result():
    from checks.network.basic import HttpCheck, HttpConfig, HttpTarget

    named = HttpTarget(url="https://p.example/", name="Cổng tỉnh")
    bare = HttpTarget(url="https://q.example/")
    check = HttpCheck(HttpConfig(targets=[named, bare]))
    assert check.targets() == ["Cổng tỉnh", "https://q.example/"]
    outcome = HttpOutcome("https://p.example/", Failure.REFUSED, 0.1, detail="refused")
    [r] = check.evaluate([(named, outcome)])
    assert r.target == "Cổng tỉnh" and r.status is Status.FAIL
