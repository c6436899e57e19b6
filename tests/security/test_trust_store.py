"""The operating system's trust store (truststore) when no ``collector.ca_file`` is given: a
province's CA that the OS trusts (pushed by Group Policy on Windows, installed in
/etc/ssl/certs on Linux) is trusted, though certifi's copy of the public CAs does not hold
it; ``ca_file`` and the certificate pin still come first.

On Linux truststore verifies with OpenSSL's default paths, which ``SSL_CERT_FILE`` and
``SSL_CERT_DIR`` point elsewhere: the tests make a throwaway "OS store" that way, with a
real HTTPS collector on loopback."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from pathlib import Path

import certifi
import httpx
import pytest
import truststore

from agent.config import parse_config
from agent.enroll import EnrollError
from checks import tls
from checks.tls import httpx_verify
from collector.service import Services
from tests.peers.pki import CA
from tests.security.conftest import PKI, agent_config
from tests.security.test_tls import enrolled, one_cycle, stored_reports

# The agent's trust store: the database is only the store behind it, the same on either
# engine (any_engine: the PostgreSQL pass leaves it out).
pytestmark = pytest.mark.any_engine


@pytest.fixture
def os_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Callable[..., None]]:
    """``os_store(ca, ...)``: the system store holds exactly these CAs from now on."""

    def use(*cas: CA) -> None:
        bundle = tmp_path / "os-store.pem"
        bundle.write_bytes(b"".join(ca.pem.read_bytes() for ca in cas))
        monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
        monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path / "no-such-dir"))
        tls._shared_context.cache_clear()  # contexts are shared: build them again

    yield use
    tls._shared_context.cache_clear()


def test_a_ca_of_the_os_store_is_trusted_though_certifi_does_not_hold_it(
    pki: PKI, https_collector, services: Services, tmp_path: Path, os_store
) -> None:
    os_store(pki.ca)
    url = https_collector(pki.good)
    config = agent_config(url, tmp_path / "agent")  # no ca_file, no pin
    verify = parse_config(config).collector.verify
    assert verify is True
    context = httpx_verify(verify)
    assert isinstance(context, truststore.SSLContext)

    # certifi's bundle (what the agent trusted before) refuses this server ...
    certifi_only = ssl.create_default_context(cafile=certifi.where())
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"{url}/api/v1/time", verify=certifi_only, timeout=10)
    # ... the OS store trusts it: enrollment and delivery over HTTPS succeed.
    enrolled(services, url, tmp_path / "agent", verify)
    flush, pending = one_cycle(config)
    assert flush.error is None and flush.sent == 1
    assert pending == [] and stored_reports(services) == 1


def test_a_ca_missing_from_the_os_store_is_refused(
    pki: PKI, https_collector, services: Services, tmp_path: Path, os_store
) -> None:
    os_store(pki.other_ca)
    url = https_collector(pki.good)
    with pytest.raises(EnrollError, match="TLS certificate is not trusted"):
        enrolled(services, url, tmp_path / "agent", True)
    assert not (tmp_path / "agent" / "agent.json").exists()


def test_ca_file_comes_before_the_os_store(
    pki: PKI, https_collector, services: Services, tmp_path: Path, os_store
) -> None:
    os_store(pki.ca)  # the OS would trust the collector ...
    url = https_collector(pki.good)
    verify = parse_config(
        agent_config(url, tmp_path / "agent", ca_file=str(pki.other_ca.pem))
    ).collector.verify
    # ... but ca_file is the only CA trusted: refused.
    with pytest.raises(EnrollError, match="TLS certificate is not trusted"):
        enrolled(services, url, tmp_path / "agent", verify)


def test_the_pin_comes_before_the_os_store(
    pki: PKI, https_collector, services: Services, tmp_path: Path, os_store
) -> None:
    os_store(pki.ca)
    url = https_collector(pki.good)
    wrong = parse_config(
        agent_config(url, tmp_path / "agent", cert_sha256="ab" * 32)
    ).collector.verify
    with pytest.raises(EnrollError, match="not the pinned"):
        enrolled(services, url, tmp_path / "agent", wrong)
    right = parse_config(
        agent_config(url, tmp_path / "agent", cert_sha256=pki.good.sha256)
    ).collector.verify
    enrolled(services, url, tmp_path / "agent", right)
    assert (tmp_path / "agent" / "agent.json").exists()
