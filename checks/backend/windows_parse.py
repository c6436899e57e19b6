"""Pure parse functions of the Windows backend: PowerShell's JSON (or w32tm's text) -> facts.

Each function takes the text one script of :mod:`checks.backend.windows` printed and returns
the fact, or raises :class:`~checks.backend.BackendError` when the text is not what the
script prints (a check then says "could not measure", never crashes). They are tested on
the samples under ``tests/fixtures/windows`` (the README there names the command and the
origin of each sample).

Shapes handled everywhere:

* ``ConvertTo-Json`` writes a bare object for one item and an array for several, and
  nothing at all for none: :func:`json_items` turns the three into a list;
* Windows PowerShell 5.1 writes enums as numbers and dates as ``"\\/Date(ms)\\/"``,
  PowerShell 7 writes dates as ISO 8601: both are read;
* a UTF-8 byte-order mark, CRLF line endings and Vietnamese text (device names, localised
  strings) pass through; decisions are taken on numbers and identifiers, never on words of
  a display language.
"""

from __future__ import annotations

import ipaddress
import json
import re
from datetime import UTC, datetime
from typing import Any

from checks.backend import (
    AntivirusProduct,
    AvDevices,
    BackendError,
    FirewallState,
    Neighbour,
    Route,
    ScannerDevice,
    StoreCertificate,
    TimeSync,
    UpdateInfo,
    UsbDevice,
)

# --------------------------------------------------------------------------- JSON


def json_items(text: str, what: str) -> list[dict[str, Any]]:
    """The objects of ``ConvertTo-Json`` output: [] for no output, [obj] for a bare object."""
    body = text.lstrip("\ufeff").strip()
    if not body:
        return []
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise BackendError(f"{what}: unreadable PowerShell output ({exc.msg})") from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not all(isinstance(i, dict) for i in data):
        raise BackendError(f"{what}: PowerShell output is not a list of objects")
    return data


def _text(item: dict[str, Any], key: str) -> str:
    value = item.get(key)
    return "" if value is None else str(value).strip()


def _int(item: dict[str, Any], key: str, what: str) -> int:
    try:
        return int(item[key])
    except (KeyError, TypeError, ValueError, OverflowError):  # absent, text, NaN, Infinity
        raise BackendError(f"{what}: missing or non-numeric {key}") from None


def _bool(value: Any) -> bool | None:
    """PowerShell booleans: true/false, "True"/"False", 1/0 (GpoBoolean); else None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return {1: True, 0: False}.get(value)
    return {"true": True, "false": False}.get(str(value).strip().lower())


_MS_DATE = re.compile(r"^/Date\((-?\d+)(?:[+-]\d{4})?\)/$")


def parse_date(value: Any) -> datetime | None:
    """``"\\/Date(1700000000000)\\/"`` (PowerShell 5.1) or ISO 8601 -> aware UTC; None if
    absent or unreadable. A time without a zone is taken as UTC (the scripts convert)."""
    text = str(value or "").strip()
    if not text:
        return None
    match = _MS_DATE.match(text)
    try:
        if match:
            return datetime.fromtimestamp(int(match.group(1)) / 1000, UTC)
        # .NET's round-trip format has 7 fraction digits; Python reads at most 6.
        when = datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", text.replace("Z", "+00:00")))
        return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    except (ValueError, OverflowError, OSError):  # not a date, or beyond year 1-9999
        return None


# --------------------------------------------------------------------------- routes


def _mask(prefix_len: int) -> str:
    return str(ipaddress.IPv4Network(f"0.0.0.0/{prefix_len}").netmask)


def parse_routes(text: str) -> list[Route]:
    """``Get-NetRoute -AddressFamily IPv4``: DestinationPrefix, NextHop, RouteMetric,
    InterfaceMetric, InterfaceAlias. Windows adds both metrics to choose a route; an
    on-link route has NextHop 0.0.0.0."""
    out: list[Route] = []
    for item in json_items(text, "routing table"):
        try:
            net = ipaddress.IPv4Network(_text(item, "DestinationPrefix"), strict=False)
            hop = ipaddress.IPv4Address(_text(item, "NextHop") or "0.0.0.0")
        except ValueError:
            raise BackendError(f"routing table: not an IPv4 route: {item!r:.120}") from None
        metric = _int(item, "RouteMetric", "routing table")
        if item.get("InterfaceMetric") is not None:
            metric += _int(item, "InterfaceMetric", "routing table")
        out.append(
            Route(
                interface=_text(item, "InterfaceAlias"),
                destination=str(net.network_address),
                gateway=str(hop),
                mask=_mask(net.prefixlen),
                metric=metric,
                up=True,  # Get-NetRoute lists the active store's routes only
                is_gateway=not hop.is_unspecified,
            )
        )
    return out


# --------------------------------------------------------------------------- neighbours

#: MSFT_NetNeighbor.State (numbers from Windows PowerShell 5.1, names from 7).
_NEIGHBOUR_STATES = {
    "0": "Unreachable",
    "1": "Incomplete",
    "2": "Probe",
    "3": "Delay",
    "4": "Stale",
    "5": "Reachable",
    "6": "Permanent",
    "7": "TBD",
}
_RESOLVED = {"Probe", "Delay", "Stale", "Reachable", "Permanent"}


def parse_neighbours(text: str) -> list[Neighbour]:
    """``Get-NetNeighbor -AddressFamily IPv4``: IPAddress, LinkLayerAddress (``00-15-5D-..``),
    State, InterfaceAlias. Resolved = a hardware address in a state other than Unreachable
    or Incomplete (Stale is resolved: the entry only awaits confirmation)."""
    out: list[Neighbour] = []
    for item in json_items(text, "neighbour table"):
        ip = _text(item, "IPAddress")
        if not ip:
            raise BackendError("neighbour table: an entry without IPAddress")
        mac = _text(item, "LinkLayerAddress").replace("-", ":").lower()
        state = _text(item, "State")
        state = _NEIGHBOUR_STATES.get(state, state)
        resolved = state in _RESOLVED and mac not in ("", "00:00:00:00:00:00")
        out.append(Neighbour(ip, mac, _text(item, "InterfaceAlias"), resolved))
    return out


# --------------------------------------------------------------------------- devices

# Audio endpoint instance ids: SWD\MMDEVAPI\{0.0.0.00000000}.{guid} is a playback (render)
# endpoint, {0.0.1.00000000} a capture one — the data-flow index of the MMDevice API, the
# same in every display language.
_ENDPOINT_FLOW = re.compile(r"\{0\.0\.([01])\.0{8}\}", re.IGNORECASE)


def _device_name(item: dict[str, Any]) -> str:
    return _text(item, "FriendlyName") or _text(item, "InstanceId")


def parse_av_devices(text: str) -> AvDevices:
    """``Get-PnpDevice -PresentOnly -Class Camera,Image,AudioEndpoint``: cameras (class
    Camera, or Image for older webcam drivers), microphones and speakers (AudioEndpoint,
    by data flow). Devices whose Status is not OK (disabled, failed driver) do not count;
    the detail names them."""
    cameras: list[str] = []
    microphones: list[str] = []
    speakers: list[str] = []
    ignored: list[str] = []
    for item in json_items(text, "audio/video devices"):
        name, cls = _device_name(item), _text(item, "Class").lower()
        if _text(item, "Status").upper() not in ("OK", ""):
            ignored.append(f"{name} ({_text(item, 'Status')})")
            continue
        if cls in ("camera", "image"):
            cameras.append(name)
        elif cls == "audioendpoint":
            flow = _ENDPOINT_FLOW.search(_text(item, "InstanceId"))
            if flow is None:
                ignored.append(f"{name} (unknown data flow)")
            else:
                (microphones if flow.group(1) == "1" else speakers).append(name)
    detail = ("not working: " + ", ".join(ignored)) if ignored else ""
    return AvDevices(tuple(cameras), tuple(microphones), tuple(speakers), detail)


_USB_ID = re.compile(r"^USB\\VID_([0-9A-F]{4})&PID_([0-9A-F]{4})", re.IGNORECASE)


def parse_usb_devices(text: str) -> list[UsbDevice]:
    """``Get-PnpDevice -PresentOnly`` entries with a ``USB\\VID_xxxx&PID_xxxx`` instance id.
    A composite device (a token with a smart-card and a storage interface) also lists its
    interfaces (``...&MI_00``): one device per vendor/product id is kept, the parent's
    entry rather than an interface's."""
    out: dict[tuple[str, str], UsbDevice] = {}
    for item in json_items(text, "USB devices"):
        instance = _text(item, "InstanceId")
        match = _USB_ID.match(instance)
        if match is None:
            continue
        key = (match.group(1).lower(), match.group(2).lower())
        if key in out and "&MI_" in instance.upper():
            continue
        out[key] = UsbDevice(
            vendor_id=key[0],
            product_id=key[1],
            manufacturer=_text(item, "Manufacturer"),
            product=_device_name(item),
            where=instance,
        )
    return list(out.values())


#: WiaDeviceType: 0 unspecified, 1 scanner, 2 camera, 3 streaming video.
WIA_SCANNER = 1


def parse_scanners(text: str) -> list[ScannerDevice]:
    """The script's WIA devices: DeviceID, Type (WiaDeviceType), Name, Description,
    Manufacturer (WIA device information properties), Status (the Plug and Play status of
    the same device; empty when it is installed but not present). Only type 1 (scanner)
    is kept: a webcam is a WIA camera or video device even where its class is Image.
    Connected = Plug and Play says OK."""
    out: list[ScannerDevice] = []
    for item in json_items(text, "WIA devices"):
        device_id = _text(item, "DeviceID")
        if not device_id:
            raise BackendError("WIA devices: a device without DeviceID")
        if _int(item, "Type", "WIA devices") != WIA_SCANNER:
            continue
        status = _text(item, "Status")
        description = _text(item, "Description")
        out.append(
            ScannerDevice(
                name=_text(item, "Name") or description or device_id,
                device_id=device_id,
                connected=status.upper() == "OK",
                status=status,
                description=description,
            )
        )
    return out


# --------------------------------------------------------------------------- certificates


def parse_store_certificates(text: str) -> list[StoreCertificate]:
    """The script's objects for ``Cert:\\CurrentUser\\My`` and ``Cert:\\LocalMachine\\My``:
    Store, Subject, Issuer, NotBefore, NotAfter (UTC), HasPrivateKey, Thumbprint."""
    out: list[StoreCertificate] = []
    for item in json_items(text, "certificate store"):
        not_before = parse_date(item.get("NotBefore"))
        not_after = parse_date(item.get("NotAfter"))
        if not_before is None or not_after is None:
            raise BackendError(
                f"certificate store: unreadable validity dates for {_text(item, 'Subject')!r}"
            )
        out.append(
            StoreCertificate(
                subject=_text(item, "Subject"),
                issuer=_text(item, "Issuer"),
                not_before=not_before,
                not_after=not_after,
                has_private_key=_bool(item.get("HasPrivateKey")) is True,
                store=_text(item, "Store"),
                thumbprint=_text(item, "Thumbprint"),
            )
        )
    return out


# --------------------------------------------------------------------------- firewall


def parse_firewall(text: str) -> FirewallState:
    """``Get-NetFirewallProfile -PolicyStore ActiveStore`` (the effective policy, Group
    Policy included): Name, Enabled. On when every profile (Domain, Private, Public) is
    on: Windows switches profile with the network, so one profile off is a hole."""
    profiles = json_items(text, "firewall profiles")
    if not profiles:
        raise BackendError("firewall profiles: Windows listed none")
    off, unknown = [], []
    for item in profiles:
        state = _bool(item.get("Enabled"))
        if state is None:
            unknown.append(_text(item, "Name") or "?")
        elif not state:
            off.append(_text(item, "Name") or "?")
    names = ", ".join(_text(p, "Name") for p in profiles)
    if off:
        return FirewallState(False, "Windows Defender Firewall profile(s) off: " + ", ".join(off))
    if unknown:
        raise BackendError("firewall profiles: unreadable state of " + ", ".join(unknown))
    return FirewallState(True, f"Windows Defender Firewall on (profiles {names})")


# --------------------------------------------------------------------------- antivirus


def decode_product_state(state: int) -> tuple[bool, bool]:
    """(enabled, up to date) from Security Center's ``productState``.

    Undocumented by Microsoft; the reading used by administrators' scripts: bits
    0xF000 = engine state (0x1000 on; 0x0000 off, 0x2000 snoozed, 0x3000 expired),
    0x0F00 = owner (0x0100 Windows), 0x00F0 = signatures (0x00 up to date, 0x10 out of
    date). 397568 = 0x061100: Defender on, up to date."""
    return (state & 0xF000) == 0x1000, (state & 0x00F0) == 0x00


def parse_security_center(text: str) -> list[AntivirusProduct]:
    """``root/SecurityCenter2 AntiVirusProduct`` (Windows client editions): displayName,
    productState."""
    out: list[AntivirusProduct] = []
    for item in json_items(text, "Security Center"):
        enabled, current = decode_product_state(_int(item, "productState", "Security Center"))
        name = _text(item, "displayName") or "(unnamed product)"
        out.append(AntivirusProduct(name, enabled, current, "Security Center"))
    return out


def parse_defender(text: str) -> list[AntivirusProduct]:
    """``Get-MpComputerStatus``: AMServiceEnabled, AntivirusEnabled,
    RealTimeProtectionEnabled, AntivirusSignatureAge (days). Empty output (Defender
    absent, e.g. removed by a third-party product) -> no product."""
    items = json_items(text, "Defender status")
    if not items:
        return []
    item = items[0]
    flags = [
        _bool(item.get(k))
        for k in ("AMServiceEnabled", "AntivirusEnabled", "RealTimeProtectionEnabled")
    ]
    enabled = None if None in flags else all(flags)
    age = item.get("AntivirusSignatureAge")
    # Defender's own "out of date" warning comes after 7 days without new signatures.
    current: bool | None = None
    if isinstance(age, int) and not isinstance(age, bool) and 0 <= age < 65535:
        current = age <= 7
    return [AntivirusProduct("Microsoft Defender Antivirus", enabled, current, "Defender")]


# --------------------------------------------------------------------------- updates


def parse_last_update(text: str) -> UpdateInfo:
    """The script's installed updates: Source (Windows Update history or Get-HotFix),
    Title, Date (UTC). The newest one wins; no dated update -> BackendError."""
    best: tuple[datetime, str] | None = None
    for item in json_items(text, "update history"):
        when = parse_date(item.get("Date"))
        if when is None:
            continue
        source = f"{_text(item, 'Source') or 'Windows Update'}: {_text(item, 'Title')[:120]}"
        if best is None or when > best[0]:
            best = (when, source)
    if best is None:
        raise BackendError("Windows records no installed update with a date")
    return UpdateInfo(best[0], best[1])


# --------------------------------------------------------------------------- time


def _leading_int(value: str) -> int | None:
    match = re.match(r"\s*(-?\d+)", value)
    return int(match.group(1)) if match else None


def parse_w32tm_status(text: str) -> tuple[int | None, int | None, str]:
    """(leap indicator, stratum, source) from ``w32tm /query /status`` by its structure,
    not its words (which are translated): the fields come in a fixed order, each line is
    ``label: value``, Leap Indicator first, Stratum second, Source eighth."""
    lines = [ln for ln in text.replace("\r\n", "\n").split("\n") if ":" in ln]
    values = [ln.split(":", 1)[1].strip() for ln in lines]
    if len(values) < 8:
        return None, None, ""
    return _leading_int(values[0]), _leading_int(values[1]), values[7]


def parse_time_sync(text: str) -> TimeSync:
    """The script's object: Service (w32time's status), Type (registry: NTP, NT5DS,
    AllSync, NoSync), NtpServer (registry), Status (``w32tm /query /status`` text).

    Synchronised = the service runs, is not configured NoSync, and w32tm reports a leap
    indicator other than 3 (not synchronised) and a stratum 1-15 (0 = no source; the
    "Local CMOS Clock" source has stratum 1 only when the machine is a reference clock)."""
    items = json_items(text, "time service")
    if len(items) != 1:
        raise BackendError("time service: unexpected PowerShell output")
    item = items[0]
    service, kind = _text(item, "Service"), _text(item, "Type") or "?"
    server = _text(item, "NtpServer").split(",")[0].split(" ")[0]
    if not service:
        raise BackendError("time service: w32time is not installed")
    if service.lower() != "running":
        return TimeSync(False, "w32time", f"w32time is {service}")
    if kind.lower() == "nosync":
        return TimeSync(False, "w32time", "w32time is configured not to synchronise (NoSync)")
    leap, stratum, source = parse_w32tm_status(_text(item, "Status"))
    if leap is None or stratum is None:
        raise BackendError("time service: unreadable w32tm /query /status output")
    synced = leap != 3 and 1 <= stratum <= 15
    detail = f"type {kind}, leap {leap}, stratum {stratum}"
    return TimeSync(synced, f"w32time ({source or server or kind})", detail)
