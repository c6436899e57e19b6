"""The cookies of the officials' pages: session, language, CSRF; safe redirects.

Who is logged in, and with what role, is collector/api/deps.py's ``require``."""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request
from fastapi.responses import Response

from collector.reports.i18n import Lang, pick_lang

SESSION_COOKIE = "ioc_session"
LANG_COOKIE = "ioc_lang"
LOGIN_CSRF_COOKIE = "ioc_login_csrf"


def language(request: Request) -> Lang:
    return pick_lang(request.query_params.get("lang") or request.cookies.get(LANG_COOKIE))


def remember_language(request: Request, response: Response) -> Response:
    """``?lang=en`` (or ``vi``) sticks in a cookie for the next pages."""
    asked = request.query_params.get("lang")
    if asked in ("vi", "en"):
        response.set_cookie(
            LANG_COOKIE,
            asked,
            max_age=365 * 86400,
            httponly=True,
            samesite="lax",
            secure=is_secure(request),
        )
    return response


def is_secure(request: Request) -> bool:
    """Over HTTPS: cookies are then Secure (sent back over HTTPS only)."""
    return request.url.scheme == "https"


def set_session_cookie(request: Request, response: Response, token: str, max_age: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=is_secure(request),
        path="/",
    )


def login_csrf(request: Request) -> str:
    """Double-submit token for the login form (there is no session yet)."""
    return request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)


def set_login_csrf(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="lax", secure=is_secure(request)
    )


def same_token(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


def safe_next(target: str | None) -> str:
    """Only a local path, never another site (open-redirect guard)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"
