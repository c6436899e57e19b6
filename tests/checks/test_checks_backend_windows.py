"""The Windows backend's parse functions on every sample of tests/fixtures/windows (see its
README for the command and origin of each), on malformed and empty outputs, and the backend
through its call layer (recorded outputs; no Windows machine here)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import pytest

from checks.backend import BackendError, get_backend, using_backend
from checks.backend import windows_parse as wp
from checks.backend.linux import default_route
from checks.backend.windows import (
    SCRIPTS,
    SubprocessPowerShell,
    WindowsBackend,
)
from checks.signature.certificate import dn_attribute
from tests.peers.windows_shell import HEALTHY, WINDOWS, recorded, sample


def test_every_fact_has_a_sample_and_every_sample_is_listed_in_the_readme():
    readme = (WINDOWS / "README.md").read_text(encoding="utf-8")
    files = sorted(p.name for p in WINDOWS.glob("*.json"))
    assert len(files) >= 20
    for name in files:
        assert f"`{name}`" in readme, f"{name} is not described in the README"
    assert "built from the documented format, not recorded" in readme


# --------------------------------------------------------------------------- JSON shapes


@pytest.mark.parametrize("text", ["", "   \r\n", "\ufeff"])
def test_no_output_is_no_item(text):
    assert wp.json_items(text, "x") == []


@pytest.mark.parametrize(
    "text",
    [
        '[{"DestinationPrefix": "0.0.0.0/0", "NextHop"',  # cut off
        "Get-NetRoute : Access is denied.\r\nAt line:1 char:1",  # an error on stdout
        "42",
        '["a", "b"]',
    ],
)
def test_malformed_output_is_a_backend_error(text):
    with pytest.raises(BackendError):
        wp.json_items(text, "routing table")


def test_ps51_and_iso_dates():
    # JSON's "\/Date(ms)\/" is the string /Date(ms)/ once decoded.
    assert wp.parse_date("/Date(1704067200000)/") == datetime(2024, 1, 1, tzinfo=UTC)
    assert wp.parse_date("2025-11-12T03:41:27.1234567Z") == datetime(
        2025, 11, 12, 3, 41, 27, 123456, tzinfo=UTC
    )
    assert wp.parse_date("2025-11-12T10:41:27+07:00") == datetime(
        2025, 11, 12, 3, 41, 27, tzinfo=UTC
    )
    assert wp.parse_date("not a date") is None
    assert wp.parse_date(None) is None


# --------------------------------------------------------------------------- routes


def test_routes_default_gateway_adds_interface_metric():
    routes = wp.parse_routes(sample("routes.json"))
    assert len(routes) == 6
    gw = default_route(routes)
    assert gw is not None
    assert (gw.gateway, gw.interface, gw.metric) == ("192.168.1.1", "Ethernet", 25)
    dedicated = next(r for r in routes if r.destination == "10.160.0.0")
    assert (dedicated.mask, dedicated.gateway, dedicated.is_gateway) == (
        "255.255.0.0",
        "10.160.12.1",
        True,
    )
    onlink = next(r for r in routes if r.destination == "192.168.1.0")
    assert not onlink.is_gateway and onlink.mask == "255.255.255.0"


def test_single_route_bare_object_with_crlf():
    text = sample("route_single_crlf.json")
    assert "\r\n" in text
    [route] = wp.parse_routes(text)
    assert route.is_default and route.gateway == "10.0.2.2" and route.metric == 25


def test_route_with_missing_metric_or_bad_prefix_is_an_error():
    with pytest.raises(BackendError, match="RouteMetric"):
        wp.parse_routes('{"DestinationPrefix": "0.0.0.0/0", "NextHop": "10.0.0.1"}')
    with pytest.raises(BackendError, match="not an IPv4 route"):
        wp.parse_routes('{"DestinationPrefix": "::/0", "NextHop": "fe80::1", "RouteMetric": 0}')


def test_no_route_at_all():
    assert default_route(wp.parse_routes("")) is None


# --------------------------------------------------------------------------- neighbours


def test_neighbours_states_as_text():
    table = {n.ip: n for n in wp.parse_neighbours(sample("neighbours.json"))}
    assert table["192.168.1.1"].complete and table["192.168.1.1"].mac == "00:1a:2b:3c:4d:5e"
    assert table["10.160.12.1"].complete  # Stale: resolved, awaiting confirmation
    assert not table["192.168.1.20"].complete
    assert table["192.168.1.1"].interface == "Ethernet"


def test_neighbours_states_as_numbers():
    table = {n.ip: n for n in wp.parse_neighbours(sample("neighbours_ps51_numeric.json"))}
    assert table["192.168.1.1"].complete
    assert not table["192.168.1.30"].complete and table["192.168.1.30"].mac == ""


# --------------------------------------------------------------------------- devices


def test_av_devices_english():
    devices = wp.parse_av_devices(sample("av_devices_en.json"))
    assert devices.cameras == ("Integrated Webcam",)
    assert devices.microphones == ("Microphone Array (Realtek(R) Audio)",)
    assert devices.speakers == ("Speakers (Realtek(R) Audio)",)
    assert "Headphones (Realtek(R) Audio) (Unknown)" in devices.detail


def test_av_devices_vietnamese_names_and_image_class():
    devices = wp.parse_av_devices(sample("av_devices_vi.json"))
    assert devices.cameras == ("Logitech HD Webcam C270",)
    assert devices.microphones == ("Micrô (Logitech HD Webcam C270)",)
    assert devices.speakers == ("Loa (Âm thanh độ nét cao Realtek)",)
    assert "Tai nghe (Âm thanh độ nét cao Realtek) (Error)" in devices.detail


def test_av_devices_single_speaker_and_none():
    devices = wp.parse_av_devices(sample("av_devices_speaker_only.json"))
    assert (devices.cameras, devices.microphones) == ((), ())
    assert len(devices.speakers or ()) == 1
    empty = wp.parse_av_devices("")
    assert (empty.cameras, empty.microphones, empty.speakers) == ((), (), ())


def test_usb_token_once_with_ids_in_lsusb_form():
    devices = wp.parse_usb_devices(sample("usb.json"))
    ids = [(d.vendor_id, d.product_id) for d in devices]
    assert ids == [("096e", "0807"), ("046d", "c52b")]
    token = devices[0]
    assert token.product == "Thiết bị tổng hợp USB"  # the parent, not the &MI_00 interface
    assert token.manufacturer == "Feitian Technologies" or token.manufacturer.startswith("(")
    assert wp.parse_usb_devices("") == []


# --------------------------------------------------------------------------- certificates


def test_store_certificates():
    certs = wp.parse_store_certificates(sample("certificates.json"))
    assert len(certs) == 3
    vnpt = certs[0]
    assert vnpt.store == "CurrentUser\\My" and vnpt.has_private_key
    assert dn_attribute(vnpt.subject, "CN") == "NGUYỄN VĂN AN"
    assert dn_attribute(vnpt.issuer, "CN") == "VNPT Certification Authority"
    assert vnpt.not_after == datetime(2028, 3, 10, 2, 15, tzinfo=UTC)
    assert dn_attribute(certs[1].subject, "CN") == "UBND XÃ TÂN LẬP, HUYỆN ĐÔNG ANH"
    assert not certs[2].has_private_key and certs[2].store == "LocalMachine\\My"


def test_store_certificate_ps51_dates_bare_object():
    [cert] = wp.parse_store_certificates(sample("certificates_ps51_dates.json"))
    assert cert.not_before == datetime(2024, 1, 1, tzinfo=UTC)
    assert cert.not_after == datetime(2026, 12, 31, tzinfo=UTC)
    assert dn_attribute(cert.issuer, "O") == "Bkav Corporation"


def test_store_certificate_without_dates_is_an_error():
    with pytest.raises(BackendError, match="validity"):
        wp.parse_store_certificates('{"Subject": "CN=x", "NotAfter": ""}')


# --------------------------------------------------------------------------- firewall


def test_firewall_all_profiles_on():
    state = wp.parse_firewall(sample("firewall_on.json"))
    assert state.enabled and "Domain, Private, Public" in state.how


def test_firewall_public_off_numeric():
    state = wp.parse_firewall(sample("firewall_public_off_ps51.json"))
    assert not state.enabled and state.how.endswith("off: Public")


@pytest.mark.parametrize(
    "text", ["", '{"Name": "Public", "Enabled": "NotConfigured"}', '{"Name": "Domain"}']
)
def test_firewall_cannot_tell(text):
    with pytest.raises(BackendError):
        wp.parse_firewall(text)


# --------------------------------------------------------------------------- antivirus


@pytest.mark.parametrize(
    ("state", "enabled", "current"),
    [
        (397568, True, True),  # 0x061100 Defender on
        (393472, False, True),  # 0x060100 Defender passive (another product registered)
        (266240, True, True),  # 0x041000 third party on
        (266256, True, False),  # 0x041010 on, signatures out of date
        (262144, False, True),  # 0x040000 off
        (270336, False, True),  # 0x042000 snoozed
    ],
)
def test_product_state_decoding(state, enabled, current):
    assert wp.decode_product_state(state) == (enabled, current)


def test_security_center_products():
    products = wp.parse_security_center(sample("security_center.json"))
    assert [(p.name, p.enabled, p.up_to_date) for p in products] == [
        ("Windows Defender", False, True),
        ("Bkav Pro", True, True),
    ]
    [only] = wp.parse_security_center(sample("security_center_defender_only.json"))
    assert only.enabled and only.up_to_date
    [old] = wp.parse_security_center(sample("security_center_outdated.json"))
    assert old.enabled and old.up_to_date is False


def test_security_center_bad_state_is_an_error():
    with pytest.raises(BackendError, match="productState"):
        wp.parse_security_center('{"displayName": "X", "productState": "on"}')


def test_defender_status():
    [defender] = wp.parse_defender(sample("defender.json"))
    assert (defender.enabled, defender.up_to_date, defender.source) == (True, True, "Defender")
    [off] = wp.parse_defender(
        '{"AMServiceEnabled": true, "AntivirusEnabled": false,'
        ' "RealTimeProtectionEnabled": false, "AntivirusSignatureAge": 65535}'
    )
    assert off.enabled is False and off.up_to_date is None
    assert wp.parse_defender("") == []


# --------------------------------------------------------------------------- updates


def test_last_update_is_the_newest():
    info = wp.parse_last_update(sample("updates.json"))
    assert info.when == datetime(2025, 11, 20, 1, 5, 10, tzinfo=UTC)
    assert info.source.startswith("Windows Update: Security Intelligence Update")


def test_last_update_from_hotfix_ps51():
    info = wp.parse_last_update(sample("updates_hotfix_ps51.json"))
    assert info.when == datetime(2024, 1, 15, tzinfo=UTC)
    assert info.source == "Get-HotFix: KB5034441"


@pytest.mark.parametrize("text", ["[]", '[{"Title": "KB1", "Date": ""}]'])
def test_no_dated_update_is_unknown(text):
    with pytest.raises(BackendError, match="no installed update"):
        wp.parse_last_update(text)


# --------------------------------------------------------------------------- time


@pytest.mark.parametrize(
    ("name", "synced", "source"),
    [
        ("time_en.json", True, "w32time (dc01.corp.example.com)"),
        ("time_vi.json", True, "w32time (ntp.tinh.gov.vn,0x9)"),
        ("time_it_recorded.json", True, "w32time (dc01.multidata.local)"),
        ("time_unsynced.json", False, "w32time (Local CMOS Clock)"),
        ("time_stopped.json", False, "w32time"),
    ],
)
def test_time_sync_in_any_display_language(name, synced, source):
    state = wp.parse_time_sync(sample(name))
    assert (state.synchronised, state.source) == (synced, source)


def test_time_sync_vietnamese_has_bom_and_crlf():
    raw = (WINDOWS / "time_vi.json").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    assert wp.parse_time_sync(sample("time_vi.json")).detail == "type NTP, leap 0, stratum 3"


def test_time_sync_nosync_and_unreadable():
    nosync = '{"Service": "Running", "Type": "NoSync", "Status": ""}'
    assert not wp.parse_time_sync(nosync).synchronised
    with pytest.raises(BackendError, match="w32tm"):
        wp.parse_time_sync(
            '{"Service": "Running", "Type": "NTP", "Status": "The following error occurred: '
            'The service has not been started. (0x80070426)"}'
        )
    with pytest.raises(BackendError, match="not installed"):
        wp.parse_time_sync('{"Service": "", "Type": null, "Status": ""}')


# --------------------------------------------------------------------------- the backend


def test_backend_answers_every_fact_from_the_call_layer():
    shell = recorded()
    backend = WindowsBackend(shell, timeout_s=7)
    gw = backend.default_gateway()
    assert gw is not None and gw.gateway == "192.168.1.1"
    assert any(n.ip == "192.168.1.1" and n.complete for n in backend.neighbours())
    assert backend.av_devices().cameras == ("Logitech HD Webcam C270",)
    assert backend.usb_devices()[0].vendor_id == "096e"
    assert backend.firewall().enabled
    assert backend.last_update().when.year == 2025
    assert backend.time_sync().synchronised
    assert len(backend.store_certificates()) == 3
    assert [p.name for p in backend.antivirus_products()] == ["Windows Defender", "Bkav Pro"]
    assert {s for s, _ in shell.calls} <= set(SCRIPTS.values())
    assert {t for _, t in shell.calls} == {7}


def test_antivirus_falls_back_to_defender_without_security_center():
    # Windows Server has no root/SecurityCenter2: the CIM query fails.
    backend = WindowsBackend(recorded(security_center=None))
    [defender] = backend.antivirus_products()
    assert defender.source == "Defender" and defender.enabled


def test_antivirus_neither_source_is_a_backend_error():
    backend = WindowsBackend(recorded(security_center=None, defender=None))
    with pytest.raises(BackendError, match="antivirus products"):
        backend.antivirus_products()


def test_failing_call_is_a_backend_error_not_a_crash():
    backend = WindowsBackend(recorded(routes=None, texts={"firewall": "{truncated"}))
    with pytest.raises(BackendError):
        backend.default_gateway()
    with pytest.raises(BackendError, match="unreadable PowerShell output"):
        backend.firewall()


def test_using_backend_selects_it_only_inside_the_block():
    backend = WindowsBackend(recorded())
    with using_backend(backend):
        assert get_backend() is backend
    assert get_backend() is not backend


# --------------------------------------------------------------------------- real call layer


def test_subprocess_call_layer_runs_a_program_with_a_deadline(tmp_path):
    """The real call layer, with a stand-in executable (no PowerShell on Linux): the script
    reaches it as -EncodedCommand, its stdout is decoded as UTF-8, a failure and an overrun
    are BackendErrors."""
    fake = tmp_path / "powershell"
    fake.write_text(
        "#!" + sys.executable + "\n"
        "import base64, sys, time\n"
        "script = base64.b64decode(sys.argv[-1]).decode('utf-16-le')\n"
        "if 'sleep' in script: time.sleep(5)\n"
        "if 'fail' in script: sys.stderr.write('Get-Thing : failed\\n'); sys.exit(1)\n"
        'sys.stdout.buffer.write((\'{"Name": "Loa", "n": %d}\' % len(script)).encode())\n',
        encoding="utf-8",
    )
    fake.chmod(0o755)
    shell = SubprocessPowerShell(str(fake))
    out = shell.run("Get-Thing", 5)
    assert '"Loa"' in out
    with pytest.raises(BackendError, match="Get-Thing : failed"):
        shell.run("fail", 5)
    with pytest.raises(BackendError, match="no answer within 0.5 s"):
        shell.run("sleep", 0.5)
    with pytest.raises(BackendError, match="cannot run PowerShell"):
        SubprocessPowerShell(str(tmp_path / "missing")).run("x", 1)


def test_the_recorded_call_layer_answers_every_script():
    assert set(HEALTHY) == set(SCRIPTS)
    shell = recorded()
    for script in SCRIPTS.values():
        assert shell.run(script, 1).strip()


def test_system_drive_from_the_environment(monkeypatch):
    monkeypatch.setenv("SYSTEMDRIVE", "D:")
    assert WindowsBackend(recorded()).system_drive() == "D:\\"
    monkeypatch.delenv("SYSTEMDRIVE")
    assert WindowsBackend(recorded()).system_drive() == "C:\\"
