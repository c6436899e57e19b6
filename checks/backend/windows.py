"""Windows backend: every fact read through PowerShell, one script per fact.

Access path (docs/agent.md, "Windows backend"): Windows PowerShell 5.1, present on every
Windows 10/11 and Server 2016+, run as ``powershell.exe -NoProfile -NonInteractive
-EncodedCommand ...`` with a deadline; each script ends in ``ConvertTo-Json`` and sets
``[Console]::OutputEncoding`` to UTF-8 so Vietnamese device names arrive intact. No pywin32
or COM binding is needed (nothing to build into the offline bundle), it works the same in
a service as on a console, and the cmdlets (Get-NetRoute, Get-PnpDevice, Get-NetFirewallProfile,
Get-MpComputerStatus, ...) are Microsoft's documented interfaces. The price is a process
start per fact (about 0.3-1 s), acceptable for checks that run every few minutes.

Structure: :class:`PowerShell` is the call layer (``run(script, timeout_s) -> str``);
:class:`SubprocessPowerShell` is the real one, and tests inject a fake that returns
recorded outputs keyed by the script. Each fact is one script constant here and one pure
parse function in :mod:`checks.backend.windows_parse`.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
from typing import Protocol

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
from checks.backend import windows_parse as parse
from checks.backend.linux import default_route

#: Output cap: a script's JSON is a few kilobytes; anything larger is cut, then unreadable.
MAX_OUTPUT_BYTES = 4 << 20

#: Prepended to every script (not part of the scripts' identity: fakes key on the script).
PRELUDE = (
    "$ErrorActionPreference = 'Stop'; $ProgressPreference = 'SilentlyContinue'; "
    "[Console]::OutputEncoding = [System.Text.Encoding]::UTF8; "
)

ROUTES_SCRIPT = (
    "Get-NetRoute -AddressFamily IPv4 | "
    "Select-Object DestinationPrefix,NextHop,RouteMetric,InterfaceMetric,InterfaceAlias | "
    "ConvertTo-Json -Depth 3"
)

NEIGHBOURS_SCRIPT = (
    "Get-NetNeighbor -AddressFamily IPv4 | "
    "Select-Object IPAddress,LinkLayerAddress,@{n='State';e={[string]$_.State}},InterfaceAlias | "
    "ConvertTo-Json -Depth 3"
)

AV_DEVICES_SCRIPT = (
    "Get-PnpDevice -PresentOnly -Class Camera,Image,AudioEndpoint "
    "-ErrorAction SilentlyContinue | "
    "Select-Object Class,FriendlyName,InstanceId,Status | ConvertTo-Json -Depth 3"
)

USB_SCRIPT = (
    "Get-PnpDevice -PresentOnly | Where-Object { $_.InstanceId -like 'USB\\VID_*' } | "
    "Select-Object InstanceId,FriendlyName,Manufacturer,Status | ConvertTo-Json -Depth 3"
)

CERTIFICATES_SCRIPT = (
    "$out = foreach ($s in 'CurrentUser','LocalMachine') { "
    'Get-ChildItem -Path "Cert:\\$s\\My" | ForEach-Object { [pscustomobject]@{ '
    'Store = "$s\\My"; Subject = $_.Subject; Issuer = $_.Issuer; '
    "NotBefore = $_.NotBefore.ToUniversalTime().ToString('o'); "
    "NotAfter = $_.NotAfter.ToUniversalTime().ToString('o'); "
    "HasPrivateKey = $_.HasPrivateKey; Thumbprint = $_.Thumbprint } } }; "
    "ConvertTo-Json -InputObject @($out) -Depth 3"
)

FIREWALL_SCRIPT = (
    "Get-NetFirewallProfile -PolicyStore ActiveStore | "
    "Select-Object Name,@{n='Enabled';e={[string]$_.Enabled}},"
    "@{n='DefaultInboundAction';e={[string]$_.DefaultInboundAction}} | "
    "ConvertTo-Json -Depth 3"
)

SECURITY_CENTER_SCRIPT = (
    "Get-CimInstance -Namespace root/SecurityCenter2 -ClassName AntiVirusProduct | "
    "Select-Object displayName,productState,pathToSignedReportingExe | "
    "ConvertTo-Json -Depth 3"
)

DEFENDER_SCRIPT = (
    "Get-MpComputerStatus | Select-Object AMServiceEnabled,AntivirusEnabled,"
    "RealTimeProtectionEnabled,AntivirusSignatureAge,AMRunningMode | ConvertTo-Json -Depth 3"
)

UPDATES_SCRIPT = (
    "$out = @(); "
    "try { $s = (New-Object -ComObject Microsoft.Update.Session).CreateUpdateSearcher(); "
    "$n = $s.GetTotalHistoryCount(); "
    "if ($n -gt 0) { $out = @($s.QueryHistory(0, [Math]::Min($n, 100)) | "
    "Where-Object { $_.Operation -eq 1 -and $_.ResultCode -in 2,3 } | "
    "ForEach-Object { [pscustomobject]@{ Source = 'Windows Update'; Title = $_.Title; "
    "Date = $_.Date.ToString('o') } }) } } catch { $out = @() }; "
    "if ($out.Count -eq 0) { $out = @(Get-HotFix | Where-Object { $_.InstalledOn } | "
    "ForEach-Object { [pscustomobject]@{ Source = 'Get-HotFix'; Title = $_.HotFixID; "
    "Date = $_.InstalledOn.ToUniversalTime().ToString('o') } }) }; "
    "ConvertTo-Json -InputObject $out -Depth 3"
)

TIME_SCRIPT = (
    "$svc = Get-Service -Name w32time -ErrorAction SilentlyContinue; "
    "$p = Get-ItemProperty -Path 'HKLM:\\SYSTEM\\CurrentControlSet\\Services\\W32Time\\Parameters' "
    "-ErrorAction SilentlyContinue; "
    "$st = if ($svc -and $svc.Status -eq 'Running') { (& w32tm.exe /query /status) -join \"`n\" } "
    "else { '' }; "
    "[pscustomobject]@{ Service = [string]$svc.Status; Type = $p.Type; "
    "NtpServer = $p.NtpServer; Status = $st } | ConvertTo-Json -Depth 3"
)

# WIA's DeviceID is the device's driver key ("{6BDD1FC6-...}\0000"), which Plug and Play
# also gives (DEVPKEY_Device_Driver): that key joins a WIA device to its PnP status. A
# device installed but unplugged is not present to Get-PnpDevice -PresentOnly: no status.
SCANNERS_SCRIPT = (
    "$st = @{}; Get-PnpDevice -Class Image -PresentOnly -ErrorAction SilentlyContinue | "
    "ForEach-Object { $k = ($_ | Get-PnpDeviceProperty -KeyName DEVPKEY_Device_Driver "
    "-ErrorAction SilentlyContinue).Data; if ($k) { $st[([string]$k).ToUpper()] = "
    "[string]$_.Status } }; "
    "$out = @(foreach ($d in (New-Object -ComObject WIA.DeviceManager).DeviceInfos) { "
    "$p = @{}; foreach ($q in $d.Properties) { $p[[string]$q.Name] = [string]$q.Value }; "
    "[pscustomobject]@{ DeviceID = $d.DeviceID; Type = [int]$d.Type; Name = $p['Name']; "
    "Description = $p['Description']; Manufacturer = $p['Manufacturer']; "
    "Status = $st[([string]$d.DeviceID).ToUpper()] } }); "
    "ConvertTo-Json -InputObject $out -Depth 3"
)

#: Every script the backend runs (a fake call layer must answer each).
SCRIPTS = {
    "routes": ROUTES_SCRIPT,
    "neighbours": NEIGHBOURS_SCRIPT,
    "av_devices": AV_DEVICES_SCRIPT,
    "usb": USB_SCRIPT,
    "certificates": CERTIFICATES_SCRIPT,
    "firewall": FIREWALL_SCRIPT,
    "security_center": SECURITY_CENTER_SCRIPT,
    "defender": DEFENDER_SCRIPT,
    "updates": UPDATES_SCRIPT,
    "time": TIME_SCRIPT,
    "scanners": SCANNERS_SCRIPT,
}


class PowerShell(Protocol):
    """The call layer: run a script, return what it printed (UTF-8 text)."""

    def run(self, script: str, timeout_s: float) -> str:
        """The script's standard output; BackendError when it fails or overruns."""
        ...


class SubprocessPowerShell:
    """Runs ``powershell.exe`` (Windows PowerShell 5.1; ``pwsh`` when it is the only one)."""

    def __init__(self, executable: str | None = None) -> None:
        self.executable = executable

    def _exe(self) -> str:
        exe = self.executable or shutil.which("powershell.exe") or shutil.which("pwsh")
        if not exe:
            raise BackendError("PowerShell not found (powershell.exe or pwsh)")
        return exe

    def run(self, script: str, timeout_s: float) -> str:
        encoded = base64.b64encode((PRELUDE + script).encode("utf-16-le")).decode("ascii")
        argv = [self._exe(), "-NoProfile", "-NonInteractive", "-EncodedCommand", encoded]
        flags = 0
        if sys.platform == "win32":  # no console window flashing on the user's desktop
            flags = subprocess.CREATE_NO_WINDOW
        try:
            done = subprocess.run(  # noqa: S603 (fixed argv, no shell)
                argv,
                capture_output=True,
                timeout=timeout_s,
                check=False,
                creationflags=flags,
            )
        except subprocess.TimeoutExpired:
            raise BackendError(f"PowerShell gave no answer within {timeout_s:g} s") from None
        except OSError as exc:
            raise BackendError(f"cannot run PowerShell: {exc.strerror or exc}") from None
        if done.returncode != 0:
            err = done.stderr.decode("utf-8", errors="replace").strip().splitlines()
            raise BackendError(
                "PowerShell: " + (err[0][:200] if err else f"exit {done.returncode}")
            )
        return done.stdout[:MAX_OUTPUT_BYTES].decode("utf-8", errors="replace")


class WindowsBackend:
    """Facts of a Windows PC through the ``shell`` call layer (default: the real one)."""

    name = "windows"

    def __init__(self, shell: PowerShell | None = None, timeout_s: float = 15.0) -> None:
        self.shell: PowerShell = shell if shell is not None else SubprocessPowerShell()
        self.timeout_s = timeout_s

    def _run(self, script: str) -> str:
        return self.shell.run(script, self.timeout_s)

    def routes(self) -> list[Route]:
        return parse.parse_routes(self._run(ROUTES_SCRIPT))

    def default_gateway(self) -> Route | None:
        return default_route(self.routes())

    def neighbours(self) -> list[Neighbour]:
        return parse.parse_neighbours(self._run(NEIGHBOURS_SCRIPT))

    def system_drive(self) -> str:
        return os.environ.get("SYSTEMDRIVE", "C:") + "\\"

    def av_devices(self) -> AvDevices:
        return parse.parse_av_devices(self._run(AV_DEVICES_SCRIPT))

    def usb_devices(self) -> list[UsbDevice]:
        return parse.parse_usb_devices(self._run(USB_SCRIPT))

    def firewall(self) -> FirewallState:
        return parse.parse_firewall(self._run(FIREWALL_SCRIPT))

    def last_update(self) -> UpdateInfo:
        return parse.parse_last_update(self._run(UPDATES_SCRIPT))

    def time_sync(self) -> TimeSync:
        return parse.parse_time_sync(self._run(TIME_SCRIPT))

    def store_certificates(self) -> list[StoreCertificate]:
        return parse.parse_store_certificates(self._run(CERTIFICATES_SCRIPT))

    def scanners(self) -> list[ScannerDevice]:
        """WIA's scanners (cameras, which older Windows also files under the class Image,
        are left out by WIA's device type); BackendError when WIA cannot be asked."""
        return parse.parse_scanners(self._run(SCANNERS_SCRIPT))

    def antivirus_products(self) -> list[AntivirusProduct]:
        """Security Center's registered products (client editions), else Defender's own
        status (Windows Server has no Security Center); BackendError when neither tells."""
        problems: list[str] = []
        for script, reader in (
            (SECURITY_CENTER_SCRIPT, parse.parse_security_center),
            (DEFENDER_SCRIPT, parse.parse_defender),
        ):
            try:
                products = reader(self._run(script))
            except BackendError as exc:
                problems.append(str(exc))
                continue
            if products:
                return products
        if problems:
            raise BackendError("antivirus products: " + "; ".join(problems))
        return []
