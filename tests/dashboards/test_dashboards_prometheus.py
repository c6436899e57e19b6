"""Every dashboard query and every rule expression runs against a real Prometheus (Debian's)
that scrapes the collector fed by simulated agents, with the project's rules loaded.

What "works" means here, query by query:

* dashboard panel queries and template-variable queries: Prometheus accepts them AND they
  return data (with template variables set to real values picked from the variable
  queries' own answers, ``$__rate_interval`` replaced by a duration);
* every ``ioc_*`` metric and recording rule a query names has series in Prometheus;
* alert expressions that the simulated nation should trigger (red communes, degraded
  meeting quality, expired certificates) return exactly the expected series;
* alert expressions that should NOT fire here (silent agents, UPS on battery, certificates
  expiring within 30 days, collector down) are only checked to be valid with their
  underlying series present -- an empty answer is the right answer for them;
* queries naming a metric the catalogue marks ``planned`` (agreed, not exposed yet; none
  today) would only be checked to be valid.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from dashboards.build import GENERATED
from dashboards.metric_catalogue import load_metric_catalogue, referenced_names
from tests import paths
from tests.conftest import require_binary
from tests.dashboards.feed import PROVINCES, feed
from tests.peers.prometheus import Prometheus, wait_for

# PromQL against the collector's metrics: the database is only the store behind them, the
# same on either engine (any_engine: the PostgreSQL pass leaves it out).
pytestmark = [pytest.mark.integration, pytest.mark.any_engine]

RULES = paths.ROOT / "dashboards" / "prometheus" / "rules"
PROVINCE = "04"  # Cao Bằng: red, yellow and green communes
PLANNED = {n for n, s in load_metric_catalogue().items() if s.planned}
#: Alerts the simulated nation must trigger (before their `for:`), by the fault causing it.
EXPECTED_TO_MATCH = {
    "IocCommuneRed": None,
    "IocMeetingQualityDegraded": "poor_video",
    "IocCertificateExpired": "no_signature",
}
#: Alerts that must not match here; only validity and their input series are checked.
NOT_EXPECTED = {
    "IocAgentSilent",
    "IocAgentSpoolBacklogGrowing",  # needs 30 min of a growing backlog
    "IocAgentSpoolDropping",
    "IocUpsOnBattery",
    "IocCertificateExpiringSoon",
    "IocCollectorDown",
    "IocCatalogueReloadFailed",  # no reload was refused: the gauge reads 1
    "IocCriterionFailingWidely",  # no criterion fails in half the communes of a province
}


def substitute(expr: str, province: str, commune: str) -> str:
    for var, value in (
        ("$__rate_interval", "1m"),
        ("$__interval", "15s"),
        ("$__range", "5m"),
        ("$commune", commune),
        ("$province", province),
    ):
        expr = expr.replace(var, value)
    assert "$" not in expr, expr
    return expr


def api(prom: Prometheus, path: str, **params: Any) -> Any:
    r = httpx.get(f"{prom.url}/api/v1/{path}", params=params, timeout=10)
    body = r.json()
    assert body.get("status") == "success", f"{path} {params}: {body}"
    return body["data"]


def label_values(prom: Prometheus, query: str) -> list[str]:
    m = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", query)
    assert m, query
    return list(api(prom, f"label/{m.group(2)}/values", **{"match[]": m.group(1)}))


class At:
    """Instant queries at one fixed time: the last successful scrape. On a busy machine a
    later scrape may time out and mark every series stale; pinning the evaluation time keeps
    the answers about the data actually scraped."""

    def __init__(self, prom: Prometheus) -> None:
        self.prom = prom
        [last] = prom.query('timestamp(up{job="ioc-collector"} == 1)')
        self.time = float(last["value"][1])

    def query(self, expr: str) -> list[dict[str, Any]]:
        return list(api(self.prom, "query", query=expr, time=self.time)["result"])

    def has_series(self, name: str) -> bool:
        return bool(self.query(f'count({{__name__="{name}"}})'))


def local_rule_files(tmp_path: Path) -> list[Path]:
    """The rule files with their group `interval` dropped, so that the test's short global
    evaluation interval applies (a 1 m group may first evaluate up to a minute late)."""
    out = []
    for f in sorted(RULES.glob("*.yml")):
        doc = yaml.safe_load(f.read_text(encoding="utf-8"))
        for g in doc["groups"]:
            g.pop("interval", None)
        dest = tmp_path / f.name
        dest.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
        out.append(dest)
    return out


@pytest.fixture
def prometheus_bin() -> str:
    return require_binary("prometheus")


def test_dashboards_and_rules_run_against_real_prometheus(
    prometheus_bin: str, collector, tmp_path: Path
) -> None:
    sim = feed(collector, PROVINCES)
    fed_commune = min(sim.agents)  # its vc.quality was overwritten by feed()'s good values
    prom = Prometheus(
        prometheus_bin,
        tmp_path,
        [collector.url.removeprefix("http://")],
        rule_files=local_rule_files(tmp_path),
        # One scrape reads all 3,321 communes; on a busy 2-core machine that can take
        # seconds, and a timed-out scrape marks every series stale.
        scrape_interval="10s",
    )
    try:
        wait_for(lambda: prom.query('up{job="ioc-collector"} == 1'), 30, "a successful scrape")
        wait_for(
            lambda: prom.query(f'province:ioc_commune_green:ratio{{province="{PROVINCE}"}}'),
            30,
            "the recording rules",
        )
        # rate() over $__rate_interval needs two scrapes inside the window.
        wait_for(
            lambda: prom.query('sum_over_time(up{job="ioc-collector"}[1m]) >= 2'),
            40,
            "two successful scrapes",
        )
        # Recording rules agree with the collector's own figure.
        at = At(prom)
        [rec] = at.query(f'province:ioc_commune_green:ratio{{province="{PROVINCE}"}}')
        [own] = at.query(f'ioc_province_green_ratio{{province="{PROVINCE}"}}')
        assert float(rec["value"][1]) == pytest.approx(float(own["value"][1])) == 3 / 56

        # Every rule loaded and evaluated without error.
        groups = api(prom, "rules")["groups"]
        rules = [r for g in groups for r in g["rules"]]
        assert len(rules) == sum(
            len(g["rules"])
            for f in RULES.glob("*.yml")
            for g in yaml.safe_load(f.read_text(encoding="utf-8"))["groups"]
        )

        def evaluated() -> list[dict[str, Any]]:
            rules = [r for g in api(prom, "rules")["groups"] for r in g["rules"]]
            return rules if all(r["health"] != "unknown" for r in rules) else []

        for r in wait_for(evaluated, 15, "a first evaluation of every rule"):
            assert r["health"] == "ok", f"{r['name']}: {r.get('lastError')}"

        _check_dashboards(at, sim)
        _check_alert_rules(at, sim, fed_commune)

        # The red communes' alert is pending (its `for: 15m` has not elapsed).
        alerts = wait_for(
            lambda: [
                a
                for a in api(prom, "alerts")["alerts"]
                if a["labels"]["alertname"] == "IocCommuneRed"
            ],
            15,
            "IocCommuneRed pending",
        )
        assert {a["state"] for a in alerts} == {"pending"}
        assert all(a["labels"]["severity"] == "critical" for a in alerts)
    finally:
        prom.stop()


def _check_dashboards(at: At, sim) -> None:
    prom = at.prom
    # Real values for the template variables, from the variables' own queries.
    provinces = label_values(prom, "label_values(ioc_commune_info, province)")
    assert PROVINCE in provinces and len(provinces) == 34
    red = sorted(
        p.code
        for p in sim.plans.values()
        if p.province_code == PROVINCE and p.expected_colour == "red" and not p.silent
    )
    communes = label_values(
        prom,
        substitute('label_values(ioc_commune_info{province="$province"}, commune)', PROVINCE, ""),
    )
    assert red and red[0] in communes
    commune = red[0]

    checked = 0
    valid_only = []
    for f in sorted(GENERATED.glob("*.json")):
        d = json.loads(f.read_text(encoding="utf-8"))
        for v in d["templating"].get("list", []):
            assert label_values(prom, substitute(v["query"], PROVINCE, commune)), v["query"]
        for panel in d["panels"]:
            for t in panel["targets"]:
                expr = substitute(t["expr"], PROVINCE, commune)
                where = f"{f.name} / {panel['title']}: {expr}"
                result = at.query(expr)  # raises on a PromQL error
                names = referenced_names(expr)
                for name in names - PLANNED:
                    assert at.has_series(name), f"{where}: no series for {name}"
                if names & PLANNED:
                    valid_only.append(where)
                    continue
                assert result, f"{where}: no data"
                checked += 1
    assert checked >= 40
    assert valid_only == []  # no planned metrics today; every query returned data


def _check_alert_rules(at: At, sim, fed_commune: str) -> None:
    docs = [yaml.safe_load(f.read_text(encoding="utf-8")) for f in sorted(RULES.glob("*.yml"))]
    rules = [r for d in docs for g in d["groups"] for r in g["rules"]]
    active = [p for p in sim.plans.values() if not p.silent]
    for r in rules:
        name = r.get("alert") or r["record"]
        result = at.query(r["expr"])  # raises on a PromQL error
        names = referenced_names(r["expr"])
        for metric in names - PLANNED:
            assert at.has_series(metric), f"{name}: no series for {metric}"
        if "record" in r:
            assert result, f"{name}: recording rule expression returns no data"
        elif names & PLANNED:
            continue  # valid only, see module doc
        elif name in EXPECTED_TO_MATCH:
            fault = EXPECTED_TO_MATCH[name]
            if fault is None:  # red communes
                expected = {p.code for p in active if p.expected_colour == "red"}
            else:
                expected = {p.code for p in active if fault in p.faults} - {fed_commune}
            assert {s["metric"]["commune"] for s in result} == expected, name
        else:
            assert name in NOT_EXPECTED, f"{name}: say whether it should match here"
            assert result == [], f"{name} matches in a healthy simulation: {result[:3]}"
    _check_working_time_gate(at, rules)


def _check_working_time_gate(at: At, rules: list[dict[str, Any]]) -> None:
    """IocAgentSilent's working-time condition, as Prometheus evaluates it: the collector
    under test works round the clock, so every province is in working time and the rule,
    with its silence threshold lowered below zero, selects every agent."""
    working = at.query("ioc_working_time")
    assert len(working) == 34 and {s["value"][1] for s in working} == {"1"}
    [silent] = [r["expr"] for r in rules if r.get("alert") == "IocAgentSilent"]
    assert "> 15 * 60" in silent and "ioc_working_time" in silent
    agents = at.query("ioc_agent_last_report_timestamp_seconds")
    gated = at.query(silent.replace("> 15 * 60", "> -3600"))
    assert len(gated) == len(agents) > 0
    closed = silent.replace("> 15 * 60", "> -3600").replace("== 1)", "== 0)")
    assert at.query(closed) == []
