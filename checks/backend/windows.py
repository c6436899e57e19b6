"""Windows backend: planned (most commune PCs run Windows).

Until it is written, facts that need it raise :class:`NotSupportedError`, which checks turn
into an ``unknown`` result saying so — never a crash and never a false ``fail``.
"""

from __future__ import annotations

import os

from checks.backend import (
    AntivirusProduct,
    AvDevices,
    FirewallState,
    Neighbour,
    NotSupportedError,
    Route,
    StoreCertificate,
    TimeSync,
    UpdateInfo,
    UsbDevice,
)


class WindowsBackend:
    name = "windows"

    def default_gateway(self) -> Route | None:
        # Planned: GetIpForwardTable2 via ctypes, or `route print -4` as a fallback.
        raise NotSupportedError("default gateway: not implemented yet on Windows")

    def neighbours(self) -> list[Neighbour]:
        # Planned: GetIpNetTable2 via ctypes.
        raise NotSupportedError("neighbour table: not implemented yet on Windows")

    def system_drive(self) -> str:
        return os.environ.get("SYSTEMDRIVE", "C:") + "\\"

    def av_devices(self) -> AvDevices:
        # Planned: Media Foundation / WASAPI device enumeration (MMDeviceEnumerator).
        raise NotSupportedError("audio/video devices: not implemented yet on Windows")

    def usb_devices(self) -> list[UsbDevice]:
        # Planned: SetupDiGetClassDevs(GUID_DEVINTERFACE_USB_DEVICE) hardware ids via ctypes.
        raise NotSupportedError("USB devices: not implemented yet on Windows")

    def firewall(self) -> FirewallState:
        # Planned: INetFwPolicy2.FirewallEnabled per profile (COM), or Get-NetFirewallProfile.
        raise NotSupportedError("firewall state: not implemented yet on Windows")

    def last_update(self) -> UpdateInfo:
        # Planned: Windows Update Agent API (IUpdateSearcher.QueryHistory), newest install date.
        raise NotSupportedError("last update time: not implemented yet on Windows")

    def routes(self) -> list[Route]:
        # Planned: GetIpForwardTable2 via ctypes (as default_gateway).
        raise NotSupportedError("routing table: not implemented yet on Windows")

    def time_sync(self) -> TimeSync:
        raise NotSupportedError("clock synchronisation state: not implemented yet on Windows")

    def store_certificates(self) -> list[StoreCertificate]:
        raise NotSupportedError("certificate store: not implemented yet on Windows")

    def antivirus_products(self) -> list[AntivirusProduct]:
        raise NotSupportedError("antivirus products: not implemented yet on Windows")
