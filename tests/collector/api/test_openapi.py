"""The OpenAPI document declares, for every operation, who may call it (or that anyone may)
and every status its handlers can answer, with the body and headers they really send.

``spec_problems`` derives what each route can answer on its own, not from
collector/api/openapi.py: it reads the source of the route's handler and of its dependencies
(and of the functions of the collector they call) for ``HTTPException(status)`` and raised
domain errors (their status as collector/api/errors.py maps them), and adds 401 for a
secured operation, 422 for parameters FastAPI validates and 503 for a route that reaches the
database. A new route that forgets its security, or a status, fails here; tests/fuzz/
test_api_schemathesis.py then holds the spec to the running collector.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import APIRouter, Depends, FastAPI, HTTPException
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_flat_params
from fastapi.testclient import TestClient

from collector.api import deps
from collector.api.app import create_app
from collector.api.deps import Ctx, require
from collector.api.errors import status_for
from collector.api.openapi import PUBLIC, schema_routes
from collector.domain.errors import DomainError, UnavailableError
from collector.domain.units import UnknownUnitError
from collector.service import Services
from collector.service.accounts import Role
from tests.conftest import app_config

ERROR_REF = "#/components/schemas/Error"


def operations(app: FastAPI) -> Iterator[tuple[str, Any, str]]:
    """Every operation of the spec with its route (an ``APIRoute`` as included)."""
    for route in schema_routes(app):
        for method in sorted(route.methods):
            yield f"{method} {route.path_format}", route, method


def calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from calls(sub)


def raised_statuses(fn: Callable[..., Any], seen: set[Any] | None = None) -> set[int]:
    """Statuses ``fn`` (and the collector's functions it calls by name) can raise."""
    seen = set() if seen is None else seen
    if fn in seen or not inspect.isfunction(fn):
        return set()
    seen.add(fn)
    found: set[int] = set()
    names = fn.__globals__
    for node in ast.walk(ast.parse(textwrap.dedent(inspect.getsource(fn)))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            target = names.get(node.func.id)
            if target is HTTPException and node.args and isinstance(node.args[0], ast.Constant):
                found.add(int(node.args[0].value))
            elif inspect.isclass(target) and issubclass(target, DomainError | UnknownUnitError):
                found.add(status_for(target))
            elif inspect.isfunction(target) and target.__module__.startswith("collector."):
                found |= raised_statuses(target, seen)
    return found


def expected_statuses(route: Any, op: dict[str, Any]) -> set[int]:
    expected = raised_statuses(route.endpoint)
    for call in calls(route.dependant):
        expected |= raised_statuses(call)
    if op.get("security"):
        expected.add(401)
    if get_flat_params(route.dependant) or route.body_field:
        expected.add(422)
    if deps.context in set(calls(route.dependant)):
        expected.add(503)  # the database unavailable: handlers.py, on every route
    return expected


def spec_problems(app: FastAPI) -> list[str]:
    """What the spec of ``app`` leaves out or gets wrong, one line per problem."""
    spec = app.openapi()
    schemes = spec["components"]["securitySchemes"]
    problems = []
    in_spec = {f"{m.upper()} {p}" for p, ops in spec["paths"].items() for m in ops}
    assert {label for label, _, _ in operations(app)} == in_spec
    for label, route, method in operations(app):
        op = spec["paths"][route.path_format][method.lower()]
        if "security" not in op:
            problems.append(f"{label}: no security (guard a dependency, secured() or PUBLIC)")
        for alternative in op.get("security", []):
            problems += [f"{label}: unknown scheme {s}" for s in alternative if s not in schemes]
        declared = {int(c) for c in op["responses"] if c.isdigit()}
        for status in sorted(expected_statuses(route, op) - declared):
            problems.append(f"{label}: answers {status}, not declared")
        for status in sorted(s for s in declared if s >= 400):
            problems += [f"{label} {status}: {p}" for p in refusal_problems(status, op)]
    return problems


def refusal_problems(status: int, op: dict[str, Any]) -> list[str]:
    answer = op["responses"][str(status)]
    problems = []
    schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
    if ERROR_REF not in (schema.get("$ref"), *[s.get("$ref") for s in schema.get("anyOf", [])]):
        problems.append(f"body is not the Error the handlers send: {schema}")
    header = {401: "WWW-Authenticate", 429: "Retry-After", 503: "Retry-After"}.get(status)
    if header and not answer.get("headers", {}).get(header, {}).get("required"):
        problems.append(f"{header} not declared")
    return problems


@pytest.fixture
def app(services: Services) -> FastAPI:
    return create_app(services, app_config())


def test_every_operation_declares_its_security_and_answers(app: FastAPI) -> None:
    assert spec_problems(app) == []
    spec = app.openapi()
    security = {
        label: op["security"]
        for label, route, method in operations(app)
        for op in [spec["paths"][route.path_format][method.lower()]]
    }
    assert security == {
        "GET /api/v1/time": [],
        "POST /api/v1/enroll": [],
        "POST /api/v1/reports": [{"agentToken": []}],
        "GET /api/v1/levels": [{"agentToken": []}],
        "GET /api/v1/summary": [{"sessionCookie": []}, {"readerToken": []}],
        "GET /api/v1/communes/{code}": [{"sessionCookie": []}, {"readerToken": []}],
        "GET /metrics": [{"metricsToken": []}],
        "GET /api/v1/probe/download": [{"agentToken": []}],
        "POST /api/v1/probe/upload": [{"agentToken": []}],
    }
    assert set(spec["components"]["securitySchemes"]) == {
        "agentToken",
        "sessionCookie",
        "readerToken",
        "metricsToken",
    }
    assert spec["components"]["securitySchemes"]["sessionCookie"]["name"] == "ioc_session"
    answers = {label: sorted(op["responses"]) for label, op in _ops(spec)}
    # 429: a reader token refused too often from one address
    assert answers["GET /api/v1/communes/{code}"] == [
        "200",
        "401",
        "403",
        "404",
        "422",
        "429",
        "503",
    ]
    assert answers["POST /api/v1/reports"] == ["200", "401", "403", "413", "422", "429", "503"]
    assert answers["POST /api/v1/enroll"] == ["201", "403", "413", "422", "429", "503"]
    assert answers["GET /api/v1/time"] == ["200"]
    assert answers["GET /metrics"] == ["200", "400", "401", "422", "503"]
    assert "text/plain" in spec["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    download = spec["paths"]["/api/v1/probe/download"]["get"]["responses"]
    assert set(download["200"]["content"]) == {"application/octet-stream"}
    # FastAPI's validation list, or a handler's own 422 with a sentence.
    assert len(download["422"]["content"]["application/json"]["schema"]["anyOf"]) == 2


def _ops(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            yield f"{method.upper()} {path}", op


def test_a_new_route_is_documented_by_its_dependencies_and_a_forgotten_one_fails(
    services: Services,
) -> None:
    """A route added later gets its security and answers from what it depends on, with no
    edit of openapi.py; one that declares no credential, or hides a status, is caught."""
    router = APIRouter(prefix="/api/v1", dependencies=[Depends(require(Role.OPERATOR))])

    @router.get("/waivers/{code}")
    async def waivers(code: str, ctx: Ctx) -> dict[str, str]:
        if code not in ctx.services.units.communes:
            raise UnknownUnitError(code)
        return {"code": code}

    @router.post("/waivers/{code}/close")
    async def close(code: str, ctx: Ctx) -> dict[str, str]:
        raise HTTPException(409, "already closed")

    open_router = APIRouter()

    @open_router.get("/api/v1/forgotten")
    async def forgotten() -> dict[str, str]:
        return {}

    app = create_app(services, app_config())
    app.include_router(router)
    app.include_router(open_router)
    spec = app.openapi()
    get = spec["paths"]["/api/v1/waivers/{code}"]["get"]
    # require() without tokens=True: a session only, no reader token
    assert get["security"] == [{"sessionCookie": []}]
    assert sorted(get["responses"]) == ["200", "401", "403", "422", "503"]
    post = spec["paths"]["/api/v1/waivers/{code}/close"]["post"]
    assert post["security"] == [{"sessionCookie": []}]  # a reader token only reads
    assert post["responses"]["401"]["headers"]["WWW-Authenticate"]["required"] is True
    assert spec_problems(app) == [
        "GET /api/v1/waivers/{code}: answers 404, not declared",
        "POST /api/v1/waivers/{code}/close: answers 409, not declared",
        "GET /api/v1/forgotten: no security (guard a dependency, secured() or PUBLIC)",
    ]


def test_an_unavailable_service_is_answered_as_declared(services: Services) -> None:
    """A 503 from a domain error carries Retry-After like the database's own, as the spec
    declares for every route that reaches the database."""
    router = APIRouter()

    @router.get("/api/v1/busy", openapi_extra=PUBLIC)
    async def busy(ctx: Ctx) -> dict[str, str]:
        raise UnavailableError("the register is being reloaded")

    app = create_app(services, app_config(retry_after_s=7))
    app.include_router(router)
    declared = app.openapi()["paths"]["/api/v1/busy"]["get"]["responses"]["503"]
    assert declared["headers"]["Retry-After"]["required"] is True
    answer = TestClient(app).get("/api/v1/busy")
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "7"
    assert answer.json() == {"detail": "the register is being reloaded"}
