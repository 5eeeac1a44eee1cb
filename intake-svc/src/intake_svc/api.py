"""intake HTTP routes (thin: validate, authorise, call the use case)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Header, Request, Response

from bancheng_shared.app import correlation_id, runtime_of
from bancheng_shared.auth import Principal, Role, require
from bancheng_shared.runtime import Runtime
from intake_svc import service
from intake_svc.models import TicketCreate, TicketCreated

router = APIRouter(prefix="/v1", tags=["tickets"])


@router.post(
    "/tickets",
    status_code=201,
    response_model=TicketCreated,
    summary="登记诉求 / Register a request",
    description="任何渠道登记一件诉求，立即返回工单编号。相同 Idempotency-Key 或渠道编号重复提交返回首次结果。\n\n"
    "Register a request from any channel; returns the ticket number at once. A repeat with the same "
    "Idempotency-Key or channel id returns the first ticket (a different body under the same key is 409).",
)
async def create_ticket(
    body: TicketCreate,
    request: Request,
    response: Response,
    idempotency_key: str | None = Header(default=None, max_length=200),
    rt: Runtime = Depends(runtime_of),
    _who: Principal = Depends(require(Role.operator, Role.frontend, Role.platform)),
) -> TicketCreated:
    created = await service.register_ticket(rt, body, idempotency_key=idempotency_key,
                                            correlation_id=correlation_id(request))
    if created.replayed:
        response.status_code = 200
    response.headers["Location"] = f"/v1/tickets/{created.ticket_no}"
    return created


@router.get(
    "/tickets/{ticket_no}",
    summary="查询工单（话务员）/ Look up a ticket (operators)",
    description="工单全貌与时间线。/ The ticket with its full timeline.",
)
async def get_ticket(
    ticket_no: str,
    rt: Runtime = Depends(runtime_of),
    _who: Principal = Depends(require(Role.operator, Role.work_team, Role.inspector, Role.supervision_office)),
) -> dict[str, Any]:
    return await service.get_ticket(rt, ticket_no)
