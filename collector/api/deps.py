"""What the handlers depend on: the app's shared objects, and who is asking.

``require(role)`` is the one access check of the officials' pages and of the JSON API alike:
the visitor of a valid session with at least ``role``, or a domain error (LoginRequired: no
session, 401; RoleRequired: not allowed, 403) that collector/api/handlers.py answers as the
surface expects (a page: redirect to the login form, or the error page; the JSON API: JSON).

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

from collector.api.openapi import AGENT_TOKEN, SESSION, guard
from collector.api.prometheus import IngestMetrics, ReadinessCollector
from collector.api.ratelimit import KnownLogins, TokenBucket
from collector.api.web.session import SESSION_COOKIE, language
from collector.config import CollectorConfig
from collector.domain.errors import ForbiddenError, NotAuthenticatedError, UnavailableError
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
    """A person with a valid session, and the language of the pages they read."""

    session: Session
    lang: Lang

    @property
    def role(self) -> Role:
        return self.session.user.role

    def can(self, role: Role) -> bool:
        return self.role.allows(role)


class LoginRequired(NotAuthenticatedError):
    """No valid session. ``bearer``: the request carried an Authorization header instead (an
    agent's token, which opens neither the pages nor the readiness API)."""

    def __init__(self, needed: Role, *, bearer: bool) -> None:
        super().__init__(
            "pages and reports need a user login; agent tokens cannot read them"
            if bearer
            else "log in first (POST /login, or open the collector's pages): the readiness "
            f"API needs a user session with the {needed.value} role"
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
def require(role: Role) -> Callable[[Request, ApiContext], Visitor]:
    """The dependency that lets in a session with at least ``role`` (see the module)."""

    @guard(SESSION, answers=[LoginRequired, RoleRequired])
    def visitor(request: Request, ctx: Ctx) -> Visitor:
        # a plain def: FastAPI runs the session lookup (a database read) in its thread pool
        session = ctx.accounts.session(request.cookies.get(SESSION_COOKIE))
        if session is None:
            raise LoginRequired(role, bearer=bool(request.headers.get("authorization")))
        v = Visitor(session, language(request))
        request.state.visitor = v  # the error page of this request shows who is logged in
        if not v.can(role):
            raise RoleRequired(v, role)
        return v

    return visitor


Viewer = Annotated[Visitor, Depends(require(Role.VIEWER))]
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
