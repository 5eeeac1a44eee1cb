"""The person's own lookup, without a credential (thin: call the query)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from bancheng_shared.app import RuntimeDep
from intake_svc import queries
from intake_svc.api.deps import Ctx

router = APIRouter(prefix="/v1/public", tags=["public"])


@router.get(
    "/tickets/{ticket_no}",
    summary="公开查询 / Public lookup",
    description="凭工单编号加手机后四位（或查询凭证）查询办理状态与公开步骤；不显示任何个人信息。无需凭据。\n\n"
    "Status and public steps by ticket number plus the phone's last four digits (or the tracking token). "
    "No credential; nothing about any person is shown.",
)
async def public_lookup(
    ticket_no: str,
    rt: RuntimeDep,
    ctx: Ctx,
    phone_last4: str | None = Query(default=None, pattern=r"^\d{4}$"),
    token: str | None = Query(default=None, max_length=100),
) -> dict[str, Any]:
    return await queries.public_lookup(rt, ctx, ticket_no, phone_last4=phone_last4, token=token)


@router.get(
    "/track/{token}",
    summary="凭查询凭证查询 / Look up by tracking token",
    description="只凭查询凭证查询办理状态。\n\nStatus and public steps by tracking token alone.",
)
async def track(token: str, rt: RuntimeDep, ctx: Ctx) -> dict[str, Any]:
    return await queries.track_by_token(rt, ctx, token)
