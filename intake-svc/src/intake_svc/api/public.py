"""The person's own lookup, without a credential (thin: build the command; tries are counted per address)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from bancheng_shared.app import CorrelationId
from bancheng_shared.query_params import known_query_only
from intake_svc.api.deps import Bus
from intake_svc.api.params import PathTicketNo, Token, source_of
from intake_svc.domain.commands import LookUpTicket
from intake_svc.models_tickets import PublicTicket

# a GET with a parameter its operation does not take is a 400 naming it
router = APIRouter(prefix="/v1/public", tags=["public"], dependencies=[Depends(known_query_only)])
THROTTLE = ("同一地址 10 分钟内失败 10 次后返回 429（Retry-After），屡次触发则等待时间加倍；"
            "同一工单被多处猜测时每处一次一试。\n\n"
            "After 10 failures from one address within 10 minutes: 429 with Retry-After, the wait doubling each "
            "time; a ticket guessed at from many addresses gives each one try at a time.")


@router.get(
    "/tickets/{ticket_no}",
    response_model=PublicTicket,
    summary="公开查询 / Public lookup",
    description="凭工单编号加手机后四位（或查询凭证）查询办理状态与公开步骤；不显示任何个人信息。无需凭据。"
    "凭证错误与编号不存在返回相同的 404。\n\n"
    "Status and public steps by ticket number plus the phone's last four digits (or the tracking token). "
    "No credential; nothing about any person is shown. A wrong proof and an unknown number answer the same 404.\n\n"
    + THROTTLE,
)
async def public_lookup(
    ticket_no: PathTicketNo,
    request: Request,
    bus: Bus,
    corr: CorrelationId,
    phone_last4: str | None = Query(default=None, pattern=r"^[0-9]{4}$"),
    token: Annotated[Token | None, Query()] = None,
) -> dict[str, Any]:
    found: dict[str, Any] = await bus.handle(LookUpTicket(
        ticket_no=ticket_no, phone_last4=phone_last4, token=token, source=source_of(request), correlation_id=corr))
    return found


@router.get(
    "/track/{token}",
    response_model=PublicTicket,
    summary="凭查询凭证查询 / Look up by tracking token",
    description="只凭查询凭证查询办理状态。\n\nStatus and public steps by tracking token alone.\n\n" + THROTTLE,
)
async def track(token: Annotated[Token, Path()], request: Request, bus: Bus, corr: CorrelationId) -> dict[str, Any]:
    found: dict[str, Any] = await bus.handle(LookUpTicket(
        ticket_no=None, token=token, source=source_of(request), correlation_id=corr))
    return found
