"""The OpenAPI document, made to tell the truth: who may call each operation, with what
credential, and every answer it can give, with the body the handlers really send.

FastAPI generates the spec from the routes; :func:`install` (called once by the app factory)
completes it when it is first built. Nothing here is written per route: it is derived from
what the routes already say, so a route added later is documented by the same rules.

* **Security.** A dependency marked with :func:`guard` names the security schemes that let
  a caller through it (``deps.require``: the session cookie, or with ``tokens=True`` a
  reader token too; ``deps.bearer_token``: the agent token; ``metrics.scraper``: the scrape
  token) and the answers it may give. An operation's ``security`` is that of the guards
  among its route's dependencies (router dependencies included). A route that checks its
  credential inside the handler says so with ``openapi_extra=secured(SCHEME)``, a route open
  to anyone with ``openapi_extra=PUBLIC``.
  A route with neither has no ``security`` at all, and tests/collector/api/test_openapi.py
  fails on it.
* **Answers.** An operation declares the statuses of its route's ``responses=`` (which
  :func:`raises` builds from domain error classes), those of its guards (domain error
  classes, mapped by ``errors.status_for`` as handlers.py maps them, or plain statuses of
  an ``HTTPException``), 401 when it has a security requirement, and 422 when FastAPI
  validates its parameters.
* **Error bodies.** Every 4xx and 5xx answer is ``{"detail": "..."}`` (``Error``), as
  handlers.py and FastAPI's ``HTTPException`` send it; a 422 of an operation with validated
  parameters may also be FastAPI's list of validation errors (``HTTPValidationError``).
  401 carries ``WWW-Authenticate``; 429 and 503 carry ``Retry-After``.
* **Bodies read raw.** ``POST /api/v1/reports`` and ``POST /api/v1/enroll`` read their body
  themselves (to refuse an oversized body, or an unknown token, before parsing it), so
  FastAPI cannot see the model they validate against: :func:`json_body` documents the body,
  and the 413 and 422 of reading it, on the route; :func:`install` puts the models (and the
  models they use) into ``components/schemas``.

tests/fuzz/test_api_schemathesis.py holds the spec to the running collector: schemathesis
with its conformance checks (status codes, content types, headers, body schemas) on.
"""

from __future__ import annotations

import http.client
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_flat_params
from fastapi.openapi.utils import (
    validation_error_definition,
    validation_error_response_definition,
)
from fastapi.routing import APIRoute, iter_route_contexts

from checks.schema import adapter
from collector.api.errors import status_for
from collector.api.web.session import SESSION_COOKIE

_REF = "#/components/schemas/{model}"

#: The security schemes of the collector (components/securitySchemes).
AGENT_TOKEN = "agentToken"  # noqa: S105 (scheme names, not secrets)
SESSION = "sessionCookie"
READER_TOKEN = "readerToken"  # noqa: S105
METRICS_TOKEN = "metricsToken"  # noqa: S105
SECURITY_SCHEMES: dict[str, dict[str, str]] = {
    AGENT_TOKEN: {
        "type": "http",
        "scheme": "bearer",
        "description": "An enrolled agent's own token (issued by POST /api/v1/enroll): "
        "reports, levels and throughput probes. It opens no page and no readiness data.",
    },
    SESSION: {
        "type": "apiKey",
        "in": "cookie",
        "name": SESSION_COOKIE,
        "description": "A user's session, set by logging in (POST /login, the pages' form); "
        "the role it needs is in the operation's 403 answer. The pages' forms, which change "
        "state, also carry the session's CSRF token in a form field; they are not in this "
        "document.",
    },
    READER_TOKEN: {
        "type": "http",
        "scheme": "bearer",
        "description": "A reader token created for a user (with that user's role and "
        "scope), for scripts and the national system: reads of the JSON API.",
    },
    METRICS_TOKEN: {
        "type": "http",
        "scheme": "bearer",
        "description": "A scrape token of the collector's configuration (metrics_token_file, "
        "metrics_token_hashes), for GET /metrics; none is needed with metrics_open: true.",
    },
}

#: ``openapi_extra`` of a route anyone may call.
PUBLIC: dict[str, Any] = {"security": []}

#: The body of every refusal (handlers.py, FastAPI's HTTPException).
ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {"type": "string", "description": "what was refused and why, for the caller"}
    },
    "additionalProperties": False,
}

#: What each refusal means, when the route does not say more.
_DESCRIPTIONS = {
    400: "bad request (a parameter out of its values, a missing CSRF token)",
    401: "not authenticated: credential missing, unknown or revoked (see WWW-Authenticate)",
    403: "authenticated, but not allowed to do this",
    404: "no such commune, province or record",
    408: "the request body took too long to arrive",
    409: "the current state does not allow it",
    413: "request body over the size limit",
    422: "invalid input",
    429: "too many requests: retry after Retry-After seconds",
    503: "database unavailable or collector busy: retry after Retry-After seconds",
}

_HEADERS: dict[int, dict[str, dict[str, Any]]] = {
    401: {
        "WWW-Authenticate": {
            "description": "the scheme of the credential asked for",
            "required": True,
            "schema": {"type": "string"},
        }
    },
    **{
        status: {
            "Retry-After": {
                "description": "seconds to wait before trying again",
                "required": True,
                "schema": {"type": "integer", "minimum": 0},
            }
        }
        for status in (429, 503)
    },
}

F = TypeVar("F", bound=Callable[..., Any])
#: An answer a guard may give: a domain error class (its status as handlers.py answers it)
#: or the status of an HTTPException.
Answer = int | type[Exception]
_MARK = "__openapi_guard__"


@dataclass(frozen=True)
class Guard:
    """What a dependency asks of a caller: one of ``schemes`` (none: no credential), and
    the statuses it may answer instead of letting the request through."""

    schemes: tuple[str, ...]
    statuses: frozenset[int]


def guard(*schemes: str, answers: Iterable[Answer] = ()) -> Callable[[F], F]:
    """Mark a dependency for the spec: the schemes that pass it, the answers it may give."""
    unknown = set(schemes) - set(SECURITY_SCHEMES)
    if unknown:
        raise ValueError(f"unknown security scheme(s): {sorted(unknown)}")
    statuses = frozenset(a if isinstance(a, int) else status_for(a) for a in answers)

    def mark(fn: F) -> F:
        setattr(fn, _MARK, Guard(tuple(schemes), statuses))
        return fn

    return mark


def secured(*schemes: str) -> dict[str, Any]:
    """``openapi_extra`` of a route that checks one of ``schemes`` inside its handler."""
    return {"security": [{scheme: []} for scheme in schemes]}


def raises(*kinds: type[Exception]) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route whose handler raises ``kinds`` (domain errors, or an
    unknown unit code), each with the status handlers.py answers it with."""
    return {
        status_for(kind): {"description": _DESCRIPTIONS.get(status_for(kind), "")} for kind in kinds
    }


def json_body(model: type, description: str = "") -> dict[str, Any]:
    """``openapi_extra`` for a route that reads its JSON body ``model`` raw (read_body):
    the body, and the 413 and 422 of reading and parsing it."""
    body: dict[str, Any] = {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": _REF.format(model=model.__name__)}}},
    }
    if description:
        body["description"] = description
    return {
        "requestBody": body,
        "responses": {
            "413": {"description": _DESCRIPTIONS[413]},
            "422": {"description": "malformed JSON or not a valid " + model.__name__},
        },
    }


def install(app: FastAPI, *models: type) -> None:
    """Complete the app's generated spec (see the module) each time FastAPI builds it
    (once, unless routes are added later); ``models`` are the bodies read raw."""
    generate: Callable[[], dict[str, Any]] = app.openapi
    completed: list[int] = []

    def openapi() -> dict[str, Any]:
        spec = generate()  # cached by FastAPI in app.openapi_schema: extended in place
        if completed and completed[-1] == id(spec):
            return spec
        components = spec.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        for model in models:
            js = adapter(model).json_schema(ref_template=_REF, mode="validation")
            for name, sub in js.pop("$defs", {}).items():
                schemas.setdefault(name, sub)
            schemas[model.__name__] = js
        schemas["Error"] = ERROR_SCHEMA
        schemas.setdefault("ValidationError", validation_error_definition)
        schemas.setdefault("HTTPValidationError", validation_error_response_definition)
        components["securitySchemes"] = SECURITY_SCHEMES
        for route in schema_routes(app):
            for method in route.methods:
                op = spec["paths"].get(route.path_format, {}).get(method.lower())
                if op is not None:
                    _complete(op, route, method)
        completed.append(id(spec))
        return spec

    app.openapi = openapi  # type: ignore[method-assign]


def schema_routes(app: FastAPI) -> Iterator[Any]:
    """The routes in the spec, as FastAPI sees them through included routers (path with
    the routers' prefixes, dependencies with theirs): each like an ``APIRoute``."""
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute) and context.include_in_schema:
            yield context


def guards_of(dependant: Dependant) -> list[Guard]:
    """The guards among a route's dependencies, at any depth."""
    found = []
    for sub in dependant.dependencies:
        mark = getattr(sub.call, _MARK, None)
        if isinstance(mark, Guard):
            found.append(mark)
        found += guards_of(sub)
    return found


def _complete(op: dict[str, Any], route: Any, method: str) -> None:
    """One operation: its security and every answer it can give (see the module)."""
    # a dependency used twice (on the router and as a parameter) is one guard
    guards = list({id(g): g for g in guards_of(route.dependant)}.values())
    if "security" not in op:  # secured() or PUBLIC say it themselves
        security = _security([g.schemes for g in guards if g.schemes])
        if security:
            op["security"] = security
    statuses = {status for g in guards for status in g.statuses}
    if op.get("security"):
        statuses.add(401)
    responses = op.setdefault("responses", {})
    for status in sorted(statuses):
        responses.setdefault(str(status), {})
    validated = bool(get_flat_params(route.dependant) or route.body_field)
    for code, response in responses.items():
        if code.isdigit() and int(code) >= 400:
            _error_answer(int(code), response, validated)


def _security(choices: list[tuple[str, ...]]) -> list[dict[str, list[str]]]:
    """The alternatives that pass every guard (one scheme of each)."""
    if not choices:
        return []
    alternatives = [frozenset(combo) for combo in itertools.product(*choices)]
    unique = list(dict.fromkeys(alternatives))
    return [{scheme: [] for scheme in sorted(alt)} for alt in unique]


def _error_answer(status: int, response: dict[str, Any], validated: bool) -> None:
    """The description, body and headers of a refusal, as the handlers send it."""
    if response.get("description") in (None, "", http.client.responses.get(status)):
        response["description"] = _DESCRIPTIONS.get(status, http.client.responses.get(status))
    error: dict[str, Any] = {"$ref": _REF.format(model="Error")}
    if status == 422 and validated:
        error = {"anyOf": [error, {"$ref": _REF.format(model="HTTPValidationError")}]}
    content = response.get("content")
    fastapi_422 = {
        "application/json": {"schema": {"$ref": _REF.format(model="HTTPValidationError")}}
    }
    if not content or content == fastapi_422:
        response["content"] = {"application/json": {"schema": error}}
    for name, header in _HEADERS.get(status, {}).items():
        response.setdefault("headers", {}).setdefault(name, header)
