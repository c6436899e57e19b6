"""Host health: CPU, memory, disk space, uptime, and the clock (offset against the collector,
and whether a time service keeps it synchronised).

Each check is fetch -> parse -> evaluate (``checks.base``): ``fetch`` reads psutil or the
network (in a thread, so a slow call cannot stall the other checks), ``parse_*`` turns the
raw reading into a frozen section, and ``evaluate_*`` makes the results: values and what was
measured. They judge no threshold: the collector's catalogue does (criterion EQ-01, and its
``levels:`` for the CPU), and ``ioc-agent check`` shows the same judgement.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Annotated, Any, ClassVar

import psutil
from annotated_types import Gt, Le

from checks import http
from checks.backend import BackendError, TimeSync
from checks.base import CannotMeasure, Check, CheckConfig, CheckContext
from checks.messages import msg
from checks.model import Category, CheckResult, Status, TimeResponse, Value
from checks.schema import Doc

# --------------------------------------------------------------------------- CPU


@dataclass(frozen=True, kw_only=True)
class CpuConfig(CheckConfig):
    sample_s: Annotated[float, Gt(0), Le(10), Doc("CPU usage sampling window")] = 0.5


@dataclass(frozen=True)
class CpuSection:
    usage_ratio: float
    load1: float


#: Whether the OS keeps a load average. Windows has none: psutil emulates one from the
#: processor queue in a background thread, and it reads 0 for its first seconds (always, in
#: a one-shot ``ioc-agent check``). There ``load1`` is the sampled number of busy CPUs.
LOADAVG_MEANINGFUL = sys.platform != "win32"


def parse_cpu(
    percent: float, loadavg: tuple[float, float, float] | None, cpus: int | None = None
) -> CpuSection:
    """psutil reports CPU usage in percent; the model carries a 0..1 ratio. Without a load
    average (``None``), ``load1`` is the usage sampled over the window times the CPU count
    (the CPUs kept busy), which is what a load average of CPU-bound work shows."""
    ratio = max(0.0, min(1.0, percent / 100.0))
    load1 = loadavg[0] if loadavg is not None else ratio * (cpus or 1)
    return CpuSection(usage_ratio=ratio, load1=load1)


def evaluate_cpu(section: CpuSection) -> CheckResult:
    values = {
        "cpu_usage": Value(value=section.usage_ratio, unit="ratio"),
        "load1": Value(value=section.load1, unit=""),
    }
    return CpuCheck.result(
        Status.OK, msg("host.cpu.usage", usage=section.usage_ratio), values=values
    )


class CpuCheck(Check):
    id = "host.cpu"
    category = Category.HOST
    Config: ClassVar[type[CheckConfig]] = CpuConfig
    config: CpuConfig

    async def fetch(
        self, ctx: CheckContext
    ) -> tuple[float, tuple[float, float, float] | None, int | None]:
        usage = await asyncio.to_thread(psutil.cpu_percent, self.config.sample_s)
        loadavg = psutil.getloadavg() if LOADAVG_MEANINGFUL else None
        return usage, loadavg, psutil.cpu_count()

    def parse(self, raw: tuple[float, tuple[float, float, float] | None, int | None]) -> CpuSection:
        return parse_cpu(*raw)

    def evaluate(self, section: CpuSection) -> list[CheckResult]:
        return [evaluate_cpu(section)]


# --------------------------------------------------------------------------- memory


@dataclass(frozen=True, kw_only=True)
class MemoryConfig(CheckConfig):
    pass


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


def evaluate_memory(section: MemorySection) -> CheckResult:
    ratio = section.available_ratio
    return MemoryCheck.result(
        Status.OK,
        values={
            "memory_available": Value(value=section.available, unit="bytes"),
            "memory_available_ratio": Value(value=ratio, unit="ratio"),
            "memory_total": Value(value=section.total, unit="bytes"),
        },
        message=msg("host.memory.available", available=ratio),
    )


class MemoryCheck(Check):
    id = "host.memory"
    category = Category.HOST
    Config: ClassVar[type[CheckConfig]] = MemoryConfig
    config: MemoryConfig

    async def fetch(self, ctx: CheckContext) -> dict[str, Any]:
        vm = await asyncio.to_thread(psutil.virtual_memory)
        return dict(vm._asdict())

    def parse(self, raw: dict[str, Any]) -> MemorySection:
        return parse_memory(raw)

    def evaluate(self, section: MemorySection) -> list[CheckResult]:
        return [evaluate_memory(section)]


# --------------------------------------------------------------------------- disk


@dataclass(frozen=True, kw_only=True)
class DiskConfig(CheckConfig):
    paths: Annotated[list[str], Doc("mountpoints to watch; empty = the system drive")] = field(
        default_factory=list
    )


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


def evaluate_disk(section: DiskSection) -> CheckResult:
    ratio = section.free_ratio
    return DiskCheck.result(
        Status.OK,
        target=section.mountpoint,
        values={
            "disk_free": Value(value=section.free, unit="bytes"),
            "disk_free_ratio": Value(value=ratio, unit="ratio"),
            "disk_size": Value(value=section.total, unit="bytes"),
        },
        message=msg("host.disk.free", free=ratio),
    )


class DiskCheck(Check):
    id = "host.disk"
    category = Category.HOST
    Config: ClassVar[type[CheckConfig]] = DiskConfig
    config: DiskConfig

    def targets(self) -> list[str]:
        return self.config.paths or [self.backend.system_drive()]

    async def fetch(self, ctx: CheckContext) -> list[tuple[str, dict[str, Any] | OSError]]:
        """(path, disk usage or the error reading it) for each path."""
        readings: list[tuple[str, dict[str, Any] | OSError]] = []
        for path in self.targets():
            try:
                usage = await asyncio.to_thread(psutil.disk_usage, path)
            except OSError as exc:
                readings.append((path, exc))
                continue
            readings.append((path, dict(usage._asdict())))
        return readings

    def parse(
        self, raw: list[tuple[str, dict[str, Any] | OSError]]
    ) -> list[DiskSection | tuple[str, OSError]]:
        return [
            (path, usage) if isinstance(usage, OSError) else parse_disk(path, usage)
            for path, usage in raw
        ]

    def evaluate(self, section: list[DiskSection | tuple[str, OSError]]) -> list[CheckResult]:
        return [
            evaluate_disk(item)
            if isinstance(item, DiskSection)
            else self.unknown(
                msg("host.disk.unreadable", detail=str(item[1].strerror or item[1])),
                target=item[0],
            )
            for item in section
        ]


# --------------------------------------------------------------------------- uptime


def evaluate_uptime(boot_time: float, now: float) -> CheckResult:
    uptime = max(0.0, now - boot_time)
    return UptimeCheck.result(
        Status.OK,
        values={"uptime": Value(value=uptime, unit="seconds")},
        message=msg("host.uptime.up", uptime=uptime),
    )


class UptimeCheck(Check):
    id = "host.uptime"
    category = Category.HOST

    async def fetch(self, ctx: CheckContext) -> tuple[float, float]:
        return psutil.boot_time(), time.time()

    def evaluate(self, section: tuple[float, float]) -> list[CheckResult]:
        return [evaluate_uptime(*section)]


# --------------------------------------------------------------------------- clock


@dataclass(frozen=True, kw_only=True)
class ClockConfig(CheckConfig):
    request_timeout_s: Annotated[float, Gt(0), Le(60)] = 3.0


@dataclass(frozen=True)
class ClockSection:
    offset_s: float
    round_trip_s: float
    #: The time service's verdict (the platform backend), None when it could not tell.
    sync: TimeSync | None = None
    #: Why the synchronisation state is unknown (``sync`` is None).
    sync_problem: str = ""


def parse_clock(t0: float, t1: float, body: Mapping[str, Any]) -> ClockSection:
    """NTP-style offset: the server read its clock half-way through our request.

    ``t0``/``t1`` are this host's wall-clock times (Unix seconds) before and after the request;
    offset = server_time - (t0 + t1) / 2, positive when this host's clock is behind.
    """
    server: datetime = TimeResponse.decode(body).server_time
    return ClockSection(offset_s=server.timestamp() - (t0 + t1) / 2, round_trip_s=t1 - t0)


def evaluate_clock(target: str, section: ClockSection) -> CheckResult:
    """The offset, and ``ntp_synchronised`` (1 or 0) when the time service told; the
    catalogue judges both (EQ-01)."""
    off = abs(section.offset_s)
    direction = "behind" if section.offset_s > 0 else "ahead"
    values = {
        "clock_offset": Value(value=section.offset_s, unit="seconds"),
        "clock_offset_abs": Value(value=off, unit="seconds"),
    }
    sync = section.sync
    params: dict[str, Any] = {"offset": off}
    if sync is not None:
        values["ntp_synchronised"] = Value(value=1.0 if sync.synchronised else 0.0)
        state = "synced" if sync.synchronised else "unsynced"
        params.update(source=sync.source, detail=f", {sync.detail}" if sync.detail else "")
    elif section.sync_problem:
        state = "sync_unknown"
        params.update(detail=section.sync_problem)
    else:
        state = "alone"
    message = msg(f"host.clock.{direction}_{state}", **params)
    return ClockCheck.result(Status.OK, target=target, values=values, message=message)


class ClockCheck(Check):
    id = "host.clock"
    category = Category.HOST
    Config: ClassVar[type[CheckConfig]] = ClockConfig
    config: ClockConfig

    async def fetch(self, ctx: CheckContext) -> tuple[str, ClockSection]:
        if not ctx.collector_url:
            raise CannotMeasure(msg("check.no_collector"))
        target, section = await self._offset(ctx, ctx.collector_url)
        try:
            sync = await asyncio.to_thread(self.backend.time_sync)
        except BackendError as exc:
            return target, replace(section, sync_problem=str(exc))
        return target, replace(section, sync=sync)

    async def _offset(self, ctx: CheckContext, url: str) -> tuple[str, ClockSection]:
        try:
            t0, t1, answer = await asyncio.to_thread(self._ask_time, ctx, url.rstrip("/"))
            return url, parse_clock(t0, t1, answer)
        except (http.HTTPError, ValueError) as exc:
            raise CannotMeasure(
                msg("host.clock.unreadable", detail=f"{type(exc).__name__}: {exc}"),
                target=url,
            ) from None

    def _ask_time(self, ctx: CheckContext, base: str) -> tuple[float, float, Any]:
        """``GET /api/v1/time`` twice on one connection, the second timed: the first
        opens the connection (TCP + TLS) so the measured one is a single round trip, which
        makes the mid-point estimate fair."""
        client = http.Client(verify=ctx.verify_tls, timeout_s=self.config.request_timeout_s)
        try:
            client.send("GET", f"{base}/api/v1/time")
            t0 = time.time()
            resp = client.send("GET", f"{base}/api/v1/time")
            t1 = time.time()
            resp.raise_for_status()
            return t0, t1, resp.json()
        finally:
            client.close()

    def evaluate(self, section: tuple[str, ClockSection]) -> list[CheckResult]:
        return [evaluate_clock(*section)]
