"""One owner for thresholds, end to end: the collector's catalogue. A real agent reports
unjudged values to a real collector, learns the catalogue's levels from its answers, keeps
them, and follows a province's change of a level at the next report."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx

from agent.config import parse_config
from agent.daemon import Agent
from agent.enroll import enroll
from agent.levels import LEVELS_FILE, built_in_levels
from checks.levels import Bounds
from collector.api.app import create_app
from collector.api.server import BackgroundServer
from collector.criteria.catalogue import load_catalogue, merge
from collector.criteria.rules import Rules
from collector.domain.units import load_units
from collector.service import services_for
from collector.storage.connect import create_schema, make_engine
from tests.conftest import app_config
from tests.peers.faults import agent_settings

HK = "00070"


def test_agent_learns_and_follows_the_catalogues_levels(tmp_path: Path, new_database) -> None:
    engine = make_engine(new_database("collector.db"))
    create_schema(engine)
    services = services_for(engine, load_catalogue(), load_units())
    server = BackgroundServer(create_app(services, app_config()), port=0)
    server.start()
    try:
        [(_, code)] = services.identities.create_enrollment_codes([HK])
        state = enroll(server.url, code, tmp_path / "agent")
        config = parse_config(agent_settings(server.url, tmp_path / "agent"))
        first = services.core.rules.current()

        # Without a token the levels are not given out.
        assert httpx.get(server.url + "/api/v1/levels").status_code == 401

        async def cycle(agent: Agent) -> None:
            result = await agent.run_cycle()
            assert result.flush is not None and result.flush.error is None
            assert result.flush.levels_version == services.core.rules.current().fingerprint

        async def scenario() -> tuple[Agent, str, str]:
            agent = Agent(config)
            try:
                assert agent.levels.source == "built-in"
                await cycle(agent)
                learnt = agent.levels.version
                # A province makes the disk level stricter; the collector reloads it.
                stricter = merge(
                    load_catalogue(),
                    {"levels": {"host.cpu": {"cpu_usage": {"warn_above": 0.5}}}},
                )
                services.core.rules.replace(Rules.of(stricter))
                await cycle(agent)
                return agent, learnt, agent.levels.version
            finally:
                await agent.aclose()

        agent, learnt, followed = asyncio.run(scenario())
    finally:
        server.stop()

    assert learnt == first.fingerprint and agent.levels.source == "collector"
    assert followed == services.core.rules.current().fingerprint != learnt
    assert agent.levels.table["host.cpu"]["cpu_usage"] == Bounds(warn_above=0.5)
    assert agent.levels.table["host.disk"] == built_in_levels().table["host.disk"]
    kept = json.loads((tmp_path / "agent" / LEVELS_FILE).read_text())
    assert kept["version"] == followed and state.agent_id
