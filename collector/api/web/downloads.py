"""Downloads for logged-in officials: readiness reports (PDF, XLSX, CSV), evidence files.

Every download names its file in ``Content-Disposition`` twice (RFC 6266): ``filename*``,
the exact name in UTF-8 (RFC 5987), which browsers use; and ``filename``, an ASCII
rendering of it (diacritics dropped, other characters replaced by ``_``) for the programs
that read only that. A name may hold any character: "Quyết định số 118.pdf", Chinese,
emoji; control characters and path separators never reach the header.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated
from urllib.parse import quote

from fastapi import Query
from fastapi.responses import Response

from collector.api.deps import ApiContext, Ctx, Reader, Viewer, Visitor
from collector.api.web.render import page_router
from collector.domain.errors import BadRequestError, NotFoundError
from collector.domain.periods import resolve
from collector.reports import (
    FORMATS,
    MEDIA_TYPES,
    build_period_report,
    filename,
    period_filename,
    render,
    render_period,
)
from collector.reports.cells import clean
from collector.reports.fmt import TIME_ZONE
from collector.reports.i18n import t
from collector.reports.model import ReportError, build_report

router = page_router()

#: The largest row id the database holds (a signed 64-bit integer).
MAX_ROW_ID = 2**63 - 1
_NOT_ASCII_SAFE = re.compile(r"[^A-Za-z0-9._() -]+")


def row_id(text: str) -> int | None:
    """``text`` as a row id (1 .. 2^63 - 1), or None when it cannot name a row: not plain
    ASCII digits, zero, or past what the database holds."""
    if not (text.isascii() and text.isdigit()) or len(text.lstrip("0")) > 19:
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ROW_ID else None


def ascii_filename(name: str, default: str = "download") -> str:
    """An ASCII rendering of a file name: "Quyết định số 118.pdf" -> "Quyet dinh so 118.pdf";
    ``default`` (with the name's extension) when nothing of the name is left."""
    name = name.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    fallback = _NOT_ASCII_SAFE.sub("_", plain).strip(" .")
    stem, dot, ext = fallback.rpartition(".")
    if not (stem if dot else ext).strip("_ "):
        return default + (f".{ext}" if dot and ext.strip("_") else "")
    return fallback


def content_disposition(name: str, default: str = "download") -> str:
    """``attachment`` with the file's exact name (``filename*``) and an ASCII fallback."""
    name = " ".join(clean(name).replace("/", "_").replace("\\", "_").split()) or default
    exact = quote(name, safe="")
    return f"attachment; filename=\"{ascii_filename(name, default)}\"; filename*=UTF-8''{exact}"


@router.get("/reports")
def report(
    v: Reader,
    ctx: Ctx,
    scope: str = "national",
    code: str = "",
    format: str = "pdf",  # noqa: A002
    start: Annotated[str, Query(alias="from")] = "",
    end: Annotated[str, Query(alias="to")] = "",
    period: str = "",
    of: str = "",
) -> Response:
    """The readiness report of now; with ``from`` and ``to`` (or ``period`` month|quarter
    and ``of``) the period report (collector/reports/period.py)."""
    if format not in FORMATS:
        raise BadRequestError(f"format {format!r}: {', '.join(FORMATS)}")
    if start or end or period or of:
        return _period_report(v, ctx, scope, code, format, (start, end, period or None, of))
    try:
        # unknown code: 404; a provincial person's "national" report holds their provinces
        rep = build_report(ctx.services, scope, code or None, lang=v.lang, within=v.scope)
    except ReportError as exc:
        raise BadRequestError(str(exc)) from None
    return Response(
        render(rep, format, ctx.config.reports),
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": content_disposition(filename(rep, format))},
    )


def _period_report(
    v: Visitor,
    ctx: ApiContext,
    scope: str,
    code: str,
    fmt: str,
    options: tuple[str, str, str | None, str],
) -> Response:
    """A period report download; bad dates are refused in words (422)."""
    today = ctx.services.clock().astimezone(TIME_ZONE).date()
    start, end, kind, of = options
    span = resolve(today, start or None, end or None, kind, of or None)
    try:
        rep = build_period_report(
            ctx.services,
            scope,
            code or None,
            span,
            lang=v.lang,
            within=v.scope,
            ready_share=ctx.config.reports.ready_share,
        )
    except ReportError as exc:
        raise BadRequestError(str(exc)) from None
    return Response(
        render_period(rep, fmt, ctx.config.reports),
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": content_disposition(period_filename(rep, fmt))},
    )


@router.get("/evidence/{file_id}")
def evidence(file_id: str, v: Viewer, ctx: Ctx) -> Response:
    number = row_id(file_id)
    found = None if number is None else ctx.services.attestations.evidence_file(number)
    if found is None:
        raise NotFoundError(t(v.lang, "no_evidence_file").format(id=file_id[:40]))
    f, commune = found
    v.scope.check_commune(ctx.services.units, commune)
    return Response(
        f.data,
        media_type=f.content_type,
        headers={
            "Content-Disposition": content_disposition(f.filename, default="evidence"),
            "X-Content-Type-Options": "nosniff",
        },
    )
