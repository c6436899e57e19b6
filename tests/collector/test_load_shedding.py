"""Load shedding: when more report requests are in progress than the collector is set to
hold, the next ones get 503 with a spread Retry-After at once, before their body is read,
and store nothing; the ones in progress complete. Thousands of agents draining after an
outage then wait in their own spools instead of timing out in the collector's queue."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from collector.api.app import create_app
from collector.server import BackgroundServer
from tests.collector.test_ingest_api import enroll, report, stored
from tests.conftest import Clock, Collector, app_config, reports_locked


def test_requests_beyond_the_limit_are_shed_with_retry_after(make_store, new_database) -> None:
    url = new_database("shed.db")
    store = make_store(url=url)
    app = create_app(
        store,
        app_config(max_ingest_inflight=2, retry_after_s=3,
                 ingest_rate_per_s=0),
    )
    with BackgroundServer(app) as base:
        collector = Collector(store=store, url=base, clock=Clock())
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
        metrics = httpx.get(f"{base}/metrics", params={"part": "readiness"}).text
        assert 'ioc_ingest_rejected_requests_total{reason="overload"} 3.0' in metrics
        assert 'ioc_ingest_shed_requests_total{limit="requests"} 3.0' in metrics
        assert 'ioc_ingest_shed_requests_total{limit="wait"} 0.0' in metrics


def test_bytes_in_progress_are_limited_too(make_store, new_database) -> None:
    """A drain of big batches is shed by size: with one batch in progress, a second one
    that would pass the byte limit is refused before its body is read; small ones are not
    counted against a request limit they do not reach."""
    url = new_database("shed-bytes.db")
    store = make_store(url=url)
    app = create_app(
        store,
        app_config(max_ingest_inflight=100, retry_after_s=3,
                 max_ingest_inflight_bytes=10_000, ingest_rate_per_s=0),
    )
    with BackgroundServer(app) as base:
        collector = Collector(store=store, url=base, clock=Clock())
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
        metrics = httpx.get(f"{base}/metrics", params={"part": "readiness"}).text
        assert 'ioc_ingest_shed_requests_total{limit="bytes"} 1.0' in metrics
        send(2, 1)  # alone, well within the limit
        assert answers[2].status_code == 200
        send(1, 20)  # the refused batch, retried once nothing is in progress
        assert answers[1].status_code == 200 and answers[1].json()["accepted"] == 20
        assert stored(collector) == 41


def test_requests_expected_to_wait_too_long_are_shed(make_store, new_database) -> None:
    """The writer measures how fast it commits; a request that would wait longer than
    ``max_ingest_wait_s`` behind the ones in progress gets a prompt 503 (instead of timing
    out in the queue, as 144 agents did in the drain benchmark with the count and byte
    limits alone). A request is never refused for its own size when nothing is ahead."""
    url = new_database("shed-wait.db")
    store = make_store(url=url)
    app = create_app(
        store,
        # The count and byte limits out of the way; a wait limit that a second batch
        # queued behind a first one exceeds at any commit rate this machine can reach.
        app_config(max_ingest_inflight=100, max_ingest_inflight_bytes=0,
                 max_ingest_wait_s=0.001, retry_after_s=3, ingest_rate_per_s=0),
    )
    committer = app.state.committer
    min_bytes = committer.min_measured_bytes
    committer.min_measured_bytes = 0  # trust the rate from the first group (a few KiB)
    with BackgroundServer(app) as base:
        collector = Collector(store=store, url=base, clock=Clock())
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
            text = httpx.get(f"{base}/metrics", params={"part": "readiness"}).text
            backlog = next(float(line.split()[1]) for line in text.splitlines()
                           if line.startswith("ioc_ingest_backlog_seconds "))
            assert backlog == pytest.approx(committer.expected_wait_s(size), rel=0.05)
        held.join(timeout=30)
        assert answers[1].status_code == 200 and answers[1].json()["accepted"] == 20
        send(2, 1, 20)  # retried once nothing is ahead
        assert answers[2].status_code == 200 and answers[2].json()["accepted"] == 20
        assert stored(collector) == 60
        metrics = httpx.get(f"{base}/metrics", params={"part": "readiness"}).text
        assert 'ioc_ingest_rejected_requests_total{reason="overload"} 1.0' in metrics
        assert 'ioc_ingest_shed_requests_total{limit="wait"} 1.0' in metrics
        assert 'ioc_ingest_shed_requests_total{limit="requests"} 0.0' in metrics
        # Nothing in progress now: nothing expected to wait.
        assert "ioc_ingest_backlog_seconds 0.0" in metrics
