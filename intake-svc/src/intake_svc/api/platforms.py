"""Platforms in, callback subscriptions and deliveries out (thin: build a command or call a query)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from bancheng_shared.app import CorrelationId, RuntimeDep
from bancheng_shared.auth import Principal, Role, require
from bancheng_shared.errors import Problem
from intake_svc import queries
from intake_svc.api.deps import Bus
from intake_svc.domain.commands import (
    CreateSubscription,
    DeleteSubscription,
    ReceivePlatformItem,
    RegisterPlatform,
    ReplayDelivery,
    UpdateSubscription,
)
from intake_svc.models import PlatformRegister, SubscriptionCreate, SubscriptionUpdate, TicketCreated

router = APIRouter(prefix="/v1", tags=["platforms"])

Admin = Annotated[Principal, Depends(require(Role.admin))]
PlatformKey = Annotated[Principal, Depends(require(Role.platform))]
Subscriber = Annotated[Principal, Depends(require(Role.platform, Role.operator))]


@router.put(
    "/platforms/{platform}",
    summary="登记对接平台 / Register a platform",
    description="设置平台共享密钥与状态回调地址（设置后该平台交办事项的状态自动回调）。\n\n"
    "Set a platform's shared secret and its callback URL (its items then get status callbacks automatically).",
)
async def put_platform(platform: str, body: PlatformRegister, bus: Bus, who: Admin,
                       corr: CorrelationId) -> dict[str, Any]:
    registered: dict[str, Any] = await bus.handle(RegisterPlatform(
        actor=who, platform=platform, secret=body.secret,
        callback_url=str(body.callback_url) if body.callback_url else None, callback_secret=body.callback_secret,
        callback_events=tuple(body.callback_events), correlation_id=corr))
    return registered


@router.post(
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
    bus: Bus,
    who: PlatformKey,
    corr: CorrelationId,
    x_bancheng_timestamp: str | None = Header(default=None),
    x_bancheng_signature: str | None = Header(default=None),
) -> TicketCreated:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise Problem(415, f"content type {ctype or 'none'!r} is not accepted; send application/json",
                      type_="unsupported-media-type")
    created: TicketCreated = await bus.handle(ReceivePlatformItem(
        actor=who, platform=platform, raw=await request.body(), timestamp=x_bancheng_timestamp,
        signature=x_bancheng_signature, correlation_id=corr))
    if created.replayed:
        response.status_code = 200
    return created


@router.post(
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
async def create_subscription(body: SubscriptionCreate, bus: Bus, who: Subscriber,
                              corr: CorrelationId) -> dict[str, Any]:
    created: dict[str, Any] = await bus.handle(CreateSubscription(
        actor=who, name=body.name, url=str(body.url), event_types=tuple(body.event_types), secret=body.secret,
        correlation_id=corr))
    return created


@router.get("/subscriptions", summary="订阅列表 / List subscriptions",
            description="本密钥的订阅（管理员可见全部）。\n\nThe caller's subscriptions (admins see all).")
async def list_subscriptions(rt: RuntimeDep, who: Subscriber) -> list[dict[str, Any]]:
    return await queries.list_subscriptions(rt, who)


@router.get("/subscriptions/{sub_id}", summary="查看订阅 / Get a subscription",
            description="一个订阅（不含密钥）。\n\nOne subscription (the secret is never shown).")
async def get_subscription(sub_id: str, rt: RuntimeDep, who: Subscriber) -> dict[str, Any]:
    return await queries.get_subscription(rt, who, sub_id)


@router.patch("/subscriptions/{sub_id}", summary="修改订阅 / Update a subscription",
              description="修改地址、事件类型、密钥或启停。\n\nChange URL, event types, secret or active.")
async def update_subscription(sub_id: str, body: SubscriptionUpdate, bus: Bus, who: Subscriber,
                              corr: CorrelationId) -> dict[str, Any]:
    updated: dict[str, Any] = await bus.handle(UpdateSubscription(
        actor=who, subscription_id=sub_id, name=body.name, url=str(body.url) if body.url is not None else None,
        event_types=tuple(body.event_types) if body.event_types is not None else None, secret=body.secret,
        active=body.active, correlation_id=corr))
    return updated


@router.delete("/subscriptions/{sub_id}", status_code=204, summary="删除订阅 / Delete a subscription",
               description="删除订阅，未投递的记录搁置保留。\n\nDelete; undelivered deliveries are parked and kept.")
async def delete_subscription(sub_id: str, bus: Bus, who: Subscriber, corr: CorrelationId) -> Response:
    await bus.handle(DeleteSubscription(actor=who, subscription_id=sub_id, correlation_id=corr))
    return Response(status_code=204)


@router.get("/deliveries", summary="投递记录 / Delivery log",
            description="回调投递记录及每次尝试，可按订阅与状态（pending、delivered、parked）筛选。\n\n"
            "Deliveries with every attempt; filter by subscription and status (pending, delivered, parked).")
async def list_deliveries(
    rt: RuntimeDep,
    who: Subscriber,
    subscription_id: str | None = Query(default=None, max_length=36),
    status: str | None = Query(default=None, pattern="^(pending|delivered|parked)$"),
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[dict[str, Any]]:
    return await queries.list_deliveries(rt, who, subscription_id=subscription_id, status=status, limit=limit)


@router.post("/deliveries/{delivery_id}/replay", summary="重放投递 / Replay a delivery",
             description="重新投递（通常是已搁置的），重新开始一轮重试。\n\n"
             "Send a delivery again (usually a parked one), with a fresh series of tries.")
async def replay_delivery(delivery_id: int, bus: Bus, who: Subscriber, corr: CorrelationId) -> dict[str, Any]:
    replayed: dict[str, Any] = await bus.handle(ReplayDelivery(actor=who, delivery_id=delivery_id,
                                                               correlation_id=corr))
    return replayed
