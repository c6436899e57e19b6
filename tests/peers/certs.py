"""Certificates made in the test with ``cryptography``: any validity window, any format."""

from __future__ import annotations

from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

_KEY = ec.generate_private_key(ec.SECP256R1())


def make_cert(
    not_before: datetime, not_after: datetime, cn: str = "Nguyễn Văn A - UBND xã Tân Lập"
) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    issuer = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "Test Chuyên dùng Chính phủ CA"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Ban Cơ yếu Chính phủ (test)"),
        ]
    )
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(_KEY.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .sign(_KEY, hashes.SHA256())
    )


def days_from(now: datetime, days: float, *, valid_for: float = 365) -> x509.Certificate:
    """A certificate expiring ``days`` after ``now`` (valid ``valid_for`` days before that)."""
    end = now + timedelta(days=days)
    return make_cert(end - timedelta(days=valid_for), end)


def encode(cert: x509.Certificate, fmt: str, password: str | None = None) -> bytes:
    if fmt == "pem":
        return cert.public_bytes(serialization.Encoding.PEM)
    if fmt == "der":
        return cert.public_bytes(serialization.Encoding.DER)
    enc = (
        serialization.BestAvailableEncryption(password.encode())
        if password
        else serialization.NoEncryption()
    )
    return pkcs12.serialize_key_and_certificates(b"signer", _KEY, cert, None, enc)
