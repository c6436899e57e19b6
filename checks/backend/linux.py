"""Linux backend: reads ``/proc/net/route`` and ``/proc/net/arp``; audio/video devices from
``/sys/class/video4linux`` and ``/dev/snd``.

Parsing is pure (``parse_route``, ``parse_arp``) and tested with recorded files under
``tests/fixtures/proc``; :class:`LinuxBackend` takes a ``proc`` root so tests can point it
at a fixture directory (the client_python ``ProcessCollector(proc=...)`` pattern).
"""

from __future__ import annotations

import re
import socket
import struct
from pathlib import Path

from checks.backend import (
    AntivirusProduct,
    AvDevices,
    BackendError,
    FirewallState,
    Neighbour,
    NotSupportedError,
    Route,
    ScannerDevice,
    StoreCertificate,
    TimeSync,
    UpdateInfo,
    UsbDevice,
)

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


# ALSA device nodes: /dev/snd/pcmC<card>D<device><c|p> (c = capture, p = playback).
_PCM_RE = re.compile(r"^pcmC(\d+)D(\d+)([cp])$")


def parse_snd(names: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(cards with a capture PCM, cards with a playback PCM) from ``/dev/snd`` entry names.

    A card counts once per direction however many PCM devices it has (a USB headset is one
    microphone and one speaker)."""
    capture: set[str] = set()
    playback: set[str] = set()
    for name in names:
        match = _PCM_RE.match(name)
        if match:
            card = f"card{match.group(1)}"
            (capture if match.group(3) == "c" else playback).add(card)
    return tuple(sorted(capture)), tuple(sorted(playback))


def parse_v4l(nodes: list[tuple[str, str | None, str]]) -> tuple[str, ...]:
    """Cameras from ``/sys/class/video4linux`` nodes given as (node, index, name).

    One UVC camera exposes several nodes (capture, metadata); only the node with
    ``index`` 0 is the device's first one. An unreadable index counts (err towards seeing
    the camera)."""
    return tuple(
        f"{node} ({label})" if label else node
        for node, index, label in sorted(nodes)
        if index is None or index.strip() in ("", "0")
    )


class LinuxBackend:
    name = "linux"

    def __init__(
        self, proc: Path | str = "/proc", sys: Path | str = "/sys", dev: Path | str = "/dev"
    ) -> None:
        self.proc = Path(proc)
        self.sys = Path(sys)
        self.dev = Path(dev)

    def _read(self, rel: str) -> str:
        try:
            return (self.proc / rel).read_text(encoding="ascii", errors="replace")
        except OSError as exc:
            raise BackendError(f"cannot read {self.proc / rel}: {exc.strerror}") from exc

    def default_gateway(self) -> Route | None:
        return default_route(parse_route(self._read("net/route")))

    def neighbours(self) -> list[Neighbour]:
        return parse_arp(self._read("net/arp"))

    def routes(self) -> list[Route]:
        return parse_route(self._read("net/route"))

    def system_drive(self) -> str:
        return "/"

    def _cameras(self) -> tuple[str, ...]:
        root = self.sys / "class" / "video4linux"
        if not root.exists():
            return ()  # no video4linux device registered: no camera
        nodes: list[tuple[str, str | None, str]] = []
        for entry in root.iterdir():  # OSError (permission) -> the caller says unknown
            index = _read_optional(entry / "index")
            label = (_read_optional(entry / "name") or "").strip()
            nodes.append((entry.name, index, label))
        return parse_v4l(nodes)

    def _sound(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        root = self.dev / "snd"
        if not root.exists():
            return (), ()  # no ALSA device: no microphone, no speaker
        return parse_snd([p.name for p in root.iterdir()])

    def av_devices(self) -> AvDevices:
        problems: list[str] = []
        cameras: tuple[str, ...] | None
        microphones: tuple[str, ...] | None
        speakers: tuple[str, ...] | None
        try:
            cameras = self._cameras()
        except OSError as exc:
            cameras = None
            problems.append(f"cannot read {self.sys / 'class/video4linux'}: {exc.strerror}")
        try:
            microphones, speakers = self._sound()
        except OSError as exc:
            microphones = speakers = None
            problems.append(f"cannot read {self.dev / 'snd'}: {exc.strerror}")
        return AvDevices(cameras, microphones, speakers, "; ".join(problems))

    # Signature and endpoint-security facts: see checks.backend.linux_endpoint.
    def usb_devices(self) -> list[UsbDevice]:
        from checks.backend.linux_endpoint import read_usb_devices

        return read_usb_devices(self.sys)

    def firewall(self) -> FirewallState:
        from checks.backend.linux_endpoint import read_firewall

        return read_firewall(self.proc, self.sys)

    def last_update(self) -> UpdateInfo:
        from checks.backend.linux_updates import read_last_update

        return read_last_update()

    def time_sync(self) -> TimeSync:
        from checks.backend.linux_time import read_time_sync

        return read_time_sync()

    def store_certificates(self) -> list[StoreCertificate]:
        raise NotSupportedError("Linux has no personal certificate store: configure files")

    def antivirus_products(self) -> list[AntivirusProduct]:
        raise NotSupportedError("Linux has no antivirus registry: the process list decides")

    def scanners(self) -> list[ScannerDevice]:
        raise NotSupportedError("Linux has no scanner registry: eq.scanner asks SANE")


def _read_optional(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
