"""User management for admins: the list of users and the audit log, adding a user."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from collector.api.deps import Admin, Ctx
from collector.api.web import session as sess
from collector.api.web.render import page, page_router
from collector.domain.errors import BadRequestError
from collector.service.accounts import AuthError, Role

router = page_router()


@router.get("/admin/users")
def users(request: Request, v: Admin, ctx: Ctx) -> Response:
    return page(
        request,
        "users.html",
        v.lang,
        visitor=v,
        users=ctx.accounts.list_users(),
        audit=ctx.accounts.audit_entries(limit=50),
        roles=[r.value for r in Role],
    )


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
