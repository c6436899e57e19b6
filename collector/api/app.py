"""The collector's HTTP app (FastAPI): wiring only.

Agents enroll and push reports (agents.py); the operations centre scrapes ``/metrics``
(metrics.py); officials read the pages (web/) and the readiness JSON (readiness.py). The
handlers' shared objects are one ApiContext (deps.py); refusals are answered by handlers.py;
report requests beyond the configured load are shed by middleware.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool

from checks.model import EnrollRequest, ReportBatch
from collector.api import agents, health, metrics, openapi, probes, readiness
from collector.api.deps import ApiContext
from collector.api.handlers import add_exception_handlers
from collector.api.middleware import REPORTS_PATH, Hsts, InFlight, LoadShedding, Slots
from collector.api.prometheus import (
    DEFAULT_HOST_VALUES,
    CatalogueMetrics,
    IngestMetrics,
    ReadinessCollector,
)
from collector.api.ratelimit import KnownLogins, TokenBucket
from collector.api.web import admin, downloads, forms, login, pages
from collector.config import CollectorConfig, parse_listen
from collector.service import Services
from collector.service.accounts import SESSION_TTL
from collector.service.committer import GroupCommitter

log = logging.getLogger("collector")


def create_app(services: Services, config: CollectorConfig) -> FastAPI:
    if config.reflector_port:
        parse_listen(config.listen)  # the reflector's host: a wrong one is refused now
    registry = CollectorRegistry(auto_describe=True)
    if config.ldap is not None:  # officials may log in with their directory account
        from collector.service.directory import Directory

        services.accounts.external = Directory(config.ldap)
    ctx = _context(services, config, registry)
    app = FastAPI(
        title="commune-ioc collector",
        version="0.1.0",
        description="Ingest of agent reports, commune readiness and metrics.",
        lifespan=lifespan,
        # The API documentation lists every route: only when the configuration asks.
        openapi_url="/openapi.json" if config.api_docs else None,
        docs_url="/docs" if config.api_docs else None,
        redoc_url="/redoc" if config.api_docs else None,
    )
    app.state.api = ctx
    app.state.services = services
    app.state.committer = ctx.committer
    app.state.registry = registry
    app.state.catalogue_metrics = CatalogueMetrics(registry)  # updated by `serve`'s reloader

    inflight = app.state.inflight = InFlight()
    app.add_middleware(
        LoadShedding,
        config=config,
        inflight=inflight,
        expected_wait_s=ctx.committer.expected_wait_s,
        on_shed=ctx.metrics.shed_one,
    )
    app.add_middleware(Hsts)
    ctx.metrics.backlog.set_function(lambda: ctx.committer.expected_wait_s(inflight.bytes))
    add_exception_handlers(app, config.retry_after_s)

    # Agents' reports, the busiest route, served without FastAPI's dependency injection
    # (agents.ingest_direct); mounted first, it answers POST before the documented route.
    app.add_route(REPORTS_PATH, agents.ingest_direct, methods=["POST"], include_in_schema=False)
    for module in (agents, readiness, metrics, health, probes):
        app.include_router(module.router)
    # Officials' pages and report downloads (login required; see collector/api/web/).
    for page_module in (login, pages, downloads, forms, admin):
        app.include_router(page_module.router)
    # The spec tells the truth: security and every answer (see openapi.py).
    openapi.install(app, EnrollRequest, ReportBatch)
    return app


def _context(
    services: Services, config: CollectorConfig, registry: CollectorRegistry
) -> ApiContext:
    host_values = DEFAULT_HOST_VALUES | frozenset(config.metrics_host_values)
    return ApiContext(
        services=services,
        config=config,
        accounts=services.accounts,
        committer=GroupCommitter(services),
        registry=registry,
        metrics=IngestMetrics(registry),
        readiness=ReadinessCollector(services, host_values),
        per_agent=TokenBucket(config.ingest_rate_per_s, config.ingest_burst),
        auth_failures=TokenBucket(config.auth_failures_per_min / 60, config.auth_failures_burst),
        account_failures=TokenBucket(
            config.auth_failures_per_account_per_min / 60, config.auth_failures_per_account_burst
        ),
        known_logins=KnownLogins(2 * SESSION_TTL.total_seconds()),
        probe_slots=Slots(probes.MAX_CONCURRENT),
        metrics_token_hashes=config.metrics_scrape_hashes(),
    )


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start: the periodic re-evaluation, the UDP reflector, every agent's token known.
    Stop: the writer drained, the rest closed."""
    ctx: ApiContext = app.state.api
    config, services = ctx.config, ctx.services
    task = None
    if config.reevaluate_every_s > 0:
        task = asyncio.create_task(_reevaluate_loop(services, config.reevaluate_every_s))
    reflector = await _start_reflector(config, services) if config.reflector_port else None
    try:
        # Every agent's token known before the first report (after a restart under load,
        # each agent's first report would otherwise read the database first).
        known = await asyncio.to_thread(services.identities.load_identities)
        log.info("%d agent tokens loaded", known)
    except OperationalError as exc:  # the database is down: reports wait, then read it
        log.warning("agent tokens not loaded: %s", exc.orig)
    try:
        yield
    finally:
        await asyncio.to_thread(ctx.committer.stop)
        if reflector is not None:
            reflector.close()
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _start_reflector(
    config: CollectorConfig, services: Services
) -> asyncio.DatagramTransport | None:
    """The UDP reflector of the agents' vc.quality probe, on the --listen host."""
    from collector.api.reflector import start_reflector

    host = parse_listen(config.listen)[0]
    try:
        reflector, _ = await start_reflector(
            host, config.reflector_port, reuse_port=config.reuse_port
        )
        return reflector
    except OSError as exc:  # ingest matters more: serve on, say what is lost and what to do
        criteria = sorted(
            c.id
            for c in services.rules.current().catalogue.criteria
            if QUALITY_CHECK in c.check_ids()
        )
        log.error(
            "%s", reflector_lost(host, config.reflector_port, str(exc.strerror or exc), criteria)
        )
        return None


#: The agents' check that needs the reflector.
QUALITY_CHECK = "vc.quality"


def reflector_lost(host: str, port: int, reason: str, criteria: list[str]) -> str:
    """What a reflector that cannot bind costs, and what to do: Vietnamese, then English."""
    ids = ", ".join(criteria) or "-"
    return (
        f"Không mở được bộ phản xạ UDP cho phép đo {QUALITY_CHECK} trên {host}:{port} "
        f"({reason}). Mất: các agent không đo được độ trễ, độ rung và tỷ lệ mất gói của "
        f'đường truyền hội nghị truyền hình, nên tiêu chí {ids} sẽ là "không rõ" (xã chỉ '
        "được vàng). Cách khắc phục: chọn cổng khác bằng --reflector-port CỔNG (hoặc "
        "reflector_port trong tệp cấu hình; 0 là tắt). Báo cáo của agent vẫn được nhận. / "
        f"UDP reflector for {QUALITY_CHECK} not started on {host}:{port} ({reason}). Lost: "
        "agents cannot measure round-trip time, jitter and loss of the videoconference "
        f"path, so criterion {ids} is unknown (communes at best yellow). To fix: choose "
        "another port with --reflector-port PORT (or reflector_port in the configuration "
        "file; 0 turns it off). Agents' reports are still received."
    )


async def _reevaluate_loop(services: Services, every_s: float) -> None:
    while True:
        await asyncio.sleep(every_s)
        try:
            # Colours and statuses (what /metrics, alerts and the summary show); a commune's
            # reasons and evidence are evaluated when first asked for (settled_state).
            await run_in_threadpool(services.evaluation.reevaluate)
            # Green coverage over time, kept in the database (at most every 15 min).
            await run_in_threadpool(services.history.snapshot)
            # Days that ended rolled up, then retention: a few short batches a pass.
            await run_in_threadpool(services.rollups.periodic)
        except OperationalError as exc:  # an outage is expected now and then: one line
            log.warning(
                "periodic re-evaluation skipped, database unavailable: %s",
                str(exc.orig).strip().splitlines()[0] if exc.orig else exc,
            )
        except Exception:  # keep the loop alive: the next pass may succeed
            log.exception("periodic re-evaluation failed")
