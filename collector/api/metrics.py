"""``GET /metrics``: the process counters and readiness for Prometheus.

``?part=readiness | hosts [&province=NN]`` splits a national scrape (collector/api/prometheus.py).

It names every commune's colour, hosts and agents: a scraper sends
``Authorization: Bearer <token>`` with a token of the configuration (``metrics_token_file``,
``metrics_token_hashes``; Prometheus: ``authorization: credentials_file``), unless
``metrics_open: true``. Without a configured token, and not open, every scrape is refused
with what to configure.
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from collector.api.deps import Ctx
from collector.api.openapi import METRICS_TOKEN, guard
from collector.service.identities import hash_secret

router = APIRouter(tags=["metrics"])


def _refused(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": 'Bearer realm="metrics"'})


@guard(METRICS_TOKEN, answers=[401])
async def scraper(request: Request, ctx: Ctx) -> None:
    """Let in a scraper with a configured token (or anyone when ``metrics_open``)."""
    if ctx.config.metrics_open:
        return
    if not ctx.metrics_token_hashes:
        raise _refused(
            "/metrics needs a scrape token, and none is configured: set metrics_token_file "
            "(or metrics_token_hashes) in the collector configuration, or metrics_open: true"
        )
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _refused("/metrics needs 'Authorization: Bearer <scrape token>'")
    got = hash_secret(token.strip())
    if not any(hmac.compare_digest(got, h) for h in ctx.metrics_token_hashes):
        raise _refused("/metrics: this scrape token is not one of the configured ones")


@router.get(
    "/metrics",
    dependencies=[Depends(scraper)],
    response_class=PlainTextResponse,
    responses={
        200: {"description": "Prometheus text exposition format"},
        400: {"description": "part or province not one of their values"},
    },
)
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
