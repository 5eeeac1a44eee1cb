"""oversight HTTP routes."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Query

from bancheng_shared.app import runtime_of
from bancheng_shared.auth import Principal, Role, require
from bancheng_shared.problems import Problem
from bancheng_shared.runtime import Runtime
from oversight_svc import service

router = APIRouter(prefix="/v1", tags=["stats"])


@router.get("/stats/units", summary="单位统计 / Per-unit statistics for a period")
async def unit_stats(
    start: date = Query(alias="from"),
    end: date = Query(alias="to"),
    unit: str | None = None,
    rt: Runtime = Depends(runtime_of),
    who: Principal = Depends(require(Role.leader, Role.inspector, Role.supervision_office,
                                     Role.business_environment, Role.work_team, Role.unit)),
) -> list[dict[str, Any]]:
    if end < start:
        raise Problem(422, "to: must not be before from", type_="validation")
    if who.role == Role.unit:
        unit = who.unit_code
    return await service.unit_stats(rt, start, end, unit)
