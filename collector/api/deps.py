"""What the handlers depend on: the app's shared objects, and who is asking.

``require(role)`` is the one access check of the officials' pages and of the JSON API alike:
the visitor of a valid session with at least ``role``, or a domain error (LoginRequired: no
session, 401; RoleRequired: not allowed, 403) that collector/api/handlers.py answers as the
surface expects (a page: redirect to the login form, or the error page; the JSON API: JSON).

It is also the one scope check: every province or commune code the request names, in its
path or its query (parameters ``code``, ``scope``, ``province``, ``commune``), must lie in
the visitor's scope (collector/domain/scope.py), else 403 before the handler runs. What a
handler lists (the summary, search, the audit log, users) it asks of the services with
``v.scope``, which leave out what lies outside it; a row found by its own id (an evidence
file) is checked with ``v.scope`` against the commune it belongs to.

``require(role, tokens=True)`` (``Reader``) also lets in a reader token sent as
``Authorization: Bearer`` (collector/service/readers.py): only the JSON API and the report
downloads use it, never a route that changes anything. A refused token is audited, and
each refusal spends the address's ``auth_failures`` bucket (429 once it is empty).

::

    @router.get("/x")
    def x(v: Viewer, ctx: Ctx) -> ...:      # or Depends(require(Role.OPERATOR))
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, cast

from fastapi import Depends, HTTPException, Request
from prometheus_client import CollectorRegistry

from collector.api.openapi import AGENT_TOKEN, READER_TOKEN, SESSION, guard
from collector.api.prometheus import IngestMetrics, ReadinessCollector
from collector.api.ratelimit import KnownLogins, TokenBucket, client_key, retry_after
from collector.api.web.session import SESSION_COOKIE, language
from collector.config import CollectorConfig
from collector.domain.errors import ForbiddenError, NotAuthenticatedError, UnavailableError
from collector.domain.scope import Scope
from collector.domain.units import Units
from collector.reports.i18n import Lang
from collector.service import Services
from collector.service.accounts import Accounts, Role, Session
from collector.service.committer import GroupCommitter

if TYPE_CHECKING:
    from collector.api.middleware import Slots


@dataclass(frozen=True)
class ApiContext:
    """The objects the handlers of one app share (built by create_app, in app.state.api)."""

    services: Services
    config: CollectorConfig
    accounts: Accounts
    committer: GroupCommitter
    registry: CollectorRegistry
    metrics: IngestMetrics
    readiness: ReadinessCollector
    #: report requests per agent
    per_agent: TokenBucket
    #: failed enrollments and logins per client address
    auth_failures: TokenBucket
    #: failed logins per account, from any address
    account_failures: TokenBucket
    #: (account, address) pairs that logged in lately: not held by account_failures
    known_logins: KnownLogins
    #: throughput tests running at once
    probe_slots: Slots
    #: SHA-256 (hex) of the bearer tokens that may read /metrics (config.metrics_open: any)
    metrics_token_hashes: frozenset[str] = frozenset()


@guard(answers=[UnavailableError])  # the services behind it: the database may be down
async def context(request: Request) -> ApiContext:
    # async, as every dependency that does not block: no trip through the thread pool
    return cast(ApiContext, request.app.state.api)


Ctx = Annotated[ApiContext, Depends(context)]


@dataclass(frozen=True)
class Visitor:
    """A person with a valid session (or a reader token: ``token_id``), and the language of
    the pages they read."""

    session: Session
    lang: Lang
    token_id: int | None = None

    @property
    def role(self) -> Role:
        return self.session.user.role

    @property
    def scope(self) -> Scope:
        return self.session.user.scope

    def can(self, role: Role) -> bool:
        return self.role.allows(role)


#: The request parameters that name a province or a commune (two or five digits).
UNIT_PARAMETERS = ("code", "scope", "province", "commune")


def check_scope(request: Request, v: Visitor, units: Units) -> None:
    """Every unit the request names, in its path or its query, inside ``v``'s scope."""
    if v.scope.national:
        return
    for name in UNIT_PARAMETERS:
        for value in (request.path_params.get(name), *request.query_params.getlist(name)):
            if value:
                v.scope.check_code(units, str(value))


class LoginRequired(NotAuthenticatedError):
    """No valid session. ``bearer``: the request carried an Authorization header instead (an
    agent's token, which opens neither the pages nor the readiness API)."""

    def __init__(self, needed: Role, *, bearer: bool, tokens: bool = False) -> None:
        super().__init__(
            (
                "unknown, expired or revoked reader token (agent tokens cannot read the "
                "readiness API nor reports): make one with `ioc-collector token create`"
                if tokens
                else "pages and reports need a user login; agent tokens cannot read them"
            )
            if bearer
            else "log in first (POST /login, or open the collector's pages): the readiness "
            f"API needs a user session with the {needed.value} role"
            + (", or a reader token (Authorization: Bearer)" if tokens else "")
        )
        self.needed = needed
        self.bearer = bearer


class RoleRequired(ForbiddenError):
    """A session whose role is below the one needed."""

    def __init__(self, visitor: Visitor, needed: Role) -> None:
        super().__init__(f"needs the {needed.value} role; you are {visitor.role.value}")
        self.visitor = visitor
        self.needed = needed


@functools.cache
def require(role: Role, *, tokens: bool = False) -> Callable[[Request, ApiContext], Visitor]:
    """The dependency that lets in a session with at least ``role`` (see the module);
    ``tokens``: a reader token too."""
    if tokens:
        # a reader token refused too often from one address is answered 429 (_reader_session)
        @guard(SESSION, READER_TOKEN, answers=[LoginRequired, RoleRequired, 429])
        def reader(request: Request, ctx: Ctx) -> Visitor:
            session = ctx.accounts.session(request.cookies.get(SESSION_COOKIE))
            token_id = None
            if session is None and request.headers.get("authorization"):
                session, token_id = _reader_session(request, ctx)
            return _admit(request, ctx, role, session, token_id)

        return reader

    @guard(SESSION, answers=[LoginRequired, RoleRequired])
    def visitor(request: Request, ctx: Ctx) -> Visitor:
        # a plain def: FastAPI runs the session lookup (a database read) in its thread pool
        session = ctx.accounts.session(request.cookies.get(SESSION_COOKIE))
        return _admit(request, ctx, role, session, None, tokens=False)

    return visitor


def _admit(
    request: Request,
    ctx: ApiContext,
    role: Role,
    session: Session | None,
    token_id: int | None,
    *,
    tokens: bool = True,
) -> Visitor:
    """The visitor of ``session`` if it holds ``role`` and the request stays in its scope."""
    if session is None:
        bearer = bool(request.headers.get("authorization"))
        raise LoginRequired(role, bearer=bearer, tokens=tokens)
    v = Visitor(session, language(request), token_id)
    request.state.visitor = v  # the error page of this request shows who is logged in
    if not v.can(role):
        raise RoleRequired(v, role)
    check_scope(request, v, ctx.services.units)
    return v


def _reader_session(request: Request, ctx: ApiContext) -> tuple[Session | None, int | None]:
    """The session-like view of a reader token (no CSRF token: it posts no form)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None, None
    key = client_key(request.client.host if request.client else None)
    wait = ctx.auth_failures.wait_s(key)
    if wait > 0:
        ctx.metrics.rate_limited.labels(endpoint="reader").inc()
        raise HTTPException(
            429,
            f"too many refused tokens from {key}: retry in {retry_after(wait)} s",
            headers={"Retry-After": retry_after(wait)},
        )
    reader = ctx.services.readers.reader(token.strip(), key)
    if reader is None:
        ctx.auth_failures.spend(key)
        return None, None
    return Session(reader.user, "", ctx.services.clock()), reader.token_id


Viewer = Annotated[Visitor, Depends(require(Role.VIEWER))]
#: a viewer's session or a reader token (read-only routes: the JSON API, report downloads)
Reader = Annotated[Visitor, Depends(require(Role.VIEWER, tokens=True))]
Operator = Annotated[Visitor, Depends(require(Role.OPERATOR))]
Admin = Annotated[Visitor, Depends(require(Role.ADMIN))]


@guard(AGENT_TOKEN, answers=[401])
async def bearer_token(request: Request) -> str:
    """The token of ``Authorization: Bearer <token>`` (not checked yet), or 401."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(
            401,
            "missing bearer token: send 'Authorization: Bearer <token>' as issued at enrollment",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return token.strip()
