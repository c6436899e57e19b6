"""SIG-01 (critical) and SEC-01 (minor) decided by the collector's engine on results that the
real checks produced (not hand-written observations), around the thresholds."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from checks.backend import FirewallState, UpdateInfo
from checks.backend.linux import LinuxBackend
from checks.base import CheckContext
from checks.model import CheckResult
from checks.runner import run_check
from checks.security.antivirus import evaluate_antivirus, parse_antivirus
from checks.security.firewall import evaluate_firewall
from checks.security.updates import evaluate_updates
from checks.signature.certificate import CertificateConfig, CertificateFile, check_file
from checks.signature.token import TokenCheck, TokenConfig
from collector.criteria.catalogue import load_catalogue
from collector.criteria.engine import CriterionStatus, Observation, evaluate_commune
from collector.criteria.rules import Rules
from tests import paths
from tests.peers.certs import days_from, encode, make_cert

NOW = datetime.now(UTC).replace(microsecond=0)
RULES = Rules.of(load_catalogue())
SYSFS = paths.FIXTURES / "sysfs"
TOKENS = [{"vendor_id": "096e", "product_id": "0807", "name": "Feitian ePass2003"}]


def cert_file(**options: object) -> CertificateFile:
    """A configured file, validated as the agent validates its configuration."""
    return CertificateFile.model_validate(options)


def observe(results: list[CheckResult]) -> list[Observation]:
    """What the collector stores of a result (collector.service.ingest does the same mapping)."""
    return [
        Observation(
            "pasc-pc-1",
            r.check,
            r.target,
            r.status.value,
            {k: v.value for k, v in r.values.items()},
            r.message,
            r.observed_at,
        )
        for r in results
    ]


def token(present: bool) -> CheckResult:
    sysfs = SYSFS / ("token_present" if present else "token_absent")
    check = TokenCheck(
        TokenConfig.model_validate({"tokens": TOKENS}), backend=LinuxBackend(sys=sysfs)
    )
    [result] = asyncio.run(run_check(check, CheckContext(host="t")))
    return result


def certificate(tmp_path: Path, cert, fmt: str = "pem") -> CheckResult:
    password = "p12-pass" if fmt == "p12" else None
    path = tmp_path / f"signing.{fmt}"
    path.write_bytes(encode(cert, fmt, password))
    return check_file(
        cert_file(path=path, password=password, name="signing-cert"),
        CertificateConfig(),
        now=NOW,
    )


def sig01(results: list[CheckResult]):
    return evaluate_commune(RULES, "xã", observe(results), now=NOW).criteria["SIG-01"]


@pytest.mark.parametrize("fmt", ["pem", "der", "p12"])
@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (31, CriterionStatus.PASS),
        (30, CriterionStatus.PASS),
        (29, CriterionStatus.WARN),
        (-1, CriterionStatus.FAIL),
    ],
)
def test_sig01_around_30_days(tmp_path, fmt, days, expected):
    outcome = sig01([token(True), certificate(tmp_path, days_from(NOW, days), fmt)])
    assert outcome.status is expected, outcome.reason_en
    assert outcome.severity.value == "critical"


def test_sig01_expired_turns_the_commune_red(tmp_path):
    results = [token(True), certificate(tmp_path, days_from(NOW, -3))]
    ev = evaluate_commune(RULES, "xã", observe(results), now=NOW)
    assert ev.criteria["SIG-01"].status is CriterionStatus.FAIL
    assert ev.colour.value == "red"


def test_sig01_not_yet_valid_fails_despite_many_days_left(tmp_path):
    cert = make_cert(NOW + timedelta(days=1), NOW + timedelta(days=700))
    outcome = sig01([token(True), certificate(tmp_path, cert)])
    assert outcome.status is CriterionStatus.FAIL
    assert "not valid before" in outcome.reason_en


def test_sig01_token_absent_fails_even_with_a_good_certificate(tmp_path):
    outcome = sig01([token(False), certificate(tmp_path, days_from(NOW, 300))])
    assert outcome.status is CriterionStatus.FAIL
    assert "sig.token fail" in outcome.reason_en


def test_sig01_unreadable_certificate_is_unknown(tmp_path):
    bad = tmp_path / "bad.pem"
    bad.write_bytes(b"garbage")
    result = check_file(cert_file(path=bad, name="signing-cert"), CertificateConfig(), now=NOW)
    assert sig01([token(True), result]).status is CriterionStatus.UNKNOWN


def sec01(av: bool, fw: bool, age_days: float):
    results = [
        evaluate_antivirus(
            parse_antivirus(["MsMpEng.exe"] if av else ["explorer.exe"], ["MsMpEng.exe"])
        ),
        evaluate_firewall(FirewallState(fw, "test")),
        evaluate_updates(UpdateInfo(NOW - timedelta(days=age_days), "apt history.log"), NOW),
    ]
    return evaluate_commune(RULES, "xã", observe(results), now=NOW).criteria["SEC-01"]


@pytest.mark.parametrize(
    ("av", "fw", "age", "expected"),
    [
        (True, True, 5, CriterionStatus.PASS),
        (True, True, 30, CriterionStatus.PASS),
        (True, True, 31, CriterionStatus.WARN),
        (True, True, 61, CriterionStatus.FAIL),
        (False, True, 5, CriterionStatus.FAIL),
        (True, False, 5, CriterionStatus.FAIL),
    ],
)
def test_sec01(av, fw, age, expected):
    outcome = sec01(av, fw, age)
    assert outcome.status is expected, outcome.reason_en
    assert outcome.severity.value == "minor"


def test_sec01_failure_is_minor_so_the_commune_is_not_red():
    results = [evaluate_antivirus(parse_antivirus([], ["clamd"]))]
    ev = evaluate_commune(RULES, "xã", observe(results), now=NOW)
    assert ev.criteria["SEC-01"].status is CriterionStatus.FAIL
    assert ev.colour.value != "red"  # nothing critical failed
