"""A real Prometheus (Debian's) scrapes the collector fed by simulated agents over HTTP."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from collector.demo.simulator import Simulator
from tests import paths
from tests.conftest import METRICS_TOKEN, require_binary
from tests.peers.prometheus import Prometheus, wait_for

pytestmark = pytest.mark.integration

PROVINCES = {"01", "04", "12"}  # Hà Nội (all green), Cao Bằng and Lai Châu (far behind)


@pytest.fixture
def prometheus_bin() -> str:
    return require_binary("prometheus")


def test_prometheus_scrapes_commune_colour_and_province_green_ratio(
    prometheus_bin: str, collector, tmp_path: Path
) -> None:
    sim = Simulator(collector.url, collector.services, seed=1, provinces=PROVINCES)
    stats = asyncio.run(sim.run())
    assert stats.errors == []
    assert stats.reports_sent == sum(1 for p in sim.plans.values() if not p.silent)

    target = collector.url.removeprefix("http://")
    prom = Prometheus(prometheus_bin, tmp_path, [target])
    try:
        wait_for(lambda: prom.query('up{job="ioc-collector"} == 1'), 60, "a successful scrape")

        # A province's green ratio, as the plan made it: Cao Bằng 3 of 56 communes green
        # (the 5.36 % reported on 31 July 2025).
        cao_bang = [p for p in sim.plans.values() if p.province_code == "04"]
        green = sum(p.expected_colour == "green" for p in cao_bang)
        assert (green, len(cao_bang)) == (3, 56)
        [ratio] = wait_for(
            lambda: prom.query('ioc_province_green_ratio{province="04"}'), 30, "green ratio"
        )
        assert float(ratio["value"][1]) == pytest.approx(3 / 56)
        [hanoi] = prom.query('ioc_province_green_ratio{province="01"}')
        assert float(hanoi["value"][1]) == pytest.approx(1.0)

        # A known commune's colour, through the state set.
        red = next(
            p
            for p in sorted(sim.plans.values(), key=lambda p: p.code)
            if p.expected_colour == "red"
        )
        rows = prom.query(f'ioc_commune_colour{{commune="{red.code}"}}')
        by_colour = {r["metric"]["colour"]: float(r["value"][1]) for r in rows}
        assert by_colour == {"green": 0.0, "yellow": 0.0, "red": 1.0, "grey": 0.0}
        failing = prom.query(
            f'ioc_commune_criterion_status{{commune="{red.code}",status="fail",severity="critical"}}'
        )
        assert failing, "a red commune has a failing critical criterion"

        # Communes never reported (not simulated, or silent) are grey, not green.
        [grey] = prom.query('sum(ioc_commune_colour{colour="grey"})')
        silent = sum(p.silent for p in sim.plans.values())
        assert float(grey["value"][1]) == 3321 - len(sim.plans) + silent
    finally:
        prom.stop()


def test_national_config_scrapes_readiness_once_and_hosts_per_province(
    prometheus_bin: str, collector, tmp_path: Path
) -> None:
    """The shipped national configuration, pointed at this collector: readiness from one
    target, every province's hosts from its own target, nothing twice."""
    import yaml

    sim = Simulator(collector.url, collector.services, seed=1, provinces=PROVINCES)
    assert asyncio.run(sim.run()).errors == []
    shipped = yaml.safe_load(
        (paths.ROOT / "dashboards/prometheus/prometheus-national.yml").read_text()
    )
    target = collector.url.removeprefix("http://")
    token_file = tmp_path / "ioc-scrape-token"
    token_file.write_text(METRICS_TOKEN + "\n")
    jobs = shipped["scrape_configs"]
    for job in jobs:
        # The shipped jobs send the scrape token from a file: here, the test's.
        assert job["authorization"]["credentials_file"] == "/etc/prometheus/ioc-scrape-token"
        job["authorization"]["credentials_file"] = str(token_file)
        # Every 2 s: 35 targets on one collector process; a scrape that outlasts its
        # timeout on a busy machine marks its series stale until the next one.
        job.update(scrape_interval="2s", scrape_timeout="2s")
        for group in job["static_configs"]:
            group["targets"] = [target]
    assert len(jobs[1]["static_configs"]) == 34
    prom = Prometheus(prometheus_bin, tmp_path, [], scrape_configs=jobs)
    try:
        wait_for(
            lambda: len(prom.query('up{job="ioc-hosts"} == 1')) == 34, 60, "34 province targets"
        )
        wait_for(lambda: prom.query('up{job="ioc-collector"} == 1'), 30, "the readiness target")
        agents = sum(not p.silent for p in sim.plans.values())

        def counted() -> int:
            rows = prom.query("count(ioc_agent_info)")
            return int(float(rows[0]["value"][1])) if rows else 0

        # Each agent exactly once, from its province's target (never more, never fewer).
        wait_for(lambda: counted() == agents, 30, f"{agents} agent series")
        by_shard = {
            r["metric"]["shard"]: int(float(r["value"][1]))
            for r in prom.query("count by (shard) (ioc_agent_info)")
        }
        assert set(by_shard) == PROVINCES
        assert by_shard == {
            p: sum(1 for c in sim.plans.values() if c.province_code == p and not c.silent)
            for p in PROVINCES
        }

        def coloured() -> int:
            rows = prom.query("count(ioc_commune_colour == 1)")
            return int(float(rows[0]["value"][1])) if rows else 0

        # Every commune has exactly one colour, from the readiness target.
        wait_for(lambda: coloured() == 3321, 30, "3321 communes with one colour each")
        assert prom.query('count(ioc_commune_colour{job="ioc-hosts"})') == []
    finally:
        prom.stop()
