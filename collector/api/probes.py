"""Throughput probe endpoints for the agents' ``net.throughput`` check (NET-02).

* ``GET /api/v1/probe/download?bytes=N`` streams N incompressible bytes;
* ``POST /api/v1/probe/upload`` reads and discards the body, answers its size and duration.

Both need an enrolled agent's bearer token (the same one it reports with): a throughput test
costs the province's link real bandwidth, so anonymous callers get 401. They are bounded:
N and the body at most ``max_bytes`` (64 MiB; more -> 422 for a download, 413 for an upload),
each transfer stops after ``max_seconds`` (30 s), and at most ``max_concurrent`` (4) run at
once per collector process (more -> 429 with Retry-After), so a fleet of agents testing at
the same minute queues instead of flattening the link.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from collector.store import Store

MAX_PROBE_BYTES = 64 * 1024 * 1024
MAX_PROBE_SECONDS = 30.0
MAX_CONCURRENT = 4
CHUNK = 64 * 1024
# One random chunk, repeated: larger than deflate's 32 KiB window, so it does not compress.
_PAYLOAD = os.urandom(CHUNK)


class _Slots:
    def __init__(self, limit: int) -> None:
        self.limit, self.active = limit, 0

    def take(self) -> None:
        if self.active >= self.limit:
            raise HTTPException(429, "too many throughput tests at once; retry later",
                                headers={"Retry-After": "5"})
        self.active += 1

    def give(self) -> None:
        self.active = max(0, self.active - 1)


def make_probe_router(store: Store, max_bytes: int = MAX_PROBE_BYTES,
                      max_seconds: float = MAX_PROBE_SECONDS,
                      max_concurrent: int = MAX_CONCURRENT) -> APIRouter:
    router = APIRouter(prefix="/api/v1/probe", tags=["probes"])
    slots = _Slots(max_concurrent)

    async def authenticate(request: Request) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise HTTPException(401, "missing bearer token: throughput tests are for enrolled "
                                "agents", headers={"WWW-Authenticate": "Bearer"})
        if await run_in_threadpool(store.authenticate, token.strip()) is None:
            raise HTTPException(401, "unknown or revoked token",
                                headers={"WWW-Authenticate": "Bearer"})

    @router.get("/download", responses={401: {}, 422: {}, 429: {}})
    async def download(request: Request,
                       size: int = Query(alias="bytes", ge=1)) -> StreamingResponse:
        """Stream ``bytes`` bytes (at most the limit, for at most the time limit)."""
        if size > max_bytes:
            raise HTTPException(422, f"bytes={size} is over the {max_bytes}-byte limit")
        await authenticate(request)
        slots.take()

        async def body() -> AsyncIterator[bytes]:
            try:
                left, start = size, time.monotonic()
                while left > 0 and time.monotonic() - start < max_seconds:
                    chunk = _PAYLOAD if left >= CHUNK else _PAYLOAD[:left]
                    left -= len(chunk)
                    yield chunk
            finally:
                slots.give()

        return StreamingResponse(
            body(), media_type="application/octet-stream",
            headers={"Cache-Control": "no-store"},  # chunked: the time limit may cut it short
        )

    @router.post("/upload", responses={401: {}, 408: {}, 413: {}, 429: {}})
    async def upload(request: Request) -> dict[str, Any]:
        """Read and discard the body; answer how many bytes arrived and in how long."""
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            raise HTTPException(413, f"body of {declared} bytes is over the {max_bytes}-byte "
                                "limit")
        await authenticate(request)
        slots.take()
        try:
            received, start = 0, time.monotonic()
            async for chunk in request.stream():
                received += len(chunk)
                if received > max_bytes:
                    raise HTTPException(413, f"body is over the {max_bytes}-byte limit")
                if time.monotonic() - start > max_seconds:
                    raise HTTPException(408, f"upload took longer than {max_seconds:g} s")
            return {"bytes": received, "seconds": time.monotonic() - start}
        finally:
            slots.give()

    return router
