"""The agents' API: server time, enrollment, and the reports they push.

Errors are JSON ``{"detail": "..."}`` with a status that says whose fault it is: 4xx for
the caller (and nothing is stored), 503 with ``Retry-After`` when the database is
unavailable or the collector is busy (collector/api/middleware.py): the agent keeps the
report and retries.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from checks.model import (
    EnrollRequest,
    EnrollResponse,
    IngestResponse,
    LevelsResponse,
    ReportBatch,
    TimeResponse,
    error_message,
    utcnow,
)
from collector.api.deps import ApiContext, Ctx, bearer_token
from collector.api.middleware import read_body
from collector.api.openapi import PUBLIC, guard, json_body
from collector.api.ratelimit import client_key, retry_after
from collector.domain.errors import DomainError, EnrollmentError, TokenRefusedError
from collector.domain.wire import AnyReport, decode_batch
from collector.service.identities import AgentIdentity

router = APIRouter(prefix="/api/v1", tags=["agents"])
#: An enrollment request is a code and a host name: anything larger is refused unread.
MAX_ENROLL_BYTES = 16 * 1024


@router.get("/time", response_model=TimeResponse, openapi_extra=PUBLIC)
async def time_now() -> TimeResponse:
    """Server time, for the agent's clock-offset check."""
    return TimeResponse(server_time=utcnow())


@guard(answers=[429])
async def _enrolling_client(request: Request, ctx: Ctx) -> str:
    """The client's rate-limit key; 429 when it has failed to enroll too often."""
    key = client_key(request.client.host if request.client else None)
    wait = ctx.auth_failures.wait_s(key)
    if wait > 0:
        ctx.metrics.rate_limited.labels(endpoint="enroll").inc()
        raise _too_many(
            wait, f"too many failed attempts from {key}: retry in {retry_after(wait)} s"
        )
    return key


@router.post(
    "/enroll",
    response_model=EnrollResponse,
    status_code=201,
    responses={
        403: {"description": "code unknown, used or expired"},
        429: {"description": "too many failed attempts from this address; see Retry-After"},
    },
    openapi_extra=json_body(EnrollRequest) | PUBLIC,  # the code in the body is the credential
)
async def enroll(
    request: Request, ctx: Ctx, client: Annotated[str, Depends(_enrolling_client)]
) -> EnrollResponse:
    """Exchange a single-use enrollment code for the agent's own token."""
    body = await read_body(request, MAX_ENROLL_BYTES)
    try:
        req = EnrollRequest.model_validate_json(body)
    except ValidationError as exc:
        raise HTTPException(422, _validation_detail(exc)) from None
    enroll = functools.partial(
        ctx.services.identities.enroll, req.code, req.host, req.agent_version, client=client
    )
    try:
        return await run_in_threadpool(enroll)
    except EnrollmentError:
        ctx.auth_failures.spend(client)
        raise


@router.post(
    "/reports",
    response_model=IngestResponse,
    responses={
        401: {"description": "missing or unknown token"},
        403: {"description": "report for another agent or commune"},
        413: {"description": "body over the size limit"},
        422: {"description": "malformed JSON, wrong schema or unknown commune code"},
        429: {"description": "this agent sends too fast; retry after Retry-After seconds"},
        503: {
            "description": "database unavailable, or the collector is busy (load "
            "shedding); retry after Retry-After seconds"
        },
    },
    openapi_extra=json_body(ReportBatch),
)
async def ingest(
    request: Request, ctx: Ctx, token: Annotated[str, Depends(bearer_token)]
) -> IngestResponse:
    """Store a batch of reports. Answers 2xx only once the batch is committed; a report
    whose (agent_id, seq) is already stored is acknowledged again and not duplicated."""
    return await store_reports(request, ctx, token)


async def ingest_direct(request: Request) -> Response:
    """``POST /api/v1/reports`` as served: the route above without FastAPI's dependency
    injection and response model (less CPU a report: docs/BENCHMARKS.md). The same
    steps and answers: the bearer token (401), then :func:`store_reports`; refusals are
    HTTPException and domain errors, answered by the app's exception handlers as on any
    route. The route above stays for the OpenAPI document (create_app mounts this one
    first, so it serves the requests)."""
    ctx: ApiContext = request.app.state.api
    resp = await store_reports(request, ctx, await bearer_token(request))
    return Response(resp.model_dump_json(), media_type="application/json")


async def store_reports(request: Request, ctx: ApiContext, token: str) -> IngestResponse:
    """Read, authenticate, rate-limit, decode and commit one request's batch of reports."""
    body = await read_body(request, ctx.config.max_body_bytes)
    agent = ctx.services.identities.cached_identity(token) or await run_in_threadpool(
        ctx.services.identities.authenticate, token
    )
    if agent is None:
        ctx.metrics.rejected.labels(reason="token").inc()
        raise _unknown_token()
    _take_turn(ctx, agent)
    # msgspec decodes what it takes; pydantic judges the rest (accepts it, or refuses it
    # with its message): collector/domain/wire.py.
    reports: Sequence[AnyReport] | None = decode_batch(body)
    if reports is None:
        try:
            reports = ReportBatch.model_validate_json(body).reports
        except ValidationError as exc:
            ctx.metrics.rejected.labels(reason="schema").inc()
            raise HTTPException(422, _validation_detail(exc)) from None
    with ctx.metrics.duration.time():
        try:
            resp = await ctx.committer.submit_async(agent, reports, len(body))
        except TokenRefusedError:
            ctx.metrics.rejected.labels(reason="token").inc()
            raise _unknown_token() from None
        except DomainError:
            ctx.metrics.rejected.labels(reason="forbidden").inc()
            raise
    ctx.metrics.count_reports(resp.accepted, resp.duplicates)
    return resp


@router.get(
    "/levels",
    response_model=LevelsResponse,
    responses={401: {"description": "missing or unknown token"}},
)
async def levels(ctx: Ctx, token: Annotated[str, Depends(bearer_token)]) -> LevelsResponse:
    """The levels the catalogue judges reported values with (an agent's copy judges its
    local display); ``version`` is the one each ingest answer names."""
    agent = ctx.services.identities.cached_identity(token) or await run_in_threadpool(
        ctx.services.identities.authenticate, token
    )
    if agent is None:
        raise _unknown_token()
    return LevelsResponse.model_validate(ctx.services.core.rules.current().levels_body())


def _take_turn(ctx: ApiContext, agent: AgentIdentity) -> None:
    """429 when ``agent`` sends faster than its rate limit allows."""
    wait = ctx.per_agent.take(agent.agent_id)
    if wait > 0:
        cfg = ctx.config
        ctx.metrics.rate_limited.labels(endpoint="reports").inc()
        raise _too_many(
            wait,
            f"agent {agent.agent_id} sends faster than {cfg.ingest_rate_per_s:g} "
            f"request(s)/s after a burst of {cfg.ingest_burst}: keep the reports "
            f"and retry in {retry_after(wait)} s",
        )


def _unknown_token() -> HTTPException:
    return HTTPException(401, "unknown or revoked token", headers={"WWW-Authenticate": "Bearer"})


def _too_many(wait_s: float, detail: str) -> HTTPException:
    return HTTPException(429, detail, headers={"Retry-After": retry_after(wait_s)})


def _validation_detail(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err["loc"]) or "body"
        parts.append(f"{loc}: {error_message(err)}")
    more = len(exc.errors()) - 5
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")
