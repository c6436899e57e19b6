"""Downloads for logged-in officials: readiness reports (PDF, XLSX, CSV), evidence files."""

from __future__ import annotations

from fastapi.responses import Response

from collector.api.deps import Ctx, Viewer
from collector.api.web.render import page_router
from collector.domain.errors import BadRequestError, NotFoundError
from collector.reports import FORMATS, MEDIA_TYPES, filename, render
from collector.reports.model import ReportError, build_report

router = page_router()


@router.get("/reports")
def report(
    v: Viewer,
    ctx: Ctx,
    scope: str = "national",
    code: str = "",
    format: str = "pdf",  # noqa: A002
) -> Response:
    if format not in FORMATS:
        raise BadRequestError(f"format {format!r}: {', '.join(FORMATS)}")
    try:
        rep = build_report(ctx.services, scope, code or None, lang=v.lang)  # unknown code: 404
    except ReportError as exc:
        raise BadRequestError(str(exc)) from None
    name = filename(rep, format)
    return Response(
        render(rep, format),
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/evidence/{file_id}")
def evidence(file_id: int, _v: Viewer, ctx: Ctx) -> Response:
    found = ctx.services.attestations.evidence_file(file_id)
    if found is None:
        raise NotFoundError(f"no evidence file {file_id}")
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
