"""Host health: CPU, memory, disk space, uptime, and clock offset against the collector.

Each check is fetch -> parse -> evaluate: ``fetch_*`` reads psutil or the network (in a
thread, so a slow call cannot stall the other checks), ``parse_*`` turns the raw reading into
a frozen section, and ``evaluate_*`` turns a section and the thresholds into results. The
thresholds (other than those the brief fixes) are proposals: see DOMAIN.md, EQ-01.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

import httpx
import psutil
from pydantic import Field, model_validator

from checks.backend import get_backend
from checks.base import Check, CheckConfig, CheckContext
from checks.model import Category, CheckResult, Status, TimeResponse, Value
from checks.tls import httpx_verify

# --------------------------------------------------------------------------- CPU


class CpuConfig(CheckConfig):
    warn_usage_ratio: float = Field(default=0.9, ge=0, le=1)
    sample_s: float = Field(default=0.5, gt=0, le=10, description="CPU usage sampling window")


@dataclass(frozen=True)
class CpuSection:
    usage_ratio: float
    load1: float


def parse_cpu(percent: float, loadavg: tuple[float, float, float]) -> CpuSection:
    """psutil reports CPU usage in percent; the model carries a 0..1 ratio."""
    return CpuSection(usage_ratio=max(0.0, min(1.0, percent / 100.0)), load1=loadavg[0])


def evaluate_cpu(section: CpuSection, params: CpuConfig) -> CheckResult:
    values = {
        "cpu_usage": Value(value=section.usage_ratio, unit="ratio"),
        "load1": Value(value=section.load1, unit=""),
    }
    if section.usage_ratio > params.warn_usage_ratio:
        status = Status.WARN
        message = f"CPU busy: {section.usage_ratio:.0%} > {params.warn_usage_ratio:.0%}"
    else:
        status, message = Status.OK, f"CPU {section.usage_ratio:.0%}"
    return CheckResult(
        check=CpuCheck.id, category=Category.HOST, status=status, values=values, message=message
    )


class CpuCheck(Check):
    id = "host.cpu"
    category = Category.HOST
    Config: ClassVar[type[CheckConfig]] = CpuConfig
    config: CpuConfig

    async def run(self, ctx: CheckContext) -> list[CheckResult]:
        percent = await asyncio.to_thread(psutil.cpu_percent, self.config.sample_s)
        return [evaluate_cpu(parse_cpu(percent, psutil.getloadavg()), self.config)]


# --------------------------------------------------------------------------- memory


class MemoryConfig(CheckConfig):
    warn_available_ratio: float = Field(default=0.10, ge=0, le=1)
    fail_available_ratio: float = Field(default=0.05, ge=0, le=1)


@dataclass(frozen=True)
class MemorySection:
    total: int
    available: int

    @property
    def available_ratio(self) -> float:
        return self.available / self.total if self.total else 0.0


def parse_memory(vm: Mapping[str, Any]) -> MemorySection:
    """``vm`` is ``psutil.virtual_memory()._asdict()`` (recorded as JSON in tests)."""
    return MemorySection(total=int(vm["total"]), available=int(vm["available"]))


def _by_floor(
    ratio: float, warn_below: float, fail_below: float
) -> Status:
    if ratio < fail_below:
        return Status.FAIL
    if ratio < warn_below:
        return Status.WARN
    return Status.OK


def evaluate_memory(section: MemorySection, params: MemoryConfig) -> CheckResult:
    ratio = section.available_ratio
    status = _by_floor(ratio, params.warn_available_ratio, params.fail_available_ratio)
    message = f"{ratio:.0%} memory available"
    if status is not Status.OK:
        limit = (
            params.fail_available_ratio if status is Status.FAIL else params.warn_available_ratio
        )
        message += f" (below {limit:.0%})"
    return CheckResult(
        check=MemoryCheck.id,
        category=Category.HOST,
        status=status,
        values={
            "memory_available": Value(value=section.available, unit="bytes"),
            "memory_available_ratio": Value(value=ratio, unit="ratio"),
            "memory_total": Value(value=section.total, unit="bytes"),
        },
        message=message,
    )


class MemoryCheck(Check):
    id = "host.memory"
    category = Category.HOST
    Config: ClassVar[type[CheckConfig]] = MemoryConfig
    config: MemoryConfig

    async def run(self, ctx: CheckContext) -> list[CheckResult]:
        vm = await asyncio.to_thread(psutil.virtual_memory)
        return [evaluate_memory(parse_memory(vm._asdict()), self.config)]


# --------------------------------------------------------------------------- disk


class DiskConfig(CheckConfig):
    paths: list[str] = Field(
        default_factory=list, description="mountpoints to watch; empty = the system drive"
    )
    warn_free_ratio: float = Field(default=0.20, ge=0, le=1)
    fail_free_ratio: float = Field(default=0.10, ge=0, le=1)

    @model_validator(mode="after")
    def _order(self) -> DiskConfig:
        if self.fail_free_ratio > self.warn_free_ratio:
            raise ValueError("fail_free_ratio must not be above warn_free_ratio")
        return self


@dataclass(frozen=True)
class DiskSection:
    mountpoint: str
    total: int
    free: int

    @property
    def free_ratio(self) -> float:
        return self.free / self.total if self.total else 0.0


def parse_disk(mountpoint: str, usage: Mapping[str, Any]) -> DiskSection:
    """``usage`` is ``psutil.disk_usage(path)._asdict()``."""
    return DiskSection(mountpoint=mountpoint, total=int(usage["total"]), free=int(usage["free"]))


def evaluate_disk(section: DiskSection, params: DiskConfig) -> CheckResult:
    ratio = section.free_ratio
    status = _by_floor(ratio, params.warn_free_ratio, params.fail_free_ratio)
    message = f"{ratio:.0%} free"
    if status is not Status.OK:
        limit = params.fail_free_ratio if status is Status.FAIL else params.warn_free_ratio
        message += f" (below {limit:.0%})"
    return CheckResult(
        check=DiskCheck.id,
        category=Category.HOST,
        target=section.mountpoint,
        status=status,
        values={
            "disk_free": Value(value=section.free, unit="bytes"),
            "disk_free_ratio": Value(value=ratio, unit="ratio"),
            "disk_size": Value(value=section.total, unit="bytes"),
        },
        message=message,
    )


class DiskCheck(Check):
    id = "host.disk"
    category = Category.HOST
    Config: ClassVar[type[CheckConfig]] = DiskConfig
    config: DiskConfig

    def targets(self) -> list[str]:
        return self.config.paths or [get_backend().system_drive()]

    async def run(self, ctx: CheckContext) -> list[CheckResult]:
        results = []
        for path in self.targets():
            try:
                usage = await asyncio.to_thread(psutil.disk_usage, path)
            except OSError as exc:
                results.append(
                    CheckResult(
                        check=self.id,
                        category=self.category,
                        target=path,
                        status=Status.UNKNOWN,
                        message=f"cannot read disk usage: {exc.strerror or exc}",
                    )
                )
                continue
            results.append(evaluate_disk(parse_disk(path, usage._asdict()), self.config))
        return results


# --------------------------------------------------------------------------- uptime


def evaluate_uptime(boot_time: float, now: float) -> CheckResult:
    uptime = max(0.0, now - boot_time)
    return CheckResult(
        check=UptimeCheck.id,
        category=Category.HOST,
        status=Status.OK,
        values={"uptime": Value(value=uptime, unit="seconds")},
        message=f"up {uptime / 86400:.1f} days" if uptime >= 86400 else f"up {uptime / 3600:.1f} h",
    )


class UptimeCheck(Check):
    id = "host.uptime"
    category = Category.HOST

    async def run(self, ctx: CheckContext) -> list[CheckResult]:
        return [evaluate_uptime(psutil.boot_time(), time.time())]


# --------------------------------------------------------------------------- clock


class ClockConfig(CheckConfig):
    warn_offset_s: float = Field(default=0.5, gt=0)
    fail_offset_s: float = Field(default=1.0, gt=0)
    request_timeout_s: float = Field(default=3.0, gt=0, le=60)


@dataclass(frozen=True)
class ClockSection:
    offset_s: float
    round_trip_s: float


def parse_clock(t0: float, t1: float, body: Mapping[str, Any]) -> ClockSection:
    """NTP-style offset: the server read its clock half-way through our request.

    ``t0``/``t1`` are this host's wall-clock times (Unix seconds) before and after the request;
    offset = server_time - (t0 + t1) / 2, positive when this host's clock is behind.
    """
    server: datetime = TimeResponse.model_validate(body).server_time
    return ClockSection(offset_s=server.timestamp() - (t0 + t1) / 2, round_trip_s=t1 - t0)


def evaluate_clock(target: str, section: ClockSection, params: ClockConfig) -> CheckResult:
    off = abs(section.offset_s)
    if off > params.fail_offset_s:
        status = Status.FAIL
    elif off > params.warn_offset_s:
        status = Status.WARN
    else:
        status = Status.OK
    direction = "behind" if section.offset_s > 0 else "ahead of"
    return CheckResult(
        check=ClockCheck.id,
        category=Category.HOST,
        target=target,
        status=status,
        values={
            "clock_offset": Value(value=section.offset_s, unit="seconds"),
            "clock_offset_abs": Value(value=off, unit="seconds"),
        },
        message=f"clock {off:.3f} s {direction} the collector",
    )


class ClockCheck(Check):
    id = "host.clock"
    category = Category.HOST
    Config: ClassVar[type[CheckConfig]] = ClockConfig
    config: ClockConfig

    async def run(self, ctx: CheckContext) -> list[CheckResult]:
        if not ctx.collector_url:
            return [
                CheckResult(
                    check=self.id,
                    category=self.category,
                    status=Status.UNKNOWN,
                    message="no collector configured",
                )
            ]
        base = ctx.collector_url.rstrip("/")
        timeout = httpx.Timeout(self.config.request_timeout_s)
        verify = httpx_verify(ctx.verify_tls)
        async with httpx.AsyncClient(timeout=timeout, verify=verify) as client:
            # A first request opens the connection (TCP + TLS) so the measured one is a
            # single round trip, which makes the mid-point estimate fair.
            try:
                await client.get(f"{base}/api/v1/time")
                t0 = time.time()
                resp = await client.get(f"{base}/api/v1/time")
                t1 = time.time()
                resp.raise_for_status()
                section = parse_clock(t0, t1, resp.json())
            except (httpx.HTTPError, ValueError) as exc:
                return [
                    CheckResult(
                        check=self.id,
                        category=self.category,
                        target=ctx.collector_url,
                        status=Status.UNKNOWN,
                        message=f"cannot read the collector's time: {type(exc).__name__}: {exc}",
                    )
                ]
        return [evaluate_clock(ctx.collector_url, section, self.config)]

