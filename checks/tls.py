"""TLS verification settings as one shared :class:`ssl.SSLContext` (what the agent's HTTP
client, :mod:`checks.http`, uses; the name :func:`httpx_verify` stays from when the agent used
httpx, whose ``verify=`` takes the same), and what to tell the operator when the collector's
certificate is refused.

What the agent trusts (``collector`` section of its configuration):

* nothing given: the operating system's trust store (``True``), through ``truststore``: on
  Windows the certificate store (a provincial CA pushed by Group Policy is trusted), on
  Linux the distribution's bundle (``/etc/ssl/certs``, or ``SSL_CERT_FILE``/``SSL_CERT_DIR``),
  on macOS the keychain; not certifi's copy of the public CAs;
* ``ca_file``: ONLY that CA bundle (a province's private PKI: ``ssl.create_default_context``
  with a ``cafile`` does not load the system store, so a certificate from any public CA is
  refused);
* ``cert_sha256``: in addition, the SHA-256 fingerprint of the collector's own certificate
  (:class:`Pinned`): checked right after the handshake, before a byte of the request (and
  so before the bearer token) is sent.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import re
import ssl
from dataclasses import dataclass
from typing import Any

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Pinned:
    """Verify against ``cafile`` (None: the system store, or no chain check when ``chain``
    is False) AND require the server certificate's SHA-256 to be ``sha256``."""

    sha256: str
    cafile: str | None = None
    chain: bool = True


#: What ``verify=`` options across the agent accept.
TLSVerify = bool | str | Pinned


def normalise_fingerprint(value: str) -> str:
    """``AB:CD:...`` or ``abcd...`` (as ``openssl x509 -fingerprint -sha256`` prints it) to
    64 lower-case hex digits; ValueError otherwise."""
    hexa = value.strip().replace(":", "").lower()
    if not _HEX64.match(hexa):
        raise ValueError(
            "expected the certificate's SHA-256 fingerprint: 64 hex digits, colons allowed "
            "(openssl x509 -noout -fingerprint -sha256 -in cert.pem)"
        )
    return hexa


class _PinnedContext(ssl.SSLContext):
    pin_sha256: str = ""


def _check_pin(context: Any, der: bytes | None) -> None:
    want = getattr(context, "pin_sha256", "")
    got = hashlib.sha256(der or b"").hexdigest()
    if want and not hmac.compare_digest(got, want):
        raise ssl.SSLCertVerificationError(
            1, f"certificate fingerprint {got} is not the pinned {want} (collector.cert_sha256)"
        )


class _PinnedObject(ssl.SSLObject):
    """Memory-BIO TLS (asyncio, through anyio): check the pin when the handshake ends."""

    def do_handshake(self) -> None:
        super().do_handshake()
        _check_pin(self.context, self.getpeercert(binary_form=True))


class _PinnedSocket(ssl.SSLSocket):
    """Blocking sockets (:mod:`checks.http`, which every HTTP request of the agent uses)."""

    def do_handshake(self, block: bool = False) -> None:
        super().do_handshake(block)
        _check_pin(self.context, self.getpeercert(binary_form=True))


def pinned_context(pin: Pinned) -> ssl.SSLContext:
    ctx = _PinnedContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.pin_sha256 = pin.sha256
    if pin.chain:
        if pin.cafile:
            ctx.load_verify_locations(cafile=pin.cafile)
        else:
            ctx.load_default_certs(ssl.Purpose.SERVER_AUTH)
    else:  # the pin alone vouches for the server (a self-signed certificate)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    ctx.sslobject_class = _PinnedObject
    ctx.sslsocket_class = _PinnedSocket
    return ctx


def httpx_verify(verify: TLSVerify) -> bool | ssl.SSLContext:
    """False passes through; True is the operating system's store (truststore); a string
    is a CA bundle path (httpx 0.28 wants a context); a :class:`Pinned` becomes a context
    that also checks the fingerprint. Reading the CA file may raise OSError: callers report
    it as a connection problem.

    Contexts are built once and shared by every client: loading a CA bundle costs ~80 ms of
    CPU, more than all the rest of an agent's check cycle (docs/BENCHMARKS.md, agent
    footprint). A CA file is read again when it changes (size or modification time)."""
    if verify is False:
        return False
    cafile = verify if isinstance(verify, str) else getattr(verify, "cafile", None)
    stamp = None
    if cafile:
        st = os.stat(cafile)
        stamp = (st.st_mtime_ns, st.st_size)
    return _shared_context(verify, stamp)


def system_store_context() -> ssl.SSLContext:
    """Verification against the operating system's trust store (``truststore``), with
    hostname checking; what ``verify=True`` means across the agent."""
    import truststore

    return truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


@functools.lru_cache(maxsize=32)
def _shared_context(verify: TLSVerify, _stamp: tuple[int, int] | None) -> ssl.SSLContext:
    # Precedence: the pin (with its CA file, or the default store), then a CA file alone
    # (the only CA trusted), then the operating system's store.
    if isinstance(verify, Pinned):
        return pinned_context(verify)
    if isinstance(verify, str):
        return ssl.create_default_context(cafile=verify)
    return system_store_context()


def tls_refusal(exc: BaseException) -> str | None:
    """When ``exc`` (an HTTP client's error) comes from a refused server certificate, one line
    saying why and what to check; None for any other error."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, ssl.SSLCertVerificationError):
            why = getattr(cur, "verify_message", None) or (
                cur.args[1] if len(cur.args) > 1 else str(cur)
            )
            return (
                f"the collector's TLS certificate is not trusted ({why}): check "
                "collector.ca_file / collector.cert_sha256 and the collector's certificate"
            )
        cur = cur.__cause__ or cur.__context__
    return None
