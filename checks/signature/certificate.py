"""``sig.certificate``: days until the signing certificate expires (SIG-01).

Certificates are read from configured files with ``cryptography`` (imported only when a file
is configured): PEM (the first certificate of the file: the leaf of a chain), DER, or
PKCS#12 (``.p12``/``.pfx``, with its password, a secret). With no file configured, the
operating system's personal certificate store is read where the platform has one (Windows:
``CurrentUser\\My`` and ``LocalMachine\\My``, where a plugged-in token's middleware puts its
certificate): among the certificates whose private key is reachable, the one valid longest
is judged (a renewal supersedes the expired certificate it replaces), target
``certificate-store``; none with a key -> ``unknown`` (an agent running as a service sees
the service account's ``CurrentUser`` store, not the signing officer's: configure the file
then). Linux has no such store: only files. Value ``cert_days_left`` (days,
negative once expired). Status: ``fail`` when expired or not yet valid (facts: it cannot
sign), else ``ok``: how many days are enough is the catalogue's level (SIG-01); a file
that cannot be read or is not a certificate is ``unknown`` with the reason. A not-yet-valid
certificate carries no ``cert_days_left`` (the criteria engine would otherwise judge it on
its days left) but ``cert_days_until_valid``. Configuration::

    checks:
      sig.certificate:
        certificates:
          - {path: /etc/ioc-agent/signing.pem, name: signing-cert}
          - {path: C:\\certs\\chuky.p12, password: "...", name: chu-ky-so}
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, ClassVar

from annotated_types import MaxLen

from checks.backend import NotSupportedError, StoreCertificate
from checks.base import CannotMeasure, Check, CheckConfig, CheckContext
from checks.messages import msg
from checks.model import Category, CheckResult, Status, Value, utcnow
from checks.schema import STRICT, Doc, Record, Secret

if TYPE_CHECKING:
    from cryptography import x509

#: A certificate file is small; anything larger is refused without parsing it.
MAX_CERT_FILE_BYTES = 1 << 20


@dataclass(frozen=True, kw_only=True)
class CertificateFile(Record):
    __pydantic_config__ = STRICT

    path: Path
    password: Annotated[Secret | None, Doc("PKCS#12 password")] = None
    name: Annotated[str | None, MaxLen(100), Doc("result label")] = None

    @property
    def label(self) -> str:
        return self.name or self.path.name


#: The target of the result judged from the operating system's store.
STORE_TARGET = "certificate-store"


@dataclass(frozen=True, kw_only=True)
class CertificateConfig(CheckConfig):
    certificates: list[CertificateFile] = field(default_factory=list)
    from_store: Annotated[
        bool,
        Doc(
            "with no file configured, judge the OS store's certificate that has a "
            "private key (Windows: CurrentUser\\My, LocalMachine\\My)"
        ),
    ] = True


class CertificateError(Exception):
    """The file cannot be read as a certificate; the message is for the operator."""


@dataclass(frozen=True)
class CertSection:
    subject_cn: str
    issuer: str
    not_before: datetime
    not_after: datetime
    source_format: str


def _cn(name: x509.Name) -> str:
    from cryptography.x509.oid import NameOID

    attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(attrs[0].value) if attrs else ""


def _issuer(name: x509.Name) -> str:
    # Vietnamese CAs put the brand in O ("VIETTEL-CA", "VNPT Certification Authority").
    from cryptography.x509.oid import NameOID

    for oid in (NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME):
        attrs = name.get_attributes_for_oid(oid)
        if attrs:
            return str(attrs[0].value)
    return name.rfc4514_string()[:200]


def load_certificate(data: bytes, password: str | None) -> tuple[x509.Certificate, str]:
    """(certificate, format) from PEM, DER or PKCS#12 bytes; CertificateError otherwise."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import pkcs12

    if b"-----BEGIN CERTIFICATE-----" in data:
        try:
            return x509.load_pem_x509_certificate(data), "PEM"
        except ValueError as exc:
            raise CertificateError(f"PEM certificate is damaged: {exc}") from None
    try:
        return x509.load_der_x509_certificate(data), "DER"
    except ValueError:
        pass
    try:
        _, cert, _ = pkcs12.load_key_and_certificates(
            data, password.encode() if password is not None else None
        )
    except ValueError as exc:
        text = str(exc).lower()
        if "password" in text or "mac" in text:
            hint = "no password configured" if password is None else "wrong password"
            raise CertificateError(f"PKCS#12 file cannot be opened: {hint}") from None
        raise CertificateError("not a certificate (expected PEM, DER or PKCS#12)") from None
    except TypeError:  # a password given to an unprotected file, or none to a protected one
        raise CertificateError("PKCS#12 file cannot be opened: password mismatch") from None
    if cert is None:
        raise CertificateError("PKCS#12 file holds no certificate")
    return cert, "PKCS#12"


def parse_certificate(data: bytes, password: str | None) -> CertSection:
    cert, fmt = load_certificate(data, password)
    return CertSection(
        subject_cn=_cn(cert.subject),
        issuer=_issuer(cert.issuer),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        source_format=fmt,
    )


def evaluate_certificate(
    section: CertSection, params: CertificateConfig, *, target: str, now: datetime
) -> CheckResult:
    who = {"subject": section.subject_cn or "—", "issuer": section.issuer or "—"}
    days_left = (section.not_after - now).total_seconds() / 86400
    values = {"cert_days_left": Value(value=days_left, unit="days")}
    if now < section.not_before:
        status = Status.FAIL
        until = (section.not_before - now).total_seconds() / 86400
        values = {"cert_days_until_valid": Value(value=until, unit="days")}
        message = msg("sig.cert.not_yet_valid", since=section.not_before.isoformat(), **who)
    else:
        # Expired is a fact (it cannot sign); "expires soon" is the catalogue's level (SIG-01).
        status = Status.FAIL if days_left < 0 else Status.OK
        message = msg(
            "sig.cert.expired" if days_left < 0 else "sig.cert.valid",
            days=abs(days_left),
            until=section.not_after.isoformat(),
            **who,
        )
    return CertificateCheck.result(status, message, target=target, values=values)


def _read(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_CERT_FILE_BYTES:
            raise CertificateError(f"{size} bytes: too large for a certificate file")
        return path.read_bytes()[:MAX_CERT_FILE_BYTES]
    except FileNotFoundError:
        raise CertificateError("file not found") from None
    except OSError as exc:
        raise CertificateError(f"cannot read: {exc.strerror or exc}") from None


def read_certificate(cert_file: CertificateFile) -> CertSection | CertificateError:
    """Read and parse one certificate file, or the reason it cannot be (synchronous: run it
    in a thread, ``cryptography`` parses on the CPU)."""
    # An empty password is none (an unprotected PKCS#12 file).
    password = cert_file.password.get_secret_value() if cert_file.password else None
    try:
        return parse_certificate(_read(cert_file.path), password)
    except CertificateError as exc:
        return exc


def judge_file(
    cert_file: CertificateFile,
    section: CertSection | CertificateError,
    params: CertificateConfig,
    now: datetime,
) -> CheckResult:
    if isinstance(section, CertificateError):
        return CertificateCheck.unknown(
            msg("sig.cert.unreadable", path=str(cert_file.path), detail=str(section)),
            target=cert_file.label,
        )
    return evaluate_certificate(section, params, target=cert_file.label, now=now)


def check_file(
    cert_file: CertificateFile, params: CertificateConfig, now: datetime | None = None
) -> CheckResult:
    """Read, parse and evaluate one certificate file (synchronous)."""
    return judge_file(
        cert_file, read_certificate(cert_file), params, now or utcnow().astimezone(UTC)
    )


def dn_attribute(dn: str, key: str) -> str:
    """The first ``key=`` attribute of a distinguished name as Windows writes it
    (``CN=NGUYỄN VĂN AN, O=UBND XÃ ..., C=VN``); a quoted value may hold commas."""
    for match in re.finditer(r'(?:^|,)\s*([A-Za-z0-9.]+)=("(?:[^"]|"")*"|[^,]*)', dn):
        if match.group(1).upper() == key.upper():
            value = match.group(2).strip()
            return value[1:-1].replace('""', '"') if value.startswith('"') else value
    return ""


def store_section(cert: StoreCertificate) -> CertSection:
    issuer = dn_attribute(cert.issuer, "CN") or dn_attribute(cert.issuer, "O") or cert.issuer
    return CertSection(
        subject_cn=dn_attribute(cert.subject, "CN"),
        issuer=issuer[:200],
        not_before=cert.not_before,
        not_after=cert.not_after,
        source_format=f"store {cert.store}",
    )


def pick_store_certificate(certs: list[StoreCertificate]) -> CertSection:
    """The certificate with a reachable private key that is valid longest; CannotMeasure
    when the store holds none."""
    signing = [c for c in certs if c.has_private_key]
    if not signing:
        raise CannotMeasure(msg("sig.cert.no_key", count=len(certs)), target=STORE_TARGET)
    return store_section(max(signing, key=lambda c: c.not_after))


#: What was read (each configured file with its reading, or the store's certificate) and
#: the time of reading.
_Readings = tuple[
    list[tuple[CertificateFile, CertSection | CertificateError]] | CertSection, datetime
]


class CertificateCheck(Check):
    id = "sig.certificate"
    category = Category.EQUIPMENT
    Config: ClassVar[type[CheckConfig]] = CertificateConfig
    config: CertificateConfig

    def targets(self) -> list[str]:
        if self.config.certificates:
            return [c.label for c in self.config.certificates]
        return [STORE_TARGET] if self.config.from_store else [""]

    async def _from_store(self) -> CertSection:
        try:
            certs = await asyncio.to_thread(self.backend.store_certificates)
        except NotSupportedError:  # Linux: certificates are files, none configured
            raise CannotMeasure(msg("sig.cert.none"), target="") from None
        return pick_store_certificate(certs)  # another BackendError: unknown, with why

    async def fetch(self, ctx: CheckContext) -> _Readings:
        files = self.config.certificates
        if not files:
            if not self.config.from_store:
                raise CannotMeasure(msg("sig.cert.none"))
            return await self._from_store(), utcnow().astimezone(UTC)
        sections = await asyncio.gather(*(asyncio.to_thread(read_certificate, c) for c in files))
        return list(zip(files, sections, strict=True)), utcnow().astimezone(UTC)

    def evaluate(self, section: _Readings) -> list[CheckResult]:
        readings, now = section
        if isinstance(readings, CertSection):
            return [evaluate_certificate(readings, self.config, target=STORE_TARGET, now=now)]
        return [judge_file(f, s, self.config, now) for f, s in readings]
