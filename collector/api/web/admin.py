"""User management for admins: the list of users and the audit log, adding a user, and
disabling, enabling, resetting the password of, ending the sessions of and setting the
provinces of one (each audited with the admin as actor). A generated password is shown
once, on the answer to the form, which no cache keeps.

An admin scoped to provinces sees and manages only the users of their provinces (and the
audit lines about them and their communes); they cannot make a national user nor one of
another province (collector/service/accounts.py refuses, 403).

Reader tokens (collector/service/readers.py) of the users an admin manages are listed here,
made (the token shown once, on the answer, which no cache keeps) and revoked."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from collector.api.deps import Admin, ApiContext, Ctx, Visitor
from collector.api.web import session as sess
from collector.api.web.render import page, page_router
from collector.domain.errors import BadRequestError
from collector.service.accounts import AuthError, Role

router = page_router()


def _users_page(request: Request, v: Admin, ctx: Ctx, **extra: Any) -> Response:
    return page(
        request,
        "users.html",
        v.lang,
        visitor=v,
        users=ctx.accounts.list_users(by=v.scope),
        tokens=ctx.services.readers.tokens(by=v.scope)[:100],
        token_days=ctx.config.reader_token_days,
        token_max_days=ctx.config.reader_token_max_days,
        audit=ctx.accounts.audit_entries(limit=50, scope=v.scope),
        roles=[r.value for r in Role],
        **extra,
    )


async def _admin_form(request: Request, v: Visitor) -> Any:
    """An admin form's fields, once its CSRF token is the session's."""
    form = await request.form(max_files=0, max_fields=10)
    if not sess.same_token(v.session.csrf_token, str(form.get("csrf") or "")):
        raise BadRequestError("CSRF")
    return form


async def _shown_once(request: Request, v: Visitor, ctx: ApiContext, **shown: Any) -> Response:
    """The users page with a secret shown once (a new password or token): never cached."""
    resp = await run_in_threadpool(_users_page, request, v, ctx, **shown)
    resp.headers["Cache-Control"] = "no-store"
    return resp


@router.get("/admin/users")
def users(request: Request, v: Admin, ctx: Ctx) -> Response:
    return _users_page(request, v, ctx)


@router.post("/admin/users")
async def add_user(request: Request, v: Admin, ctx: Ctx) -> Response:
    form = await _admin_form(request, v)
    try:
        await run_in_threadpool(
            lambda: ctx.accounts.add_user(
                str(form.get("username") or ""),
                str(form.get("password") or ""),
                str(form.get("role") or ""),
                v.session.user.username,
                provinces=province_codes(form.get("provinces")),
                by=v.scope,
            )
        )
    except AuthError as exc:
        raise BadRequestError(str(exc)) from None
    return RedirectResponse("/admin/users", status_code=303)


_ACTIONS = ("disable", "enable", "reset-password", "end-sessions", "scope")


def province_codes(value: object) -> list[str]:
    """The province codes of a form field: "04, 08" -> ["04", "08"]; empty: none."""
    return [p for p in str(value or "").replace(";", ",").replace(" ", ",").split(",") if p]


def _apply(ctx: Ctx, action: str, username: str, form: Any, v: Admin) -> str | None:
    """One of the admin's changes to a user; the new password for reset-password."""
    accounts, actor, by = ctx.accounts, v.session.user.username, v.scope
    if action == "disable" and username == actor:
        raise AuthError("an admin cannot disable their own account")
    if action in ("disable", "enable"):
        accounts.set_disabled(username, action == "disable", actor, by)
    elif action == "end-sessions":
        accounts.end_sessions(username, actor, by)
    elif action == "scope":
        accounts.set_scope(username, province_codes(form.get("provinces")), actor, by)
    else:
        password = str(form.get("password") or "") or None
        return accounts.reset_password(username, password, actor, by)
    return None


@router.post("/admin/users/manage")
async def manage_user(request: Request, v: Admin, ctx: Ctx) -> Response:
    form = await _admin_form(request, v)
    action = str(form.get("action") or "")
    username = str(form.get("username") or "").strip().lower()
    if action not in _ACTIONS:
        raise BadRequestError(f"action {action!r}: expected one of {', '.join(_ACTIONS)}")
    given = str(form.get("password") or "") or None
    try:
        password = await run_in_threadpool(_apply, ctx, action, username, form, v)
    except AuthError as exc:
        raise BadRequestError(str(exc)) from None
    if password is None or given is not None:
        return RedirectResponse("/admin/users", status_code=303)
    return await _shown_once(request, v, ctx, new_password=password, reset_user=username)


@router.post("/admin/tokens")
async def add_token(request: Request, v: Admin, ctx: Ctx) -> Response:
    """A reader token for a user the admin manages, shown once on the answer."""
    form = await _admin_form(request, v)
    username = str(form.get("username") or "").strip().lower()
    days_text = str(form.get("days") or "").strip()
    if days_text and not (days_text.isascii() and days_text.isdigit() and len(days_text) <= 5):
        raise BadRequestError(f"validity {days_text[:20]!r}: a whole number of days")
    try:
        token_id, token = await run_in_threadpool(
            lambda: ctx.services.readers.create(
                username,
                int(days_text) if days_text else ctx.config.reader_token_days,
                str(form.get("name") or "")[:64],
                v.session.user.username,
                max_days=ctx.config.reader_token_max_days,
                by=v.scope,
            )
        )
    except AuthError as exc:
        raise BadRequestError(str(exc)) from None
    return await _shown_once(
        request, v, ctx, new_token=token, token_user=username, token_id=token_id
    )


@router.post("/admin/tokens/revoke")
async def revoke_token(request: Request, v: Admin, ctx: Ctx) -> Response:
    form = await _admin_form(request, v)
    text = str(form.get("token_id") or "").strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 18):
        raise BadRequestError(f"token id {text[:20]!r}: a number, as the list shows it")
    try:
        await run_in_threadpool(
            ctx.services.readers.revoke, int(text), v.session.user.username, v.scope
        )
    except AuthError as exc:
        raise BadRequestError(str(exc)) from None
    return RedirectResponse("/admin/users", status_code=303)
