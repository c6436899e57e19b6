"""Exposition: Prometheus naming, help text, figures that match the store, promtool clean."""

from __future__ import annotations

import asyncio
import subprocess

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from collector.api.prometheus import value_metric
from collector.demo.simulator import Simulator
from tests.conftest import SCRAPE, app_config, require_binary


@pytest.fixture
def fed(collector):
    sim = Simulator(collector.url, collector.services, seed=3, provinces={"12"})
    assert asyncio.run(sim.run()).errors == []
    return collector, sim


def scrape(collector) -> str:
    r = httpx.get(f"{collector.url}/metrics", headers=SCRAPE, timeout=30)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    return r.text


def test_every_family_is_namespaced_and_documented(fed) -> None:
    collector, _ = fed
    families = list(text_string_to_metric_families(scrape(collector)))
    assert len(families) > 15
    for fam in families:
        assert fam.name.startswith("ioc_"), fam.name
        assert fam.documentation.strip(), fam.name


def test_figures_match_the_summary(fed) -> None:
    collector, sim = fed
    fams = {f.name: f for f in text_string_to_metric_families(scrape(collector))}
    summary = collector.services.readiness.summary()
    lai_chau = next(p for p in summary["by_province"] if p["code"] == "12")
    counts = {
        s.labels["colour"]: s.value
        for s in fams["ioc_province_communes"].samples
        if s.labels["province"] == "12"
    }
    assert counts == {c: float(lai_chau[c]) for c in ("green", "yellow", "red", "grey")}
    ratio = next(
        s.value for s in fams["ioc_province_green_ratio"].samples if s.labels["province"] == "12"
    )
    assert ratio == pytest.approx(lai_chau["green_ratio"], abs=1e-4)
    # Every commune has exactly one current colour.
    colours = [s for s in fams["ioc_commune_colour"].samples if s.value == 1]
    assert len(colours) == 3321
    # 16 criteria for each simulated commune that reported.
    reported = sum(not p.silent for p in sim.plans.values())
    assert len(fams["ioc_commune_criterion_status"].samples) == 16 * reported
    # The agents' own spool state, one series per agent.
    pending = fams["ioc_agent_spool_pending_reports"].samples
    assert len(pending) == reported
    down = {p.code for p in sim.plans.values() if "link_down" in p.faults}
    assert {s.labels["commune"] for s in pending if s.value > 0} == down
    assert fams["ioc_agent_spool_dropped_reports"].type == "counter"
    accepted = next(
        s.value for s in fams["ioc_ingest_reports"].samples if s.labels["result"] == "accepted"
    )
    assert accepted == reported + len(down)  # a link that was down: one spooled report more


def test_units_are_converted_to_base_units() -> None:
    assert value_metric("rtt", "seconds") == ("ioc_check_rtt_seconds", 1.0)
    assert value_metric("disk_free_ratio", "ratio") == ("ioc_check_disk_free_ratio", 1.0)
    assert value_metric("cert_days_left", "days") == ("ioc_check_cert_left_seconds", 86400.0)
    assert value_metric("download_bandwidth", "bits_per_second") == (
        "ioc_check_download_bandwidth_bytes_per_second",
        0.125,
    )
    assert value_metric("ups_on_line", "") == ("ioc_check_ups_on_line", 1.0)


@pytest.mark.integration
def test_promtool_check_metrics_is_clean(fed) -> None:
    promtool = require_binary("promtool")
    collector, _ = fed
    proc = subprocess.run(
        [promtool, "check", "metrics"],
        input=scrape(collector),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip() == "" and proc.stderr.strip() == ""


def test_a_province_can_expose_more_host_values(services) -> None:
    from collector.api.app import create_app
    from collector.api.prometheus import DEFAULT_HOST_VALUES
    from collector.api.server import BackgroundServer

    app = create_app(services, app_config(metrics_host_values=["sip_response_time"]))
    with BackgroundServer(app) as url:
        sim = Simulator(url, services, seed=3, provinces={"12"})
        assert asyncio.run(sim.run()).errors == []
        text = httpx.get(f"{url}/metrics", headers=SCRAPE, timeout=30).text
    names = {f.name for f in text_string_to_metric_families(text)}
    assert "ioc_check_sip_response_time_seconds" in names
    assert "ioc_check_sip_response_time_seconds" not in {
        value_metric(v, "seconds")[0] for v in DEFAULT_HOST_VALUES
    }


def _samples(text: str) -> set[str]:
    return {line for line in text.splitlines() if line and not line.startswith("#")}


def test_national_split_readiness_and_hosts_per_province_add_up_to_the_whole(collector) -> None:
    """At national scale Prometheus scrapes ?part=readiness once and ?part=hosts once per
    province; together they carry exactly the series of the single scrape."""
    sim = Simulator(collector.url, collector.services, seed=3, provinces={"12", "04"})
    assert asyncio.run(sim.run()).errors == []
    url = f"{collector.url}/metrics"
    whole = _samples(httpx.get(url, headers=SCRAPE, timeout=30).text)
    readiness = _samples(
        httpx.get(url, headers=SCRAPE, params={"part": "readiness"}, timeout=30).text
    )
    per_province = {
        p: _samples(
            httpx.get(url, headers=SCRAPE, params={"part": "hosts", "province": p}, timeout=30).text
        )
        for p in ("12", "04", "01")
    }
    hosts = per_province["12"] | per_province["04"]
    assert per_province["01"] == set()  # Hà Nội has no agents in this run
    assert not readiness & hosts
    assert readiness | hosts == whole
    assert any(s.startswith("ioc_commune_colour{") for s in readiness)
    assert any(s.startswith("ioc_ingest_reports_total{") for s in readiness)
    assert not any(s.startswith(("ioc_agent_", "ioc_check_")) for s in readiness)
    for p, samples in per_province.items():
        assert all(f'province="{p}"' in s for s in samples)
        assert not any(s.startswith("ioc_commune_") for s in samples)
    agents = sum(not p.silent for p in sim.plans.values())
    assert sum(s.startswith("ioc_agent_info{") for s in hosts) == agents

    for params, why in (
        ({"part": "everything"}, "part must be"),
        ({"part": "hosts", "province": "99"}, "unknown province"),
    ):
        r = httpx.get(url, headers=SCRAPE, params=params, timeout=30)
        assert r.status_code == 400 and why in r.json()["detail"]
