"""The login form, logging in and out, and the pages' stylesheet (open to everyone).

Failed logins are slowed per client address and per account: each takes a token of the
address's bucket (``auth_failures_*`` in the configuration) and one of the account's
(``auth_failures_per_account_*``, whatever the address), and an empty bucket answers 429
with ``Retry-After`` (counted in ``ioc_rate_limited_requests_total{endpoint="login"}``)
until it refills, even for the right password. An address from which the account logged in
successfully lately is held only by its own bucket, not the account's (see
collector/api/ratelimit.py): the account's limit slows a guesser without locking its owner
out.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from collector.api.deps import Ctx, Viewer
from collector.api.ratelimit import client_key, retry_after
from collector.api.web import session as sess
from collector.api.web.render import STATIC, page, page_router
from collector.domain.errors import BadRequestError
from collector.reports.i18n import Lang, texts
from collector.service.accounts import SESSION_TTL, LoginRefused

router = page_router()


@router.get("/static/ioc.css")
def css() -> Response:
    return Response(
        (STATIC / "ioc.css").read_bytes(),
        media_type="text/css",
        headers={"Cache-Control": "max-age=3600"},
    )


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:  # noqa: A002
    lang = sess.language(request)
    token = sess.login_csrf(request)
    resp = page(request, "login.html", lang, csrf=token, next=sess.safe_next(next))
    sess.set_login_csrf(request, resp, token)
    return resp


@router.post("/login")
async def login(request: Request, ctx: Ctx) -> Response:
    lang = sess.language(request)
    form = await request.form(max_files=0, max_fields=10)
    target = sess.safe_next(str(form.get("next") or "/"))
    token = request.cookies.get(sess.LOGIN_CSRF_COOKIE)
    if not sess.same_token(token, str(form.get("csrf") or "")):
        raise BadRequestError(texts(lang)["error"] + ": CSRF")
    username = str(form.get("username") or "")
    key = client_key(request.client.host if request.client else None)
    account = username.strip().lower()[:64]
    wait, per_account = _throttled(ctx, key, account)
    result = None
    if not wait:
        try:
            result = await run_in_threadpool(
                ctx.accounts.login, username, str(form.get("password") or "")
            )
        except LoginRefused as exc:  # the directory's reason, on the form (403)
            return _refused(request, lang, target, username, 0, False, ctx, exc.key)
        if result is None:
            ctx.auth_failures.spend(key)
            ctx.account_failures.spend(account)
    if result is None:
        return _refused(request, lang, target, username, wait, per_account, ctx)
    ctx.known_logins.add(account, key)
    cookie, _ = result
    done = RedirectResponse(target, status_code=303)
    sess.set_session_cookie(request, done, cookie, int(SESSION_TTL.total_seconds()))
    done.delete_cookie(sess.LOGIN_CSRF_COOKIE, secure=sess.is_secure(request))
    return done


def _throttled(ctx: Ctx, key: str, account: str) -> tuple[float, bool]:
    """Seconds to wait before this address may try this account, and whether the account's
    limit (not the address's) is the one that holds."""
    wait = ctx.auth_failures.wait_s(key)
    if wait or (account, key) in ctx.known_logins:
        return wait, False
    wait = ctx.account_failures.wait_s(account)
    return wait, bool(wait)


def _refused(
    request: Request,
    lang: Lang,
    target: str,
    username: str,
    wait: float,
    per_account: bool,
    ctx: Ctx,
    refusal: str = "",
) -> Response:
    """The login form again: 401 for a wrong password, 429 with Retry-After when held, 403
    with the reason when the directory gives no access (``refusal``: its text key)."""
    new = sess.login_csrf(request)
    resp = page(
        request,
        "login.html",
        lang,
        403 if refusal else 429 if wait else 401,
        csrf=new,
        next=target,
        failed=not wait and not refusal,
        refusal=refusal,
        throttled=retry_after(wait) if wait else None,
        throttled_account=per_account,
        username=username[:64],
    )
    sess.set_login_csrf(request, resp, new)
    if wait:
        resp.headers["Retry-After"] = retry_after(wait)
        ctx.metrics.rate_limited.labels(endpoint="login").inc()
    return resp


@router.post("/logout")
async def logout(request: Request, v: Viewer, ctx: Ctx) -> Response:
    form = await request.form(max_files=0, max_fields=5)
    if not sess.same_token(v.session.csrf_token, str(form.get("csrf") or "")):
        raise BadRequestError("CSRF")
    await run_in_threadpool(ctx.accounts.logout, request.cookies.get(sess.SESSION_COOKIE))
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(sess.SESSION_COOKIE, path="/", secure=sess.is_secure(request))
    return resp
