"""Send spooled reports to the collector, oldest first, deleting only what it acknowledged.

Policy by answer (decided here, documented for the operations team):

=====================  =====================================================================
2xx                    delete exactly the ``acked_seqs`` of the answer; send the next batch
                       after a jittered pause (paced drain after an outage)
408, 429, 5xx,         transient: keep everything; back off with full jitter
network error          (``uniform(0, min(cap, base * 2**n))``); a ``Retry-After`` header is
                       honoured (plus a little jitter so agents do not return in lock-step)
413, 422               the batch content is refused: halve the batch and retry at once; a
                       single refused report is moved to the spool's ``rejected`` table
                       (kept on disk, logged at ERROR, counted) so it cannot block the queue
other 4xx              (401 bad token, 403 wrong commune, 404 wrong URL, ...) an agent-side
                       problem that retrying will not fix: keep everything, log the
                       collector's message at ERROR, retry after the backoff cap. Reports
                       stay subject to the spool's age/size bounds (counted drops)
=====================  =====================================================================
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from agent import __version__
from agent.spool import Spool, SpoolError
from checks import http
from checks.model import AgentReport, IngestResponse, batch_json
from checks.tls import TLSVerify, tls_refusal

log = logging.getLogger(__name__)

#: A Retry-After larger than this is treated as this (a misconfigured proxy must not park
#: the agent for days).
MAX_RETRY_AFTER_S = 3600.0


@dataclass
class FlushResult:
    sent: int = 0
    batches: int = 0
    rejected: int = 0
    error: str | None = None
    retry_in_s: float | None = None
    deferred: bool = False  # nothing tried: still inside a backoff period
    acked: list[int] = field(default_factory=list)
    #: The version of the catalogue's levels the collector named in its last answer.
    levels_version: str | None = None


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header: delta-seconds or an HTTP date (RFC 9110 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _detail(resp: http.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:200].strip()
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])[:300]
    return str(body)[:200]


class Sender:
    def __init__(
        self,
        url: str,
        token: str,
        *,
        verify: TLSVerify = True,
        timeout_s: float = 10.0,
        batch_size: int = 50,
        batch_pause_s: float = 1.0,
        backoff_base_s: float = 2.0,
        backoff_cap_s: float = 300.0,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url.rstrip("/") + "/api/v1/reports"
        self.levels_url = url.rstrip("/") + "/api/v1/levels"
        self._token = token
        self._verify = verify
        self._timeout_s = timeout_s
        self.batch_size = batch_size
        self._batch_size = batch_size  # shrinks on 413/422, recovers on success
        self.batch_pause_s = batch_pause_s
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._monotonic = monotonic
        self._failures = 0
        self._not_before = 0.0
        self._client: http.Client | None = None

    async def aclose(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _http(self) -> http.Client:
        if self._client is None:
            self._client = http.Client(
                timeout_s=self._timeout_s,
                verify=self._verify,
                headers={
                    "Authorization": f"Bearer {self._token}",
                    "User-Agent": f"ioc-agent/{__version__}",
                },
            )
        return self._client

    def _backoff(self, retry_after: float | None = None, *, at_cap: bool = False) -> float:
        if retry_after is not None:
            delay = min(retry_after, MAX_RETRY_AFTER_S) + self._rng.uniform(0, self.backoff_base_s)
        elif at_cap:
            delay = self.backoff_cap_s
        else:
            ceiling = min(self.backoff_cap_s, self.backoff_base_s * 2**self._failures)
            delay = self._rng.uniform(0, ceiling)  # "full jitter"
        self._failures += 1
        self._not_before = self._monotonic() + delay
        return delay

    async def fetch_levels(self) -> Any:
        """The collector's answer to ``GET /api/v1/levels`` as JSON (checked where it is
        kept, ``agent.levels.save_levels``), or None (logged) when it cannot be had now: the
        agent keeps its copy and asks again after the next answer."""
        try:
            resp = await self._http().arequest("GET", self.levels_url)
            resp.raise_for_status()
            return resp.json()
        except (http.HTTPError, OSError, ValueError) as exc:
            log.warning("cannot fetch the collector's levels: %s", exc)
            return None

    async def flush(self, spool: Spool, *, budget_s: float | None = None) -> FlushResult:
        """Send pending reports batch after batch until the spool is empty, an error
        stops us, or ``budget_s`` is spent (so the scheduler keeps its rhythm)."""
        result = FlushResult()
        now = self._monotonic()
        if now < self._not_before:
            result.deferred = True
            result.retry_in_s = self._not_before - now
            return result
        deadline = None if budget_s is None else now + budget_s
        while True:
            reports = spool.pending(self._batch_size)
            if not reports:
                return result
            if result.batches and self.batch_pause_s > 0:
                # Paced drain: jittered pause so agents back from an outage spread out.
                await self._sleep(self.batch_pause_s * self._rng.uniform(0.5, 1.0))
            result.batches += 1
            stop = await self._send_one(spool, reports, result)
            if stop:
                return result
            if deadline is not None and self._monotonic() >= deadline:
                return result

    async def _send_one(
        self, spool: Spool, reports: list[AgentReport], result: FlushResult
    ) -> bool:
        """Send one batch; return True when the flush must stop."""
        seqs = [r.seq for r in reports]
        body = batch_json(reports)
        try:
            resp = await self._http().arequest(
                "POST", self.url, content=body, headers={"Content-Type": "application/json"}
            )
        except http.HTTPError as exc:
            refused = tls_refusal(exc)
            if refused is not None:  # not transient: the certificate will not change by itself
                result.error = refused
                result.retry_in_s = self._backoff(at_cap=True)
                log.error("%s; reports kept, retry in %.0f s", result.error, result.retry_in_s)
                return True
            result.error = f"cannot reach collector: {type(exc).__name__}: {exc}"
            result.retry_in_s = self._backoff()
            log.warning("%s; retry in %.0f s", result.error, result.retry_in_s)
            return True
        except OSError as exc:  # e.g. an unreadable CA file
            result.error = f"cannot connect to collector: {exc}"
            result.retry_in_s = self._backoff(at_cap=True)
            log.error("%s; retry in %.0f s", result.error, result.retry_in_s)
            return True
        code = resp.status_code
        if 200 <= code < 300:
            return self._acked(spool, resp, seqs, result)
        if code in (408, 429) or code >= 500:
            wait = parse_retry_after(resp.headers.get("Retry-After"))
            result.error = f"collector busy (HTTP {code})"
            result.retry_in_s = self._backoff(wait)
            log.warning("%s; retry in %.0f s", result.error, result.retry_in_s)
            return True
        if code in (413, 422):
            detail = _detail(resp)
            if len(reports) > 1:
                self._batch_size = max(1, len(reports) // 2)
                log.warning(
                    "collector refused a batch of %d (HTTP %d: %s); retrying in batches of %d",
                    len(reports),
                    code,
                    detail,
                    self._batch_size,
                )
                return False
            spool.reject(seqs, f"HTTP {code}: {detail}")
            result.rejected += 1
            log.error(
                "collector refused report seq %d (HTTP %d: %s); kept in the spool's rejected table",
                seqs[0],
                code,
                detail,
            )
            return False
        result.error = f"collector refused the reports (HTTP {code}): {_detail(resp)}"
        if code in (401, 403):
            result.error += "; check the enrollment (ioc-agent enroll)"
        result.retry_in_s = self._backoff(at_cap=True)
        log.error("%s; reports kept, retry in %.0f s", result.error, result.retry_in_s)
        return True

    def _acked(
        self, spool: Spool, resp: http.Response, seqs: list[int], result: FlushResult
    ) -> bool:
        try:
            answer = IngestResponse.decode(resp.json())
        except ValueError as exc:  # not JSON, or not an ingest answer (DecodeError)
            result.error = f"unreadable answer from collector: {exc}"
            result.retry_in_s = self._backoff()
            log.warning("%s; retry in %.0f s", result.error, result.retry_in_s)
            return True
        result.levels_version = answer.levels_version or result.levels_version
        acked = sorted(set(answer.acked_seqs) & set(seqs))
        try:
            spool.ack(acked)
        except SpoolError as exc:  # disk full: the reports stay and are sent again
            result.error = str(exc)
            log.error("%s", result.error)
            return True
        result.sent += len(acked)
        result.acked.extend(acked)
        if not acked:
            # 2xx without acking anything: retrying at once would loop forever.
            result.error = "collector answered but acknowledged none of the batch"
            result.retry_in_s = self._backoff()
            log.warning("%s; retry in %.0f s", result.error, result.retry_in_s)
            return True
        self._failures = 0
        self._batch_size = self.batch_size
        return False
