"""net.throughput against the real collector app on loopback (tests/conftest.py `collector`)."""

from __future__ import annotations

import asyncio
import socket
import time

import httpx
import pytest

from checks.base import CheckContext
from checks.model import Status
from checks.network.throughput import (
    ThroughputCheck,
    ThroughputConfig,
    Transfer,
    evaluate_throughput,
    measure_throughput,
)
from collector.api.probes import MAX_PROBE_BYTES
from tests.checks.checks_fixtures import judged

# The agent's throughput probe: the database is only the store behind it, the same on either
# engine (any_engine: the PostgreSQL pass leaves it out).
pytestmark = pytest.mark.any_engine

HK = "00070"  # Phường Hoàn Kiếm, Hà Nội


def agent_token(collector) -> str:
    [(_, code)] = collector.services.identities.create_enrollment_codes([HK])
    r = httpx.post(f"{collector.url}/api/v1/enroll", json={"code": code, "host": "pc-1"})
    assert r.status_code == 201, r.text
    return str(r.json()["token"])


@pytest.mark.serial  # times a transfer: the CPU alone
def test_measures_positive_bounded_bandwidth_both_ways(collector):
    token = agent_token(collector)
    cfg = ThroughputConfig(
        download_bytes=8 << 20, upload_bytes=4 << 20, max_seconds=5, timeout_s=15, every_s=0
    )
    ctx = CheckContext(host="pc-1", collector_url=collector.url, token=token)
    start = time.monotonic()
    [r] = asyncio.run(ThroughputCheck(cfg).run(ctx))
    elapsed = time.monotonic() - start
    print(
        f"\nloopback: down {r.value('download_bandwidth') / 1e6:.0f} Mbit/s, "
        f"up {r.value('upload_bandwidth') / 1e6:.0f} Mbit/s in {elapsed:.2f} s"
    )
    assert r.status is Status.OK, r.message
    for name in ("download_bandwidth", "upload_bandwidth"):
        assert r.values[name].unit == "bits_per_second"
        assert 0 < r.value(name) < 1e12
    assert elapsed < 2 * cfg.max_seconds + 2


@pytest.mark.serial  # times a transfer: the CPU alone
def test_transfer_stops_at_the_time_limit(collector):
    token = agent_token(collector)
    cfg = ThroughputConfig(
        download_bytes=MAX_PROBE_BYTES, upload_bytes=MAX_PROBE_BYTES, max_seconds=0.1, timeout_s=5
    )
    down, up = asyncio.run(measure_throughput(collector.url, token, cfg))
    assert down.status_code == 200 and up is not None and up.status_code == 200
    assert down.seconds < 0.1 + 0.3 and 0 < down.bytes <= MAX_PROBE_BYTES
    assert up.seconds < 0.1 + 0.5 and 0 < up.bytes <= MAX_PROBE_BYTES


def test_over_the_limit_is_refused_with_4xx(collector):
    token = agent_token(collector)
    auth = {"Authorization": f"Bearer {token}"}
    r = httpx.get(
        f"{collector.url}/api/v1/probe/download",
        params={"bytes": MAX_PROBE_BYTES + 1},
        headers=auth,
    )
    assert r.status_code == 422 and "limit" in r.json()["detail"]
    # An upload declaring more than the limit is refused before its body is read.
    host, port = collector.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(
            f"POST /api/v1/probe/upload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            f"{token}\r\nContent-Length: {MAX_PROBE_BYTES + 1}\r\n\r\n".encode()
        )
        status_line = s.recv(4096).split(b"\r\n", 1)[0]
    assert b" 413 " in status_line


def test_anonymous_callers_get_401_and_the_check_says_unknown(collector):
    r = httpx.get(f"{collector.url}/api/v1/probe/download", params={"bytes": 1024})
    assert r.status_code == 401
    r = httpx.post(
        f"{collector.url}/api/v1/probe/upload",
        content=b"x" * 10,
        headers={"Authorization": "Bearer nope"},
    )
    assert r.status_code == 401
    ctx = CheckContext(host="pc-1", collector_url=collector.url, token="wrong")
    [res] = asyncio.run(ThroughputCheck(ThroughputConfig(every_s=0)).run(ctx))
    assert res.status is Status.UNKNOWN and "HTTP 401" in res.message and not res.values


def test_not_configured_or_not_enrolled_is_unknown():
    [a] = asyncio.run(ThroughputCheck().run(CheckContext(host="h")))
    assert a.status is Status.UNKNOWN and "not configured" in a.message
    ctx = CheckContext(host="h", collector_url="http://127.0.0.1:9")
    [b] = asyncio.run(ThroughputCheck().run(ctx))
    assert b.status is Status.UNKNOWN and "not enrolled" in b.message


def test_refused_collector_is_fail_like_tcp_and_http(closed_port):
    cfg = ThroughputConfig(url=f"http://127.0.0.1:{closed_port}", require_token=False)
    start = time.monotonic()
    [r] = asyncio.run(ThroughputCheck(cfg).run(CheckContext(host="h")))
    assert time.monotonic() - start < 2.0
    assert r.status is Status.FAIL and "connection refused" in r.message and not r.values


def test_unresolvable_collector_is_unknown():
    cfg = ThroughputConfig(url="http://collector.invalid", require_token=False)
    [r] = asyncio.run(ThroughputCheck(cfg).run(CheckContext(host="h")))
    assert r.status is Status.UNKNOWN and not r.values


@pytest.mark.parametrize(
    ("mbps", "status"), [(150, Status.OK), (30, Status.WARN), (10, Status.FAIL)]
)
def test_grades_like_net02(mbps, status):
    down = Transfer("download", bytes=int(mbps * 1e6 / 8), seconds=1.0, status_code=200)
    measured = evaluate_throughput("c", down, None)
    assert measured.status is Status.OK  # measured: NET-02's levels judge the bandwidth
    assert judged(measured).status is status


def test_repeats_the_last_measurement_until_every_s(collector):
    token = agent_token(collector)
    check = ThroughputCheck(
        ThroughputConfig(
            download_bytes=1 << 20, upload=False, max_seconds=2, timeout_s=5, every_s=3600
        )
    )
    ctx = CheckContext(host="pc-1", collector_url=collector.url, token=token)
    first = asyncio.run(check.run(ctx))
    again = asyncio.run(check.run(ctx))
    assert again == first and first[0].observed_at == again[0].observed_at
