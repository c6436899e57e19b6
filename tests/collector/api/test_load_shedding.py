"""Load shedding: when more report requests are in progress than the collector is set to
hold, the next ones get 503 with a spread Retry-After at once, before their body is read,
and store nothing; the ones in progress complete. Thousands of agents draining after an
outage then wait in their own spools instead of timing out in the collector's queue."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import httpx
import pytest

from collector.api.app import create_app
from collector.api.middleware import InFlight, LoadShedding
from collector.api.server import BackgroundServer
from collector.config import CollectorConfig
from tests.collector.api.test_ingest_api import enroll, report, stored
from tests.conftest import SCRAPE, Clock, Collector, app_config, reports_locked


def test_requests_beyond_the_limit_are_shed_with_retry_after(make_services, new_database) -> None:
    url = new_database("shed.db")
    services = make_services(url=url)
    app = create_app(
        services,
        app_config(max_ingest_inflight=2, retry_after_s=3, ingest_rate_per_s=0),
    )
    with BackgroundServer(app) as base:
        collector = Collector(services=services, url=base, clock=Clock())
        agents = [enroll(collector, host=f"pc-{i}") for i in range(5)]
        answers: dict[int, httpx.Response] = {}

        def send(i: int) -> None:
            answers[i] = httpx.post(
                f"{base}/api/v1/reports",
                json={"reports": [report(agents[i], 1)]},
                headers={"Authorization": f"Bearer {agents[i]['token']}"},
                timeout=30,
            )

        with reports_locked(url, readers_too=False):  # commits wait, reads go on
            held = [threading.Thread(target=send, args=(i,)) for i in (0, 1)]
            for t in held:
                t.start()
            time.sleep(1.0)  # both are now waiting on the database lock
            assert answers == {}
            for i in (2, 3, 4):
                started = time.perf_counter()
                send(i)
                assert time.perf_counter() - started < 2.0  # refused at once (queued: held)
                r = answers[i]
                assert r.status_code == 503, r.text
                assert "busy" in r.json()["detail"]
                assert 3 <= int(r.headers["Retry-After"]) <= 9
            assert stored(collector) == 0
        for t in held:
            t.join(timeout=30)
        assert [answers[i].status_code for i in (0, 1)] == [200, 200]
        assert stored(collector) == 2

        # The shed agents come back after Retry-After and are stored.
        for i in (2, 3, 4):
            send(i)
            assert answers[i].status_code == 200, answers[i].text
        assert stored(collector) == 5
        metrics = httpx.get(f"{base}/metrics", headers=SCRAPE, params={"part": "readiness"}).text
        assert 'ioc_ingest_rejected_requests_total{reason="overload"} 3.0' in metrics
        assert 'ioc_ingest_shed_requests_total{limit="requests"} 3.0' in metrics
        assert 'ioc_ingest_shed_requests_total{limit="wait"} 0.0' in metrics


def test_bytes_in_progress_are_limited_too(make_services, new_database) -> None:
    """A drain of big batches is shed by size: with one batch in progress, a second one
    that would pass the byte limit is refused before its body is read; small ones are not
    counted against a request limit they do not reach."""
    url = new_database("shed-bytes.db")
    services = make_services(url=url)
    app = create_app(
        services,
        app_config(
            max_ingest_inflight=100,
            retry_after_s=3,
            max_ingest_inflight_bytes=10_000,
            ingest_rate_per_s=0,
        ),
    )
    with BackgroundServer(app) as base:
        collector = Collector(services=services, url=base, clock=Clock())
        agents = [enroll(collector, host=f"pc-{i}") for i in range(3)]
        answers: dict[int, httpx.Response] = {}

        def send(i: int, n: int) -> None:
            answers[i] = httpx.post(
                f"{base}/api/v1/reports",
                json={"reports": [report(agents[i], s) for s in range(1, n + 1)]},
                headers={"Authorization": f"Bearer {agents[i]['token']}"},
                timeout=30,
            )

        with reports_locked(url, readers_too=False):
            big = threading.Thread(target=send, args=(0, 20))  # ~7 KB
            big.start()
            time.sleep(1.0)
            send(1, 20)  # another ~7 KB: over 10,000 bytes in progress
            assert answers[1].status_code == 503, answers[1].text
            assert "KiB of reports in progress" in answers[1].json()["detail"]
            assert 3 <= int(answers[1].headers["Retry-After"]) <= 9
        big.join(timeout=30)
        assert answers[0].status_code == 200 and answers[0].json()["accepted"] == 20
        metrics = httpx.get(f"{base}/metrics", headers=SCRAPE, params={"part": "readiness"}).text
        assert 'ioc_ingest_shed_requests_total{limit="bytes"} 1.0' in metrics
        send(2, 1)  # alone, well within the limit
        assert answers[2].status_code == 200
        send(1, 20)  # the refused batch, retried once nothing is in progress
        assert answers[1].status_code == 200 and answers[1].json()["accepted"] == 20
        assert stored(collector) == 41


def test_requests_expected_to_wait_too_long_are_shed(make_services, new_database) -> None:
    """The writer measures how fast it commits; a request that would wait longer than
    ``max_ingest_wait_s`` behind the ones in progress gets a prompt 503 (instead of timing
    out in the queue, as 144 agents did in the drain benchmark with the count and byte
    limits alone). A request is never refused for its own size when nothing is ahead."""
    url = new_database("shed-wait.db")
    services = make_services(url=url)
    app = create_app(
        services,
        # The count and byte limits out of the way; a wait limit that a second batch
        # queued behind a first one exceeds at any commit rate this machine can reach.
        app_config(
            max_ingest_inflight=100,
            max_ingest_inflight_bytes=0,
            max_ingest_wait_s=0.001,
            retry_after_s=3,
            ingest_rate_per_s=0,
        ),
    )
    committer = app.state.committer
    min_bytes = committer.min_measured_bytes
    committer.min_measured_bytes = 0  # trust the rate from the first group (a few KiB)
    with BackgroundServer(app) as base:
        collector = Collector(services=services, url=base, clock=Clock())
        agents = [enroll(collector, host=f"pc-{i}") for i in range(3)]
        answers: dict[int, httpx.Response] = {}

        def send(i: int, first: int, n: int) -> None:
            answers[i] = httpx.post(
                f"{base}/api/v1/reports",
                json={"reports": [report(agents[i], s) for s in range(first, first + n)]},
                headers={"Authorization": f"Bearer {agents[i]['token']}"},
                timeout=30,
            )

        assert committer.expected_wait_s(10_000) == 0.0  # nothing measured yet: no guess
        started = time.perf_counter()
        send(0, 1, 20)  # alone: let in whatever the estimate
        took = time.perf_counter() - started
        assert answers[0].status_code == 200 and answers[0].json()["accepted"] == 20
        size = len(answers[0].request.content)
        # One group measured: its own bytes are expected to take what its commit took,
        # which is part of the request's whole time.
        assert 0 < committer.expected_wait_s(size) < took
        assert committer.expected_wait_s(2 * size) == pytest.approx(
            2 * committer.expected_wait_s(size)
        )
        # By default a rate measured over so few bytes (one small commit: mostly its fixed
        # cost) is not trusted: no guess, so nothing is shed by it.
        committer.min_measured_bytes = min_bytes
        assert size < min_bytes and committer.expected_wait_s(size) == 0.0
        committer.min_measured_bytes = 0

        with reports_locked(url, readers_too=False):
            held = threading.Thread(target=send, args=(1, 1, 20))
            held.start()
            time.sleep(1.0)  # waiting on the database lock
            started = time.perf_counter()
            send(2, 1, 20)
            assert time.perf_counter() - started < 2.0  # refused at once (queued: held)
            assert answers[2].status_code == 503, answers[2].text
            assert "s to store" in answers[2].json()["detail"]
            assert 3 <= int(answers[2].headers["Retry-After"]) <= 9
            # The operations centre sees the queue: the held batch's expected time.
            text = httpx.get(f"{base}/metrics", headers=SCRAPE, params={"part": "readiness"}).text
            backlog = next(
                float(line.split()[1])
                for line in text.splitlines()
                if line.startswith("ioc_ingest_backlog_seconds ")
            )
            assert backlog == pytest.approx(committer.expected_wait_s(size), rel=0.05)
        held.join(timeout=30)
        assert answers[1].status_code == 200 and answers[1].json()["accepted"] == 20
        send(2, 1, 20)  # retried once nothing is ahead
        assert answers[2].status_code == 200 and answers[2].json()["accepted"] == 20
        assert stored(collector) == 60
        metrics = httpx.get(f"{base}/metrics", headers=SCRAPE, params={"part": "readiness"}).text
        assert 'ioc_ingest_rejected_requests_total{reason="overload"} 1.0' in metrics
        assert 'ioc_ingest_shed_requests_total{limit="wait"} 1.0' in metrics
        assert 'ioc_ingest_shed_requests_total{limit="requests"} 0.0' in metrics
        # Nothing in progress now: nothing expected to wait.
        assert "ioc_ingest_backlog_seconds 0.0" in metrics


# ------------------------------------------------------------------ the middleware alone
class _Held:
    """A tiny ASGI app: answers 200 once released (or raises, when told to)."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.calls = 0
        self.fail = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.calls += 1
        await self.release.wait()
        if self.fail:
            raise RuntimeError("the handler failed")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


def _shedding(
    held: _Held, wait_s: float = 0.0, **limits: Any
) -> tuple[LoadShedding, InFlight, list[str]]:
    config = CollectorConfig.model_validate({"retry_after_s": 3, **limits})
    inflight, shed = InFlight(), []
    mw = LoadShedding(
        held,
        config=config,
        inflight=inflight,
        expected_wait_s=lambda n: wait_s * n,
        on_shed=shed.append,
    )
    return mw, inflight, shed


async def _request(
    app: Any, size: int | None = 100, path: str = "/api/v1/reports", method: str = "POST"
) -> dict[str, Any]:
    """Send one request through ``app``; its status, headers and JSON body."""
    headers = [] if size is None else [(b"content-length", str(size).encode())]
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "headers": headers,
        "query_string": b"",
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return {
        "status": start["status"],
        "headers": {k.decode(): v.decode() for k, v in start["headers"]},
        "json": json.loads(body),
    }


def test_middleware_lets_requests_in_below_the_limit_and_counts_them() -> None:
    async def scenario() -> None:
        held = _Held()
        mw, inflight, shed = _shedding(held, max_ingest_inflight=2)
        first = asyncio.create_task(_request(mw, 100))
        second = asyncio.create_task(_request(mw, 250))
        await asyncio.sleep(0.01)
        assert (inflight.requests, inflight.bytes, held.calls) == (2, 350, 2)
        held.release.set()
        assert [(await t)["status"] for t in (first, second)] == [200, 200]
        assert (inflight.requests, inflight.bytes, shed) == (0, 0, [])

    asyncio.run(scenario())


def test_middleware_sheds_beyond_the_request_limit_with_a_spread_retry_after() -> None:
    async def scenario() -> None:
        held = _Held()
        mw, inflight, shed = _shedding(held, max_ingest_inflight=2)
        running = [asyncio.create_task(_request(mw)) for _ in range(2)]
        await asyncio.sleep(0.01)
        answers = [await _request(mw) for _ in range(20)]
        assert {a["status"] for a in answers} == {503}
        assert "collector busy (2 report requests in progress)" in answers[0]["json"]["detail"]
        waits = {int(a["headers"]["retry-after"]) for a in answers}
        assert waits <= set(range(3, 10)) and len(waits) > 1  # spread over 1-3 x 3 s
        assert held.calls == 2 and shed == ["requests"] * 20  # the handler never saw them
        held.release.set()
        await asyncio.gather(*running)
        assert (await _request(mw))["status"] == 200

    asyncio.run(scenario())


def test_middleware_sheds_by_bytes_and_by_expected_wait_but_lets_one_in_alone() -> None:
    async def scenario() -> None:
        held = _Held()
        mw, _, shed = _shedding(
            held, max_ingest_inflight=0, max_ingest_inflight_bytes=10_000, max_ingest_wait_s=0
        )
        held.release.set()
        assert (await _request(mw, 2 * 1024 * 1024))["status"] == 200  # alone: let in
        held.release.clear()
        big = asyncio.create_task(_request(mw, 8_000))
        await asyncio.sleep(0.01)
        over = await _request(mw, 3_000)
        assert over["status"] == 503 and "7 KiB of reports in progress" in over["json"]["detail"]
        assert (await _request(mw, None))["status"] == 503  # chunked: counted at the body limit
        held.release.set()
        await big
        assert shed == ["bytes", "bytes"]

        held = _Held()
        mw, inflight, shed = _shedding(held, wait_s=0.001, max_ingest_wait_s=5)  # 1 ms a byte
        first = asyncio.create_task(_request(mw, 4_000))
        await asyncio.sleep(0.01)
        second = asyncio.create_task(_request(mw, 500))  # 4.5 s to wait: within the limit
        await asyncio.sleep(0.01)
        assert inflight.requests == 2
        slow = await _request(mw, 2_000)  # 6.5 s
        assert slow["status"] == 503
        assert "4 KiB of reports ahead, about 6 s to store" in slow["json"]["detail"]
        held.release.set()
        assert [(await t)["status"] for t in (first, second)] == [200, 200]
        assert shed == ["wait"]

    asyncio.run(scenario())


def test_middleware_counts_back_down_when_a_request_fails() -> None:
    async def scenario() -> None:
        held = _Held()
        held.fail = True
        held.release.set()
        mw, inflight, _ = _shedding(held, max_ingest_inflight=1)
        for _ in range(3):
            with pytest.raises(RuntimeError, match="the handler failed"):
                await _request(mw)
            assert (inflight.requests, inflight.bytes) == (0, 0)
        held.fail = False
        assert (await _request(mw))["status"] == 200

    asyncio.run(scenario())


def test_middleware_leaves_other_requests_alone() -> None:
    async def scenario() -> None:
        held = _Held()
        mw, inflight, _ = _shedding(held, max_ingest_inflight=1)
        first = asyncio.create_task(_request(mw))
        await asyncio.sleep(0.01)
        others = [
            asyncio.create_task(_request(mw, path="/api/v1/enroll")),
            asyncio.create_task(_request(mw, method="GET")),
        ]
        await asyncio.sleep(0.01)
        assert inflight.requests == 1 and held.calls == 3  # let through, not counted
        held.release.set()
        assert [(await t)["status"] for t in (first, *others)] == [200, 200, 200]

    asyncio.run(scenario())
