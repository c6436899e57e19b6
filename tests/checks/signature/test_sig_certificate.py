"""sig.certificate: expiry around the 30-day boundary, in PEM, DER and PKCS#12."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from checks.base import CheckContext
from checks.levels import Bounds, judge
from checks.model import Status
from checks.runner import run_check
from checks.signature.certificate import (
    CertificateCheck,
    CertificateConfig,
    CertificateFile,
    check_file,
)
from tests.checks.checks_fixtures import judged
from tests.peers.certs import days_from, encode, make_cert

# Certificates carry whole seconds: a "now" with microseconds would shift the boundary.
NOW = datetime.now(UTC).replace(microsecond=0)
PASSWORD = "Mat-khau-P12-9x!"


def cert_file(**options: object) -> CertificateFile:
    """A configured file, validated as the agent validates its configuration."""
    return CertificateFile.model_validate(options)


def write(tmp_path: Path, cert, fmt: str, password: str | None = None) -> Path:
    path = tmp_path / f"cert.{ {'pem': 'pem', 'der': 'cer', 'p12': 'p12'}[fmt] }"
    path.write_bytes(encode(cert, fmt, password))
    return path


@pytest.mark.parametrize("fmt", ["pem", "der", "p12"])
@pytest.mark.parametrize(
    ("days", "status"),
    [(31, Status.OK), (30, Status.OK), (29, Status.WARN), (1, Status.WARN), (-1, Status.FAIL)],
)
def test_expiry_boundary(tmp_path, fmt, days, status):
    password = PASSWORD if fmt == "p12" else None
    path = write(tmp_path, days_from(NOW, days), fmt, password)
    cfg = cert_file(path=path, password=password, name="signing-cert")
    result = judged(check_file(cfg, CertificateConfig(), now=NOW))
    assert result.status is status, result.message
    assert result.value("cert_days_left") == pytest.approx(days)
    assert result.values["cert_days_left"].unit == "days"
    assert result.target == "signing-cert"
    assert "Nguyễn Văn A" in result.message and "Test Chuyên dùng Chính phủ CA" in result.message
    assert PASSWORD not in result.message


def test_a_second_short_of_30_days_warns(tmp_path):
    path = write(tmp_path, days_from(NOW, 30), "pem")
    later = NOW + timedelta(seconds=1)
    result = check_file(cert_file(path=path), CertificateConfig(), now=later)
    assert result.status is Status.OK  # valid: how many days are enough is SIG-01's level
    assert judged(result).status is Status.WARN


def test_expired_message(tmp_path):
    path = write(tmp_path, days_from(NOW, -10), "der")
    result = check_file(cert_file(path=path), CertificateConfig(), now=NOW)
    assert result.status is Status.FAIL and "expired 10 days ago" in result.message
    assert result.value("cert_days_left") == pytest.approx(-10)


@pytest.mark.parametrize("fmt", ["pem", "der", "p12"])
def test_not_yet_valid_fails(tmp_path, fmt):
    cert = make_cert(NOW + timedelta(days=2), NOW + timedelta(days=400))
    password = PASSWORD if fmt == "p12" else None
    path = write(tmp_path, cert, fmt, password)
    result = check_file(cert_file(path=path, password=password), CertificateConfig(), now=NOW)
    assert result.status is Status.FAIL and "not valid before" in result.message
    # No days-left figure: the criteria engine must not pass it on 400 days left.
    assert result.value("cert_days_left") is None
    assert result.value("cert_days_until_valid") == pytest.approx(2)


def test_a_province_level_decides_how_many_days_are_enough(tmp_path):
    path = write(tmp_path, days_from(NOW, 45), "pem")
    result = check_file(cert_file(path=path), CertificateConfig(), now=NOW)
    assert judged(result).status is Status.OK
    sixty = {"sig.certificate": {"cert_days_left": Bounds(warn_below=60, fail_below=0)}}
    assert judge(result, sixty).status is Status.WARN


def test_pem_chain_uses_the_first_certificate(tmp_path):
    leaf, ca = days_from(NOW, 10), days_from(NOW, 3000)
    path = tmp_path / "chain.pem"
    path.write_bytes(encode(leaf, "pem") + encode(ca, "pem"))
    result = check_file(cert_file(path=path), CertificateConfig(), now=NOW)
    assert result.value("cert_days_left") == pytest.approx(10)


@pytest.mark.parametrize(
    ("content", "password", "reason"),
    [
        (b"\x00\x01garbage" * 100, None, "not a certificate"),
        (b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", None, "damaged"),
        (b"", None, "not a certificate"),
    ],
)
def test_garbage_is_unknown_with_reason(tmp_path, content, password, reason):
    path = tmp_path / "bad.crt"
    path.write_bytes(content)
    result = check_file(cert_file(path=path, password=password), CertificateConfig(), now=NOW)
    assert result.status is Status.UNKNOWN and reason in result.message
    assert result.values == {}


def test_pkcs12_wrong_or_missing_password(tmp_path):
    path = write(tmp_path, days_from(NOW, 100), "p12", PASSWORD)
    wrong = check_file(cert_file(path=path, password="sai-mat-khau"), CertificateConfig(), now=NOW)
    assert wrong.status is Status.UNKNOWN and "wrong password" in wrong.message
    assert "sai-mat-khau" not in wrong.message
    missing = check_file(cert_file(path=path), CertificateConfig(), now=NOW)
    assert missing.status is Status.UNKNOWN and "password" in missing.message


def test_missing_and_huge_files(tmp_path):
    gone = check_file(cert_file(path=tmp_path / "nope.pem"), CertificateConfig(), now=NOW)
    assert gone.status is Status.UNKNOWN and "not found" in gone.message
    huge = tmp_path / "huge.pem"
    huge.write_bytes(b"x" * (2 << 20))
    big = check_file(cert_file(path=huge), CertificateConfig(), now=NOW)
    assert big.status is Status.UNKNOWN and "too large" in big.message


def test_check_runs_every_file_and_nothing_configured_is_unknown(tmp_path):
    a = write(tmp_path, days_from(NOW, 100), "pem")
    cfg = CertificateConfig.model_validate(
        {"certificates": [{"path": a, "name": "signing-cert"}, {"path": tmp_path / "missing.p12"}]}
    )
    results = asyncio.run(run_check(CertificateCheck(cfg), CheckContext(host="t")))
    assert [r.status for r in results] == [Status.OK, Status.UNKNOWN]
    assert [r.target for r in results] == ["signing-cert", "missing.p12"]
    [none] = asyncio.run(run_check(CertificateCheck(), CheckContext(host="t")))
    assert none.status is Status.UNKNOWN and "no signing certificate configured" in none.message
