"""The pages: nation → province → commune, search, coverage history, reports, forms.

Handlers are plain ``def`` so FastAPI runs their database reads in its thread pool.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from collector import attest
from collector.api.ratelimit import TokenBucket, client_key, retry_after
from collector.api.web import session as sess
from collector.auth import SESSION_TTL, Accounts, AuthError, Role
from collector.criteria.catalogue import Kind
from collector.reports import FORMATS, MEDIA_TYPES, filename, render
from collector.reports import history as hist
from collector.reports.i18n import (
    colour_label,
    ict,
    kind_label,
    severity_label,
    status_label,
    texts,
)
from collector.reports.model import (
    NOT_MET,
    ReportError,
    build_report,
    evidence_text,
)
from collector.reports.states import light_states
from collector.store import Store, StoreError
from collector.units import UnknownUnitError, fold

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
STATIC = Path(__file__).resolve().parents[2] / "static"
#: Whole form body limit (the evidence file is limited separately, to 2 MiB).
MAX_FORM_BYTES = attest.MAX_FILE_BYTES + 256 * 1024
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
_SORT_KEYS = ("code", "name", "communes", "green", "yellow", "red", "grey", "green_ratio")


def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["ict"] = lambda dt: (
        ict(dt) if isinstance(dt, datetime) else (ict(datetime.fromisoformat(dt)) if dt else "")
    )
    env.filters["pct"] = lambda x: f"{x * 100:.1f} %"
    env.filters["evidence"] = evidence_text
    return env


def make_router(
    store: Store,
    accounts: Accounts | None = None,
    *,
    login_limit: TokenBucket | None = None,
    on_limited: Any = None,
) -> APIRouter:
    """Pages and report downloads over ``store``; users and sessions in the same database.

    ``login_limit`` slows password guessing: each failed login takes a token of the client
    address's bucket, and an empty bucket answers 429 (counted in ``on_limited``, the
    ``ioc_rate_limited_requests_total`` counter) until it refills.
    """
    accounts = accounts or Accounts(store.engine, clock=store.clock)
    login_limit = login_limit or TokenBucket(0, 1)
    env = _env()
    router = APIRouter(include_in_schema=False)
    criteria = store.catalogue.criteria
    attested_ids = [c.id for c in criteria if c.kind is Kind.ATTESTED]

    def page(
        request: Request,
        template: str,
        lang: str,
        status_code: int = 200,
        visitor: sess.Visitor | None = None,
        **ctx: Any,
    ) -> HTMLResponse:
        def with_lang(code: str) -> str:
            q = dict(request.query_params)
            q["lang"] = code
            return f"{request.url.path}?{urlencode(q)}"

        html = env.get_template(template).render(
            T=texts(lang),
            lang=lang,
            me=visitor,
            Role=Role,
            lang_url=with_lang,
            colour=lambda c: colour_label(lang, c),
            status=lambda s: status_label(lang, s),
            severity=lambda s: severity_label(lang, s),
            kind=lambda k: kind_label(lang, k),
            **ctx,
        )
        resp = HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
        return sess.remember_language(request, resp)  # type: ignore[return-value]

    def error(request: Request, lang: str, code: int, message: str, v: Any = None) -> Response:
        title = texts(lang)["not_found" if code == 404 else "forbidden" if code == 403 else "error"]
        return page(request, "error.html", lang, code, v, title=title, message=message)

    def who(request: Request, needed: Role = Role.VIEWER) -> sess.Visitor | Response:
        v = sess.visitor(request, accounts, Role.VIEWER)
        if isinstance(v, sess.Visitor) and not v.can(needed):
            msg = {
                "vi": f"Cần vai trò {needed.value}; tài khoản của bạn là {v.role.value}.",
                "en": f"Needs the {needed.value} role; your account is {v.role.value}.",
            }[v.lang]
            return error(request, v.lang, 403, msg, v)
        return v

    # ------------------------------------------------------------------ static, login
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
    async def login(request: Request) -> Response:
        lang = sess.language(request)
        form = await request.form(max_files=0, max_fields=10)
        token = request.cookies.get(sess.LOGIN_CSRF_COOKIE)
        target = sess.safe_next(str(form.get("next") or "/"))
        if not sess.same_token(token, str(form.get("csrf") or "")):
            return error(request, lang, 400, texts(lang)["error"] + ": CSRF")
        key = client_key(request.client.host if request.client else None)
        wait = login_limit.wait_s(key)
        result = None
        if not wait:
            result = await run_in_threadpool(
                accounts.login, str(form.get("username") or ""), str(form.get("password") or "")
            )
            if result is None:
                login_limit.spend(key)
        if result is None:
            new = sess.login_csrf(request)
            resp = page(
                request,
                "login.html",
                lang,
                429 if wait else 401,
                csrf=new,
                next=target,
                failed=not wait,
                throttled=retry_after(wait) if wait else None,
                username=str(form.get("username") or "")[:64],
            )
            sess.set_login_csrf(request, resp, new)
            if wait:
                resp.headers["Retry-After"] = retry_after(wait)
                if on_limited is not None:
                    on_limited.labels(endpoint="login").inc()
            return resp
        cookie, _ = result
        done = RedirectResponse(target, status_code=303)
        sess.set_session_cookie(request, done, cookie, int(SESSION_TTL.total_seconds()))
        done.delete_cookie(sess.LOGIN_CSRF_COOKIE)
        return done

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        v = await run_in_threadpool(who, request)
        if isinstance(v, Response):
            return v
        form = await request.form(max_files=0, max_fields=5)
        if not sess.same_token(v.session.csrf_token, str(form.get("csrf") or "")):
            return error(request, v.lang, 400, "CSRF", v)
        await run_in_threadpool(accounts.logout, request.cookies.get(sess.SESSION_COOKIE))
        resp = RedirectResponse("/login", status_code=303)
        resp.delete_cookie(sess.SESSION_COOKIE, path="/")
        return resp

    # ------------------------------------------------------------------ readiness pages
    @router.get("/")
    def nation(request: Request, sort: str = "green_ratio", dir: str = "asc") -> Response:  # noqa: A002
        v = who(request)
        if isinstance(v, Response):
            return v
        report = build_report(store, "national", lang=v.lang)
        key = sort if sort in _SORT_KEYS else "green_ratio"
        rows = sorted(report.provinces, key=lambda p: getattr(p, key), reverse=dir == "desc")
        return page(
            request,
            "nation.html",
            v.lang,
            visitor=v,
            report=report,
            rows=rows,
            sort=key,
            dir="desc" if dir == "desc" else "asc",
        )

    @router.get("/province/{code}")
    def province(request: Request, code: str, colour: str = "", criterion: str = "") -> Response:
        v = who(request)
        if isinstance(v, Response):
            return v
        try:
            report = build_report(store, "province", code, lang=v.lang)
        except UnknownUnitError as exc:
            return error(request, v.lang, 404, str(exc), v)
        rows = report.communes
        if colour in ("green", "yellow", "red", "grey"):
            rows = [r for r in rows if r.colour == colour]
        cid = criterion if criterion in {c.id for c in criteria} else ""
        if cid:
            rows = [r for r in rows if r.statuses[cid] in NOT_MET]
        order = {"red": 0, "yellow": 1, "grey": 2, "green": 3}
        rows = sorted(rows, key=lambda r: (order.get(r.colour, 9), r.code))
        return page(
            request,
            "province.html",
            v.lang,
            visitor=v,
            report=report,
            rows=rows,
            colour_filter=colour,
            criterion_filter=cid,
        )

    @router.get("/commune/{code}")
    def commune(request: Request, code: str, saved: str = "") -> Response:
        v = who(request)
        if isinstance(v, Response):
            return v
        try:
            report = build_report(store, "commune", code, lang=v.lang, with_history=False)
        except UnknownUnitError as exc:
            return error(request, v.lang, 404, str(exc), v)
        return page(
            request,
            "commune.html",
            v.lang,
            visitor=v,
            report=report,
            row=report.communes[0],
            attested_ids=attested_ids,
            audit=accounts.audit_entries(limit=20, target=code),
            saved=bool(saved),
        )

    @router.get("/search")
    def search(request: Request, q: str = "") -> Response:
        v = who(request)
        if isinstance(v, Response):
            return v
        needle = fold(q.strip())
        hits = []
        if needle:
            for c in store.units.communes.values():
                if needle == c.code or needle in fold(c.name):
                    hits.append(c)
                if len(hits) >= 100:
                    break
        states = {}
        for pcode in {c.province_code for c in hits}:
            for s in light_states(store, pcode):
                states[s.code] = s.colour.value
        return page(
            request,
            "search.html",
            v.lang,
            visitor=v,
            q=q,
            hits=hits,
            colours=states,
            provinces=store.units.provinces,
        )

    @router.get("/history")
    def history(request: Request, scope: str = hist.NATION) -> Response:
        v = who(request)
        if isinstance(v, Response):
            return v
        if scope != hist.NATION and scope not in store.units.provinces:
            return error(request, v.lang, 404, f"unknown province code {scope!r}", v)
        rows = hist.history(store, scope, limit=500)
        label = (
            texts(v.lang)["nation"] if scope == hist.NATION else store.units.provinces[scope].name
        )
        return page(
            request,
            "history.html",
            v.lang,
            visitor=v,
            rows=rows,
            scope=scope,
            label=label,
            provinces=store.units.provinces,
            chart=_chart(rows),
        )

    @router.get("/reports")
    def report(
        request: Request,
        scope: str = "national",
        code: str = "",
        format: str = "pdf",  # noqa: A002
    ) -> Response:
        v = who(request)
        if isinstance(v, Response):
            return v
        if format not in FORMATS:
            return error(request, v.lang, 400, f"format {format!r}: {', '.join(FORMATS)}", v)
        try:
            rep = build_report(store, scope, code or None, lang=v.lang)
        except UnknownUnitError as exc:
            return error(request, v.lang, 404, str(exc), v)
        except ReportError as exc:
            return error(request, v.lang, 400, str(exc), v)
        name = filename(rep, format)
        return Response(
            render(rep, format),
            media_type=MEDIA_TYPES[format],
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @router.get("/evidence/{file_id}")
    def evidence(request: Request, file_id: int) -> Response:
        v = who(request)
        if isinstance(v, Response):
            return v
        found = attest.evidence_file(store, file_id)
        if found is None:
            return error(request, v.lang, 404, f"no evidence file {file_id}", v)
        f, _commune = found
        safe = "".join(ch for ch in f.filename if ch.isalnum() or ch in "._- ") or "evidence"
        return Response(
            f.data,
            media_type=f.content_type,
            headers={
                "Content-Disposition": f'attachment; filename="{safe}"',
                "X-Content-Type-Options": "nosniff",
            },
        )

    # ------------------------------------------------------------------ operator forms
    async def _form(request: Request, v: sess.Visitor) -> Any:
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > MAX_FORM_BYTES:
            raise StoreError(
                f"upload of {declared} bytes is over the limit "
                f"({attest.MAX_FILE_BYTES // (1024 * 1024)} MiB per file)"
            )
        form = await request.form(max_files=1, max_fields=20)
        if not sess.same_token(v.session.csrf_token, str(form.get("csrf") or "")):
            raise StoreError("CSRF token missing or wrong: reload the page and try again")
        return form

    def _days(value: Any) -> int | None:
        text = str(value or "").strip()
        if not text:
            return None
        if not text.isdigit():
            raise StoreError(f"validity {text!r}: a whole number of days")
        return int(text)

    @router.post("/commune/{code}/attestations")
    async def add_attestation(request: Request, code: str) -> Response:
        v = await run_in_threadpool(who, request, Role.OPERATOR)
        if isinstance(v, Response):
            return v
        try:
            store.units.commune(code)
            form = await _form(request, v)
            upload = form.get("file")
            file = None
            if isinstance(upload, UploadFile) and upload.filename:
                data = await upload.read(attest.MAX_FILE_BYTES + 1)
                file = attest.EvidenceFile(
                    upload.filename[:255], upload.content_type or "application/octet-stream", data
                )
            await run_in_threadpool(
                lambda: attest.record_attestation(
                    store,
                    commune=code,
                    criterion=str(form.get("criterion") or ""),
                    status=str(form.get("status") or "pass"),
                    evidence=str(form.get("evidence") or ""),
                    actor=v.session.user.username,
                    valid_days=_days(form.get("valid_days")),
                    file=file,
                )
            )
        except UnknownUnitError as exc:
            return error(request, v.lang, 404, str(exc), v)
        except StoreError as exc:
            return error(request, v.lang, 400, exc.message, v)
        return RedirectResponse(f"/commune/{code}?saved=1", status_code=303)

    @router.post("/commune/{code}/waivers")
    async def add_waiver(request: Request, code: str) -> Response:
        v = await run_in_threadpool(who, request, Role.OPERATOR)
        if isinstance(v, Response):
            return v
        try:
            store.units.commune(code)
            form = await _form(request, v)
            days = _days(form.get("valid_days"))
            await run_in_threadpool(
                lambda: attest.record_waiver(
                    store,
                    commune=code,
                    criterion=str(form.get("criterion") or ""),
                    reason=str(form.get("reason") or ""),
                    actor=v.session.user.username,
                    valid_days=days if days is not None else 30,
                )
            )
        except UnknownUnitError as exc:
            return error(request, v.lang, 404, str(exc), v)
        except StoreError as exc:
            return error(request, v.lang, 400, exc.message, v)
        return RedirectResponse(f"/commune/{code}?saved=1", status_code=303)

    # ------------------------------------------------------------------ admin
    @router.get("/admin/users")
    def users(request: Request) -> Response:
        v = who(request, Role.ADMIN)
        if isinstance(v, Response):
            return v
        return page(
            request,
            "users.html",
            v.lang,
            visitor=v,
            users=accounts.list_users(),
            audit=accounts.audit_entries(limit=50),
            roles=[r.value for r in Role],
        )

    @router.post("/admin/users")
    async def add_user(request: Request) -> Response:
        v = await run_in_threadpool(who, request, Role.ADMIN)
        if isinstance(v, Response):
            return v
        form = await request.form(max_files=0, max_fields=10)
        if not sess.same_token(v.session.csrf_token, str(form.get("csrf") or "")):
            return error(request, v.lang, 400, "CSRF", v)
        try:
            await run_in_threadpool(
                accounts.add_user,
                str(form.get("username") or ""),
                str(form.get("password") or ""),
                str(form.get("role") or ""),
                v.session.user.username,
            )
        except AuthError as exc:
            return error(request, v.lang, 400, str(exc), v)
        return RedirectResponse("/admin/users", status_code=303)

    return router


def _chart(rows: list[dict[str, Any]], w: int = 600, h: int = 160) -> dict[str, Any]:
    """Points of an inline SVG line of the green ratio (0-100 %) over the snapshots."""
    if len(rows) < 2:
        return {"w": w, "h": h, "points": ""}
    t0 = rows[0]["taken_at"].timestamp()
    span = max(rows[-1]["taken_at"].timestamp() - t0, 1.0)
    pts = " ".join(
        f"{(r['taken_at'].timestamp() - t0) / span * (w - 20) + 10:.1f},"
        f"{h - 10 - r['green_ratio'] * (h - 20):.1f}"
        for r in rows
    )
    return {"w": w, "h": h, "points": pts}
