"""Linux backend: reads ``/proc/net/route`` and ``/proc/net/arp``.

Parsing is pure (``parse_route``, ``parse_arp``) and tested with recorded files under
``tests/fixtures/proc``; :class:`LinuxBackend` takes a ``proc`` root so tests can point it
at a fixture directory (the client_python ``ProcessCollector(proc=...)`` pattern).
"""

from __future__ import annotations

import socket
import struct
from pathlib import Path

from checks.backend import BackendError, Neighbour, Route

# Route flags from <linux/route.h>.
RTF_UP = 0x0001
RTF_GATEWAY = 0x0002
# ARP entry flags from <linux/if_arp.h>: ATF_COM = the hardware address is resolved.
ATF_COM = 0x02


def _hex_ip(value: str) -> str:
    """/proc/net/route writes IPv4 addresses as host-byte-order (little-endian) hex."""
    return socket.inet_ntoa(struct.pack("<I", int(value, 16)))


def parse_route(text: str) -> list[Route]:
    """Parse ``/proc/net/route`` (header line, then whitespace-separated columns)."""
    routes: list[Route] = []
    lines = text.splitlines()
    for line in lines[1:]:
        cols = line.split()
        if len(cols) < 8:
            continue
        flags = int(cols[3], 16)
        routes.append(
            Route(
                interface=cols[0],
                destination=_hex_ip(cols[1]),
                gateway=_hex_ip(cols[2]),
                mask=_hex_ip(cols[7]),
                metric=int(cols[6]),
                up=bool(flags & RTF_UP),
                is_gateway=bool(flags & RTF_GATEWAY),
            )
        )
    return routes


def default_route(routes: list[Route]) -> Route | None:
    candidates = [r for r in routes if r.is_default and r.up and r.is_gateway]
    return min(candidates, key=lambda r: r.metric) if candidates else None


def parse_arp(text: str) -> list[Neighbour]:
    """Parse ``/proc/net/arp``: IP address, HW type, Flags, HW address, Mask, Device."""
    out: list[Neighbour] = []
    for line in text.splitlines()[1:]:
        cols = line.split()
        if len(cols) < 6:
            continue
        flags = int(cols[2], 16)
        mac = cols[3].lower()
        out.append(
            Neighbour(
                ip=cols[0],
                mac=mac,
                interface=cols[5],
                complete=bool(flags & ATF_COM) and mac != "00:00:00:00:00:00",
            )
        )
    return out


class LinuxBackend:
    name = "linux"

    def __init__(self, proc: Path | str = "/proc") -> None:
        self.proc = Path(proc)

    def _read(self, rel: str) -> str:
        try:
            return (self.proc / rel).read_text(encoding="ascii", errors="replace")
        except OSError as exc:
            raise BackendError(f"cannot read {self.proc / rel}: {exc.strerror}") from exc

    def default_gateway(self) -> Route | None:
        return default_route(parse_route(self._read("net/route")))

    def neighbours(self) -> list[Neighbour]:
        return parse_arp(self._read("net/arp"))

    def system_drive(self) -> str:
        return "/"
