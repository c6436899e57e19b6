"""The platform boundary: every OS-specific read lives behind :class:`Backend`.

Checks ask the backend for facts (the default gateway, the neighbour table, the system
drive) and never read ``/proc`` or call Windows APIs themselves, so that the Windows backend
can be completed without touching a check. psutil is already cross-platform and is used by
checks directly.
"""

from __future__ import annotations

import sys
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


def get_backend() -> Backend:
    """The backend for the platform this process runs on."""
    if sys.platform.startswith("win"):
        from checks.backend.windows import WindowsBackend

        return WindowsBackend()
    from checks.backend.linux import LinuxBackend

    return LinuxBackend()


__all__ = [
    "AvDevices",
    "Backend",
    "BackendError",
    "FirewallState",
    "Neighbour",
    "NotSupportedError",
    "Route",
    "UpdateInfo",
    "UsbDevice",
    "get_backend",
]
