"""Rendering of the officials' pages: templates, security headers, the error page.

Handlers are plain ``def`` where they read the database, so FastAPI runs them in its thread
pool. A page route refuses by raising a domain error (collector/domain/errors.py); routes
made by :func:`page_router` are :class:`PageRoute`, whose refusals collector/api/handlers.py
answers with :func:`error_page` (or the login redirect) instead of JSON.
"""

from __future__ import annotations

import functools
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape

from collector.api.web import session as sess
from collector.reports import fmt
from collector.reports.i18n import (
    colour_label,
    ict,
    kind_label,
    severity_label,
    status_label,
    texts,
)
from collector.service.accounts import Role

if TYPE_CHECKING:
    from collector.api.deps import Visitor

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
STATIC = Path(__file__).resolve().parents[2] / "static"
#: No scripts at all on these pages; nothing may frame them (clickjacking).
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


class PageRoute(APIRoute):
    """A route of the officials' pages (its errors are answered as pages)."""


def page_router() -> APIRouter:
    """A router of pages: login needed as each route says, none of them in the OpenAPI spec."""
    return APIRouter(include_in_schema=False, route_class=PageRoute)


def is_page(request: Request) -> bool:
    return isinstance(request.scope.get("route"), PageRoute)


@functools.cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["ict"] = lambda dt: (
        ict(dt) if isinstance(dt, datetime) else (ict(datetime.fromisoformat(dt)) if dt else "")
    )
    env.filters["pct"] = pass_context(lambda ctx, x: fmt.percent(x, ctx.get("lang", "vi")))
    return env


def page(
    request: Request,
    template: str,
    lang: str,
    status_code: int = 200,
    visitor: Visitor | None = None,
    **ctx: Any,
) -> HTMLResponse:
    def with_lang(code: str) -> str:
        q = dict(request.query_params)
        q["lang"] = code
        return f"{request.url.path}?{urlencode(q)}"

    html = (
        environment()
        .get_template(template)
        .render(
            T=texts(lang),
            lang=lang,
            stale_limit=stale_limit(request, lang),
            me=visitor,
            Role=Role,
            lang_url=with_lang,
            colour=lambda c: colour_label(lang, c),
            status=lambda s: status_label(lang, s),
            severity=lambda s: severity_label(lang, s),
            kind=lambda k: kind_label(lang, k),
            **ctx,
        )
    )
    resp = HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
    return sess.remember_language(request, resp)  # type: ignore[return-value]


def stale_limit(request: Request, lang: str) -> str:
    """How long a commune may stay silent before it is grey, in words (the legend's)."""
    api = getattr(request.app.state, "api", None)
    seconds = api.services.rules.current().stale_after_s if api is not None else 180
    T = texts(lang)
    if seconds % 60 == 0:
        return T["minutes"].format(n=seconds // 60)
    return T["seconds"].format(n=seconds)


def error_page(request: Request, status_code: int, message: str) -> HTMLResponse:
    """The error page, in the language of the request, for its visitor if logged in."""
    v: Visitor | None = getattr(request.state, "visitor", None)
    lang = v.lang if v is not None else sess.language(request)
    key = "not_found" if status_code == 404 else "forbidden" if status_code == 403 else "error"
    return page(
        request, "error.html", lang, status_code, v, title=texts(lang)[key], message=message
    )


def role_refusal(lang: str, needed: Role, role: Role) -> str:
    """What the 403 page says to a visitor whose role is below ``needed``."""
    if lang == "en":
        return f"Needs the {needed.value} role; your account is {role.value}."
    return f"Cần vai trò {needed.value}; tài khoản của bạn là {role.value}."
