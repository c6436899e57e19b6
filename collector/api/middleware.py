"""Guards ahead of the handlers: load shedding of report requests, request body limits, and
HSTS over HTTPS.

**Load shedding.** After an outage thousands of agents drain their spools at once. Beyond
``max_ingest_inflight`` report requests in progress, or ``max_ingest_inflight_bytes`` body
bytes (their Content-Length), or an expected wait over ``max_ingest_wait_s`` (the bytes in
progress at the writer's measured rate), a report request is answered 503 with a
``Retry-After`` spread over 1-3 x ``retry_after_s`` before anything of it is read: the agent
keeps its reports in its spool and comes back, instead of timing out in the collector's
queue. One request is always let in, however big (the body limit bounds it).

**Body limits.** :func:`read_body` reads a body up to a limit and answers 413 beyond it,
from the announced Content-Length before reading, or while reading a chunked body.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import HTTPException, Request
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from collector.config import CollectorConfig

#: HSTS of every answer over HTTPS: browsers keep to HTTPS for a year (no includeSubDomains:
#: the collector does not speak for the rest of its domain). Never over plain HTTP, where
#: browsers ignore it and where it would only mislead.
HSTS = (b"strict-transport-security", b"max-age=31536000")


class Hsts:
    """Adds the HSTS header to every answer of a request that came over HTTPS (uvicorn
    serving TLS itself, or a trusted proxy's ``X-Forwarded-Proto: https``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("scheme") != "https":
            await self.app(scope, receive, send)
            return

        async def with_hsts(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), HSTS]
            await send(message)

        await self.app(scope, receive, with_hsts)


#: The route whose requests are shed.
REPORTS_PATH = "/api/v1/reports"


@dataclass
class InFlight:
    """Report requests in progress and the body bytes they announced (one event loop
    touches it: no lock)."""

    requests: int = 0
    bytes: int = 0


class LoadShedding:
    """ASGI middleware shedding ``POST`` requests to ``path`` beyond the configured limits.

    ``expected_wait_s(n)`` is the writer's estimate of the time to store ``n`` bytes (0.0
    while it has measured nothing); ``on_shed(limit)`` is told each refusal, with the limit
    reached: "requests", "bytes" or "wait".
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        config: CollectorConfig,
        inflight: InFlight,
        expected_wait_s: Callable[[int], float],
        on_shed: Callable[[str], None] = lambda limit: None,
        path: str = REPORTS_PATH,
    ) -> None:
        self.app = app
        self.config = config
        self.inflight = inflight
        self.expected_wait_s = expected_wait_s
        self.on_shed = on_shed
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        size = declared_size(Headers(scope=scope), self.config.max_body_bytes)
        refusal = self.refusal(size)
        if refusal is not None:
            busy, limit = refusal
            self.on_shed(limit)
            retry = self.config.retry_after_s
            wait = random.randint(retry, 3 * retry)
            answer = JSONResponse(
                {"detail": f"collector busy ({busy}): keep the reports and retry in {wait} s"},
                status_code=503,
                headers={"Retry-After": str(wait)},
            )
            await answer(scope, receive, send)
            return
        self.inflight.requests += 1
        self.inflight.bytes += size
        try:
            await self.app(scope, receive, send)
        finally:
            self.inflight.requests -= 1
            self.inflight.bytes -= size

    def refusal(self, size: int) -> tuple[str, str] | None:
        """Why a request of ``size`` bytes is refused now (what is busy, the limit
        reached), or None to let it in."""
        cfg, ahead = self.config, self.inflight
        if not ahead.requests:
            return None  # one request is always let in
        if cfg.max_ingest_inflight and ahead.requests >= cfg.max_ingest_inflight:
            return f"{cfg.max_ingest_inflight} report requests in progress", "requests"
        if cfg.max_ingest_inflight_bytes and ahead.bytes + size > cfg.max_ingest_inflight_bytes:
            return f"{ahead.bytes // 1024:,} KiB of reports in progress", "bytes"
        if cfg.max_ingest_wait_s:
            wait_s = self.expected_wait_s(ahead.bytes + size)
            if wait_s > cfg.max_ingest_wait_s:
                ahead_kib = f"{ahead.bytes // 1024:,} KiB"
                return f"{ahead_kib} of reports ahead, about {wait_s:.0f} s to store", "wait"
        return None


def declared_size(headers: Headers, max_body_bytes: int) -> int:
    """The body size a request announces (Content-Length); the body limit when it does not
    say (chunked), which is the most it may send."""
    try:
        return max(0, min(int(headers.get("content-length", "")), max_body_bytes))
    except ValueError:
        return max_body_bytes


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, or 413 when it is (or announces to be) over ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"request body of {declared} bytes is over the {limit}-byte limit")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"request body is over the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


class Slots:
    """Throughput tests running at once, at most ``limit`` (more: 429)."""

    def __init__(self, limit: int) -> None:
        self.limit, self.active = limit, 0

    def take(self) -> None:
        if self.active >= self.limit:
            raise HTTPException(
                429, "too many throughput tests at once; retry later", headers={"Retry-After": "5"}
            )
        self.active += 1

    def give(self) -> None:
        self.active = max(0, self.active - 1)
