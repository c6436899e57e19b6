"""Readiness as JSON, for people who log in (viewer and up) and their tools: an agent's
token, or no session at all, reads nothing (401)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool

from collector.api.deps import Ctx, require
from collector.service.accounts import Role

router = APIRouter(
    prefix="/api/v1", tags=["readiness"], dependencies=[Depends(require(Role.VIEWER))]
)


@router.get("/summary")
async def summary(ctx: Ctx) -> dict[str, Any]:
    """National summary: colour counts overall and by province (KH02 green coverage)."""
    return await run_in_threadpool(ctx.services.readiness.summary)


@router.get("/communes/{code}")
async def commune(code: str, ctx: Ctx) -> dict[str, Any]:
    """One commune: colour, each criterion with status, reason, evidence and since when."""
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
        "criteria": state.criteria,
    }
