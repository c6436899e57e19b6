"""The readiness pages: nation -> province -> commune, search, coverage history.

Every page needs a login (viewer or above): without one, a redirect to the login form; with
an agent's bearer token, 401 (collector/api/deps.py, collector/api/handlers.py). A person
scoped to provinces sees only those: the national page and search list only their
provinces' rows, another province's page or commune is refused (403, by ``require``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import Response

from collector.api.deps import ApiContext, Ctx, Viewer, Visitor
from collector.api.web.render import page, page_router
from collector.criteria.catalogue import Kind
from collector.domain.errors import NotFoundError
from collector.domain.periods import PeriodError, resolve
from collector.domain.scope import Scope
from collector.domain.units import fold
from collector.reports.fmt import TIME_ZONE
from collector.reports.i18n import texts
from collector.reports.model import NOT_MET, CriterionInfo, ReadinessReport, build_report
from collector.reports.period import PeriodDay, build_period_report, fmt_day
from collector.service.history import NATION

router = page_router()
_SORT_KEYS = ("code", "name", "communes", "green", "yellow", "red", "grey", "green_ratio")
_COLOUR_ORDER = {"red": 0, "yellow": 1, "grey": 2, "green": 3}


def by_id(report: ReadinessReport) -> dict[str, CriterionInfo]:
    """The catalogue of a report by criterion id, for names beside ids (templates/_crit.html)."""
    return {c.id: c for c in report.catalogue}


@router.get("/")
def nation(
    request: Request,
    v: Viewer,
    ctx: Ctx,
    sort: str = "green_ratio",
    dir: str = "asc",  # noqa: A002
) -> Response:
    report = build_report(ctx.services, "national", lang=v.lang, within=v.scope)
    key = sort if sort in _SORT_KEYS else "green_ratio"
    rows = sorted(report.provinces, key=lambda p: getattr(p, key), reverse=dir == "desc")
    return page(
        request,
        "nation.html",
        v.lang,
        visitor=v,
        report=report,
        criteria=by_id(report),
        rows=rows,
        sort=key,
        dir="desc" if dir == "desc" else "asc",
    )


@router.get("/province/{code}")
def province(
    request: Request, code: str, v: Viewer, ctx: Ctx, colour: str = "", criterion: str = ""
) -> Response:
    report = build_report(ctx.services, "province", code, lang=v.lang)  # unknown code: 404
    rows = report.communes
    if colour in ("green", "yellow", "red", "grey"):
        rows = [r for r in rows if r.colour == colour]
    cid = (
        criterion
        if criterion in {c.id for c in ctx.services.rules.current().catalogue.criteria}
        else ""
    )
    if cid:
        rows = [r for r in rows if r.statuses[cid] in NOT_MET]
    rows = sorted(rows, key=lambda r: (_COLOUR_ORDER.get(r.colour, 9), r.code))
    return page(
        request,
        "province.html",
        v.lang,
        visitor=v,
        report=report,
        criteria=by_id(report),
        rows=rows,
        colour_filter=colour,
        criterion_filter=cid,
    )


@router.get("/commune/{code}")
def commune(request: Request, code: str, v: Viewer, ctx: Ctx, saved: str = "") -> Response:
    report = build_report(ctx.services, "commune", code, lang=v.lang, with_history=False)
    attested = [
        c.id for c in ctx.services.rules.current().catalogue.criteria if c.kind is Kind.ATTESTED
    ]
    return page(
        request,
        "commune.html",
        v.lang,
        visitor=v,
        report=report,
        criteria=by_id(report),
        row=report.communes[0],
        attested_ids=attested,
        audit=ctx.accounts.audit_entries(limit=20, target=code),
        saved=bool(saved),
    )


@router.get("/search")
def search(request: Request, v: Viewer, ctx: Ctx, q: str = "") -> Response:
    units = ctx.services.units
    needle = fold(q.strip())
    hits = []
    if needle:
        for c in units.communes.values():
            if not v.scope.has_province(c.province_code):
                continue
            if needle == c.code or needle in fold(c.name):
                hits.append(c)
            if len(hits) >= 100:
                break
    states = {}
    for pcode in {c.province_code for c in hits}:
        for s in ctx.services.readiness.commune_states(pcode):
            states[s.code] = s.colour.value
    return page(
        request,
        "search.html",
        v.lang,
        visitor=v,
        q=q,
        hits=hits,
        colours=states,
        provinces=units.provinces,
    )


@router.get("/history")
def history(
    request: Request,
    v: Viewer,
    ctx: Ctx,
    scope: str = "",
    start: Annotated[str, Query(alias="from")] = "",
    end: Annotated[str, Query(alias="to")] = "",
) -> Response:
    # the nation by default; a provincial person's first province (require checked a given one)
    scope = scope or (NATION if v.scope.national else min(v.scope.provinces))
    provinces = {
        code: p for code, p in ctx.services.units.provinces.items() if v.scope.has_province(code)
    }
    if scope != NATION and scope not in provinces:
        raise NotFoundError(f"unknown province code {scope!r}")
    rows = ctx.services.history.history(scope, limit=500)
    label = texts(v.lang)["nation"] if scope == NATION else provinces[scope].name
    return page(
        request,
        "history.html",
        v.lang,
        visitor=v,
        rows=rows,
        scope=scope,
        label=label,
        provinces=provinces,
        national=v.scope.national,
        chart=_chart(rows),
        **_period(ctx, v, scope, start, end),
    )


def _period(ctx: ApiContext, v: Visitor, scope: str, start: str, end: str) -> dict[str, Any]:
    """The period part of /history: the period report of the scope (the last complete month
    unless ``from`` and ``to`` are given) and its chart, or the words that refuse the dates."""
    today = ctx.services.clock().astimezone(TIME_ZONE).date()
    try:
        # the last complete month unless both days are given
        period = resolve(today, kind="month") if not (start or end) else resolve(today, start, end)
    except PeriodError as exc:
        return {"period_error": exc.message, "period": None, "start": start, "end": end}
    within = v.scope if scope == NATION else Scope.of([scope])
    report = build_period_report(
        ctx.services,
        "national" if scope == NATION else "province",
        None if scope == NATION else scope,
        period,
        lang=v.lang,
        within=within,
        ready_share=ctx.config.reports.ready_share,
    )
    return {
        "period_error": "",
        "period": report,
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "day_chart": _day_chart(report.days),
        "fmt_day": fmt_day,
    }


def _day_chart(days: list[PeriodDay], w: int = 600, h: int = 160) -> dict[str, Any]:
    """Points of an inline SVG line of the green coverage (0-100 %) of each working day, the
    days placed by date (a weekend is a gap in time, not a point)."""
    if len(days) < 2:
        return {"w": w, "h": h, "points": "", "dots": []}
    d0 = days[0].day.toordinal()
    span = max(days[-1].day.toordinal() - d0, 1)
    dots = [
        (
            round((d.day.toordinal() - d0) / span * (w - 20) + 10, 1),
            round(h - 10 - d.coverage * (h - 20), 1),
            d,
        )
        for d in days
    ]
    return {"w": w, "h": h, "points": " ".join(f"{x},{y}" for x, y, _ in dots), "dots": dots}


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
