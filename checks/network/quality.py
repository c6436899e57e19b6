"""``vc.quality``: round-trip time, RFC 3550 jitter and loss to the collector's UDP reflector,
and the resulting ITU-T G.107 R-factor / MOS (VC-02).

The agent sends ``count`` timestamped datagrams, ``interval_s`` apart (default 50 x 20 ms, the
packet rate of a 20 ms voice frame), to the reflector (``collector/api/reflector.py``), which
echoes each one back with the same size. Only the agent's own clock is used: each packet's
*transit* is its round trip, so no clock synchronisation is needed.

Jitter is the RFC 3550 §6.4.1 interarrival jitter, computed over the replies in order of
arrival: for consecutive arrivals i, j, D(i, j) = (Rj - Ri) - (Sj - Si), and
J = J + (|D(i, j)| - J) / 16. Here it is the jitter of the round trip (both directions).

Packet format (big-endian), shared with the reflector; a reply is the request with ``kind``
set to 2, so it is never larger than the request (no amplification)::

    0      4   5   6       8          12                 20
    +------+---+---+-------+----------+------------------+---------------
    | IOCQ |ver|knd| rsvd  |   seq    |  send time (ns)  |  padding ...
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import socket
import struct
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar
from urllib.parse import urlsplit

from annotated_types import Ge, Gt, Le

from checks.base import CannotMeasure, Check, CheckConfig, CheckContext
from checks.messages import msg, said
from checks.model import Category, CheckResult, Status, Value
from checks.resolve import Unresolved, reason_message, resolve_one
from checks.schema import Doc, Pattern
from checks.videoconf.emodel import CODECS, mos_from_r, r_factor

MAGIC = b"IOCQ"
VERSION = 1
KIND_REQUEST = 1
KIND_REPLY = 2
HEADER = struct.Struct("!4sBBHIQ")
HEADER_SIZE = HEADER.size  # 20
#: Largest datagram either side handles: fits an Ethernet MTU without IP fragmentation.
MAX_PACKET = 1472
DEFAULT_REFLECTOR_PORT = 8322
#: 160 bytes of payload = one 20 ms G.711 frame; header included in the size.
DEFAULT_PACKET_SIZE = 172


def encode(
    seq: int, send_ns: int, size: int = DEFAULT_PACKET_SIZE, kind: int = KIND_REQUEST
) -> bytes:
    size = min(max(size, HEADER_SIZE), MAX_PACKET)
    head = HEADER.pack(MAGIC, VERSION, kind, 0, seq & 0xFFFFFFFF, send_ns & (2**64 - 1))
    return head + bytes(size - HEADER_SIZE)


def decode(data: bytes) -> tuple[int, int, int] | None:
    """(kind, seq, send_ns) of a well-formed packet, else None."""
    if not HEADER_SIZE <= len(data) <= MAX_PACKET:
        return None
    magic, version, kind, _, seq, send_ns = HEADER.unpack_from(data)
    if magic != MAGIC or version != VERSION or kind not in (KIND_REQUEST, KIND_REPLY):
        return None
    return kind, seq, send_ns


def as_reply(data: bytes) -> bytes | None:
    """The reflector's answer to ``data``: same bytes, kind = reply; None to drop it."""
    parsed = decode(data)
    if parsed is None or parsed[0] != KIND_REQUEST:
        return None
    return data[:5] + bytes([KIND_REPLY]) + data[6:]


# --------------------------------------------------------------------------- parse


@dataclass(frozen=True)
class QualitySection:
    sent: int
    received: int
    rtt_avg_s: float | None
    rtt_min_s: float | None
    rtt_p95_s: float | None
    jitter_s: float | None
    loss: float
    duplicates: int = 0


def rfc3550_jitter(transits: list[float]) -> float:
    """RFC 3550 §6.4.1 interarrival jitter over transit times listed in arrival order."""
    jitter = 0.0
    for prev, cur in zip(transits, transits[1:], strict=False):
        jitter += (abs(cur - prev) - jitter) / 16.0
    return jitter


def _percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of an already sorted, non-empty list."""
    rank = max(1, math.ceil(q / 100.0 * len(sorted_values)))
    return sorted_values[rank - 1]


def parse_quality(sent: dict[int, float], arrivals: list[tuple[int, float]]) -> QualitySection:
    """Statistics from send times by seq and (seq, receive time) in order of arrival."""
    seen: set[int] = set()
    transits: list[float] = []
    duplicates = 0
    for seq, received_at in arrivals:
        if seq not in sent:
            continue
        if seq in seen:
            duplicates += 1
            continue
        seen.add(seq)
        transits.append(received_at - sent[seq])
    n = len(sent)
    if not transits:
        return QualitySection(n, 0, None, None, None, None, 1.0 if n else 0.0, duplicates)
    ordered = sorted(transits)
    return QualitySection(
        sent=n,
        received=len(transits),
        rtt_avg_s=sum(transits) / len(transits),
        rtt_min_s=ordered[0],
        rtt_p95_s=_percentile(ordered, 95),
        jitter_s=rfc3550_jitter(transits),
        loss=(n - len(transits)) / n if n else 0.0,
        duplicates=duplicates,
    )


# --------------------------------------------------------------------------- fetch


@dataclass
class UdpOutcome:
    target: str
    section: QualitySection | None = None
    error: str = ""
    #: True when we could not even try (bad name): -> unknown.
    cannot_try: bool = False
    refused: bool = False
    elapsed_s: float = 0.0


#: How a connected UDP socket reports an ICMP port unreachable: refused on Linux, reset
#: (WSAECONNRESET) on Windows.
_PORT_UNREACHABLE = (ConnectionRefusedError, ConnectionResetError)


def _send(sock: socket.socket, seq: int, now: float, size: int) -> bool:
    """Send packet ``seq`` stamped ``now``; True when the port was reported unreachable."""
    try:
        sock.send(encode(seq, int(now * 1e9), size))
    except _PORT_UNREACHABLE:
        return True
    return False


def _receive(sock: socket.socket, timeout: float, arrivals: list[tuple[int, float]]) -> bool:
    """Wait up to ``timeout`` for one packet and keep it when it is a reply; True when the
    port was reported unreachable instead."""
    sock.settimeout(timeout)
    try:
        data = sock.recv(MAX_PACKET + 1)
    except TimeoutError:
        return False
    except _PORT_UNREACHABLE:
        return True
    received_at = time.perf_counter()
    parsed = decode(data)
    if parsed is not None and parsed[0] == KIND_REPLY:
        arrivals.append((parsed[1], received_at))
    return False


def _exchange(
    sock: socket.socket, count: int, interval_s: float, wait_s: float, size: int
) -> tuple[dict[int, float], list[tuple[int, float]], bool]:
    """Send ``count`` packets paced ``interval_s`` apart on a connected UDP socket, receiving
    replies between sends, then wait up to ``wait_s`` for the missing ones. Returns (send
    time by seq, (seq, receive time) in order of arrival, port refused).

    Blocking, in a thread of its own: each timestamp is taken when the packet leaves or
    arrives, not when an event loop busy with the agent's other checks gets round to it
    (which read as jitter that the network does not have), and it costs about half the CPU
    of asyncio's timer and datagram machinery (50 packets: ~14 ms instead of ~25 ms).
    """
    sent: dict[int, float] = {}
    arrivals: list[tuple[int, float]] = []
    refused = False
    base = time.perf_counter()
    last_sent = base
    seq = 0
    while True:
        now = time.perf_counter()
        # Absolute schedule: a late wake-up does not push every later packet back.
        if seq < count and now >= base + seq * interval_s:
            sent[seq] = now
            unreachable = _send(sock, seq, now, size)
            last_sent = now
            seq += 1
        else:
            wait = base + seq * interval_s - now if seq < count else last_sent + wait_s - now
            if seq >= count and (wait <= 0 or len(arrivals) >= count):
                break
            unreachable = _receive(sock, wait, arrivals)
        if unreachable:  # ICMP port unreachable for an earlier packet
            refused = True
            if not arrivals:
                break  # nobody listens: stop now rather than at the deadline
    return sent, arrivals, refused


#: How long a thread that holds the interpreter lock may keep it from the probe's thread
#: while packets are in flight (Python's default: 5 ms, which would read as jitter).
PROBE_SWITCH_INTERVAL_S = 0.0002
_probes_running = 0
_default_switch_interval = sys.getswitchinterval()


@contextlib.contextmanager
def _prompt_thread_switches() -> Iterator[None]:
    """Shorten the interpreter's thread switch interval while any probe runs. The probe's
    thread needs the lock for a moment after each packet arrives; the agent's other checks
    (parsing, validating) would otherwise hold it for up to 5 ms at a time."""
    global _probes_running, _default_switch_interval
    if _probes_running == 0:
        _default_switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(_default_switch_interval, PROBE_SWITCH_INTERVAL_S))
    _probes_running += 1
    try:
        yield
    finally:
        _probes_running -= 1
        if _probes_running == 0:
            sys.setswitchinterval(_default_switch_interval)


async def probe_udp(
    host: str,
    port: int,
    *,
    count: int = 50,
    interval_s: float = 0.020,
    wait_s: float = 1.0,
    size: int = DEFAULT_PACKET_SIZE,
) -> UdpOutcome:
    """Send ``count`` packets paced ``interval_s`` apart; wait ``wait_s`` after the last one.

    Bounded: it returns after count * interval_s + wait_s (+ name resolution) at most. The
    packets are exchanged in a worker thread (:func:`_exchange`); if the caller is cancelled
    meanwhile, that thread still ends by itself within the same bound and closes its socket.
    """
    target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    start = time.monotonic()
    try:
        family, sockaddr = await resolve_one(host, port, max(wait_s, 1.0), socket.SOCK_DGRAM)
    except Unresolved as exc:
        return UdpOutcome(target, error=exc.reason, cannot_try=True)
    try:
        sock = socket.socket(family, socket.SOCK_DGRAM)
    except OSError as exc:
        return UdpOutcome(target, error=f"cannot open a UDP socket: {exc}", cannot_try=True)

    def exchange() -> tuple[dict[int, float], list[tuple[int, float]], bool]:
        with sock:
            sock.connect(sockaddr[:2] if family == socket.AF_INET else sockaddr)
            return _exchange(sock, count, interval_s, wait_s, size)

    try:
        with _prompt_thread_switches():
            sent, arrivals, refused = await asyncio.to_thread(exchange)
    except OSError as exc:
        return UdpOutcome(target, error=f"cannot send to {target}: {exc}", cannot_try=True)
    section = parse_quality(sent, arrivals)
    return UdpOutcome(
        target,
        section=section,
        refused=refused and section.received == 0,
        elapsed_s=time.monotonic() - start,
    )


# --------------------------------------------------------------------------- evaluate


@dataclass(frozen=True, kw_only=True)
class QualityConfig(CheckConfig):
    timeout_s: Annotated[float, Gt(0), Le(300)] = 10.0
    target: Annotated[
        str | None, Doc("reflector HOST (or HOST:PORT); default: the collector's host")
    ] = None
    port: Annotated[int, Ge(1), Le(65535)] = DEFAULT_REFLECTOR_PORT
    count: Annotated[int, Ge(2), Le(5000)] = 50
    interval_s: Annotated[float, Ge(0.001), Le(1.0)] = 0.020
    wait_s: Annotated[float, Gt(0), Le(10), Doc("wait for replies after the last")] = 1.0
    packet_size: Annotated[int, Ge(HEADER_SIZE), Le(MAX_PACKET)] = DEFAULT_PACKET_SIZE
    codec: Annotated[str, Pattern("^(g711|opus)$")] = "g711"

    def __post_init__(self) -> None:
        needed = self.count * self.interval_s + self.wait_s
        if needed >= self.timeout_s:
            raise ValueError(
                f"count x interval_s + wait_s = {needed:g} s must be under timeout_s "
                f"({self.timeout_s:g} s): lower count or raise timeout_s"
            )


def evaluate_quality(
    outcome: UdpOutcome, config: QualityConfig | None = None, check_id: str = "vc.quality"
) -> CheckResult:
    cfg = config or QualityConfig()
    section = outcome.section
    base: dict[str, Any] = {
        "check": check_id,
        "category": Category.VIDEOCONF,
        "target": outcome.target,
        "duration_s": outcome.elapsed_s,
    }
    if section is None or section.received == 0:
        if outcome.cannot_try:
            why = reason_message(outcome.error)
        elif outcome.refused:
            why = msg("vc.quality.refused")
        else:
            why = msg("vc.quality.no_reply", sent=section.sent if section else 0)
        if outcome.cannot_try:
            return CheckResult(status=Status.UNKNOWN, **said(why), **base)
        # The reflector should answer: refused or silent (100 % loss) is fail.
        return CheckResult(
            status=Status.FAIL, values={"loss": Value(value=1.0, unit="ratio")}, **said(why), **base
        )
    assert section.rtt_avg_s is not None and section.jitter_s is not None
    assert section.rtt_min_s is not None and section.rtt_p95_s is not None
    r = r_factor(section.rtt_avg_s, section.jitter_s, section.loss, CODECS[cfg.codec])
    mos = mos_from_r(r)
    values = {
        "rtt": Value(value=section.rtt_avg_s, unit="seconds"),
        "rtt_min": Value(value=section.rtt_min_s, unit="seconds"),
        "rtt_p95": Value(value=section.rtt_p95_s, unit="seconds"),
        "jitter": Value(value=section.jitter_s, unit="seconds"),
        "loss": Value(value=section.loss, unit="ratio"),
        "r_factor": Value(value=r),
        "mos": Value(value=mos),
    }
    summary = msg(
        "vc.quality.measured",
        rtt=section.rtt_avg_s,
        jitter=section.jitter_s,
        loss=section.loss,
        received=section.received,
        sent=section.sent,
        mos=mos,
    )
    # Measured: the catalogue judges RTT, jitter and loss (VC-02).
    return CheckResult(status=Status.OK, values=values, **said(summary), **base)


def reflector_target(
    configured: str | None, port: int, collector_url: str | None
) -> tuple[str, int] | None:
    """(host, port) of the reflector: configured, else the collector URL's host."""
    from checks.network.probes import split_host_port

    if configured:
        return split_host_port(configured, default_port=port)
    if not collector_url:
        return None
    host = urlsplit(collector_url).hostname
    return (host, port) if host else None


class QualityCheck(Check):
    id = "vc.quality"
    category = Category.VIDEOCONF
    Config: ClassVar[type[CheckConfig]] = QualityConfig
    config: QualityConfig

    async def fetch(self, ctx: CheckContext) -> UdpOutcome:
        cfg = self.config
        where = reflector_target(cfg.target, cfg.port, ctx.collector_url)
        if where is None:
            raise CannotMeasure(msg("vc.quality.not_configured"))
        return await probe_udp(
            where[0],
            where[1],
            count=cfg.count,
            interval_s=cfg.interval_s,
            wait_s=cfg.wait_s,
            size=cfg.packet_size,
        )

    def evaluate(self, section: UdpOutcome) -> list[CheckResult]:
        return [evaluate_quality(section, self.config, self.id)]
