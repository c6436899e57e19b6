import asyncio
import time

import pytest

from agent import daemon as agent_daemon
from agent.config import parse_config
from agent.daemon import Agent
from agent.memory import TEXTS_KEPT, release_free_memory
from agent.state import AgentState, save_state
from tests.agent.agent_fixtures import ENROLL_OK


def config_for(collector, state_dir, **extra):
    data = {
        "collector": {"url": collector.base},
        "state_dir": str(state_dir),
        # The fake collector is scripted for the report protocol only: no throughput test.
        "checks": {
            "net.dns": {"enabled": False},
            "net.portal": {"enabled": False},
            "net.throughput": {"enabled": False},
        },
    }
    data.update(extra)
    return parse_config(data)


def enrolled(collector, state_dir) -> AgentState:
    state = AgentState(collector_url=collector.base, **ENROLL_OK)
    save_state(state_dir, state)
    return state


def test_run_cycle_spools_then_sends(collector, state_dir):
    enrolled(collector, state_dir)

    async def go():
        agent = Agent(config_for(collector, state_dir))
        try:
            first = await agent.run_cycle()
            second = await agent.run_cycle()
        finally:
            await agent.aclose()
        return first, second

    first, second = asyncio.run(go())
    assert second.report.seq == first.report.seq + 1
    assert first.flush.sent == 1 and second.flush.sent == 1
    seqs = [r[3]["reports"][0]["seq"] for r in collector.requests if r[0] == "POST"]
    assert seqs == [first.report.seq, second.report.seq]


def test_reports_wait_in_spool_during_outage(collector, state_dir):
    enrolled(collector, state_dir)
    collector.script.extend([(503, {"Retry-After": "0"}, {"detail": "down"})])

    async def go():
        agent = Agent(config_for(collector, state_dir))
        try:
            down = await agent.run_cycle()
            await asyncio.sleep(2.1)  # Retry-After 0 + jitter below backoff_base_s (2 s)
            up = await agent.run_cycle()
        finally:
            await agent.aclose()
        return down, up

    down, up = asyncio.run(go())
    assert down.flush.sent == 0 and "503" in down.flush.error
    assert up.flush.sent == 2  # the backlog drained in order


def test_token_is_a_secret_in_results(collector, state_dir):
    state = enrolled(collector, state_dir)
    agent = Agent(config_for(collector, state_dir))
    try:
        assert state.token in agent.ctx.secrets
    finally:
        asyncio.run(agent.aclose())


def test_run_forever_stops_cleanly(collector, state_dir, monkeypatch):
    enrolled(collector, state_dir)
    trims, forgets = [], []  # the real calls, counted: once after every cycle
    monkeypatch.setattr(
        agent_daemon, "release_free_memory", lambda: trims.append(release_free_memory())
    )
    monkeypatch.setattr(agent_daemon, "forget_texts", lambda keep: forgets.append(keep))

    async def go():
        agent = Agent(config_for(collector, state_dir, interval_s=5))
        stop = asyncio.Event()
        task = asyncio.create_task(agent.run_forever(stop))
        await asyncio.sleep(1.5)  # start jitter is at most 0.5 s at a 5 s interval
        stop.set()
        start = time.monotonic()
        await asyncio.wait_for(task, 5)
        return time.monotonic() - start

    assert asyncio.run(go()) < 2
    reports = [r for r in collector.requests if r[1] == "/api/v1/reports"]
    assert len(reports) >= 1
    assert len(trims) == len(reports)  # one cycle, one report: memory released after each
    assert forgets == [TEXTS_KEPT] * len(reports)


def test_interval_from_enrollment(collector, state_dir):
    enrolled(collector, state_dir)
    agent = Agent(config_for(collector, state_dir))
    try:
        assert agent.interval_s == 60
    finally:
        asyncio.run(agent.aclose())
    with pytest.raises(Exception, match="greater than or equal"):
        config_for(collector, state_dir, interval_s=1)
