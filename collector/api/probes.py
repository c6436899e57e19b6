"""Throughput probe endpoints for the agents' ``net.throughput`` check (NET-02).

* ``GET /api/v1/probe/download?bytes=N`` streams N incompressible bytes;
* ``POST /api/v1/probe/upload`` reads and discards the body, answers its size and duration.

Both need an enrolled agent's bearer token (the same one it reports with): a throughput test
costs the province's link real bandwidth, so anonymous callers get 401. They are bounded:
N and the body at most ``MAX_PROBE_BYTES`` (64 MiB; more -> 422 for a download, 413 for an
upload), each transfer stops after ``MAX_PROBE_SECONDS`` (30 s), and at most
``MAX_CONCURRENT`` (4) run at once per collector process (more -> 429 with Retry-After), so
a fleet of agents testing at the same minute queues instead of flattening the link.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from collector.api.deps import ApiContext, Ctx
from collector.api.openapi import AGENT_TOKEN, secured

MAX_PROBE_BYTES = 64 * 1024 * 1024
MAX_PROBE_SECONDS = 30.0
MAX_CONCURRENT = 4
CHUNK = 64 * 1024
# One random chunk, repeated: larger than deflate's 32 KiB window, so it does not compress.
_PAYLOAD = os.urandom(CHUNK)


router = APIRouter(prefix="/api/v1/probe", tags=["probes"])


async def authenticate(request: Request, ctx: ApiContext) -> None:
    """An enrolled agent's bearer token, or 401."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(
            401,
            "missing bearer token: throughput tests are for enrolled agents",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if await run_in_threadpool(ctx.services.identities.authenticate, token.strip()) is None:
        raise HTTPException(401, "unknown or revoked token", headers={"WWW-Authenticate": "Bearer"})


@router.get(
    "/download",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "the bytes asked for (fewer if the time limit cut the stream)",
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        },
        422: {"description": f"bytes over the limit ({MAX_PROBE_BYTES})"},
        429: {},
    },
    openapi_extra=secured(AGENT_TOKEN),  # checked in the handler, after the size
)
async def download(
    request: Request, ctx: Ctx, size: int = Query(alias="bytes", ge=1)
) -> StreamingResponse:
    """Stream ``bytes`` bytes (at most the limit, for at most the time limit)."""
    if size > MAX_PROBE_BYTES:
        raise HTTPException(422, f"bytes={size} is over the {MAX_PROBE_BYTES}-byte limit")
    await authenticate(request, ctx)
    slots = ctx.probe_slots
    slots.take()

    async def body() -> AsyncIterator[bytes]:
        try:
            left, start = size, time.monotonic()
            while left > 0 and time.monotonic() - start < MAX_PROBE_SECONDS:
                chunk = _PAYLOAD if left >= CHUNK else _PAYLOAD[:left]
                left -= len(chunk)
                yield chunk
        finally:
            slots.give()

    return StreamingResponse(
        body(),
        media_type="application/octet-stream",
        headers={"Cache-Control": "no-store"},  # chunked: the time limit may cut it short
    )


@router.post(
    "/upload",
    responses={408: {}, 413: {}, 429: {}},
    openapi_extra=secured(AGENT_TOKEN),  # checked in the handler, after the size
)
async def upload(request: Request, ctx: Ctx) -> dict[str, Any]:
    """Read and discard the body; answer how many bytes arrived and in how long."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_PROBE_BYTES:
        raise HTTPException(
            413, f"body of {declared} bytes is over the {MAX_PROBE_BYTES}-byte limit"
        )
    await authenticate(request, ctx)
    ctx.probe_slots.take()
    try:
        received, start = 0, time.monotonic()
        async for chunk in request.stream():
            received += len(chunk)
            if received > MAX_PROBE_BYTES:
                raise HTTPException(413, f"body is over the {MAX_PROBE_BYTES}-byte limit")
            if time.monotonic() - start > MAX_PROBE_SECONDS:
                raise HTTPException(408, f"upload took longer than {MAX_PROBE_SECONDS:g} s")
        return {"bytes": received, "seconds": time.monotonic() - start}
    finally:
        ctx.probe_slots.give()
