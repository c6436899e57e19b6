"""Readiness as JSON, for people who log in (viewer and up) and their tools with a reader
token (``Authorization: Bearer``): an agent's token, or no credential at all, reads
nothing (401). A person scoped to provinces reads only
theirs: the summary counts only their provinces, another province's commune is 403."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool

from collector.api.deps import Ctx, Reader, require
from collector.api.openapi import raises
from collector.criteria.catalogue import level_table
from collector.domain.units import UnknownUnitError
from collector.reports.evidence import LevelTable, sentences
from collector.service.accounts import Role

router = APIRouter(
    prefix="/api/v1",
    tags=["readiness"],
    dependencies=[Depends(require(Role.VIEWER, tokens=True))],
)


@router.get("/summary")
async def summary(v: Reader, ctx: Ctx) -> dict[str, Any]:
    """National summary: colour counts overall and by province (KH02 green coverage); for a
    person scoped to provinces, of those provinces only."""
    return await run_in_threadpool(ctx.services.readiness.summary, v.scope)


@router.get("/communes/{code}", responses=raises(UnknownUnitError))
async def commune(code: str, ctx: Ctx) -> dict[str, Any]:
    """One commune: colour, each criterion with status, reason, evidence (as measured, and in
    words: one sentence per host in ``evidence_vi`` and ``evidence_en``; a stale host's items
    marked ``stale_since``) and since when, and its hosts: fresh, stale or retired."""
    services = ctx.services
    state = await run_in_threadpool(services.readiness.settled_state, code)
    info = services.units.commune(code)
    return {
        "code": code,
        "name": info.name,
        "kind": info.kind,
        "province_code": info.province_code,
        "province": services.units.provinces[info.province_code].name,
        "colour": state.colour.value,
        "last_report_at": state.last_report_at.isoformat() if state.last_report_at else None,
        "off_hours": state.off_hours,
        "criteria": _with_sentences(
            state.criteria, level_table(services.rules.current().catalogue)
        ),
        # fresh, stale (its last findings still counting) or retired, since when
        "hosts": [h.to_json() for h in await run_in_threadpool(services.hosts.of_commune, code)],
    }


def _with_sentences(criteria: dict[str, Any], levels: LevelTable) -> dict[str, Any]:
    """Each criterion as stored, with its evidence in words beside the items: one sentence
    per host in Vietnamese (``evidence_vi``) and English (``evidence_en``)."""
    return {
        cid: {
            **item,
            "evidence_vi": sentences(item.get("evidence") or [], "vi", levels),
            "evidence_en": sentences(item.get("evidence") or [], "en", levels),
        }
        for cid, item in criteria.items()
    }
