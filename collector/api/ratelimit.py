"""Rate limits: a token bucket per key (an agent id, or a client address).

Three uses in the collector (collector/api/agents.py, collector/api/web/login.py):

* **Ingest, per agent.** An agent sends about one request a minute, but after an outage it
  drains its spool in batches of 50 with a ~1 s pause. The bucket holds ``burst`` requests
  and refills at ``rate_per_s``: the defaults (burst 60, 1 per second) let a whole day of
  spooled reports (1,440 reports = 29 batches) through without a single refusal, while an
  agent stuck in a loop gets 429 after its burst instead of flattening the database.
* **Failed authentication, per client address** (enrollment codes, web logins). Only
  *failures* take a token, so the national demo's 3,321 enrollments from one address pass,
  while guessing codes or passwords is slowed to ``rate_per_s``. (Bearer tokens are 256-bit
  random: guessing them is hopeless, and an agent with a good token is never refused because
  a neighbour behind the same NAT holds a revoked one.)

* **Failed logins, per account**, whatever the address: guessing one person's password
  from many (forwarded) addresses is slowed to ``auth_failures_per_account_per_min`` after
  ``auth_failures_per_account_burst`` failures. The bucket refills with time, so nobody is
  locked out for good; and an address from which that account logged in successfully in
  the last ``SESSION_TTL`` x 2 (:class:`KnownLogins`) is not held by the account's limit, so
  an attacker who keeps the bucket empty does not keep its owner out of their usual place.

State is per process: behind a load balancer with N collector replicas an agent may get up
to N times the configured rate. That is acceptable for a guard against runaway agents and
brute force (a shared store would put a database write in every request); configure the
per-replica figures accordingly.

Hand-written on purpose: a token bucket is a dozen lines, and the libraries at hand
(``limits``, ``pyrate-limiter``) count fixed or moving windows, whose burst behaviour would
have to be tuned against the drain instead of stated directly.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

#: Keys kept at most (one entry per agent or address); full buckets are dropped first.
MAX_KEYS = 200_000


@dataclass
class _Bucket:
    tokens: float
    at: float


class TokenBucket:
    """``burst`` tokens per key, refilled at ``rate_per_s``; ``rate_per_s <= 0`` = no limit.

    >>> limits = TokenBucket(rate_per_s=1.0, burst=2)
    >>> limits.take("a-1"), limits.take("a-1"), limits.take("a-1") > 0
    (0.0, 0.0, True)
    """

    def __init__(
        self,
        rate_per_s: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self.rate_per_s = rate_per_s
        self.burst = max(1, burst)
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.rate_per_s > 0

    def _refill(self, key: str, now: float) -> _Bucket:
        b = self._buckets.get(key)
        if b is None:
            if len(self._buckets) >= self._max_keys:
                self._prune(now)
            b = self._buckets[key] = _Bucket(float(self.burst), now)
        else:
            b.tokens = min(float(self.burst), b.tokens + (now - b.at) * self.rate_per_s)
            b.at = now
        return b

    def _prune(self, now: float) -> None:
        """Forget keys whose bucket is full again (they are as good as new)."""
        full = [
            k
            for k, b in self._buckets.items()
            if b.tokens + (now - b.at) * self.rate_per_s >= self.burst
        ]
        for k in full:
            del self._buckets[k]
        if len(self._buckets) >= self._max_keys:  # still full: drop the oldest half
            oldest = sorted(self._buckets, key=lambda k: self._buckets[k].at)
            for k in oldest[: self._max_keys // 2]:
                del self._buckets[k]

    def wait_s(self, key: str) -> float:
        """Seconds until ``key`` may act again (0.0: it may now). Takes nothing."""
        if not self.enabled:
            return 0.0
        with self._lock:
            b = self._refill(key, self._clock())
            return 0.0 if b.tokens >= 1.0 else (1.0 - b.tokens) / self.rate_per_s

    def take(self, key: str) -> float:
        """Take one token: 0.0 when allowed, else the seconds to wait (nothing taken)."""
        if not self.enabled:
            return 0.0
        with self._lock:
            b = self._refill(key, self._clock())
            if b.tokens >= 1.0:
                b.tokens -= 1.0
                return 0.0
            return (1.0 - b.tokens) / self.rate_per_s

    def spend(self, key: str) -> None:
        """Take one token even if none is left (a failure already happened: count it)."""
        if not self.enabled:
            return
        with self._lock:
            b = self._refill(key, self._clock())
            b.tokens = max(b.tokens - 1.0, -float(self.burst))


class KnownLogins:
    """The (account, client address) pairs that logged in successfully lately, so that the
    per-account login limit cannot lock a person out from where they usually work: such a
    pair skips the account's limit (the address's own limit still holds) for ``ttl_s``.

    Bounded to ``max_keys`` pairs (the oldest forgotten first); per process, like the buckets.
    """

    def __init__(
        self,
        ttl_s: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._max_keys = max_keys
        self._seen: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def add(self, account: str, address: str) -> None:
        with self._lock:
            self._seen.pop((account, address), None)
            self._seen[(account, address)] = self._clock()
            while len(self._seen) > self._max_keys:
                del self._seen[next(iter(self._seen))]

    def __contains__(self, pair: tuple[str, str]) -> bool:
        with self._lock:
            at = self._seen.get(pair)
            return at is not None and self._clock() - at < self.ttl_s


def retry_after(wait_s: float) -> str:
    """The ``Retry-After`` header value: whole seconds, rounded up, at least 1."""
    return str(max(1, math.ceil(wait_s)))


def client_key(host: str | None) -> str:
    """The rate-limit key of a client address: the address itself for IPv4, the /64 for
    IPv6 (one subscriber usually holds a whole /64). Behind a reverse proxy the address is
    the client's only if uvicorn trusts the proxy's ``X-Forwarded-For`` (it does from
    127.0.0.1; ``FORWARDED_ALLOW_IPS`` names others)."""
    if not host:
        return "?"
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return host
    if addr.version == 6 and addr.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{addr}/64", strict=False))
    return str(addr.ipv4_mapped or addr) if addr.version == 6 else str(addr)
