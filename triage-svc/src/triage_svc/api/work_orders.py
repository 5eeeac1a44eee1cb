"""Work-order routes (thin): validate, check the role, build a command → `bus.handle(cmd)`; reads → `queries`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Query

from bancheng_shared.app import CorrelationId, RuntimeDep
from bancheng_shared.contracts.vocab import Tier
from bancheng_shared.errors import Problem
from triage_svc import queries
from triage_svc.api.common import (
    Bus,
    LeadUnit,
    Offset,
    OperatorOrWorkTeam,
    Reader,
    StateFilter,
    TicketNoPath,
    UnitFilter,
    UnitOrWorkTeam,
    WorkTeam,
)
from triage_svc.api.common import work_orders_tag as _wo
from triage_svc.api.requests import (
    AnswerIn,
    CloseIn,
    DispatchIn,
    ProgressIn,
    ReclassifyIn,
    ResolutionIn,
    ReturnDecisionIn,
    ReturnRequestIn,
    TierIn,
)
from triage_svc.api.responses import (
    ActedOut,
    AnsweredOut,
    DispatchedOut,
    ReclassifiedOut,
    ResolvedOut,
    ReturnRequestedOut,
    ReturnRuledOut,
    SignedOut,
    TierSetOut,
    WorkOrderOut,
    WorkOrderSummary,
)
from triage_svc.domain.commands import (
    Answer,
    ChangeTier,
    Close,
    DecideReturn,
    Dispatch,
    Reclassify,
    ReportProgress,
    RequestReturn,
    Sign,
    SubmitResolution,
)

router = APIRouter()
Body_ = dict[str, Any]


@router.get("/work-orders", response_model=list[WorkOrderSummary],
            **_wo("工单列表 / List work orders",
                  "按状态、单位、灯色筛选，最近变动的在前；承办单位只看到本单位主办或作为转办接收机关的工单。\n\n"
                  "Filter by state, unit and tier, the latest changed first; a unit key sees only those it leads or "
                  "receives as a transfer."))
async def list_work_orders(
    rt: RuntimeDep, who: Reader, state: StateFilter = None, unit: UnitFilter = None, tier: Tier | None = None,
    limit: int = Query(default=100, ge=1, le=1000), offset: Offset = 0,
) -> list[Body_]:
    return await queries.list_work_orders(rt, who, state=state.value if state else None, unit=unit,
                                          tier=tier.value if tier else None, limit=limit, offset=offset)


@router.get("/work-orders/{ticket_no}", response_model=WorkOrderOut,
            **_wo("查看工单 / Get a work order",
                  "分类、灯色、响应级别、派单及每一步的理由与操作记录；承办单位只能查看本单位主办、协办或作为转办"
                  "接收机关的工单。\n\n"
                  "Classification, tier, level, routing, the reasons and the log; a unit sees the ones it leads, "
                  "assists on or receives as a transfer."))
async def get_work_order(ticket_no: TicketNoPath, rt: RuntimeDep, who: Reader) -> Body_:
    return await queries.get_work_order(rt, ticket_no, who)


@router.post("/work-orders/{ticket_no}/dispatch", response_model=DispatchedOut,
             **_wo("人工派单 / Dispatch by hand",
                   "工作专班将未派出的工单交办给主办单位和协办单位。\n\n"
                   "The work team dispatches to a lead unit and co-units."))
async def dispatch(ticket_no: TicketNoPath, body: DispatchIn, bus: Bus, who: WorkTeam, corr: CorrelationId) -> Body_:
    return await bus.handle(Dispatch(actor=who, ticket_no=ticket_no, lead_unit=body.lead_unit,
                                     co_units=body.co_units, reason=body.reason, correlation_id=corr))


@router.post("/work-orders/{ticket_no}/sign", response_model=SignedOut,
             **_wo("签收 / Sign for a work order",
                   "主办单位签收（签收后 2 个工作日内仍可申请退回）；转办至信访或涉法涉诉的工单由接收机关"
                   "（`transfer_unit`）签收，其转办时限随之停止。\n\n"
                   "The lead unit signs (it may still ask to return it within 2 working days); a work order "
                   "transferred to 信访 / 涉法涉诉 is signed for by its receiving organ (`transfer_unit`), which stops "
                   "the transfer's clock."))
async def sign(ticket_no: TicketNoPath, bus: Bus, who: UnitOrWorkTeam, corr: CorrelationId) -> Body_:
    return await bus.handle(Sign(actor=who, ticket_no=ticket_no, correlation_id=corr))


@router.post("/work-orders/{ticket_no}/return-requests", response_model=ReturnRequestedOut, **_wo(
    "申请退回 / Ask to return a work order",
    "不属本单位职责时，在签收前（2个工作日内，逾期视为签收）申请退回，写明理由和依据。\n\n"
    "Before signing (within 2 working days; afterwards it counts as signed), with reason and basis."))
async def request_return(ticket_no: TicketNoPath, body: ReturnRequestIn, bus: Bus, who: LeadUnit,
                         corr: CorrelationId) -> Body_:
    return await bus.handle(RequestReturn(actor=who, ticket_no=ticket_no, reason=body.reason, basis=body.basis,
                                          correlation_id=corr))


@router.post("/work-orders/{ticket_no}/return-requests/decision", response_model=ReturnRuledOut,
             response_model_exclude_unset=True, **_wo(
                 "审核退回申请 / Rule on a return request",
                 "工作专班审核：通过则界定职责后改派（新一轮、重新计时），不通过则由原单位继续办理。\n\n"
                 "Approve → re-dispatch (new round and clock); reject → the unit keeps it, reason recorded."))
async def decide_return(ticket_no: TicketNoPath, body: ReturnDecisionIn, bus: Bus, who: WorkTeam,
                        corr: CorrelationId) -> Body_:
    return await bus.handle(DecideReturn(actor=who, ticket_no=ticket_no, approved=body.approved, reason=body.reason,
                                         new_unit=body.new_unit, co_units=body.co_units, correlation_id=corr))


@router.post("/work-orders/{ticket_no}/progress", response_model=ActedOut,
             **_wo("报告进展 / Report progress",
                   "主办或协办单位报告办理进展。\n\nThe lead unit or a co-unit reports progress."))
async def progress(ticket_no: TicketNoPath, body: ProgressIn, bus: Bus, who: UnitOrWorkTeam,
                   corr: CorrelationId) -> Body_:
    return await bus.handle(ReportProgress(actor=who, ticket_no=ticket_no, note=body.note, correlation_id=corr))


@router.post("/work-orders/{ticket_no}/resolution", response_model=ResolvedOut, **_wo(
    "提交办理结果 / Submit the result",
    "办结：已解决、部分解决或无法解决，并附对诉求人的答复（无法办理须说明原因）。\n\n"
    "resolved / partially_resolved / unresolvable, with the reply to the person."))
async def resolve(ticket_no: TicketNoPath, body: ResolutionIn, bus: Bus, who: UnitOrWorkTeam,
                  corr: CorrelationId) -> Body_:
    return await bus.handle(SubmitResolution(actor=who, ticket_no=ticket_no, outcome=body.outcome, reply=body.reply,
                                             correlation_id=corr))


@router.post("/work-orders/{ticket_no}/answer", response_model=AnsweredOut, **_wo(
    "直接答复 / Answer directly",
    "三级响应：简单咨询由话务员依知识库当场答复；不填则使用知识库建议答复。\n\n"
    "Response level 3: answered from the knowledge base; empty reuses the suggestion."))
async def answer(ticket_no: TicketNoPath, bus: Bus, who: OperatorOrWorkTeam, corr: CorrelationId,
                 body: AnswerIn = Body(default_factory=AnswerIn)) -> Body_:
    return await bus.handle(Answer(actor=who, ticket_no=ticket_no, text=body.answer, correlation_id=corr))


@router.post("/work-orders/{ticket_no}/close", response_model=ActedOut,
             **_wo("办结归档 / Close as ruled",
                   "工作专班按规定关闭（如已答复、已转办、无法回访）。\n\nThe work team closes a ticket as ruled."))
async def close(ticket_no: TicketNoPath, body: CloseIn, bus: Bus, who: WorkTeam, corr: CorrelationId) -> Body_:
    return await bus.handle(Close(actor=who, ticket_no=ticket_no, reason=body.reason, correlation_id=corr))


@router.post("/work-orders/{ticket_no}/tier", response_model=TierSetOut, **_wo(
    "调整灯色 / Set the tier",
    "人工调整红黄绿灯；调低须工作专班或管理员并写明理由（自动规则只会调高）。\n\n"
    "Automatic rules only raise the tier; a person (work team/admin) may lower it with a reason."))
async def change_tier(ticket_no: TicketNoPath, body: TierIn, bus: Bus, who: WorkTeam, corr: CorrelationId) -> Body_:
    return await bus.handle(ChangeTier(actor=who, ticket_no=ticket_no, tier=body.tier, reason=body.reason,
                                       correlation_id=corr))


@router.post("/work-orders/{ticket_no}/reclassify", response_model=ReclassifiedOut, **_wo(
    "纠正分类 / Correct the classification",
    "工作专班纠正部门类别、诉求类别或分流路径并写明理由；纠正被保存并用于训练，下一件相似诉求随之改变；"
    "尚未签收的工单同时改派。\n\n"
    "Stored as a correction the model learns from; a work order not yet signed is re-routed."))
async def reclassify(ticket_no: TicketNoPath, body: ReclassifyIn, bus: Bus, who: WorkTeam,
                     corr: CorrelationId) -> Body_:
    if body.department_kind is None and body.category is None and body.route is None:
        raise Problem(422, "name at least one of department_kind, category, route", type_="validation",
                      errors=[{"field": "department_kind", "message": "nothing to correct"}])
    return await bus.handle(Reclassify(actor=who, ticket_no=ticket_no, kind=body.department_kind,
                                       category=body.category, route=body.route, reason=body.reason,
                                       correlation_id=corr))
