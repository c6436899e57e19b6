"""Rate limits: a token bucket per agent on the ingest API, and per client address on failed
enrollments and logins. 429 with Retry-After and a JSON reason, counted on /metrics; the
real agent keeps its reports and comes back after Retry-After; a whole day's backlog drains
through the default limits without a single 429."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from agent.config import parse_config
from agent.daemon import Agent
from agent.enroll import enroll
from agent.sender import Sender
from agent.spool import Spool
from checks.model import AgentReport
from collector.api.app import create_app
from collector.api.ratelimit import TokenBucket, client_key, retry_after
from collector.api.server import BackgroundServer
from collector.config import ConfigError, load_config
from collector.service import Services
from collector.storage import schema as db
from tests.collector.api.test_ingest_api import report
from tests.conftest import SCRAPE, app_config
from tests.security.conftest import HK, agent_config

#: Reports an agent makes in 24 hours at the default 60 s interval.
DAY_OF_REPORTS = 24 * 60


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def rate_limited(url: str) -> dict[str, float]:
    text = httpx.get(f"{url}/metrics", headers=SCRAPE, timeout=30).text
    [fam] = [
        f for f in text_string_to_metric_families(text) if f.name == "ioc_rate_limited_requests"
    ]
    return {s.labels["endpoint"]: s.value for s in fam.samples}


def from_address(address: str) -> httpx.Client:
    """A client whose connections leave from ``address`` (another host on loopback)."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=30)


def new_agent(url: str, services: Services, host: str = "pasc-pc-1") -> dict[str, Any]:
    [(_, code)] = services.identities.create_enrollment_codes([HK])
    r = httpx.post(f"{url}/api/v1/enroll", json={"code": code, "host": host})
    assert r.status_code == 201, r.text
    return dict(r.json())


def post(url: str, agent: dict[str, Any], seq: int) -> httpx.Response:
    return httpx.post(
        f"{url}/api/v1/reports",
        json={"reports": [report(agent, seq)]},
        headers={"Authorization": f"Bearer {agent['token']}"},
    )


# ------------------------------------------------------------------------- the bucket


def test_token_bucket_burst_refill_and_wait() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate_per_s=0.5, burst=3, clock=clock)
    assert [bucket.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take("a") == pytest.approx(2.0)  # one token per 2 s
    assert bucket.take("b") == 0.0  # keys are independent
    clock.t += 1.0
    assert bucket.wait_s("a") == pytest.approx(1.0) and bucket.take("a") > 0
    clock.t += 1.0
    assert bucket.take("a") == 0.0 and bucket.take("a") > 0
    clock.t += 3600
    assert [bucket.take("a") for _ in range(4)][:3] == [0.0] * 3  # refills to burst only
    # spend(): failures count even past empty, so a flood waits longer.
    for _ in range(5):
        bucket.spend("c")
    assert bucket.wait_s("c") == pytest.approx((1 + 2) / 0.5)
    assert TokenBucket(0, 1).take("x") == 0.0  # rate 0 = off
    assert retry_after(0.01) == "1" and retry_after(2.2) == "3"


def test_token_bucket_memory_is_bounded() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate_per_s=1.0, burst=2, clock=clock, max_keys=100)
    for i in range(1000):
        bucket.take(f"k{i}")
        clock.t += 0.001
    assert len(bucket._buckets) <= 100


def test_client_key_groups_an_ipv6_subscriber() -> None:
    assert client_key("10.1.2.3") == "10.1.2.3"
    subscriber = "2001:db8:1:2::/64"
    assert client_key("2001:db8:1:2::5") == client_key("2001:db8:1:2:ffff::1") == subscriber
    assert client_key("::ffff:10.1.2.3") == "10.1.2.3"
    assert client_key(None) == "?"


# ------------------------------------------------------------------------ ingest, per agent


def test_an_agent_over_its_limit_gets_429_with_retry_after(serve, services: Services) -> None:
    url = serve(app_config(ingest_rate_per_s=0.5, ingest_burst=3))
    agent, other = new_agent(url, services), new_agent(url, services, host="pasc-pc-2")
    assert [post(url, agent, s).status_code for s in (1, 2, 3)] == [200, 200, 200]
    refused = post(url, agent, 4)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "2"
    detail = refused.json()["detail"]
    assert agent["agent_id"] in detail and "retry in 2 s" in detail and "keep the reports" in detail
    # Another agent is not affected; the refused report was not stored.
    assert post(url, other, 1).status_code == 200
    with services.engine.connect() as conn:
        seqs = (
            conn.execute(select(db.reports.c.seq).where(db.reports.c.agent_id == agent["agent_id"]))
            .scalars()
            .all()
        )
    assert sorted(seqs) == [1, 2, 3]
    assert rate_limited(url) == {"reports": 1.0, "enroll": 0.0, "login": 0.0, "reader": 0.0}
    time.sleep(2.1)  # Retry-After honoured: accepted again
    assert post(url, agent, 4).status_code == 200


def test_limits_come_from_the_collector_configuration(services: Services, tmp_path: Path) -> None:
    cfg_file = tmp_path / "collector.yaml"
    cfg_file.write_text("ingest_rate_per_s: 0.1\ningest_burst: 2\nreflector_port: 0\n")
    cfg = load_config(cfg_file)
    assert (cfg.ingest_rate_per_s, cfg.ingest_burst, cfg.auth_failures_per_min) == (0.1, 2, 10.0)
    with BackgroundServer(create_app(services, cfg)) as url:
        agent = new_agent(url, services)
        codes = [post(url, agent, s).status_code for s in (1, 2, 3)]
        assert codes == [200, 200, 429]
    cfg_file.write_text("ingest_burst: 0\n")
    with pytest.raises(ConfigError, match="option 'ingest_burst'"):
        load_config(cfg_file)


def test_real_agent_keeps_its_reports_and_honours_retry_after(
    serve, services: Services, tmp_path: Path
) -> None:
    url = serve(app_config(ingest_rate_per_s=1.0, ingest_burst=1))
    [(_, code)] = services.identities.create_enrollment_codes([HK])
    enroll(url, code, tmp_path / "agent", host="pasc-pc-1")
    config = agent_config(url, tmp_path / "agent")
    config["spool"] = {"batch_size": 1, "batch_pause_s": 0}

    async def scenario() -> tuple[Any, Any, float, list[int]]:
        agent = Agent(parse_config(config))
        try:
            for _ in range(3):
                await agent.run_cycle(send=False)
            first = await agent.sender.flush(agent.spool)
            left = [r.seq for r in agent.spool.pending(10)]
            again = await agent.sender.flush(agent.spool)  # at once: still backing off
            deadline = time.monotonic() + 20
            started = time.monotonic()
            while agent.spool.pending(10) and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
                await agent.sender.flush(agent.spool)
            return first, again, time.monotonic() - started, left
        finally:
            await agent.aclose()

    first, again, waited, left = asyncio.run(scenario())
    assert first.sent == 1 and first.error == "collector busy (HTTP 429)"
    assert first.retry_in_s >= 1.0  # Retry-After: 1, plus jitter
    assert len(left) == 2 and left == sorted(left)  # kept, in order
    assert again.deferred and again.sent == 0
    assert waited < 15
    assert rate_limited(url)["reports"] >= 1


def test_default_limits_let_a_day_of_backlog_drain_in_well_under_a_minute(
    serve, services: Services, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The figure for docs/RELIABILITY.md: default collector limits, default agent spool
    settings (batches of 50, 0.5-1 s jittered pause), 1,440 spooled reports."""
    url = serve(app_config())  # the defaults: 1 request/s, burst 60
    [(_, code)] = services.identities.create_enrollment_codes([HK])
    enroll(url, code, tmp_path / "agent", host="pasc-pc-1")
    config = parse_config(agent_config(url, tmp_path / "agent"))
    assert (config.spool.batch_size, config.spool.batch_pause_s) == (50, 1.0)

    async def scenario() -> tuple[float, Any, int]:
        agent = Agent(config)
        try:
            template = (await agent.run_cycle(send=False)).report
            start = datetime.now(UTC) - timedelta(days=1)
            for i in range(1, DAY_OF_REPORTS):
                agent.spool.put(
                    template.model_copy(
                        update={
                            "seq": agent.spool.next_seq(),
                            "observed_at": start + timedelta(minutes=i),
                        }
                    )
                )
            assert agent.spool.stats().pending == DAY_OF_REPORTS
            t0 = time.monotonic()
            # As the daemon does: one flush per cycle, budget half an interval (30 s).
            flush = await agent.sender.flush(agent.spool, budget_s=agent.interval_s / 2)
            return time.monotonic() - t0, flush, agent.spool.stats().pending
        finally:
            await agent.aclose()

    elapsed, flush, pending = asyncio.run(scenario())
    assert flush.error is None and pending == 0
    assert flush.sent == DAY_OF_REPORTS and flush.batches == 29
    assert rate_limited(url)["reports"] == 0
    assert elapsed < 40, f"drain of a day took {elapsed:.1f} s"
    with capsys.disabled():
        print(
            f"\n[figure] 24 h backlog: {DAY_OF_REPORTS} reports in {flush.batches} batches "
            f"drained in {elapsed:.1f} s with default limits, 0 x 429"
        )


def test_a_pause_less_drain_of_a_day_fits_in_the_burst(
    serve, services: Services, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Worst case for the limit: an agent configured with no pause between batches."""
    url = serve(app_config())
    agent = new_agent(url, services)
    sender = Sender(url, agent["token"], batch_size=50, batch_pause_s=0)
    spool = Spool(tmp_path / "spool.db")
    start = datetime.now(UTC) - timedelta(days=1)
    for i in range(1, DAY_OF_REPORTS + 1):
        spool.put(
            AgentReport.model_validate(
                report(agent, i, observed_at=(start + timedelta(minutes=i)).isoformat())
            )
        )

    async def drain() -> Any:
        try:
            return await sender.flush(spool)
        finally:
            await sender.aclose()

    t0 = time.monotonic()
    flush = asyncio.run(drain())
    elapsed = time.monotonic() - t0
    spool.close()
    assert flush.error is None and flush.sent == DAY_OF_REPORTS
    assert rate_limited(url)["reports"] == 0
    with capsys.disabled():
        print(
            f"\n[figure] 24 h backlog without pauses: {flush.batches} batches in "
            f"{elapsed:.1f} s, 0 x 429"
        )


# ------------------------------------------------------------- enrollment and login, per address


def test_enrollment_code_guessing_is_slowed_per_address(serve, services: Services) -> None:
    url = serve(app_config(auth_failures_per_min=30, auth_failures_burst=3))
    # Successful enrollments take nothing: many machines enroll from one address.
    for i in range(6):
        new_agent(url, services, host=f"pc-{i}")
    guess = {"code": "AAAA-BBBB-CCCC", "host": "x"}
    with from_address("127.0.0.3") as attacker:
        codes = [attacker.post(f"{url}/api/v1/enroll", json=guess).status_code for _ in range(3)]
        assert codes == [403, 403, 403]
        [(_, good)] = services.identities.create_enrollment_codes([HK])
        blocked = attacker.post(f"{url}/api/v1/enroll", json={"code": good, "host": "x"})
        assert blocked.status_code == 429 and blocked.headers["Retry-After"] == "2"
        assert "too many failed attempts from 127.0.0.3" in blocked.json()["detail"]
    # The code was not consumed, and another address is not affected.
    with from_address("127.0.0.4") as installer:
        ok = installer.post(f"{url}/api/v1/enroll", json={"code": good, "host": "pc-9"})
        assert ok.status_code == 201
    assert rate_limited(url) == {"reports": 0.0, "enroll": 1.0, "login": 0.0, "reader": 0.0}


def test_password_guessing_is_slowed_per_address(serve, services: Services) -> None:
    services.accounts.add_user("canbo", "dung-mat-khau-1", "viewer")
    url = serve(app_config(auth_failures_per_min=30, auth_failures_burst=3))

    def attempt(client: httpx.Client, password: str) -> httpx.Response:
        form = client.get(f"{url}/login?lang=en")
        csrf = form.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        return client.post(
            f"{url}/login?lang=en",
            data={"csrf": csrf, "username": "canbo", "password": password, "next": "/"},
        )

    with from_address("127.0.0.5") as guesser:
        assert [attempt(guesser, f"sai-{i}").status_code for i in range(3)] == [401] * 3
        blocked = attempt(guesser, "dung-mat-khau-1")  # right password, but too late
        assert blocked.status_code == 429 and blocked.headers["Retry-After"] == "2"
        assert "Too many failed logins from this address: try again in 2 s." in blocked.text
        assert "ioc_session" not in blocked.cookies
    with from_address("127.0.0.6") as official:
        assert attempt(official, "dung-mat-khau-1").status_code == 303
    assert rate_limited(url)["login"] == 1.0
