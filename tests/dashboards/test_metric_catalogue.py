"""The metric catalogue matches the live exposition both ways, and dashboards and rules use
only catalogued metrics and defined recording rules."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from collector.api.prometheus import DEFAULT_HOST_VALUES, value_metric
from dashboards.build import GENERATED
from dashboards.metric_catalogue import load_metric_catalogue, referenced_names, series_names
from tests.conftest import SCRAPE
from tests.dashboards.feed import feed

RULES = Path(__file__).resolve().parents[2] / "dashboards" / "prometheus" / "rules"
SPOOL = {"ioc_agent_spool_pending_reports", "ioc_agent_spool_dropped_reports_total"}


@pytest.fixture(scope="module")
def catalogue():
    return load_metric_catalogue()


def test_exposition_and_catalogue_agree_both_ways(collector, catalogue) -> None:
    feed(collector, provinces={"12"})
    text = httpx.get(f"{collector.url}/metrics", headers=SCRAPE, timeout=30).text
    exposed = {f.name: f for f in text_string_to_metric_families(text)}
    by_family = {spec.family: spec for spec in catalogue.values()}

    # Every exposed family is catalogued, with its type, labels and help.
    for name, fam in exposed.items():
        assert name in by_family, f"{name} is exposed but not in collector/metric_catalogue.yaml"
        spec = by_family[name]
        assert fam.type == spec.type, name
        assert fam.documentation == spec.help, name
        sample_labels = {k for s in fam.samples for k in s.labels if k != "le"}
        assert fam.samples, f"{name} is exposed without samples"
        assert sample_labels == set(spec.labels), name

    # Every catalogued metric is exposed, except those marked planned (none today).
    missing = {spec.name for spec in catalogue.values() if spec.family not in exposed}
    planned = {n for n, s in catalogue.items() if s.planned}
    assert missing == planned, f"catalogued but not exposed: {missing - planned}"
    assert set(catalogue) >= SPOOL and not SPOOL & planned


def test_check_value_metrics_are_the_default_host_values(catalogue) -> None:
    derived = {s.derived_from: s for s in catalogue.values() if s.derived_from}
    assert {value for value, _unit in derived} == set(DEFAULT_HOST_VALUES)
    for (value, unit), spec in derived.items():
        name, _scale = value_metric(value, unit)
        assert spec.name == name
        assert spec.type == "gauge"
        assert spec.labels == ("province", "commune", "host", "check", "target")


def test_reference_parser() -> None:
    expr = (
        'sum by (province) (rate(ioc_ingest_reports_total{job=~"ioc_x_.*"}[5m:1m])) / '
        "province:ioc_commune_green:ratio > 1e3 and on (province) "
        'ioc_check_rtt_seconds{province="$province"} offset 5m or vector(0) '
        "and :ioc_commune_green:ratio"
    )
    assert referenced_names(expr) == {
        "ioc_ingest_reports_total",
        "province:ioc_commune_green:ratio",
        "ioc_check_rtt_seconds",
        ":ioc_commune_green:ratio",
    }


def dashboard_exprs() -> list[tuple[str, str]]:
    out = []
    for f in sorted(GENERATED.glob("*.json")):
        d = json.loads(f.read_text("utf-8"))
        for p in d["panels"]:
            for t in p.get("targets", []):
                out.append((f"{f.name}: {p['title']}", t["expr"]))
        for v in d.get("templating", {}).get("list", []):
            if v.get("type") == "query":
                out.append((f"{f.name}: variable {v['name']}", v["query"]))
    return out


def rule_groups() -> list[dict]:
    return [g for f in sorted(RULES.glob("*.yml")) for g in yaml.safe_load(f.read_text())["groups"]]


def test_dashboards_and_rules_use_only_catalogued_metrics(catalogue) -> None:
    known = series_names(catalogue)
    recorded = {r["record"] for g in rule_groups() for r in g["rules"] if "record" in r}
    exprs = dashboard_exprs() + [
        (r.get("alert") or r["record"], r["expr"]) for g in rule_groups() for r in g["rules"]
    ]
    assert len(exprs) > 50
    used: set[str] = set()
    for where, expr in exprs:
        for name in referenced_names(expr):
            used.add(name)
            if ":" in name:
                assert name in recorded, f"{where}: {name} is not a recording rule"
            else:
                assert name in known, f"{where}: {name} is not in the metric catalogue"
    # The recording rules are all used by a dashboard, and the spool metrics are used.
    assert recorded <= used
    assert used >= SPOOL
