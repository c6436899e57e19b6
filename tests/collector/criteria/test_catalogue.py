from pathlib import Path

import pytest
import yaml

import collector.criteria
from collector.criteria.catalogue import (
    CatalogueError,
    Kind,
    Severity,
    load_catalogue,
    merge,
    parse_catalogue,
)

DOMAIN_IDS = [
    "NET-01",
    "NET-02",
    "NET-03",
    "VC-01",
    "VC-02",
    "VC-03",
    "EQ-01",
    "EQ-02",
    "EQ-03",
    "EQ-04",
    "SIG-01",
    "SYS-01",
    "SEC-01",
    "ATT-01",
    "ATT-02",
    "ATT-03",
]


def test_default_profile_has_every_criterion_of_domain_md() -> None:
    cat = load_catalogue()
    assert cat.profile == "decree118"
    assert [c.id for c in cat.criteria] == DOMAIN_IDS
    by_id = cat.by_id()
    assert {i for i, c in by_id.items() if c.severity is Severity.CRITICAL} == {
        "NET-01",
        "NET-03",
        "VC-01",
        "SIG-01",
        "ATT-01",
        "ATT-02",
    }
    assert {i for i, c in by_id.items() if c.kind is Kind.ATTESTED} == {
        "ATT-01",
        "ATT-02",
        "ATT-03",
    }
    assert [by_id[i].validity_days for i in ("ATT-01", "ATT-02", "ATT-03")] == [365, 90, 365]
    for c in cat.criteria:
        assert c.title.vi and c.title.en and c.basis


def test_thresholds_without_a_source_are_labelled_proposal() -> None:
    by_id = load_catalogue().by_id()
    for cid in ("NET-01", "NET-02", "NET-03", "VC-02", "EQ-01", "EQ-02", "EQ-03", "SEC-01"):
        assert by_id[cid].proposal, cid
    # docs/CRITERIA.md: bandwidth warn below 50 Mbps, fail below 20 Mbps.
    rule = by_id["NET-02"].rules[0]
    assert (rule.warn_below, rule.fail_below) == (50e6, 20e6)


def _broken(mutate) -> str:
    data = yaml.safe_load(
        (Path(collector.criteria.__file__).parent / "decree118.yaml").read_text("utf-8")
    )
    mutate(data)
    return yaml.safe_dump(data, allow_unicode=True)


def test_broken_catalogue_names_the_criterion_and_field() -> None:
    def bad_severity(d):
        d["criteria"][1]["severity"] = "urgent"

    with pytest.raises(CatalogueError) as exc:
        parse_catalogue(_broken(bad_severity), "province.yaml")
    msg = str(exc.value)
    assert "province.yaml" in msg and "NET-02" in msg and "severity" in msg


def test_threshold_without_value_and_duplicate_ids_are_refused() -> None:
    def no_value(d):
        d["criteria"][1]["rules"][0].pop("value")

    with pytest.raises(CatalogueError, match="thresholds need 'value'"):
        parse_catalogue(_broken(no_value))

    def dup(d):
        d["criteria"].append(dict(d["criteria"][0]))

    with pytest.raises(CatalogueError, match="appears twice"):
        parse_catalogue(_broken(dup))

    with pytest.raises(CatalogueError, match="not valid YAML"):
        parse_catalogue("criteria: [", "x.yaml")


def test_province_override_changes_threshold_and_adds_criterion() -> None:
    base = load_catalogue()
    override = {
        "criteria": [
            {
                "id": "NET-02",
                "rules": [
                    {
                        "check": "net.throughput",
                        "value": "download_bandwidth",
                        "warn_below": 100e6,
                        "fail_below": 30e6,
                    }
                ],
            },
            {
                "id": "LOC-01",
                "title": {"vi": "Tiêu chí riêng", "en": "Own criterion"},
                "basis": "Province decision",
                "kind": "automated",
                "severity": "minor",
                "rules": [{"check": "net.http", "target": "https://tinh.example/"}],
            },
        ],
        "guidance": {
            "LOC-01": {
                "explanation": {"vi": "Cổng của tỉnh truy cập được.", "en": "Portal up."},
                "remediation": {"vi": ["Gọi Sở."], "en": ["Call the department."]},
            }
        },
    }
    merged = merge(base, override)
    assert merged.by_id()["NET-02"].rules[0].warn_below == 100e6
    assert merged.by_id()["NET-02"].title.en == "Bandwidth to the province"  # kept
    assert merged.criteria[-1].id == "LOC-01"
    with pytest.raises(CatalogueError, match="LOC-02"):
        merge(base, {"criteria": [{"id": "LOC-02", "kind": "automated"}]}, "p.yaml")


# ------------------------------------------------------------------ one owner of levels


def test_level_table_holds_every_threshold_of_rules_and_levels() -> None:
    """The table agents receive: the levels of the rules' values and of the ``levels:``
    section, each value once."""
    from checks.levels import Bounds
    from collector.criteria.catalogue import level_table

    table = level_table(load_catalogue())
    assert table["net.throughput"]["download_bandwidth"] == Bounds(fail_below=20e6, warn_below=50e6)
    assert table["net.portal"] == {
        "http_response_time": Bounds(fail_above=3.0),
        "tls_cert_days_left": Bounds(fail_below=0, warn_below=14),
    }
    assert table["ssh.command"]["disk_min_free_ratio"] == Bounds(fail_below=0.05, warn_below=0.1)


def test_a_value_has_one_set_of_levels() -> None:
    def twice(d):  # NET-02's bandwidth given again in the levels table
        d["levels"]["net.throughput"] = {"download_bandwidth": {"warn_below": 1}}

    with pytest.raises(CatalogueError, match="judged by NET-02's rule already"):
        parse_catalogue(_broken(twice))

    def disagree(d):  # a second rule on the same value with other levels
        d["criteria"][2]["rules"].append(
            {"check": "net.throughput", "value": "download_bandwidth", "fail_below": 1}
        )

    with pytest.raises(CatalogueError, match="other levels than NET-02"):
        parse_catalogue(_broken(disagree))

    def empty(d):
        d["levels"]["host.cpu"]["cpu_usage"] = {}

    with pytest.raises(CatalogueError, match="no level given"):
        parse_catalogue(_broken(empty))

    def bad_check(d):
        d["levels"]["Host CPU"] = {"cpu_usage": {"warn_above": 0.9}}

    with pytest.raises(CatalogueError, match="not a check id"):
        parse_catalogue(_broken(bad_check))


def test_province_override_changes_a_level_and_the_fingerprint() -> None:
    from collector.criteria.rules import Rules

    base = load_catalogue()
    merged = merge(base, {"levels": {"net.portal": {"tls_cert_days_left": {"warn_below": 30}}}})
    assert merged.levels["net.portal"]["tls_cert_days_left"].warn_below == 30
    assert merged.levels["svc.http"] == base.levels["svc.http"]  # the rest kept
    assert Rules.of(merged).fingerprint != Rules.of(base).fingerprint
    with pytest.raises(CatalogueError, match="levels: expected check ids"):
        merge(base, {"levels": ["net.portal"]})
