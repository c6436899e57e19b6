"""The agent daemon: every interval, run the checks, spool the report, try to send.

``Agent(config).run_cycle()`` is one cycle; ``run_forever(stop)`` schedules cycles at a
fixed rate (no drift) with a random start offset, so that agents restarted together (a
power cut across a province) do not all report in the same second.
"""

from __future__ import annotations

import asyncio
import logging
import random
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from agent import __version__
from agent.config import AgentConfig
from agent.levels import load_levels, save_levels
from agent.memory import TEXTS_KEPT, release_free_memory
from agent.sender import FlushResult, Sender
from agent.spool import SPOOL_FILE, Spool, SpoolFullError, SpoolStats
from agent.state import AgentState, load_state
from checks.base import Check, CheckContext
from checks.messages import forget_texts
from checks.model import AgentReport, Category, CheckResult, Status, Value
from checks.registry import Registry
from checks.runner import run_checks
from checks.secrets import check_secrets

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 60.0


@dataclass(frozen=True)
class CycleResult:
    report: AgentReport
    flush: FlushResult | None
    #: Why the report is not in the spool (it could not be kept even in memory), else None.
    error: str | None = None


def spool_result(stats: SpoolStats) -> CheckResult:
    """The agent's own store-and-forward state, reported so the operations centre sees a
    backlog growing (the link is down, or the collector refuses) and reports dropped."""
    message = (
        f"{stats.dropped} reports dropped, {stats.rejected} refused by the collector"
        if stats.dropped or stats.rejected
        else f"{stats.pending} reports waiting"
    )
    if stats.in_memory:
        message = f"disk full: reports kept in memory; {message}"
    return CheckResult(
        check="agent.spool",
        category=Category.HOST,
        status=Status.WARN if stats.dropped or stats.rejected or stats.in_memory else Status.OK,
        values={
            "spool_pending": Value(value=stats.pending, unit="count"),
            "spool_pending_bytes": Value(value=stats.pending_bytes, unit="bytes"),
            "spool_oldest_age": Value(value=stats.oldest_age_s or 0.0, unit="seconds"),
            "spool_dropped": Value(value=stats.dropped, unit="count"),
            "spool_rejected": Value(value=stats.rejected, unit="count"),
        },
        message=message,
    )


class Agent:
    """One enrolled agent. Needs ``config.state_dir/agent.json`` (see ``agent.enroll``)."""

    def __init__(
        self,
        config: AgentConfig,
        *,
        registry: Registry | None = None,
        state: AgentState | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self._now = now  # injectable: time-compressed tests of long outages
        self.state = state if state is not None else load_state(config.state_dir)
        self.checks: list[Check] = config.enabled_checks(registry)
        #: The catalogue's levels as last received (docs/ARCHITECTURE.md, "Who owns a
        #: threshold"): reports go unjudged; these judge only what is shown here.
        self.levels = load_levels(config.state_dir)
        self.collector_url = config.collector.url or self.state.collector_url
        self.spool = Spool(
            config.state_dir / SPOOL_FILE,
            max_age_s=config.spool.max_age_s,
            max_bytes=config.spool.max_bytes,
            now=now,
        )
        self.sender = Sender(
            self.collector_url,
            self.state.token,
            verify=config.collector.verify,
            timeout_s=config.collector.timeout_s,
            batch_size=config.spool.batch_size,
            batch_pause_s=config.spool.batch_pause_s,
            backoff_base_s=config.sender.backoff_base_s,
            backoff_cap_s=config.sender.backoff_cap_s,
        )
        self.ctx = CheckContext(
            host=config.host,
            collector_url=self.collector_url,
            # Passphrases and passwords of the check configurations (SecretStr options).
            secrets=(self.state.token, *check_secrets(self.checks)),
            verify_tls=config.collector.verify,
            token=self.state.token,
        )

    @property
    def interval_s(self) -> float:
        if self.config.interval_s is not None:
            return self.config.interval_s
        return float(self.state.report_interval_s or DEFAULT_INTERVAL_S)

    async def collect(self) -> list[CheckResult]:
        return await run_checks(self.checks, self.ctx)

    async def run_cycle(self, *, send: bool = True) -> CycleResult:
        """Run every check, commit the report to the spool, then try to send the backlog."""
        observed_at = datetime.fromtimestamp(self._now(), UTC)
        results = await self.collect()
        results.append(spool_result(self.spool.stats()))
        report = AgentReport(
            agent_id=self.state.agent_id,
            seq=self.spool.next_seq(),
            commune_code=self.state.commune_code,
            host=self.config.host,
            observed_at=observed_at,
            agent_version=__version__,
            results=results,
        )
        error = None
        try:
            self.spool.put(report)  # durable before any send attempt
        except SpoolFullError as exc:  # not even memory took it; the backlog is still sent
            error = str(exc)
            log.error("%s", error)
        flush = None
        if send:
            # Leave the scheduler room: a long drain stops after half an interval.
            flush = await self.sender.flush(self.spool, budget_s=self.interval_s / 2)
            await self._follow_levels(flush.levels_version)
        return CycleResult(report=report, flush=flush, error=error)

    async def _follow_levels(self, version: str | None) -> None:
        """Fetch the collector's levels when its answer names another version than ours."""
        if version is None or version == self.levels.version:
            return
        body = await self.sender.fetch_levels()
        if body is None:
            return
        try:
            self.levels = save_levels(self.config.state_dir, body)
        except (OSError, ValueError) as exc:
            log.warning("cannot keep the collector's levels: %s", exc)
            return
        log.info("levels of version %s received from the collector", self.levels.version)

    async def aclose(self) -> None:
        await self.sender.aclose()
        self.spool.close()

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Run cycles until ``stop`` is set; the cycle in progress completes first."""
        interval = self.interval_s
        # Random first offset within 10 % of the interval (at most 30 s) spreads agents.
        start_delay = random.uniform(0, min(interval * 0.1, 30.0))
        if await _wait(stop, start_delay):
            return
        next_at = time.monotonic()
        try:
            while not stop.is_set():
                try:
                    cycle = await self.run_cycle()
                    _log_cycle(cycle)
                except Exception:
                    # A broken cycle (disk full, ...) must not end the daemon.
                    log.exception("cycle failed")
                forget_texts(TEXTS_KEPT)  # a day's changing figures are not kept
                release_free_memory()  # what the cycle freed goes back to the system
                next_at += interval
                now = time.monotonic()
                if next_at < now:  # we overran: skip missed slots rather than burst
                    next_at = now + interval
                if await _wait(stop, next_at - now):
                    break
        finally:
            await self.aclose()


def _log_cycle(cycle: CycleResult) -> None:
    flush = cycle.flush
    if flush is None:
        return
    log.info(
        "report seq %d: %d results; sent %d in %d batch(es)%s",
        cycle.report.seq,
        len(cycle.report.results),
        flush.sent,
        flush.batches,
        f"; {flush.error}" if flush.error else "",
    )


async def _wait(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep ``seconds`` unless ``stop`` is set first; True when stopping."""
    try:
        await asyncio.wait_for(stop.wait(), max(0.0, seconds))
    except TimeoutError:
        return False
    return True


def install_signal_handlers(stop: asyncio.Event) -> None:
    """SIGTERM / SIGINT set ``stop`` (clean shutdown: the current cycle finishes)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            # Windows' event loop has no add_signal_handler; fall back to signal.signal.
            signal.signal(sig, lambda *_: loop.call_soon_threadsafe(stop.set))
