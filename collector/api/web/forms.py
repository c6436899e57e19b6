"""The operators' forms: attestations (with an evidence file) and waivers of a commune, and
retiring one of its silent hosts.

An operator (or admin) session is needed, and the session's CSRF token in the form; a
refusal (unknown commune, bad input, an upload over the limit, a wrong token) is the error
page with its status, and nothing is stored.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from collector.api.deps import Ctx, Operator, Visitor
from collector.api.web import session as sess
from collector.api.web.render import page_router
from collector.domain.errors import BadRequestError
from collector.service.attestations import MAX_FILE_BYTES, EvidenceFile

router = page_router()
#: Whole form body limit (the evidence file is limited separately, to 2 MiB).
MAX_FORM_BYTES = MAX_FILE_BYTES + 256 * 1024


@router.post("/commune/{code}/attestations")
async def add_attestation(request: Request, code: str, v: Operator, ctx: Ctx) -> Response:
    ctx.services.units.commune(code)  # unknown code: 404
    form = await _form(request, v)
    upload = form.get("file")
    file = None
    if isinstance(upload, UploadFile) and upload.filename:
        data = await upload.read(MAX_FILE_BYTES + 1)
        file = EvidenceFile(
            upload.filename[:255], upload.content_type or "application/octet-stream", data
        )
    await run_in_threadpool(
        lambda: ctx.services.attestations.record_attestation(
            commune=code,
            criterion=str(form.get("criterion") or ""),
            status=str(form.get("status") or "pass"),
            evidence=str(form.get("evidence") or ""),
            actor=v.session.user.username,
            valid_days=_days(form.get("valid_days")),
            file=file,
        )
    )
    return RedirectResponse(f"/commune/{code}?saved=1", status_code=303)


@router.post("/commune/{code}/waivers")
async def add_waiver(request: Request, code: str, v: Operator, ctx: Ctx) -> Response:
    ctx.services.units.commune(code)  # unknown code: 404
    form = await _form(request, v)
    days = _days(form.get("valid_days"))
    await run_in_threadpool(
        lambda: ctx.services.attestations.record_waiver(
            commune=code,
            criterion=str(form.get("criterion") or ""),
            reason=str(form.get("reason") or ""),
            actor=v.session.user.username,
            valid_days=days if days is not None else 30,
        )
    )
    return RedirectResponse(f"/commune/{code}?saved=1", status_code=303)


@router.post("/commune/{code}/hosts/retire")
async def retire_host(request: Request, code: str, v: Operator, ctx: Ctx) -> Response:
    """Retire a stale host (``host``: its agent id or name): it no longer counts in the
    commune, evaluated again at once; audited (docs/CRITERIA.md, "Silent hosts")."""
    ctx.services.units.commune(code)  # unknown code: 404
    form = await _form(request, v)
    host = str(form.get("host") or "").strip()
    if not host:
        raise BadRequestError("no host named")
    await run_in_threadpool(ctx.services.hosts.retire, code, host, actor=v.session.user.username)
    return RedirectResponse(f"/commune/{code}?saved=1", status_code=303)


async def _form(request: Request, v: Visitor) -> Any:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_FORM_BYTES:
        raise BadRequestError(
            f"upload of {declared} bytes is over the limit "
            f"({MAX_FILE_BYTES // (1024 * 1024)} MiB per file)"
        )
    form = await request.form(max_files=1, max_fields=20)
    if not sess.same_token(v.session.csrf_token, str(form.get("csrf") or "")):
        raise BadRequestError("CSRF token missing or wrong: reload the page and try again")
    return form


def _days(value: Any) -> int | None:
    text = str(value or "").strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > 6:
        raise BadRequestError(f"validity {text[:20]!r}: a whole number of days")
    return int(text)
