"""The platform boundary: every OS-specific read lives behind :class:`Backend`.

Checks ask the backend for facts (the default gateway, the neighbour table, the system
drive) and never read ``/proc`` or call Windows APIs themselves, so that the Windows backend
can be completed without touching a check. psutil is already cross-platform and is used by
checks directly.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class BackendError(Exception):
    """The platform could not give the requested fact."""


class NotSupportedError(BackendError):
    """This platform backend does not implement the request (yet)."""


@dataclass(frozen=True)
class Route:
    interface: str
    destination: str
    gateway: str
    mask: str
    metric: int
    up: bool
    is_gateway: bool

    @property
    def is_default(self) -> bool:
        return self.destination == "0.0.0.0" and self.mask == "0.0.0.0"


@dataclass(frozen=True)
class Neighbour:
    """One entry of the IPv4 neighbour (ARP) table."""

    ip: str
    mac: str
    interface: str
    complete: bool


@dataclass(frozen=True)
class AvDevices:
    """Audio/video devices by kind: names found, or None when the kind could not be read."""

    cameras: tuple[str, ...] | None
    microphones: tuple[str, ...] | None
    speakers: tuple[str, ...] | None
    detail: str = ""


@dataclass(frozen=True)
class UsbDevice:
    """One USB device; ids are lower-case hex as in ``lsusb`` ('096e', '0807')."""

    vendor_id: str
    product_id: str
    manufacturer: str = ""
    product: str = ""
    where: str = ""


@dataclass(frozen=True)
class FirewallState:
    """Whether a host firewall filters incoming traffic, and what decided it."""

    enabled: bool
    how: str


@dataclass(frozen=True)
class UpdateInfo:
    """When the system's packages were last updated, and where that was read."""

    when: datetime
    source: str


@dataclass(frozen=True)
class TimeSync:
    """Whether the system clock is kept synchronised (NTP), and what said so.

    ``synchronised`` is the time service's own verdict (timedatectl's
    ``NTPSynchronized``, chrony's leap status, w32time's last successful sync);
    ``source`` names the service and the server when known.
    """

    synchronised: bool
    source: str
    detail: str = ""


@dataclass(frozen=True)
class StoreCertificate:
    """A personal certificate in the operating system's certificate store.

    On Windows a plugged-in signing token's middleware places its certificate in
    ``CurrentUser\\My``; ``has_private_key`` says whether the key is reachable (on the
    token or local). Times are timezone-aware UTC.
    """

    subject: str
    issuer: str
    not_before: datetime
    not_after: datetime
    has_private_key: bool
    store: str
    thumbprint: str = ""


@dataclass(frozen=True)
class AntivirusProduct:
    """An antivirus product the operating system knows of (Windows Security Center)."""

    name: str
    enabled: bool | None
    up_to_date: bool | None
    source: str


@dataclass(frozen=True)
class ScannerDevice:
    """A scanner the operating system knows of (Windows: a WIA device of type scanner).

    ``connected`` says whether the device is present and working now; ``status`` is the
    operating system's word for it (Plug and Play status 'OK', 'Error', or '' when the
    device is installed but not plugged in)."""

    name: str
    device_id: str
    connected: bool
    status: str = ""
    description: str = ""


class Backend(Protocol):
    name: str

    def default_gateway(self) -> Route | None:
        """The default IPv4 route with the lowest metric, or None when there is none."""

    def neighbours(self) -> list[Neighbour]:
        """The IPv4 neighbour table."""

    def system_drive(self) -> str:
        """The mountpoint (or drive) holding the operating system: '/' or 'C:\\\\'."""

    def av_devices(self) -> AvDevices:
        """Cameras, microphones (capture) and speakers (playback) present (vc.devices)."""

    def routes(self) -> list[Route]:
        """The IPv4 routing table (net.interfaces: the dedicated-network route)."""

    def usb_devices(self) -> list[UsbDevice]:
        """USB devices present (sig.token matches vendor/product ids)."""

    def firewall(self) -> FirewallState:
        """Whether a host firewall is on (sec.firewall); BackendError when it cannot tell."""

    def last_update(self) -> UpdateInfo:
        """When packages were last updated (sec.updates); BackendError when unknown."""

    def time_sync(self) -> TimeSync:
        """The NTP synchronisation state; BackendError when no time service can tell."""

    def store_certificates(self) -> list[StoreCertificate]:
        """Personal certificates in the OS store (sig.certificate); NotSupportedError where
        the platform has no such store (Linux: certificates are configured as files)."""

    def antivirus_products(self) -> list[AntivirusProduct]:
        """Antivirus products registered with the OS (sec.antivirus); NotSupportedError
        where there is no registry of them (Linux: the process list decides)."""

    def scanners(self) -> list[ScannerDevice]:
        """Scanners the OS registers (eq.scanner on Windows: WIA); NotSupportedError where
        the check asks another service itself (Linux: SANE's scanimage)."""


#: A backend chosen explicitly for this context (see :func:`using_backend`).
_SELECTED: ContextVar[Backend | None] = ContextVar("selected_backend", default=None)


@contextmanager
def using_backend(backend: Backend) -> Iterator[Backend]:
    """Select ``backend`` for every check created without one, inside the block.

    How a whole ``ioc-agent check`` runs against another platform's backend, e.g. the
    Windows backend with a recorded call layer on a Linux test machine, without pretending
    to be another platform (``sys.platform`` is never touched)."""
    token = _SELECTED.set(backend)
    try:
        yield backend
    finally:
        _SELECTED.reset(token)


def get_backend() -> Backend:
    """The backend selected by :func:`using_backend`, else the one for this platform."""
    selected = _SELECTED.get()
    if selected is not None:
        return selected
    if sys.platform == "win32":
        from checks.backend.windows import WindowsBackend

        return WindowsBackend()
    from checks.backend.linux import LinuxBackend

    return LinuxBackend()


__all__ = [
    "AntivirusProduct",
    "AvDevices",
    "Backend",
    "BackendError",
    "FirewallState",
    "Neighbour",
    "NotSupportedError",
    "Route",
    "ScannerDevice",
    "StoreCertificate",
    "TimeSync",
    "UpdateInfo",
    "UsbDevice",
    "get_backend",
    "using_backend",
]
