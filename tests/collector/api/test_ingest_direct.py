"""``POST /api/v1/reports`` is served by agents.ingest_direct, without FastAPI's dependency
injection, and answers exactly as the documented FastAPI route: the same statuses, bodies,
headers and metrics for every kind of request, good or refused, over real HTTP. (The
database unavailable, 503 with Retry-After: tests/reliability/test_faults_database.py, through
this route.)"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.routing import Route

from collector.api import agents
from collector.api.app import create_app
from collector.api.middleware import REPORTS_PATH
from collector.api.openapi import schema_routes
from collector.api.prometheus import NS
from collector.api.server import BackgroundServer
from collector.service import Services
from tests.collector.api.test_ingest_api import CUA_NAM, enroll, report
from tests.conftest import Collector, app_config

#: Small limits, so that every refusal is reached in a few requests.
CONFIG = {"max_body_bytes": 2048, "ingest_rate_per_s": 0.001, "ingest_burst": 5}
#: The answer headers a refusal or an acknowledgement carries.
HEADERS = ("content-type", "www-authenticate", "retry-after")


def documented_only(app: FastAPI) -> FastAPI:
    """``app`` without the direct route: the FastAPI route answers, as before it."""
    app.router.routes[:] = [r for r in app.router.routes if not _is_direct(r)]
    return app


def _is_direct(route: Any) -> bool:
    return isinstance(route, Route) and route.endpoint is agents.ingest_direct


@pytest.fixture
def two(services: Services, clock: Any) -> Iterator[tuple[Collector, Collector]]:
    """The collector as served (direct route) and the same with the FastAPI route only."""
    direct = create_app(services, app_config(**CONFIG))
    documented = documented_only(create_app(services, app_config(**CONFIG)))
    with BackgroundServer(direct) as url_d, BackgroundServer(documented) as url_f:
        yield (
            Collector(services=services, url=url_d, clock=clock, app=direct),
            Collector(services=services, url=url_f, clock=clock, app=documented),
        )


def requests(agent: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every kind of report request, in an order that reaches each refusal: (name, httpx
    arguments)."""
    bearer = {"Authorization": f"Bearer {agent['token']}"}
    good = {"reports": [report(agent, 1)]}
    return [
        ("stored", {"json": good, "headers": bearer}),
        ("duplicate", {"json": good, "headers": bearer}),
        ("no token", {"json": good}),
        ("not bearer", {"json": good, "headers": {"Authorization": "Basic eDp5"}}),
        ("unknown token", {"json": good, "headers": {"Authorization": "Bearer nope"}}),
        ("other commune", {"json": {"reports": [report(agent, 2, CUA_NAM)]}, "headers": bearer}),
        ("malformed", {"content": b'{"reports": [', "headers": bearer}),
        (
            "wrong schema",
            {"json": {"reports": [{**report(agent, 4), "seq": "x"}]}, "headers": bearer},
        ),
        ("too large", {"content": b"x" * 4096, "headers": bearer}),
        ("rate limited", {"json": {"reports": [report(agent, 3)]}, "headers": bearer}),
    ]


def answer(r: httpx.Response, agent: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
    """Status, headers and body, with what differs by agent or by time made alike."""
    body = r.json()
    if isinstance(body, dict) and "server_time" in body:
        body["server_time"] = "T"
    text = re.sub(re.escape(agent["agent_id"]), "AGENT", str(body))
    text = re.sub(r"retry in \d+ s", "retry in N s", text)
    headers = {h: r.headers[h] for h in HEADERS if h in r.headers}
    if "retry-after" in headers:
        headers["retry-after"] = "N" if int(headers["retry-after"]) > 0 else "0"
    return r.status_code, headers, text


def ingest_samples(app: FastAPI) -> dict[str, float]:
    """The app's ingest and rate-limit counters, every series."""
    return {
        f"{s.name}{sorted(s.labels.items())}": s.value
        for metric in app.state.registry.collect()
        if metric.name.startswith((f"{NS}_ingest", f"{NS}_rate_limited"))
        and metric.type == "counter"
        for s in metric.samples
        if s.name.endswith("_total")
    }


def test_direct_route_serves_the_reports(collector: Collector) -> None:
    served = [r for r in collector.app.router.routes if getattr(r, "path", "") == REPORTS_PATH]
    assert _is_direct(served[0]) and served[0].methods == {"POST"}
    # the FastAPI route stays behind it, for the OpenAPI document
    documented = [r for r in schema_routes(collector.app) if r.path_format == REPORTS_PATH]
    assert [sorted(r.methods) for r in documented] == [["POST"]]
    assert "post" in collector.app.openapi()["paths"][REPORTS_PATH]


def test_direct_route_answers_as_the_documented_one(two: tuple[Collector, Collector]) -> None:
    direct, documented = two
    seen: dict[str, list[Any]] = {}
    for c in (direct, documented):
        agent = enroll(c)
        for name, kwargs in requests(agent):
            r = httpx.post(f"{c.url}{REPORTS_PATH}", timeout=10, **kwargs)
            seen.setdefault(name, []).append(answer(r, agent))
        r = httpx.get(f"{c.url}{REPORTS_PATH}", timeout=10)
        seen.setdefault("GET", []).append((r.status_code, r.headers.get("allow"), r.text))
    for name, (mine, theirs) in seen.items():
        assert mine == theirs, name
    expected = {
        "stored": 200,
        "duplicate": 200,
        "no token": 401,
        "not bearer": 401,
        "unknown token": 401,
        "other commune": 403,
        "malformed": 422,
        "wrong schema": 422,
        "too large": 413,
        "rate limited": 429,
        "GET": 405,
    }
    assert {name: answers[0][0] for name, answers in seen.items()} == expected
    stored = seen["stored"][0][2]
    assert "'accepted': 1" in stored and "'acked_seqs': [1]" in stored
    assert "'duplicates': 1" in seen["duplicate"][0][2]
    # the same counters, and the ones the requests should have moved
    counted = ingest_samples(direct.app)
    assert counted == ingest_samples(documented.app)
    assert counted[f"{NS}_ingest_reports_total[('result', 'accepted')]"] == 1
    assert counted[f"{NS}_ingest_reports_total[('result', 'duplicate')]"] == 1
    assert counted[f"{NS}_ingest_rejected_requests_total[('reason', 'token')]"] == 1
    assert counted[f"{NS}_ingest_rejected_requests_total[('reason', 'forbidden')]"] == 1
    assert counted[f"{NS}_rate_limited_requests_total[('endpoint', 'reports')]"] == 1
