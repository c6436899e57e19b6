"""Recording and alert rules: promtool check, promtool unit tests, runbook annotations."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import require_binary

PROM = Path(__file__).resolve().parents[2] / "dashboards" / "prometheus"
RULE_FILES = sorted((PROM / "rules").glob("*.yml"))
# level:metric:operations (https://prometheus.io/docs/practices/rules/)
RECORD_NAME = re.compile(r"[a-z_]*:ioc_[a-z0-9_]+:[a-z0-9_]+")
ANNOTATIONS = {"summary", "summary_vi", "description", "description_vi", "runbook", "runbook_vi"}


@pytest.fixture(scope="module")
def promtool() -> str:
    return require_binary("promtool")


def run(promtool: str, *args: str) -> str:
    proc = subprocess.run([promtool, *args], capture_output=True, text=True, timeout=60, cwd=PROM)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


@pytest.mark.integration
def test_promtool_check_rules_and_config(promtool: str) -> None:
    out = run(promtool, "check", "rules", *map(str, RULE_FILES))
    assert out.count("SUCCESS") == len(RULE_FILES)
    # Syntax only: the scrape token file they name exists on the Prometheus host alone (the
    # rules they load are checked above).
    for config in ("prometheus.yml", "prometheus-national.yml"):
        run(promtool, "check", "config", "--syntax-only", config)


@pytest.mark.integration
def test_promtool_unit_tests_pass(promtool: str) -> None:
    tests = sorted((PROM / "tests").glob("*.yml"))
    assert tests
    out = run(promtool, "test", "rules", *map(str, tests))
    assert "SUCCESS" in out


def rules() -> list[dict]:
    return [
        r for f in RULE_FILES for g in yaml.safe_load(f.read_text())["groups"] for r in g["rules"]
    ]


def test_recording_rules_follow_the_naming_convention() -> None:
    recorded = [r["record"] for r in rules() if "record" in r]
    assert len(recorded) >= 4
    for name in recorded:
        assert RECORD_NAME.fullmatch(name), name


def test_every_alert_has_severity_and_bilingual_runbook() -> None:
    alerts = [r for r in rules() if "alert" in r]
    names = {a["alert"] for a in alerts}
    assert names >= {
        "IocCommuneRed",
        "IocAgentSilent",
        "IocMeetingQualityDegraded",
        "IocUpsOnBattery",
        "IocCertificateExpiringSoon",
        "IocAgentSpoolBacklogGrowing",
    }
    for a in alerts:
        assert a["labels"]["severity"] in ("warning", "critical"), a["alert"]
        assert set(a["annotations"]) == ANNOTATIONS, a["alert"]
        for key in ("summary_vi", "description_vi", "runbook_vi"):
            assert not a["annotations"][key].isascii(), f"{a['alert']}: {key} is not Vietnamese"
        assert "1." in a["annotations"]["runbook"] and "1." in a["annotations"]["runbook_vi"]
    red = next(a for a in alerts if a["alert"] == "IocCommuneRed")
    assert red["for"] == "15m"
    cert = next(a for a in alerts if a["alert"] == "IocCertificateExpiringSoon")
    assert "ioc_check_cert_left_seconds < 30 * 86400" in cert["expr"]
    ups = next(a for a in alerts if a["alert"] == "IocUpsOnBattery")
    assert ups["expr"].strip() == "ioc_check_ups_on_line == 0"
