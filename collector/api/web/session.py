"""Request-side access control: who is logged in, language, CSRF, and the refusals."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from collector.auth import Accounts, Role, Session
from collector.reports.i18n import Lang, pick_lang

SESSION_COOKIE = "ioc_session"
LANG_COOKIE = "ioc_lang"
LOGIN_CSRF_COOKIE = "ioc_login_csrf"


@dataclass(frozen=True)
class Visitor:
    session: Session
    lang: Lang

    @property
    def role(self) -> Role:
        return self.session.user.role

    def can(self, role: Role) -> bool:
        return self.role.allows(role)


def language(request: Request) -> Lang:
    return pick_lang(request.query_params.get("lang") or request.cookies.get(LANG_COOKIE))


def remember_language(request: Request, response: Response) -> Response:
    """``?lang=en`` (or ``vi``) sticks in a cookie for the next pages."""
    asked = request.query_params.get("lang")
    if asked in ("vi", "en"):
        response.set_cookie(LANG_COOKIE, asked, max_age=365 * 86400, httponly=True, samesite="lax")
    return response


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_session_cookie(request: Request, response: Response, token: str, max_age: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/",
    )


def login_csrf(request: Request) -> str:
    """Double-submit token for the login form (there is no session yet)."""
    return request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)


def set_login_csrf(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="lax", secure=_secure(request)
    )


def same_token(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


def safe_next(target: str | None) -> str:
    """Only a local path, never another site (open-redirect guard)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def visitor(request: Request, accounts: Accounts, needed: Role) -> Visitor | Response:
    """The logged-in visitor, or the response that refuses them."""
    lang = language(request)
    session = accounts.session(request.cookies.get(SESSION_COOKIE))
    if session is None:
        if request.headers.get("authorization"):
            # An agent (or any API client) with a bearer token: pages and reports are for
            # people who log in; agent tokens read nothing.
            return JSONResponse(
                {"detail": "pages and reports need a user login; agent tokens cannot read them"},
                status_code=401,
                headers={"WWW-Authenticate": 'Cookie realm="ioc"'},
            )
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(path, safe='')}", status_code=303)
    v = Visitor(session, lang)
    if not v.can(needed):
        return JSONResponse(
            {"detail": f"needs the {needed.value} role; you are {v.role.value}"},
            status_code=403,
        )
    return v
