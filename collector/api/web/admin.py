"""User management for admins: the list of users and the audit log, adding a user, and
disabling, enabling, resetting the password of and ending the sessions of one (each
audited with the admin as actor). A generated password is shown once, on the answer to
the form, which no cache keeps."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from collector.api.deps import Admin, Ctx
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
        users=ctx.accounts.list_users(),
        audit=ctx.accounts.audit_entries(limit=50),
        roles=[r.value for r in Role],
        **extra,
    )


@router.get("/admin/users")
def users(request: Request, v: Admin, ctx: Ctx) -> Response:
    return _users_page(request, v, ctx)


@router.post("/admin/users")
async def add_user(request: Request, v: Admin, ctx: Ctx) -> Response:
    form = await request.form(max_files=0, max_fields=10)
    if not sess.same_token(v.session.csrf_token, str(form.get("csrf") or "")):
        raise BadRequestError("CSRF")
    try:
        await run_in_threadpool(
            ctx.accounts.add_user,
            str(form.get("username") or ""),
            str(form.get("password") or ""),
            str(form.get("role") or ""),
            v.session.user.username,
        )
    except AuthError as exc:
        raise BadRequestError(str(exc)) from None
    return RedirectResponse("/admin/users", status_code=303)


_ACTIONS = ("disable", "enable", "reset-password", "end-sessions")


def _apply(ctx: Ctx, action: str, username: str, password: str | None, actor: str) -> str | None:
    """One of the admin's changes to a user; the new password for reset-password."""
    accounts = ctx.accounts
    if action == "disable" and username == actor:
        raise AuthError("an admin cannot disable their own account")
    if action in ("disable", "enable"):
        accounts.set_disabled(username, action == "disable", actor)
    elif action == "end-sessions":
        accounts.end_sessions(username, actor)
    else:
        return accounts.reset_password(username, password, actor)
    return None


@router.post("/admin/users/manage")
async def manage_user(request: Request, v: Admin, ctx: Ctx) -> Response:
    form = await request.form(max_files=0, max_fields=10)
    if not sess.same_token(v.session.csrf_token, str(form.get("csrf") or "")):
        raise BadRequestError("CSRF")
    action = str(form.get("action") or "")
    username = str(form.get("username") or "").strip().lower()
    if action not in _ACTIONS:
        raise BadRequestError(f"action {action!r}: expected one of {', '.join(_ACTIONS)}")
    given = str(form.get("password") or "") or None
    try:
        password = await run_in_threadpool(
            _apply, ctx, action, username, given, v.session.user.username
        )
    except AuthError as exc:
        raise BadRequestError(str(exc)) from None
    if password is None or given is not None:
        return RedirectResponse("/admin/users", status_code=303)
    resp = await run_in_threadpool(
        _users_page, request, v, ctx, new_password=password, reset_user=username
    )
    resp.headers["Cache-Control"] = "no-store"
    return resp
