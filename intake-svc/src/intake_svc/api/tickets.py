"""Ticket routes (thin: validate, authorise, build a command or call a query)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from pydantic import AfterValidator

from bancheng_shared.app import CorrelationId, RuntimeDep, correlation_id
from bancheng_shared.auth import Principal, Role, require
from bancheng_shared.contracts.limits import Name, TicketNo, UnitCode
from bancheng_shared.contracts.vocab import Category, Channel, Tier
from bancheng_shared.messagebus import MessageBus
from bancheng_shared.query_params import known_query_only
from intake_svc import queries
from intake_svc.api.deps import Bus, Ctx
from intake_svc.api.params import Cursor, PathTicketNo, SearchText, Text40, optional_text, source_of
from intake_svc.context import Intake
from intake_svc.domain.channels import check_channel
from intake_svc.domain.commands import AddFollowUp, RegisterBatch, RegisterTicket, ViewTicket
from intake_svc.domain.problems import field_problem
from intake_svc.models import FollowUpCreate, TicketBatch, TicketBatchCreated, TicketCreate, TicketCreated
from intake_svc.models_tickets import FollowUpReceipt, PiiAccessEntry, SmsShown, TicketList, TicketView

# a GET with a parameter its operation does not take is a 400 naming it
router = APIRouter(prefix="/v1", tags=["tickets"], dependencies=[Depends(known_query_only)])

READERS = (Role.operator, Role.work_team, Role.inspector, Role.supervision_office, Role.business_environment,
           Role.unit, Role.leader)
# another platform's items come in through the signed route only (api.platforms), not as plain registrations
Submitter = Annotated[Principal, Depends(require(Role.operator, Role.frontend))]
Reader = Annotated[Principal, Depends(require(*READERS))]
PersonsVoice = Annotated[Principal, Depends(require(Role.operator, Role.frontend))]
Inspector = Annotated[Principal, Depends(require(Role.inspector))]
SmsReader = Annotated[Principal, Depends(require(Role.operator, Role.work_team))]


IdempotencyKey = Annotated[str | None, Header(max_length=200), AfterValidator(optional_text)]
BatchIdempotencyKey = Annotated[str | None, Header(max_length=190), AfterValidator(optional_text)]  # + "#<i>"
CHANNELS = ("渠道按角色开放：话务员（及管理员）hotline、window、mailbox、web、app；前端 mailbox、web、app；"
            "platform 渠道只经签名的平台交办接口。渠道编号（external_id）在提交者自己的范围内唯一。\n\n"
            "Channels by role: operators (and admins) hotline, window, mailbox, web, app; front ends mailbox, web, "
            "app; channel `platform` only through the signed platform route (403 naming the channel otherwise). "
            "A channel id (`external_id`) is unique within its submitter's own scope.")


@router.post(
    "/tickets",
    status_code=201,
    response_model=TicketCreated,
    responses={200: {"model": TicketCreated, "description": "重复提交，返回首次结果 / a repeat: the first answer"}},
    summary="登记诉求 / Register a request",
    description="任何渠道登记一件诉求，立即返回工单编号与查询凭证。"
    "同一人 30 天内或同一地点的相同事项并入未办结工单（并单）。"
    "相同 Idempotency-Key 或渠道编号重复提交返回首次结果（200），不同内容返回 409。\n\n"
    "Register a request from any channel; returns the ticket number and a tracking token at once. A repeat of "
    "an open matter (same person within 30 days, or same place) is merged into that ticket (`merged: true`). "
    "A repeat POST with the same Idempotency-Key or channel id returns the first answer (200); a different "
    "body under the same key is 409.\n\n" + CHANNELS,
)
async def create_ticket(
    body: TicketCreate,
    request: Request,
    who: Submitter,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    check_channel(who.role, body.channel)
    bus: MessageBus[Intake] = request.app.state.bus  # the hot path: one dependency fewer to solve
    created: TicketCreated = await bus.handle(RegisterTicket(
        actor=who, body=body, idempotency_key=idempotency_key, correlation_id=correlation_id(request)))
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
    "item or one key reused with a different body refuses the whole batch (422 / 409 naming `items[i]`).\n\n"
    + CHANNELS,
)
async def create_ticket_batch(
    body: TicketBatch,
    bus: Bus,
    who: Submitter,
    corr: CorrelationId,
    idempotency_key: BatchIdempotencyKey = None,
) -> TicketBatchCreated:
    for i, item in enumerate(body.items):
        check_channel(who.role, item.channel, f"items[{i}].channel")
    result: TicketBatchCreated = await bus.handle(RegisterBatch(
        actor=who, items=tuple(body.items), idempotency_key=idempotency_key, correlation_id=corr))
    return result


@router.get(
    "/tickets",
    response_model=TicketList,
    summary="工单列表与检索 / List and search tickets",
    description="q 全文检索诉求内容、标题、地址及并入的重复诉求（中文按三字组索引；一两个字的词逐条比对；"
    "多个词以空格分隔，须全部出现）；q 为电话号码或姓名时也按诉求人电话、姓名查找，为工单编号时查该工单。"
    "number 工单编号前缀；phone、name 按诉求人电话（空格、横线不计）、姓名精确查找（仅可查看个人信息的角色）；"
    "address 地址检索；另可按状态、灯色、渠道、承办单位、类别、受理时间筛选。按受理时间倒序，游标分页，"
    "total 为符合条件的总数（精确）。承办单位只能看到当前在本单位的工单。"
    "possible_repeat=true 只列有待确认疑似重复的工单（false：没有的）。未知参数返回 400。\n\n"
    "`q` searches the text (content, title, address and the repeats merged in; trigram index, Chinese included; "
    "one- or two-character words are matched by a scan; several words separated by spaces must all occur); a `q` "
    "that is a phone number or a name also finds the person's tickets, a ticket number that ticket. `number`: a "
    "ticket number prefix; `phone`, `name`: the person's phone (spaces and dashes ignored) or name, exactly (roles "
    "that may see PII only: 403 otherwise); `address`: words of the address. Also status, tier, channel, unit, "
    "category and date range. Newest first with an opaque cursor; `total` counts every match (exact). Unit keys "
    "see only tickets currently at their unit. Items carry no complainant fields; their `excerpt` is masked for "
    "roles that may not see PII. `possible_repeat=true` lists only tickets with an open possible repeat (疑似重复) "
    "to confirm or reject (`false`: only those without). An unknown parameter is a 400 naming it.",
)
async def list_tickets(
    rt: RuntimeDep,
    ctx: Ctx,
    who: Reader,
    q: Annotated[SearchText | None, Query(description="全文检索 / full-text search")] = None,
    number: Annotated[Text40 | None, Query(description="工单编号前缀 / ticket number prefix")] = None,
    phone: Annotated[Text40 | None, Query(description="诉求人电话 / the person's phone")] = None,
    name: Annotated[Name | None, Query(description="诉求人姓名 / the person's name")] = None,
    address: Annotated[SearchText | None, Query(description="地址 / address")] = None,
    status: Annotated[Text40 | None, Query()] = None,
    tier: Tier | None = None,
    channel: Channel | None = None,
    unit: Annotated[UnitCode | None, Query()] = None,
    category: Category | None = None,
    received_from: datetime | None = Query(default=None, alias="from"),
    received_to: datetime | None = Query(default=None, alias="to"),
    cursor: Annotated[Cursor | None, Query()] = None,
    limit: int = Query(default=50, ge=1, le=200),
    possible_repeat: Annotated[bool | None, Query(description="有待确认的疑似重复 / has an open possible "
                                                  "repeat")] = None,
) -> dict[str, Any]:
    for field, value in (("from", received_from), ("to", received_to)):
        if value is not None and value.tzinfo is None:
            raise field_problem(field, "give a time zone (e.g. 2026-01-01T00:00:00+08:00)")
        try:
            if value is not None:
                value.astimezone(UTC)
        except OverflowError as exc:
            raise field_problem(field, "out of range: with its offset the time falls outside the years 1 to "
                                "9999") from exc
    wanted = queries.TicketFilter(
        q=q, number=number, phone=phone, name=name, address=address, status=status,
        tier=tier.value if tier else None, channel=channel.value if channel else None, unit=unit,
        category=category.value if category else None, received_from=received_from, received_to=received_to,
        possible_repeat=possible_repeat)
    return await queries.list_tickets(rt, who, wanted, vault=ctx.vault, cursor=cursor, limit=limit,
                                      excerpt_chars=ctx.settings.search_excerpt_chars)


@router.get(
    "/tickets/{ticket_no}",
    response_model=TicketView,
    summary="查询工单（工作人员）/ Look up a ticket (staff)",
    description="工单全貌：状态（中文）、承办单位、时限、预警、灯色、重复诉求、疑似重复、补充材料与完整时间线。"
    "诉求人信息按角色脱敏，查看完整信息记入审计日志；举报件不向被举报单位提供举报人信息。\n\n"
    "The whole ticket: status in words, unit, deadline, alert level, tier, repeats, possible repeats (not to unit "
    "keys), follow-ups and every step. "
    "Complainant data is masked by role; full PII reads are audit-logged; a report never shows its informant "
    "to a unit key.",
)
async def get_ticket(ticket_no: PathTicketNo, request: Request, bus: Bus, who: Reader,
                     corr: CorrelationId) -> dict[str, Any]:
    view: dict[str, Any] = await bus.handle(ViewTicket(actor=who, ticket_no=ticket_no, route=request.url.path,
                                                       correlation_id=corr))
    return view


@router.post(
    "/tickets/{ticket_no}/follow-ups",
    status_code=201,
    response_model=FollowUpReceipt,
    summary="补充诉求 / Add to a ticket",
    description="诉求人对自己的工单补充内容。前端须提供手机后四位或查询凭证（与公开查询同样按地址与工单限制失败次数，"
    "超出返回 429）；话务员可直接补充。\n\n"
    "The person adds to their own ticket. Front ends pass the phone's last four digits or the tracking token "
    "(failed proofs are limited per address and per ticket as in the public lookup: 429 beyond); operators need "
    "neither.",
)
async def add_follow_up(ticket_no: PathTicketNo, body: FollowUpCreate, request: Request, bus: Bus,
                        who: PersonsVoice, corr: CorrelationId) -> dict[str, Any]:
    added: dict[str, Any] = await bus.handle(AddFollowUp(
        actor=who, ticket_no=ticket_no, content=body.content, phone_last4=body.phone_last4, token=body.token,
        source=source_of(request), correlation_id=corr))
    return added


@router.get(
    "/pii-access",
    response_model=list[PiiAccessEntry],
    summary="个人信息查阅日志 / PII access log",
    description="谁在何时查看了哪件工单的完整个人信息。\n\nWho read which ticket's full PII, and when.",
)
async def pii_access(
    rt: RuntimeDep,
    _who: Inspector,
    ticket_no: Annotated[TicketNo | None, Query()] = None,
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[dict[str, Any]]:
    return await queries.pii_access(rt, ticket_no=ticket_no, limit=limit)


@router.get(
    "/sms",
    response_model=list[SmsShown],
    summary="短信发件箱 / SMS outbox",
    description="发出的短信（报到短信、受理回执、承办单位答复、退回与延期结果），号码脱敏。报到短信发往组织目录中承办单位"
    "的值班号码；单位没有可收短信的号码时状态为 no_recipient（搁置，不发送、不重试，原因见 last_error；交办带来号码后"
    "自动恢复发送）。未配置短信网关时状态为 recorded；发送失败按指数退避重试（next_attempt_at），最后一次失败后为 "
    "failed。\n\n"
    "Messages sent (alert `reported` to units; receipts, the unit's reply, approved returns and extensions to "
    "people), numbers masked. A unit's `reported` SMS goes to its duty number from the org directory; a unit without "
    "an SMS-capable number parks it as `no_recipient` (not sent, not retried, the reason in `last_error`; released "
    "when a dispatch brings the number). `recorded` when no gateway is configured; a failed send is retried with "
    "exponential backoff (`next_attempt_at`) and `failed` after the last try (`status=failed` lists them).",
)
async def list_sms(
    rt: RuntimeDep,
    _who: SmsReader,
    ticket_no: Annotated[TicketNo | None, Query()] = None,
    unit: Annotated[UnitCode | None, Query()] = None,
    status: Annotated[Literal["recorded", "pending", "sent", "failed", "no_recipient"] | None, Query()] = None,
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[dict[str, Any]]:
    return await queries.list_sms(rt, ticket_no=ticket_no, unit_code=unit, status=status, limit=limit)
