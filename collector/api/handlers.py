"""Exception handlers: every refusal answered in one place, as its surface expects.

* A domain error (collector/domain/errors.py) has the status of ``status_of``
  (collector/api/errors.py): JSON ``{"detail": message}`` on the API; on the officials'
  pages, the error page with that status, except that a missing login redirects to the
  login form (303), or answers JSON 401 to a caller with an agent's bearer token.
* An unknown commune or province code is a 404, in the same two forms.
* The database unavailable (or an UnavailableError) is a 503 with ``Retry-After``, on every
  route: the agent keeps its reports and retries.

collector/api/openapi.py documents these answers (statuses, bodies, headers) in the spec.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import OperationalError

from collector.api.deps import LoginRequired, RoleRequired
from collector.api.errors import status_of
from collector.api.web.render import error_page, is_page, role_refusal
from collector.domain.errors import DomainError
from collector.domain.units import UnknownUnitError

log = logging.getLogger("collector")

#: The session cookie is the credential of the pages and of the readiness API.
_COOKIE_CHALLENGE = {"WWW-Authenticate": 'Cookie realm="ioc"'}


def add_exception_handlers(app: FastAPI, retry_after_s: int) -> None:
    async def database_unavailable(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, OperationalError)
        log.warning("database unavailable: %s", exc.orig)
        return JSONResponse(
            {"detail": "database unavailable, retry later"},
            status_code=503,
            headers={"Retry-After": str(retry_after_s)},
        )

    async def refused(request: Request, exc: Exception) -> Response:
        response = await domain_error(request, exc)
        if response.status_code == 503:
            response.headers["Retry-After"] = str(retry_after_s)
        return response

    app.add_exception_handler(OperationalError, database_unavailable)
    app.add_exception_handler(DomainError, refused)
    app.add_exception_handler(UnknownUnitError, unknown_unit)


async def domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    if is_page(request):
        return _page_refusal(request, exc)
    headers = _COOKIE_CHALLENGE if isinstance(exc, LoginRequired) else None
    return JSONResponse({"detail": exc.message}, status_code=status_of(exc), headers=headers)


async def unknown_unit(request: Request, exc: Exception) -> Response:
    if is_page(request):
        return error_page(request, 404, str(exc))
    return JSONResponse({"detail": str(exc)}, status_code=404)


def _page_refusal(request: Request, exc: DomainError) -> Response:
    if isinstance(exc, LoginRequired):
        if exc.bearer:  # an agent (or any API client): pages are for people who log in
            return JSONResponse({"detail": exc.message}, status_code=401, headers=_COOKIE_CHALLENGE)
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(path, safe='')}", status_code=303)
    if isinstance(exc, RoleRequired):
        v = exc.visitor
        return error_page(request, 403, role_refusal(v.lang, exc.needed, v.role))
    return error_page(request, status_of(exc), exc.message)
