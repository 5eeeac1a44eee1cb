"""intake HTTP routes (thin: validate, authorise, call the use case)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from bancheng_shared.app import correlation_id
from bancheng_shared.auth import Principal, Role, require
from bancheng_shared.contracts.vocab import Category, Channel, Tier
from bancheng_shared.problems import Problem
from intake_svc import callbacks, platforms, service, sms
from intake_svc.context import Intake, intake_of
from intake_svc.models import (
    FollowUpCreate,
    PlatformRegister,
    SubscriptionCreate,
    SubscriptionUpdate,
    TicketBatch,
    TicketBatchCreated,
    TicketCreate,
    TicketCreated,
)

router = APIRouter(prefix="/v1", tags=["tickets"])
public = APIRouter(prefix="/v1/public", tags=["public"])
hooks = APIRouter(prefix="/v1", tags=["platforms"])

READERS = (Role.operator, Role.work_team, Role.inspector, Role.supervision_office, Role.business_environment,
           Role.unit, Role.leader)
NO = Query(..., description="工单编号 / ticket number")


@router.post(
    "/tickets",
    status_code=201,
    response_model=TicketCreated,
    summary="登记诉求 / Register a request",
    description="任何渠道登记一件诉求，立即返回工单编号与查询凭证。"
    "同一人 30 天内或同一地点的相同事项并入未办结工单（并单）。"
    "相同 Idempotency-Key 或渠道编号重复提交返回首次结果（200），不同内容返回 409。\n\n"
    "Register a request from any channel; returns the ticket number and a tracking token at once. A repeat of "
    "an open matter (same person within 30 days, or same place) is merged into that ticket (`merged: true`). "
    "A repeat POST with the same Idempotency-Key or channel id returns the first answer (200); a different "
    "body under the same key is 409.",
)
async def create_ticket(
    body: TicketCreate,
    request: Request,
    idempotency_key: str | None = Header(default=None, max_length=200),
    who: Principal = Depends(require(Role.operator, Role.frontend, Role.platform)),
) -> Response:
    ctx: Intake = request.app.state.intake  # the hot path: one dependency fewer to solve
    created = await service.register_ticket(ctx, body, caller=who, idempotency_key=idempotency_key,
                                            correlation_id=correlation_id(request))
    # the hot path answers with the model's own JSON: response_model would validate it a second time
    return Response(created.__pydantic_serializer__.to_json(created), status_code=200 if created.replayed else 201,
                    media_type="application/json", headers={"Location": f"/v1/tickets/{created.ticket_no}"})


@router.post(
    "/tickets:batch",
    status_code=201,
    response_model=TicketBatchCreated,
    summary="批量登记 / Register a batch",
    description="话务、信箱系统或上级平台一次提交多件诉求（至多 500 件），在一个事务中全部登记或全部不登记；"
    "每件按单件规则并单，渠道编号或 Idempotency-Key（整批一个，每件派生）重复提交返回首次结果；"
    "任一件校验失败或以不同内容重用编号，整批拒绝（422 / 409，指明 items[i]）。\n\n"
    "Hotline or mailbox software, or a platform above, hands in up to 500 requests at once: all are registered "
    "in one transaction or none is. Each is merged or created as it would be alone; a repeated channel id "
    "(or the batch's Idempotency-Key, from which each item gets its own) returns the first answer. One invalid "
    "item or one key reused with a different body refuses the whole batch (422 / 409 naming `items[i]`).",
)
async def create_ticket_batch(
    body: TicketBatch,
    request: Request,
    idempotency_key: str | None = Header(default=None, max_length=190),
    ctx: Intake = Depends(intake_of),
    who: Principal = Depends(require(Role.operator, Role.frontend, Role.platform)),
) -> TicketBatchCreated:
    return await service.register_batch(ctx, body, caller=who, idempotency_key=idempotency_key,
                                        correlation_id=correlation_id(request))


@router.get(
    "/tickets",
    summary="工单列表 / List tickets",
    description="按状态、灯色、渠道、承办单位、类别、受理时间筛选，按受理时间倒序，游标分页。承办单位只能看到当前在本单位的工单。\n\n"
    "Filter by status, tier, channel, unit, category and date range; newest first with cursor pagination. "
    "Unit keys see only tickets currently at their unit. Complainant data is never listed.",
)
async def list_tickets(
    status: str | None = Query(default=None, max_length=40),
    tier: Tier | None = None,
    channel: Channel | None = None,
    unit: str | None = Query(default=None, max_length=64),
    category: Category | None = None,
    received_from: datetime | None = Query(default=None, alias="from"),
    received_to: datetime | None = Query(default=None, alias="to"),
    cursor: str | None = Query(default=None, max_length=100),
    limit: int = Query(default=50, ge=1, le=200),
    ctx: Intake = Depends(intake_of),
    who: Principal = Depends(require(*READERS)),
) -> dict[str, Any]:
    for name, value in (("from", received_from), ("to", received_to)):
        if value is not None and value.tzinfo is None:
            raise service.field_problem(name, "give a time zone (e.g. 2026-01-01T00:00:00+08:00)")
    return await service.list_tickets(
        ctx, who, status=status, tier=tier.value if tier else None, channel=channel.value if channel else None,
        unit=unit, category=category.value if category else None, received_from=received_from,
        received_to=received_to, cursor=cursor, limit=limit)


@router.get(
    "/tickets/{ticket_no}",
    summary="查询工单（工作人员）/ Look up a ticket (staff)",
    description="工单全貌：状态（中文）、承办单位、时限、预警、灯色、重复诉求、补充材料与完整时间线。"
    "诉求人信息按角色脱敏，查看完整信息记入审计日志；举报件不向被举报单位提供举报人信息。\n\n"
    "The whole ticket: status in words, unit, deadline, alert level, tier, repeats, follow-ups and every step. "
    "Complainant data is masked by role; full PII reads are audit-logged; a report never shows its informant "
    "to a unit key.",
)
async def get_ticket(
    ticket_no: str,
    request: Request,
    ctx: Intake = Depends(intake_of),
    who: Principal = Depends(require(*READERS)),
) -> dict[str, Any]:
    return await service.get_ticket(ctx, ticket_no, who, request.url.path)


@router.post(
    "/tickets/{ticket_no}/follow-ups",
    status_code=201,
    summary="补充诉求 / Add to a ticket",
    description="诉求人对自己的工单补充内容。前端须提供手机后四位或查询凭证；话务员可直接补充。\n\n"
    "The person adds to their own ticket. Front ends pass the phone's last four digits or the tracking token; "
    "operators need neither.",
)
async def add_follow_up(
    ticket_no: str,
    body: FollowUpCreate,
    request: Request,
    ctx: Intake = Depends(intake_of),
    who: Principal = Depends(require(Role.operator, Role.frontend)),
) -> dict[str, Any]:
    return await service.add_follow_up(ctx, ticket_no, body, who, correlation_id(request))


@router.get(
    "/pii-access",
    summary="个人信息查阅日志 / PII access log",
    description="谁在何时查看了哪件工单的完整个人信息。\n\nWho read which ticket's full PII, and when.",
)
async def pii_access(
    ticket_no: str | None = Query(default=None, max_length=40),
    limit: int = Query(default=100, ge=1, le=1000),
    ctx: Intake = Depends(intake_of),
    _who: Principal = Depends(require(Role.inspector)),
) -> list[dict[str, Any]]:
    return await service.pii_access(ctx, ticket_no, limit)


@router.get(
    "/sms",
    summary="短信发件箱 / SMS outbox",
    description="发出的短信（报到短信、受理回执），号码脱敏。未配置短信网关时状态为 recorded。\n\n"
    "Messages sent (alert `reported` to units, receipts to people), numbers masked; `recorded` when no "
    "gateway is configured.",
)
async def list_sms(
    ticket_no: str | None = Query(default=None, max_length=40),
    unit: str | None = Query(default=None, max_length=64),
    limit: int = Query(default=100, ge=1, le=1000),
    ctx: Intake = Depends(intake_of),
    _who: Principal = Depends(require(Role.operator, Role.work_team)),
) -> list[dict[str, Any]]:
    return await sms.list_sms(ctx.rt.sm, ticket_no, unit, limit)


@public.get(
    "/tickets/{ticket_no}",
    summary="公开查询 / Public lookup",
    description="凭工单编号加手机后四位（或查询凭证）查询办理状态与公开步骤；不显示任何个人信息。无需凭据。\n\n"
    "Status and public steps by ticket number plus the phone's last four digits (or the tracking token). "
    "No credential; nothing about any person is shown.",
)
async def public_lookup(
    ticket_no: str,
    phone_last4: str | None = Query(default=None, pattern=r"^\d{4}$"),
    token: str | None = Query(default=None, max_length=100),
    ctx: Intake = Depends(intake_of),
) -> dict[str, Any]:
    return await service.public_lookup(ctx, ticket_no, phone_last4, token)


@public.get(
    "/track/{token}",
    summary="凭查询凭证查询 / Look up by tracking token",
    description="只凭查询凭证查询办理状态。\n\nStatus and public steps by tracking token alone.",
)
async def track(token: str, ctx: Intake = Depends(intake_of)) -> dict[str, Any]:
    return await service.track_by_token(ctx, token)


# ---------------------------------------------------------------- platforms, subscriptions, deliveries


@hooks.put(
    "/platforms/{platform}",
    summary="登记对接平台 / Register a platform",
    description="设置平台共享密钥与状态回调地址（设置后该平台交办事项的状态自动回调）。\n\n"
    "Set a platform's shared secret and its callback URL (its items then get status callbacks automatically).",
)
async def put_platform(
    platform: str,
    body: PlatformRegister,
    ctx: Intake = Depends(intake_of),
    who: Principal = Depends(require(Role.admin)),
) -> dict[str, Any]:
    return await platforms.register_platform(ctx, who, platform, body)


@hooks.post(
    "/platforms/{platform}/items",
    status_code=201,
    response_model=TicketCreated,
    summary="平台交办事项 / A platform transfers an item in",
    description="签名：X-Bancheng-Timestamp（Unix 秒）与 "
    "X-Bancheng-Signature = HMAC-SHA256(平台密钥, 时间戳 + '.' + 请求体)。"
    "超过 5 分钟的时间戳、重复使用的签名和被篡改的请求体一律拒绝。同一事项编号重复交办返回同一工单。\n\n"
    "Signed: X-Bancheng-Timestamp (unix seconds) and X-Bancheng-Signature = HMAC-SHA256(platform secret, "
    "timestamp + '.' + body). Stale timestamps (> 5 min), replayed signatures and tampered bodies are refused. "
    "The same item id again returns the same ticket.",
    openapi_extra={"requestBody": {"content": {"application/json": {"schema": {
        "$ref": "#/components/schemas/PlatformItem"}}}, "required": True}},
)
async def platform_item(
    platform: str,
    request: Request,
    response: Response,
    x_bancheng_timestamp: str | None = Header(default=None),
    x_bancheng_signature: str | None = Header(default=None),
    ctx: Intake = Depends(intake_of),
    who: Principal = Depends(require(Role.platform)),
) -> TicketCreated:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise Problem(415, f"content type {ctype or 'none'!r} is not accepted; send application/json",
                      type_="unsupported-media-type")
    raw = await request.body()
    created = await platforms.receive_item(ctx, who, platform, raw, x_bancheng_timestamp, x_bancheng_signature,
                                           correlation_id(request))
    if created.replayed:
        response.status_code = 200
    return created


SUBS = (Role.platform, Role.operator)


@hooks.post(
    "/subscriptions",
    status_code=201,
    summary="订阅回调 / Subscribe to callbacks",
    description="登记回调地址、事件类型（'*' 为全部）与签名密钥。"
    "投递带签名，失败按指数退避重试，最后一次失败后搁置，可重放。"
    "平台密钥的订阅只收到本平台提交的工单的事件。\n\n"
    "Register a URL, event types ('*' for all) and a signing secret. Deliveries are signed, retried with "
    "exponential backoff, parked after the last try and replayable. A platform key's subscription receives "
    "only the tickets it submitted.",
)
async def create_subscription(
    body: SubscriptionCreate,
    ctx: Intake = Depends(intake_of),
    who: Principal = Depends(require(*SUBS)),
) -> dict[str, Any]:
    return await callbacks.create_subscription(ctx, who, body)


@hooks.get("/subscriptions", summary="订阅列表 / List subscriptions",
           description="本密钥的订阅（管理员可见全部）。\n\nThe caller's subscriptions (admins see all).")
async def list_subscriptions(ctx: Intake = Depends(intake_of),
                             who: Principal = Depends(require(*SUBS))) -> list[dict[str, Any]]:
    return await callbacks.list_subscriptions(ctx, who)


@hooks.get("/subscriptions/{sub_id}", summary="查看订阅 / Get a subscription",
           description="一个订阅（不含密钥）。\n\nOne subscription (the secret is never shown).")
async def get_subscription(sub_id: str, ctx: Intake = Depends(intake_of),
                           who: Principal = Depends(require(*SUBS))) -> dict[str, Any]:
    return await callbacks.get_subscription(ctx, who, sub_id)


@hooks.patch("/subscriptions/{sub_id}", summary="修改订阅 / Update a subscription",
             description="修改地址、事件类型、密钥或启停。\n\nChange URL, event types, secret or active.")
async def update_subscription(sub_id: str, body: SubscriptionUpdate, ctx: Intake = Depends(intake_of),
                              who: Principal = Depends(require(*SUBS))) -> dict[str, Any]:
    return await callbacks.update_subscription(ctx, who, sub_id, body)


@hooks.delete("/subscriptions/{sub_id}", status_code=204, summary="删除订阅 / Delete a subscription",
              description="删除订阅，未投递的记录搁置保留。\n\nDelete; undelivered deliveries are parked and kept.")
async def delete_subscription(sub_id: str, ctx: Intake = Depends(intake_of),
                              who: Principal = Depends(require(*SUBS))) -> Response:
    await callbacks.delete_subscription(ctx, who, sub_id)
    return Response(status_code=204)


@hooks.get("/deliveries", summary="投递记录 / Delivery log",
           description="回调投递记录及每次尝试，可按订阅与状态（pending、delivered、parked）筛选。\n\n"
           "Deliveries with every attempt; filter by subscription and status (pending, delivered, parked).")
async def list_deliveries(
    subscription_id: str | None = Query(default=None, max_length=36),
    status: str | None = Query(default=None, pattern="^(pending|delivered|parked)$"),
    limit: int = Query(default=100, ge=1, le=1000),
    ctx: Intake = Depends(intake_of),
    who: Principal = Depends(require(*SUBS)),
) -> list[dict[str, Any]]:
    return await callbacks.list_deliveries(ctx, who, subscription_id, status, limit)


@hooks.post("/deliveries/{delivery_id}/replay", summary="重放投递 / Replay a delivery",
            description="重新投递（通常是已搁置的），重新开始一轮重试。\n\n"
            "Send a delivery again (usually a parked one), with a fresh series of tries.")
async def replay_delivery(delivery_id: int, ctx: Intake = Depends(intake_of),
                          who: Principal = Depends(require(*SUBS))) -> dict[str, Any]:
    result = await callbacks.replay_delivery(ctx, who, delivery_id)
    ctx.deliverer_wake()
    return result
