"""Platforms in, callback subscriptions and deliveries out (thin: build a command or call a query)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response

from bancheng_shared.app import CorrelationId, RuntimeDep
from bancheng_shared.auth import Principal, Role, require
from bancheng_shared.errors import Problem
from bancheng_shared.query_params import known_query_only
from intake_svc import queries_hooks
from intake_svc.api.deps import Bus, Ctx
from intake_svc.domain import platforms
from intake_svc.domain.commands import (
    CreateSubscription,
    DeleteSubscription,
    ReceivePlatformItem,
    RegisterPlatform,
    ReplayDelivery,
    UpdateSubscription,
)
from intake_svc.models import TicketCreated
from intake_svc.models_hooks import (
    DeliveryLogged,
    DeliveryOut,
    PlatformRegister,
    PlatformRegistered,
    SubscriptionCreate,
    SubscriptionOut,
    SubscriptionUpdate,
)

# a GET with a parameter its operation does not take is a 400 naming it
router = APIRouter(prefix="/v1", tags=["platforms"], dependencies=[Depends(known_query_only)])

Admin = Annotated[Principal, Depends(require(Role.admin))]
PlatformKey = Annotated[Principal, Depends(require(Role.platform))]
Subscriber = Annotated[Principal, Depends(require(Role.platform, Role.operator))]
SubscriptionId = Annotated[str, Path(max_length=64, description="订阅编号（UUID）/ subscription id (a UUID)")]
# delivery ids are 64-bit: a larger number is refused (422) rather than overflowing the store's integer
PlatformName = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{1,63}$",
                                   description="平台名（小写字母、数字、- 或 _）/ the platform's name")]
DeliveryId = Annotated[int, Path(ge=1, le=2**63 - 1, description="投递编号 / delivery id")]


@router.put(
    "/platforms/{platform}",
    response_model=PlatformRegistered,
    summary="登记对接平台 / Register a platform",
    description="设置平台共享密钥与状态回调地址（设置后该平台交办事项的状态自动回调）。\n\n"
    "Set a platform's shared secret and its callback URL (its items then get status callbacks automatically). "
    "The callback URL is held to the same rules as a subscription's (https, no address inside the network "
    "unless an admin allows it).",
)
async def put_platform(platform: PlatformName, body: PlatformRegister, bus: Bus, who: Admin,
                       corr: CorrelationId) -> PlatformRegistered:
    registered: PlatformRegistered = await bus.handle(RegisterPlatform(
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
    "timestamp + '.' + body). Stale timestamps (> 5 min), replayed signatures, tampered bodies and signature "
    "headers that are not ASCII are refused (401 / 409). The same item id again returns the same ticket.",
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
        raise Problem(415, f"content type {ctype[:100] or 'none'!r} is not accepted; send application/json",
                      type_="unsupported-media-type")
    platforms.check_known_name(platform)
    created: TicketCreated = await bus.handle(ReceivePlatformItem(
        actor=who, platform=platform, raw=await request.body(), timestamp=x_bancheng_timestamp,
        signature=x_bancheng_signature, correlation_id=corr))
    if created.replayed:
        response.status_code = 200
    return created


@router.post(
    "/subscriptions",
    status_code=201,
    response_model=SubscriptionOut,
    summary="订阅回调 / Subscribe to callbacks",
    description="登记回调地址、事件类型（'*' 为全部）与签名密钥。地址须为 https（管理员允许时可为 http），"
    "且不得指向内网地址（回环、私有、链路本地、组播、未指定等，解析域名后、每次投递时都检查），除非管理员将其列入允许清单。"
    "投递按 Standard Webhooks 签名（webhook-id、webhook-timestamp、webhook-signature），并保留 X-Bancheng-* 签名头；"
    "失败按指数退避加随机抖动重试，不跟随重定向，最后一次失败后搁置，可重放。"
    "平台密钥的订阅只收到本平台提交的工单的事件。\n\n"
    "Register a URL, event types ('*' for all) and a signing secret. The URL must be https (http only where an "
    "admin allows it) and may not reach inside the network (loopback, private, link-local, multicast, "
    "unspecified…, checked after DNS resolution at every delivery) unless an admin allow-listed it. Deliveries "
    "are signed the Standard Webhooks way (webhook-id, webhook-timestamp, webhook-signature) and still carry the "
    "X-Bancheng-* signature; failures are retried with exponential backoff and jitter, redirects are not "
    "followed, a delivery is parked after the last try and replayable. A platform key's subscription receives "
    "only the tickets it submitted.",
)
async def create_subscription(body: SubscriptionCreate, bus: Bus, who: Subscriber,
                              corr: CorrelationId) -> SubscriptionOut:
    created: SubscriptionOut = await bus.handle(CreateSubscription(
        actor=who, name=body.name, url=str(body.url), event_types=tuple(body.event_types), secret=body.secret,
        correlation_id=corr))
    return created


@router.get("/subscriptions", summary="订阅列表 / List subscriptions", response_model=list[SubscriptionOut],
            description="本密钥的订阅（管理员可见全部）。\n\nThe caller's subscriptions (admins see all).")
async def list_subscriptions(rt: RuntimeDep, ctx: Ctx, who: Subscriber) -> list[SubscriptionOut]:
    return await queries_hooks.list_subscriptions(rt, ctx, who)


@router.get("/subscriptions/{sub_id}", summary="查看订阅 / Get a subscription", response_model=SubscriptionOut,
            description="一个订阅（不含密钥）。\n\nOne subscription (the secret is never shown).")
async def get_subscription(sub_id: SubscriptionId, rt: RuntimeDep, ctx: Ctx, who: Subscriber) -> SubscriptionOut:
    return await queries_hooks.get_subscription(rt, ctx, who, sub_id)


@router.patch("/subscriptions/{sub_id}", summary="修改订阅 / Update a subscription", response_model=SubscriptionOut,
              description="修改地址、事件类型、密钥或启停。换新密钥时旧密钥在重叠期内继续签名"
              "（webhook-signature 中两个签名，以空格分隔）。\n\nChange URL, event types, secret or active. A new "
              "secret replaces the current one; the replaced one keeps signing during the overlap "
              "(`previous_secret_valid_s`, default a day): webhook-signature then carries both signatures, "
              "space-separated.")
async def update_subscription(sub_id: SubscriptionId, body: SubscriptionUpdate, bus: Bus, who: Subscriber,
                              corr: CorrelationId) -> SubscriptionOut:
    updated: SubscriptionOut = await bus.handle(UpdateSubscription(
        actor=who, subscription_id=sub_id, name=body.name, url=str(body.url) if body.url is not None else None,
        event_types=tuple(body.event_types) if body.event_types is not None else None, secret=body.secret,
        previous_secret_valid_s=body.previous_secret_valid_s, active=body.active, correlation_id=corr))
    return updated


@router.delete("/subscriptions/{sub_id}", status_code=204, summary="删除订阅 / Delete a subscription",
               response_class=Response,
               description="删除订阅，未投递的记录搁置保留。\n\nDelete; undelivered deliveries are parked and kept.")
async def delete_subscription(sub_id: SubscriptionId, bus: Bus, who: Subscriber, corr: CorrelationId) -> Response:
    await bus.handle(DeleteSubscription(actor=who, subscription_id=sub_id, correlation_id=corr))
    return Response(status_code=204)


@router.get("/deliveries", summary="投递记录 / Delivery log", response_model=list[DeliveryLogged],
            description="回调投递记录及每次尝试，可按订阅与状态（pending、delivered、parked）筛选；"
            "只记录 HTTP 状态与简短原因，从不记录接收方的响应内容。\n\n"
            "Deliveries with every attempt; filter by subscription and status (pending, delivered, parked). Only "
            "the HTTP status and a short reason are kept, never the receiver's body.")
async def list_deliveries(
    rt: RuntimeDep,
    who: Subscriber,
    subscription_id: str | None = Query(default=None, max_length=64),
    status: str | None = Query(default=None, pattern="^(pending|delivered|parked)$"),
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[DeliveryLogged]:
    return await queries_hooks.list_deliveries(rt, who, subscription_id=subscription_id, status=status,
                                               limit=limit)


@router.post("/deliveries/{delivery_id}/replay", summary="重放投递 / Replay a delivery", response_model=DeliveryOut,
             description="重新投递（通常是已搁置的），重新开始一轮重试。\n\n"
             "Send a delivery again (usually a parked one), with a fresh series of tries.")
async def replay_delivery(delivery_id: DeliveryId, bus: Bus, who: Subscriber, corr: CorrelationId) -> DeliveryOut:
    replayed: DeliveryOut = await bus.handle(ReplayDelivery(actor=who, delivery_id=delivery_id,
                                                               correlation_id=corr))
    return replayed
