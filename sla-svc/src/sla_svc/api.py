"""sla HTTP routes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from bancheng_shared.app import runtime_of
from bancheng_shared.auth import Principal, Role, require
from bancheng_shared.runtime import Runtime
from sla_svc import service

router = APIRouter(prefix="/v1", tags=["clocks"])


@router.get("/clocks/{ticket_no}", summary="工单时限与预警 / A ticket's clocks, deadlines and alert level")
async def get_clock(
    ticket_no: str, rt: Runtime = Depends(runtime_of),
    _who: Principal = Depends(require(Role.work_team, Role.unit, Role.operator, Role.inspector,
                                      Role.supervision_office, Role.leader)),
) -> dict[str, Any]:
    return await service.get_clock(rt, ticket_no)
