"""``GET /metrics``: the process counters and readiness for Prometheus.

``?part=readiness | hosts [&province=NN]`` splits a national scrape (collector/api/prometheus.py).
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from collector.api.deps import Ctx

router = APIRouter(include_in_schema=False)


@router.get("/metrics")
async def metrics(ctx: Ctx, part: str = "all", province: str | None = None) -> Response:
    if part not in ("all", "readiness", "hosts"):
        raise HTTPException(400, "part must be one of: all, readiness, hosts")
    if province is not None and province not in ctx.services.units.provinces:
        raise HTTPException(400, f"unknown province code {province!r}")

    def scrape() -> bytes:
        # Process counters through client_python (with readiness, once per scrape
        # config); readiness and hosts (~10^5 samples nationally) through the
        # collector's own fast renderer.
        own = generate_latest(ctx.registry) if part != "hosts" else b""
        return own + ctx.readiness.render(part, province).encode("utf-8")

    data = await run_in_threadpool(scrape)
    return Response(data, media_type=CONTENT_TYPE_LATEST)
