"""triage HTTP routes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from bancheng_shared.app import correlation_id, runtime_of
from bancheng_shared.auth import Principal, Role, require
from bancheng_shared.runtime import Runtime
from triage_svc import service

router = APIRouter(prefix="/v1")
READERS = (Role.work_team, Role.unit, Role.inspector, Role.supervision_office, Role.leader, Role.operator)


@router.get("/units", tags=["directory"], summary="组织目录 / List units of the org directory")
async def list_units(
    level: int | None = Query(default=None, ge=1, le=4),
    kind: str | None = None,
    region: str | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
    rt: Runtime = Depends(runtime_of),
    _who: Principal = Depends(require(*READERS)),
) -> list[dict[str, Any]]:
    return await service.list_units(rt, level=level, kind=kind, region=region, limit=limit)


@router.get("/work-orders/{ticket_no}", tags=["work-orders"], summary="查看工单 / Get a work order")
async def get_work_order(
    ticket_no: str, rt: Runtime = Depends(runtime_of), who: Principal = Depends(require(*READERS))
) -> dict[str, Any]:
    return await service.get_work_order(rt, ticket_no, who)


@router.post("/work-orders/{ticket_no}/sign", tags=["work-orders"], summary="签收 / Sign for a work order")
async def sign(
    ticket_no: str, request: Request, rt: Runtime = Depends(runtime_of),
    who: Principal = Depends(require(Role.unit, Role.work_team)),
) -> dict[str, Any]:
    return await service.sign(rt, ticket_no, who, correlation_id(request))
