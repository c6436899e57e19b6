"""Every check the agent ships, registered explicitly (no import-time discovery)."""

from __future__ import annotations

from checks.equipment.cups import CupsCheck
from checks.equipment.devices import EquipmentDeviceCheck
from checks.equipment.nut import NutCheck
from checks.equipment.scanner import ScannerCheck
from checks.equipment.snmp_checks import SnmpCheck
from checks.host.health import ClockCheck, CpuCheck, DiskCheck, MemoryCheck, UptimeCheck
from checks.network.basic import (
    DedicatedCheck,
    DnsCheck,
    GatewayCheck,
    HttpCheck,
    PortalCheck,
    ServiceCheck,
    TcpCheck,
)
from checks.network.interfaces import InterfacesCheck
from checks.network.quality import QualityCheck
from checks.network.throughput import ThroughputCheck
from checks.registry import Registry
from checks.security.antivirus import AntivirusCheck
from checks.security.firewall import FirewallCheck
from checks.security.updates import UpdatesCheck
from checks.signature.certificate import CertificateCheck
from checks.signature.token import TokenCheck
from checks.ssh.check import SshCheck
from checks.videoconf.devices import DevicesCheck
from checks.videoconf.h323 import H323Check
from checks.videoconf.sip import SipCheck
from checks.videoconf.stun import StunCheck

CHECK_CLASSES = (
    CpuCheck,
    MemoryCheck,
    DiskCheck,
    UptimeCheck,
    ClockCheck,
    GatewayCheck,
    DnsCheck,
    TcpCheck,
    HttpCheck,
    DedicatedCheck,
    PortalCheck,
    ServiceCheck,
    InterfacesCheck,
    ThroughputCheck,
    QualityCheck,
    SipCheck,
    H323Check,
    StunCheck,
    DevicesCheck,
    # SSH, signatures, endpoint security, LAN devices
    SshCheck,
    TokenCheck,
    CertificateCheck,
    AntivirusCheck,
    FirewallCheck,
    UpdatesCheck,
    EquipmentDeviceCheck,
    SnmpCheck,  # eq.snmp: printers, UPS, switches over SNMP (pysnmp imported lazily)
    # printers, UPS and scanners on this machine (USB): CUPS, NUT, SANE
    CupsCheck,  # eq.cups: eq.printer results
    NutCheck,  # eq.nut: eq.ups results (aionut imported lazily)
    ScannerCheck,  # eq.scanner
)


def default_registry() -> Registry:
    """A fresh registry of all built-in checks (raises on a duplicate id)."""
    return Registry(CHECK_CLASSES)
