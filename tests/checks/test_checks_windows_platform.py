"""Checks over the Windows backend's new facts (certificate store, registered antivirus
products) and the platform differences (CPU load without a load average, interfaces that
are down by design), on recorded Windows outputs and psutil-shaped data."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from checks.backend import AntivirusProduct, StoreCertificate
from checks.backend.linux import LinuxBackend
from checks.backend.windows import WindowsBackend
from checks.base import CheckContext
from checks.host.health import parse_cpu
from checks.model import Status
from checks.network.interfaces import (
    InterfacesConfig,
    evaluate_interfaces,
    interface_kind,
    parse_interfaces,
)
from checks.runner import run_check
from checks.security.antivirus import (
    AntivirusCheck,
    AntivirusConfig,
    decisive,
    evaluate_registered,
)
from checks.signature.certificate import (
    CertificateCheck,
    CertificateConfig,
    dn_attribute,
    pick_store_certificate,
)
from tests.peers.windows_shell import recorded

NOW = datetime.now(UTC).replace(microsecond=0)


def run(check):
    return asyncio.run(run_check(check, CheckContext(host="t")))


# --------------------------------------------------------------------------- sig.certificate


def store_cert(cn: str, days: int, key: bool = True, store: str = "CurrentUser\\My"):
    return StoreCertificate(
        subject=f"CN={cn}, O=UBND XÃ TÂN LẬP, C=VN",
        issuer="CN=Viettel-CA SHA-256, O=Viettel Group, C=VN",
        not_before=NOW - timedelta(days=100),
        not_after=NOW + timedelta(days=days),
        has_private_key=key,
        store=store,
    )


def test_distinguished_name_attributes():
    dn = 'CN="UBND XÃ TÂN LẬP, HUYỆN ĐÔNG ANH", O=UBND XÃ TÂN LẬP, C=VN'
    assert dn_attribute(dn, "CN") == "UBND XÃ TÂN LẬP, HUYỆN ĐÔNG ANH"
    assert dn_attribute(dn, "o") == "UBND XÃ TÂN LẬP"
    assert dn_attribute(dn, "OU") == ""


def test_store_picks_the_keyed_certificate_valid_longest():
    section = pick_store_certificate(
        [store_cert("OLD", -30), store_cert("NEW", 300), store_cert("NO KEY", 900, key=False)]
    )
    assert section.subject_cn == "NEW" and section.issuer == "Viettel-CA SHA-256"
    assert section.source_format == "store CurrentUser\\My"


def test_store_certificate_of_a_plugged_in_token_is_judged():
    # The recorded store: a VNPT-CA token certificate (key present, valid to 2028-03-10).
    [r] = run(CertificateCheck(backend=WindowsBackend(recorded())))
    assert r.target == "certificate-store"
    assert "NGUYỄN VĂN AN, issued by VNPT Certification Authority" in r.message
    expected = (datetime(2028, 3, 10, 2, 15, tzinfo=UTC) - datetime.now(UTC)).days
    assert r.value("cert_days_left") == pytest.approx(expected, abs=1)
    assert r.status is (Status.OK if expected >= 0 else Status.FAIL)


def test_store_without_a_keyed_certificate_is_unknown():
    shell = recorded(texts={"certificates": "[]"})
    [r] = run(CertificateCheck(backend=WindowsBackend(shell)))
    assert r.status is Status.UNKNOWN and "no certificate with a private key" in r.message
    assert r.target == "certificate-store"


def test_store_unreadable_is_unknown_with_the_reason():
    [r] = run(CertificateCheck(backend=WindowsBackend(recorded(texts={"certificates": "{"}))))
    assert r.status is Status.UNKNOWN and "unreadable PowerShell output" in r.message


def test_linux_and_store_off_keep_nothing_configured():
    [r] = run(CertificateCheck(backend=LinuxBackend()))
    assert (r.status, r.message, r.target) == (
        Status.UNKNOWN,
        "no signing certificate configured",
        "",
    )
    off = CertificateCheck(CertificateConfig(from_store=False), backend=WindowsBackend(recorded()))
    [r] = run(off)
    assert r.status is Status.UNKNOWN and r.message == "no signing certificate configured"


# --------------------------------------------------------------------------- sec.antivirus


def av(name: str, enabled: bool | None, current: bool | None = True) -> AntivirusProduct:
    return AntivirusProduct(name, enabled, current, "Security Center")


@pytest.mark.parametrize(
    ("products", "status", "running"),
    [
        ([av("Windows Defender", False), av("Bkav Pro", True)], Status.OK, 1),
        ([av("Kaspersky", True, False)], Status.WARN, 1),
        ([av("Windows Defender", False)], Status.FAIL, 0),
    ],
)
def test_registered_products_decide(products, status, running):
    section = decisive(products)
    assert section is not None
    result = evaluate_registered(section)
    assert result.status is status and result.value("antivirus_running") == running


def test_registered_products_that_do_not_decide():
    assert decisive([]) is None
    assert decisive([av("Defender", None)]) is None


def test_antivirus_check_from_security_center():
    [r] = run(AntivirusCheck(backend=WindowsBackend(recorded())))
    assert r.status is Status.OK and r.message == "on: Bkav Pro (Security Center)"
    outdated = WindowsBackend(recorded(security_center="security_center_outdated.json"))
    [r] = run(AntivirusCheck(backend=outdated))
    assert r.status is Status.WARN and "signatures out of date" in r.message


def test_antivirus_falls_back_to_processes_when_the_registry_cannot_tell():
    me = "python" + "-not-an-av"
    # No Security Center, no Defender (a failing call layer): the process list decides.
    broken = WindowsBackend(recorded(security_center=None, defender=None))
    [r] = run(AntivirusCheck(AntivirusConfig(process_names=[me]), backend=broken))
    assert r.status is Status.FAIL and r.message == "no antivirus engine process running"
    # Linux keeps no registry: as before, the process list.
    [r] = run(AntivirusCheck(AntivirusConfig(process_names=[me]), backend=LinuxBackend()))
    assert r.status is Status.FAIL


# --------------------------------------------------------------------------- CPU


def test_cpu_load_sampled_where_there_is_no_load_average():
    section = parse_cpu(50.0, None, 4)
    assert section.usage_ratio == pytest.approx(0.5) and section.load1 == pytest.approx(2.0)
    assert parse_cpu(50.0, (0.0, 0.0, 0.0), 4).load1 == 0.0  # a real load average is kept
    assert parse_cpu(100.0, None, None).load1 == 1.0


# --------------------------------------------------------------------------- interfaces


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("enp3s0", ""),
        ("Ethernet", ""),
        ("Ethernet 2", ""),
        ("wlp2s0", "wifi"),
        ("Wi-Fi", "wifi"),
        ("Wi-Fi 2", "wifi"),
        ("ifb0", "virtual"),
        ("veth3f2a1b", "virtual"),
        ("docker0", "virtual"),
        ("virbr0", "virtual"),
        ("br-5e1c0a9d7f31", "virtual"),
        ("Bluetooth Network Connection", "virtual"),
        ("Kết nối mạng Bluetooth", "virtual"),
        ("vEthernet (Default Switch)", "virtual"),
        ("VMware Network Adapter VMnet8", "virtual"),
        ("VirtualBox Host-Only Network", "virtual"),
        ("Local Area Connection* 2", "virtual"),
        ("Kết nối Cục bộ* 10", "virtual"),
    ],
)
def test_interface_kinds(name, kind):
    assert interface_kind(name) == kind


def links(**up: bool):
    return parse_interfaces({n: SimpleNamespace(isup=u, speed=0) for n, u in up.items()})


def test_down_by_design_is_not_a_warning_on_windows():
    stats = links(
        **{
            "Ethernet": True,
            "Wi-Fi": False,
            "Kết nối mạng Bluetooth": False,
            "vEthernet (WSL)": False,
            "Ethernet 3": False,
        }
    )
    res = {r.target: r for r in evaluate_interfaces(stats, InterfacesConfig())}
    assert (
        res["Wi-Fi"].status is Status.OK and "Wi-Fi not in use: Ethernet up" in res["Wi-Fi"].message
    )
    assert res["Kết nối mạng Bluetooth"].status is Status.OK
    assert res["vEthernet (WSL)"].status is Status.OK
    assert res["vEthernet (WSL)"].value("link_up") == 0  # still reported as down
    assert res["Ethernet 3"].status is Status.WARN  # a wired port down: worth a look


def test_down_by_design_is_not_a_warning_on_linux():
    stats = links(enp3s0=True, wlp2s0=False, ifb0=False, veth1=False, docker0=False, virbr0=False)
    res = {r.target: r for r in evaluate_interfaces(stats, InterfacesConfig())}
    assert {n for n, r in res.items() if r.status is not Status.OK} == set()


def test_wifi_down_with_nothing_else_up_warns_and_configured_still_fails():
    res = {
        r.target: r
        for r in evaluate_interfaces(links(wlp2s0=False, docker0=True), InterfacesConfig())
    }
    assert res["wlp2s0"].status is Status.WARN  # docker0 up does not carry the PC
    [r] = evaluate_interfaces(
        links(enp3s0=True, docker0=False), InterfacesConfig(interfaces=["docker0"])
    )
    assert r.status is Status.FAIL
