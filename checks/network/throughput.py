"""``net.throughput``: download and upload bandwidth to the province's collector (NET-02).

fetch: ``GET /api/v1/probe/download?bytes=N`` and ``POST /api/v1/probe/upload`` of the
collector (``collector/api/probes.py``), with the agent's bearer token; each transfer is
bounded in size (``download_bytes`` / ``upload_bytes``, at most 64 MiB, the server's limit)
and in time (``max_seconds``: the transfer stops there and the bytes moved so far count).
Bandwidth = bits moved / transfer time, timed from the response headers (download) or the
first body byte (upload) to the last byte, so connection set-up is not counted.

evaluate: ``download_bandwidth`` below ``fail_below_bps`` fails, below ``warn_below_bps``
warns (NET-02 defaults: 20 / 50 Mbit/s, a proposal). Not enrolled (no token or 401), collector
busy (429) or unreachable -> unknown: we could not measure, which NET-01 judges separately.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

from annotated_types import Ge, Gt, Le

from checks import http
from checks.backend import Backend
from checks.base import CannotMeasure, Check, CheckConfig, CheckContext
from checks.messages import msg, said
from checks.model import Category, CheckResult, MessageRef, Status, Value
from checks.network.probes import Failure, _classify_oserror
from checks.schema import Doc
from checks.tls import TLSVerify

MAX_BYTES = 64 * 1024 * 1024
CHUNK = 64 * 1024
DOWNLOAD_PATH = "/api/v1/probe/download"
UPLOAD_PATH = "/api/v1/probe/upload"


@dataclass(frozen=True)
class Transfer:
    direction: str  # "download" | "upload"
    bytes: int = 0
    seconds: float = 0.0
    error: str = ""
    status_code: int | None = None
    #: The collector refused the connection or stayed silent: ``fail``, not ``unknown``.
    silent: bool = False

    @property
    def bits_per_second(self) -> float | None:
        if self.error or self.bytes <= 0 or self.seconds <= 0:
            return None
        return self.bytes * 8 / self.seconds


def _headers(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def _http_error(direction: str, exc: BaseException) -> Transfer:
    if isinstance(exc, http.TimeoutException):
        return Transfer(direction, error="timeout", silent=True)
    failure = _classify_oserror(exc)
    if failure is Failure.REFUSED:
        return Transfer(direction, error="connection refused", silent=True)
    silent = failure in (Failure.TIMEOUT, Failure.UNREACHABLE) and isinstance(
        exc, http.TransportError
    )
    return Transfer(direction, error=f"{type(exc).__name__}: {exc}", silent=silent)


def measure_download(
    client: http.Client, base_url: str, size: int, max_seconds: float, token: str | None
) -> Transfer:
    """Blocking: run in a thread (:func:`measure_throughput`)."""
    moved: list[float] = []  # bytes received, seconds

    def consume(resp: http.RawResponse) -> bytes:
        if resp.status != 200:
            return resp.read()
        received, start = 0, time.perf_counter()
        while chunk := resp.read1(CHUNK):
            received += len(chunk)
            if time.perf_counter() - start >= max_seconds:
                break  # bounded in time: what arrived so far counts
        moved.extend((received, time.perf_counter() - start))
        return b""

    try:
        response = client.send(
            "GET",
            f"{base_url}{DOWNLOAD_PATH}?bytes={size}",
            headers=_headers(token),
            consume=consume,
        )
    except http.HTTPError as exc:
        return _http_error("download", exc)
    if response.status_code != 200:
        return Transfer("download", error=_detail(response), status_code=response.status_code)
    return Transfer("download", int(moved[0]), moved[1], status_code=200)


def measure_upload(
    client: http.Client, base_url: str, size: int, max_seconds: float, token: str | None
) -> Transfer:
    """Blocking: run in a thread (:func:`measure_throughput`)."""
    started: list[float] = []
    payload = bytes(CHUNK)

    def body() -> Iterator[bytes]:
        started.append(time.perf_counter())
        left = size
        while left > 0 and time.perf_counter() - started[0] < max_seconds:
            chunk = payload if left >= CHUNK else payload[:left]
            left -= len(chunk)
            yield chunk

    try:
        response = client.send(
            "POST", base_url + UPLOAD_PATH, content=body(), headers=_headers(token)
        )
    except http.HTTPError as exc:
        return _http_error("upload", exc)
    elapsed = time.perf_counter() - (started[0] if started else time.perf_counter())
    if response.status_code != 200:
        return Transfer("upload", error=_detail(response), status_code=response.status_code)
    try:
        moved = int(response.json()["bytes"])
    except (ValueError, KeyError, TypeError):
        return Transfer("upload", error="collector answered without a byte count")
    return Transfer("upload", moved, elapsed, status_code=200)


def _detail(response: http.Response) -> str:
    try:
        detail = str(response.json().get("detail", ""))
    except ValueError:
        detail = ""
    return f"HTTP {response.status_code}" + (f": {detail}" if detail else "")


@dataclass(frozen=True, kw_only=True)
class ThroughputConfig(CheckConfig):
    timeout_s: Annotated[float, Gt(0), Le(300)] = 30.0
    url: Annotated[str | None, Doc("collector base URL (default: the agent's)")] = None
    download_bytes: Annotated[int, Ge(CHUNK), Le(MAX_BYTES)] = 16 * 1024 * 1024
    upload_bytes: Annotated[int, Ge(CHUNK), Le(MAX_BYTES)] = 8 * 1024 * 1024
    max_seconds: Annotated[float, Gt(0), Le(60), Doc("per direction")] = 10.0
    upload: bool = True
    #: A test moves tens of MiB over the province's link: at most once per ``every_s``
    #: (default 1 h, a proposal); cycles in between repeat the last measurement as it was.
    every_s: Annotated[float, Ge(0), Le(7 * 86400)] = 3600.0
    #: False: measure even without the agent's token, and report the collector's answer
    #: (``ioc-agent probe throughput`` shows a refused or missing token this way).
    require_token: bool = True

    def __post_init__(self) -> None:
        needed = self.max_seconds * (2 if self.upload else 1) + 2
        if needed > self.timeout_s:
            raise ValueError(
                f"max_seconds x directions + 2 s = {needed:g} s must not exceed "
                f"timeout_s ({self.timeout_s:g} s)"
            )


def evaluate_throughput(
    target: str,
    down: Transfer,
    up: Transfer | None,
    cfg: ThroughputConfig | None = None,
    check_id: str = "net.throughput",
) -> CheckResult:
    cfg = cfg or ThroughputConfig()
    base: dict[str, Any] = {
        "check": check_id,
        "category": Category.NETWORK,
        "target": target,
        "duration_s": down.seconds + (up.seconds if up else 0.0),
    }
    values: dict[str, Value] = {}
    for transfer in (down, up):
        if transfer is not None and transfer.bits_per_second is not None:
            values[f"{transfer.direction}_bandwidth"] = Value(
                value=transfer.bits_per_second, unit="bits_per_second"
            )
    down_bps = down.bits_per_second
    if down_bps is None:
        # Refused or silent: the collector should answer (fail); else we could not try.
        status = Status.FAIL if down.silent else Status.UNKNOWN
        message = (
            msg("net.throughput.not_enrolled", detail=down.error or "HTTP 401")
            if down.status_code == 401
            else msg("net.throughput.failed", detail=down.error or "")
        )
    else:
        status = Status.OK  # measured: the catalogue judges the bandwidth (NET-02)
        message = _measured(down_bps, up)
    return CheckResult(status=status, values=values, **said(message), **base)


def _measured(down_bps: float, up: Transfer | None) -> MessageRef:
    """The message of a measured download, with the upload's figure or failure."""
    if up is None:
        return msg("net.throughput.down", down=down_bps)
    if up.bits_per_second is None:
        return msg("net.throughput.up_failed", down=down_bps, detail=up.error or "")
    return msg("net.throughput.both", down=down_bps, up=up.bits_per_second)


async def measure_throughput(
    base_url: str, token: str | None, cfg: ThroughputConfig, verify: TLSVerify = True
) -> tuple[Transfer, Transfer | None]:
    return await asyncio.to_thread(_measure_both, base_url, token, cfg, verify)


def _measure_both(
    base_url: str, token: str | None, cfg: ThroughputConfig, verify: TLSVerify
) -> tuple[Transfer, Transfer | None]:
    client = http.Client(verify=verify, timeout_s=cfg.max_seconds + 5.0)
    try:
        down = measure_download(client, base_url, cfg.download_bytes, cfg.max_seconds, token)
        up = None
        if cfg.upload and down.status_code == 200:
            up = measure_upload(client, base_url, cfg.upload_bytes, cfg.max_seconds, token)
    finally:
        client.close()
    return down, up


class ThroughputCheck(Check):
    id = "net.throughput"
    category = Category.NETWORK
    Config: ClassVar[type[CheckConfig]] = ThroughputConfig
    config: ThroughputConfig

    def __init__(self, config: CheckConfig | None = None, backend: Backend | None = None) -> None:
        super().__init__(config, backend)
        self._last: tuple[float, list[CheckResult]] | None = None

    async def run(self, ctx: CheckContext) -> list[CheckResult]:
        now = time.monotonic()
        if self._last is not None and now - self._last[0] < self.config.every_s:
            return self._last[1]  # same results, same observed_at: nothing new was measured
        results = await super().run(ctx)
        if any(r.values for r in results):  # keep only real measurements
            self._last = (now, results)
        return results

    async def fetch(self, ctx: CheckContext) -> tuple[str, Transfer, Transfer | None]:
        base_url = (self.config.url or ctx.collector_url or "").rstrip("/")
        if not base_url:
            raise CannotMeasure(msg("check.not_configured", option="collector.url"))
        if not ctx.token and self.config.require_token:
            raise CannotMeasure(
                msg("net.throughput.needs_token"),
                target=base_url,
            )
        down, up = await measure_throughput(base_url, ctx.token, self.config, ctx.verify_tls)
        return base_url, down, up

    def evaluate(self, section: tuple[str, Transfer, Transfer | None]) -> list[CheckResult]:
        return [evaluate_throughput(*section, self.config, self.id)]
