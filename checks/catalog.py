"""Every check the agent ships, registered explicitly (no import-time discovery)."""

from __future__ import annotations

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
from checks.registry import Registry

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
)


def default_registry() -> Registry:
    """A fresh registry of all built-in checks (raises on a duplicate id)."""
    return Registry(CHECK_CLASSES)
