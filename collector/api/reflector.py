"""UDP reflector for the agents' ``vc.quality`` probe (RTT, jitter, loss).

An asyncio ``DatagramProtocol`` that answers each well-formed probe packet
(``checks.network.quality`` format) with the same packet, ``kind`` set to reply:

* never amplifies: the reply has exactly the request's size, and anything that is not a
  probe request (wrong magic/version, a reply, too short or too long) is dropped silently;
* rate-limited per source address with a token bucket (default 200 packets/s, burst 400:
  ten agents' worth of 50-packet probes at 20 ms), so it cannot be turned into a flood
  towards a spoofed victim at more than that rate; the table of sources is bounded;
* started by ``ioc-collector serve`` on ``reflector_port`` (0 turns it off) through the
  app's lifespan (``CollectorConfig.reflector_port``); tests start it only when they ask.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import cast

from checks.network.quality import as_reply

log = logging.getLogger(__name__)


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    """Token bucket per source IP; at most ``max_sources`` tracked (least recent evicted)."""

    def __init__(
        self, rate_pps: float = 200.0, burst: float = 400.0, max_sources: int = 65536
    ) -> None:
        self.rate, self.burst, self.max_sources = rate_pps, burst, max_sources
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def allow(self, source: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        bucket = self._buckets.get(source)
        if bucket is None:
            bucket = _Bucket(self.burst, now)
            self._buckets[source] = bucket
            if len(self._buckets) > self.max_sources:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(source)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
            bucket.stamp = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return True
        return False


class Reflector(asyncio.DatagramProtocol):
    """Echo probe requests back to their sender (see the module docstring)."""

    def __init__(self, limiter: RateLimiter | None = None) -> None:
        self.limiter = limiter or RateLimiter()
        self.transport: asyncio.DatagramTransport | None = None
        self.answered = 0
        self.dropped = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def reply_for(self, data: bytes, addr: tuple[str, int]) -> bytes | None:
        """The reply to send, or None to drop: overridable by test reflectors."""
        reply = as_reply(data)
        if reply is None or not self.limiter.allow(addr[0]):
            return None
        return reply

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        reply = self.reply_for(data, addr)
        if reply is None:
            self.dropped += 1
            return
        assert len(reply) <= len(data)  # never amplify
        self.answered += 1
        self.send(reply, addr)

    def send(self, reply: bytes, addr: tuple[str, int]) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(reply, addr)

    def error_received(self, exc: Exception) -> None:
        # ICMP errors for a previous reply (the prober went away): nothing to do.
        log.debug("reflector: %s", exc)


async def start_reflector(
    host: str, port: int, protocol: Reflector | None = None, reuse_port: bool = False
) -> tuple[asyncio.DatagramTransport, Reflector]:
    """Bind the reflector on ``host:port`` (port 0 = any free port) in the running loop;
    ``reuse_port``: shared with the other collector processes of this machine (each
    datagram is answered by one of them; the reflector keeps no state)."""
    loop = asyncio.get_running_loop()
    proto = protocol or Reflector()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: proto, local_addr=(host, port), reuse_port=reuse_port or None
    )
    sockname = transport.get_extra_info("sockname")
    log.info("UDP reflector listening on %s:%s", sockname[0], sockname[1])
    return transport, proto
