"""The collector's HTTP API (FastAPI).

Agents enroll and push reports; the operations centre scrapes ``/metrics``; officials and
tools read the summary. Errors are JSON ``{"detail": "..."}`` with a status that says whose
fault it is: 4xx for the caller (and nothing is stored), 503 with ``Retry-After`` when the
database is unavailable (the agent keeps the report and retries).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool

from checks.model import (
    EnrollRequest,
    EnrollResponse,
    IngestResponse,
    ReportBatch,
    TimeResponse,
    error_message,
    utcnow,
)
from collector.api.errors import status_of
from collector.api.middleware import InFlight, LoadShedding, read_body
from collector.api.openapi import add_body_schemas, json_body
from collector.api.prometheus import (
    DEFAULT_HOST_VALUES,
    CatalogueMetrics,
    IngestMetrics,
    ReadinessCollector,
)
from collector.api.ratelimit import TokenBucket, client_key, retry_after
from collector.api.web.session import visitor
from collector.auth import Accounts, Role
from collector.config import CollectorConfig, parse_listen
from collector.domain.errors import DomainError, EnrollmentError, TokenRefusedError
from collector.ingest import GroupCommitter
from collector.store import Store
from collector.units import UnknownUnitError

log = logging.getLogger("collector")

def _validation_detail(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err["loc"]) or "body"
        parts.append(f"{loc}: {error_message(err)}")
    more = len(exc.errors()) - 5
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(
            401,
            "missing bearer token: send 'Authorization: Bearer <token>' as issued at enrollment",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return token.strip()


def _too_many(wait_s: float, detail: str) -> HTTPException:
    return HTTPException(429, detail, headers={"Retry-After": retry_after(wait_s)})


def create_app(store: Store, config: CollectorConfig) -> FastAPI:
    host_values = DEFAULT_HOST_VALUES | frozenset(config.metrics_host_values)
    # the UDP reflector listens on the --listen host (a wrong one is refused here, at once)
    reflector_host = parse_listen(config.listen)[0] if config.reflector_port else ""
    registry = CollectorRegistry(auto_describe=True)
    ingest_metrics = IngestMetrics(registry)
    catalogue_metrics = CatalogueMetrics(registry)
    per_agent = TokenBucket(config.ingest_rate_per_s, config.ingest_burst)
    auth_failures = TokenBucket(config.auth_failures_per_min / 60, config.auth_failures_burst)

    def refuse_failing_client(request: Request, endpoint: str) -> str:
        """The client's rate-limit key; 429 when it has failed to authenticate too often."""
        key = client_key(request.client.host if request.client else None)
        wait = auth_failures.wait_s(key)
        if wait > 0:
            ingest_metrics.rate_limited.labels(endpoint=endpoint).inc()
            raise _too_many(
                wait,
                f"too many failed attempts from {key}: retry in {retry_after(wait)} s",
            )
        return key
    readiness = ReadinessCollector(store, host_values)
    committer = GroupCommitter(store)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        task = None
        if config.reevaluate_every_s > 0:
            task = asyncio.create_task(_reevaluate_loop(store, config.reevaluate_every_s))
        reflector = None
        if config.reflector_port:
            from collector.reflector import start_reflector

            try:
                reflector, _ = await start_reflector(
                    reflector_host, config.reflector_port, reuse_port=config.reuse_port
                )
            except OSError as exc:  # ingest matters more: serve on, say why vc.quality fails
                log.error("UDP reflector not started on %s:%s: %s", reflector_host,
                          config.reflector_port, exc.strerror or exc)
        try:
            # Every agent's token known before the first report (after a restart under load,
            # each agent's first report would otherwise read the database first).
            known = await asyncio.to_thread(store.load_identities)
            log.info("%d agent tokens loaded", known)
        except OperationalError as exc:  # the database is down: reports wait, then read it
            log.warning("agent tokens not loaded: %s", exc.orig)
        try:
            yield
        finally:
            await asyncio.to_thread(committer.stop)
            if reflector is not None:
                reflector.close()
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app = FastAPI(
        title="commune-ioc collector",
        version="0.1.0",
        description="Ingest of agent reports, commune readiness and metrics.",
        lifespan=lifespan,
    )
    app.state.store = store
    app.state.committer = committer
    app.state.registry = registry
    app.state.catalogue_metrics = catalogue_metrics  # updated by `serve`'s reloader
    add_body_schemas(app, EnrollRequest, ReportBatch)  # bodies read raw: see collector/openapi.py

    @app.exception_handler(OperationalError)
    async def _db_unavailable(_request: Request, exc: OperationalError) -> JSONResponse:
        log.warning("database unavailable: %s", exc.orig)
        return JSONResponse(
            {"detail": "database unavailable, retry later"},
            status_code=503,
            headers={"Retry-After": str(config.retry_after_s)},
        )

    @app.exception_handler(DomainError)
    async def _domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, status_code=status_of(exc))

    @app.exception_handler(UnknownUnitError)
    async def _unknown_unit(_request: Request, exc: UnknownUnitError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.get("/api/v1/time", response_model=TimeResponse, tags=["agents"])
    async def time_now() -> TimeResponse:
        """Server time, for the agent's clock-offset check."""
        return TimeResponse(server_time=utcnow())

    @app.post(
        "/api/v1/enroll",
        response_model=EnrollResponse,
        status_code=201,
        tags=["agents"],
        responses={
            403: {"description": "code unknown, used or expired"},
            429: {"description": "too many failed attempts from this address; see Retry-After"},
        },
        openapi_extra=json_body(EnrollRequest),
    )
    async def enroll(request: Request) -> EnrollResponse:
        """Exchange a single-use enrollment code for the agent's own token."""
        key = refuse_failing_client(request, "enroll")
        body = await read_body(request, 16 * 1024)
        try:
            req = EnrollRequest.model_validate_json(body)
        except ValidationError as exc:
            raise HTTPException(422, _validation_detail(exc)) from None
        try:
            return await run_in_threadpool(
                functools.partial(
                    store.enroll, req.code, req.host, req.agent_version, client=key
                )
            )
        except EnrollmentError:
            auth_failures.spend(key)
            raise

    @app.post(
        "/api/v1/reports",
        response_model=IngestResponse,
        tags=["agents"],
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
    async def ingest(request: Request) -> IngestResponse:
        """Store a batch of reports. Answers 2xx only once the batch is committed; a report
        whose (agent_id, seq) is already stored is acknowledged again and not duplicated."""
        return await _ingest(request)

    inflight = InFlight()
    app.add_middleware(
        LoadShedding,
        config=config,
        inflight=inflight,
        expected_wait_s=committer.expected_wait_s,
        on_shed=ingest_metrics.shed_one,
    )
    ingest_metrics.backlog.set_function(lambda: committer.expected_wait_s(inflight.bytes))

    async def _ingest(request: Request) -> IngestResponse:
        token = _bearer(request)
        body = await read_body(request, config.max_body_bytes)
        agent = store.cached_identity(token) or await run_in_threadpool(
            store.authenticate, token
        )
        if agent is None:
            ingest_metrics.rejected.labels(reason="token").inc()
            raise HTTPException(
                401, "unknown or revoked token", headers={"WWW-Authenticate": "Bearer"}
            )
        wait = per_agent.take(agent.agent_id)
        if wait > 0:
            ingest_metrics.rate_limited.labels(endpoint="reports").inc()
            raise _too_many(
                wait,
                f"agent {agent.agent_id} sends faster than {config.ingest_rate_per_s:g} "
                f"request(s)/s after a burst of {config.ingest_burst}: keep the reports "
                f"and retry in {retry_after(wait)} s",
            )
        try:
            batch = ReportBatch.model_validate_json(body)
        except ValidationError as exc:
            ingest_metrics.rejected.labels(reason="schema").inc()
            raise HTTPException(422, _validation_detail(exc)) from None
        with ingest_metrics.duration.time():
            try:
                resp = await asyncio.wrap_future(
                    committer.submit(agent, batch.reports, len(body))
                )
            except TokenRefusedError:
                ingest_metrics.rejected.labels(reason="token").inc()
                raise HTTPException(
                    401, "unknown or revoked token", headers={"WWW-Authenticate": "Bearer"}
                ) from None
            except DomainError:
                ingest_metrics.rejected.labels(reason="forbidden").inc()
                raise
        ingest_metrics.reports.labels(result="accepted").inc(resp.accepted)
        ingest_metrics.reports.labels(result="duplicate").inc(resp.duplicates)
        return resp

    accounts = Accounts(store.engine, clock=store.clock)

    async def reader(request: Request) -> None:
        """Readiness data is for people who log in (viewer and up): an agent's token, or
        no session at all, reads nothing."""
        seen = await run_in_threadpool(visitor, request, accounts, Role.VIEWER)
        if isinstance(seen, Response):
            if seen.status_code in (401, 403):
                raise HTTPException(seen.status_code, json.loads(bytes(seen.body))["detail"])
            raise HTTPException(
                401,
                "log in first (POST /login, or open the collector's pages): the readiness "
                "API needs a user session with the viewer role",
                headers={"WWW-Authenticate": 'Cookie realm="ioc"'},
            )

    @app.get("/api/v1/summary", tags=["readiness"], dependencies=[Depends(reader)])
    async def summary() -> dict[str, Any]:
        """National summary: colour counts overall and by province (KH02 green coverage)."""
        return await run_in_threadpool(store.summary)

    @app.get("/api/v1/communes/{code}", tags=["readiness"], dependencies=[Depends(reader)])
    async def commune(code: str) -> dict[str, Any]:
        """One commune: colour, each criterion with status, reason, evidence and since when."""
        state = await run_in_threadpool(store.commune_state, code)
        info = store.units.commune(code)
        return {
            "code": code,
            "name": info.name,
            "kind": info.kind,
            "province_code": info.province_code,
            "province": store.units.provinces[info.province_code].name,
            "colour": state.colour.value,
            "last_report_at": state.last_report_at.isoformat() if state.last_report_at else None,
            "criteria": state.criteria,
        }

    @app.get("/metrics", include_in_schema=False)
    async def metrics(part: str = "all", province: str | None = None) -> Response:
        # ?part=readiness | hosts [&province=NN]: the national split (collector/metrics.py).
        if part not in ("all", "readiness", "hosts"):
            raise HTTPException(400, "part must be one of: all, readiness, hosts")
        if province is not None and province not in store.units.provinces:
            raise HTTPException(400, f"unknown province code {province!r}")

        def scrape() -> bytes:
            # Process counters through client_python (with readiness, once per scrape
            # config); readiness and hosts (~10^5 samples nationally) through the
            # collector's own fast renderer.
            own = generate_latest(registry) if part != "hosts" else b""
            return own + readiness.render(part, province).encode("utf-8")

        data = await run_in_threadpool(scrape)
        return Response(data, media_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    # Officials' pages and report downloads (login required; see collector/web/).
    from collector.api.web import make_router

    app.include_router(
        make_router(store, login_limit=auth_failures, on_limited=ingest_metrics.rate_limited)
    )
    # Throughput probe endpoints for the agents' net.throughput check.
    from collector.api.probes import make_probe_router

    app.include_router(make_probe_router(store))
    return app


async def _reevaluate_loop(store: Store, every_s: float) -> None:
    while True:
        await asyncio.sleep(every_s)
        try:
            # Colours and statuses (what /metrics, alerts and the summary show); a commune's
            # reasons and evidence are evaluated when first asked for (Store.commune_state).
            await run_in_threadpool(store.reevaluate)
            # Green coverage over time, kept in the database (at most every 15 min).
            from collector.reports.history import snapshot

            await run_in_threadpool(snapshot, store)
        except Exception:  # keep the loop alive: the next pass may succeed
            log.exception("periodic re-evaluation failed")
