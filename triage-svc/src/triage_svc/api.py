"""triage HTTP routes (thin): validate the request, build a command, hand it to the bus; reads call `queries`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, Field

from bancheng_shared.app import CorrelationId, RuntimeDep
from bancheng_shared.auth import Principal, Role, require
from bancheng_shared.contracts.vocab import Category, ResolutionOutcome, Route, Tier
from bancheng_shared.errors import Problem
from bancheng_shared.messagebus import MessageBus
from triage_svc import queries
from triage_svc.context import Triage
from triage_svc.domain.commands import (
    ActivateCatalogue,
    Answer,
    ChangeTier,
    Close,
    DecideReturn,
    Dispatch,
    ImportDirectory,
    PublishCatalogue,
    Reclassify,
    ReportProgress,
    RequestReturn,
    Sign,
    SubmitResolution,
)
from triage_svc.domain.directory import parse_csv, to_csv

router = APIRouter(prefix="/v1")
READERS = (Role.work_team, Role.unit, Role.inspector, Role.supervision_office, Role.leader, Role.operator,
           Role.business_environment)
DIRECTORY_READERS = (*READERS, Role.frontend, Role.platform)


async def bus_of(request: Request) -> MessageBus[Triage]:
    """The service's message bus (built in main.py)."""
    bus: MessageBus[Triage] = request.app.state.bus
    return bus


async def context_of(request: Request) -> Triage:
    """The service's context (settings, caches)."""
    bus: MessageBus[Triage] = request.app.state.bus
    return bus.ctx


Bus = Annotated[MessageBus[Triage], Depends(bus_of)]
Context = Annotated[Triage, Depends(context_of)]
Reader = Annotated[Principal, Depends(require(*READERS))]
DirectoryReader = Annotated[Principal, Depends(require(*DIRECTORY_READERS))]
WorkTeam = Annotated[Principal, Depends(require(Role.work_team))]
LeadUnit = Annotated[Principal, Depends(require(Role.unit))]
UnitOrWorkTeam = Annotated[Principal, Depends(require(Role.unit, Role.work_team))]
OperatorOrWorkTeam = Annotated[Principal, Depends(require(Role.operator, Role.work_team))]


class ReturnRequestIn(BaseModel):
    """A unit's return request."""

    reason: str = Field(min_length=2, max_length=2000, description="为何不属本单位职责 / why it is not our remit")
    basis: str = Field(min_length=2, max_length=2000, description="依据（三定方案、法规条款）/ the basis")


class ReturnDecisionIn(BaseModel):
    """The work team's ruling on a return request."""

    approved: bool
    reason: str = Field(min_length=2, max_length=2000)
    new_unit: str | None = Field(default=None, description="批准时改派的单位 / unit to re-dispatch to")
    co_units: list[str] = Field(default_factory=list, max_length=10)


class DispatchIn(BaseModel):
    """A manual dispatch by the work team."""

    lead_unit: str
    co_units: list[str] = Field(default_factory=list, max_length=10)
    reason: str = Field(default="manual dispatch", max_length=2000)


class ProgressIn(BaseModel):
    """A progress note."""

    note: str = Field(min_length=1, max_length=4000)


class ResolutionIn(BaseModel):
    """The unit's result and the reply given to the person."""

    outcome: ResolutionOutcome
    reply: str = Field(min_length=2, max_length=8000, description="给诉求人的答复 / reply to the person")


class AnswerIn(BaseModel):
    """A direct answer (level 3); empty reuses the knowledge-base suggestion."""

    answer: str | None = Field(default=None, max_length=8000)


class CloseIn(BaseModel):
    """Closing as ruled by the work team."""

    reason: str = Field(min_length=2, max_length=2000)


class TierIn(BaseModel):
    """A tier set by a person."""

    tier: Tier
    reason: str = Field(min_length=2, max_length=2000)


class ReclassifyIn(BaseModel):
    """A correction of the decision by the work team."""

    department_kind: str | None = Field(default=None, max_length=40)
    category: Category | None = None
    route: Route | None = None
    reason: str = Field(min_length=2, max_length=2000)


class CatalogueIn(BaseModel):
    """A new catalogue version."""

    catalogue: dict[str, Any]
    note: str | None = Field(default=None, max_length=2000)


def _wo(summary: str, description: str) -> dict[str, Any]:
    return {"tags": ["work-orders"], "summary": summary, "description": description}


# ------------------------------------------------------------------------------------------ work orders

@router.get("/work-orders", **_wo("工单列表 / List work orders",
                                  "按状态、单位、灯色筛选；承办单位只看到本单位的工单。\n\n"
                                  "Filter by state, unit and tier; a unit key sees only its own."))
async def list_work_orders(
    rt: RuntimeDep, who: Reader, state: str | None = None, unit: str | None = None, tier: Tier | None = None,
    limit: int = Query(default=100, ge=1, le=1000), offset: int = Query(default=0, ge=0),
) -> list[dict[str, Any]]:
    return await queries.list_work_orders(rt, who, state=state, unit=unit, tier=tier.value if tier else None,
                                          limit=limit, offset=offset)


@router.get("/work-orders/{ticket_no}", **_wo("查看工单 / Get a work order",
                                              "分类、灯色、响应级别、派单及每一步的理由与操作记录。\n\n"
                                              "Classification, tier, level, routing, the reasons and the log."))
async def get_work_order(ticket_no: str, rt: RuntimeDep, who: Reader) -> dict[str, Any]:
    return await queries.get_work_order(rt, ticket_no, who)


@router.post("/work-orders/{ticket_no}/dispatch", **_wo("人工派单 / Dispatch by hand",
                                                        "工作专班将未派出的工单交办给主办单位和协办单位。\n\n"
                                                        "The work team dispatches to a lead unit and co-units."))
async def dispatch(ticket_no: str, body: DispatchIn, bus: Bus, who: WorkTeam, corr: CorrelationId) -> dict[str, Any]:
    return await bus.handle(Dispatch(actor=who, ticket_no=ticket_no, lead_unit=body.lead_unit,
                                     co_units=body.co_units, reason=body.reason, correlation_id=corr))


@router.post("/work-orders/{ticket_no}/sign", **_wo("签收 / Sign for a work order",
                                                    "主办单位签收；签收后不能再申请退回。\n\n"
                                                    "The lead unit signs; afterwards it can no longer return it."))
async def sign(ticket_no: str, bus: Bus, who: UnitOrWorkTeam, corr: CorrelationId) -> dict[str, Any]:
    return await bus.handle(Sign(actor=who, ticket_no=ticket_no, correlation_id=corr))


@router.post("/work-orders/{ticket_no}/return-requests", **_wo(
    "申请退回 / Ask to return a work order",
    "不属本单位职责时，在签收前（2个工作日内，逾期视为签收）申请退回，写明理由和依据。\n\n"
    "Before signing (within 2 working days; afterwards it counts as signed), with reason and basis."))
async def request_return(ticket_no: str, body: ReturnRequestIn, bus: Bus, who: LeadUnit,
                         corr: CorrelationId) -> dict[str, Any]:
    return await bus.handle(RequestReturn(actor=who, ticket_no=ticket_no, reason=body.reason, basis=body.basis,
                                          correlation_id=corr))


@router.post("/work-orders/{ticket_no}/return-requests/decision", **_wo(
    "审核退回申请 / Rule on a return request",
    "工作专班审核：通过则界定职责后改派（新一轮、重新计时），不通过则由原单位继续办理。\n\n"
    "Approve → re-dispatch (new round and clock); reject → the unit keeps it, reason recorded."))
async def decide_return(ticket_no: str, body: ReturnDecisionIn, bus: Bus, who: WorkTeam,
                        corr: CorrelationId) -> dict[str, Any]:
    return await bus.handle(DecideReturn(actor=who, ticket_no=ticket_no, approved=body.approved, reason=body.reason,
                                         new_unit=body.new_unit, co_units=body.co_units, correlation_id=corr))


@router.post("/work-orders/{ticket_no}/progress", **_wo("报告进展 / Report progress",
                                                        "主办或协办单位报告办理进展。\n\n"
                                                        "The lead unit or a co-unit reports progress."))
async def progress(ticket_no: str, body: ProgressIn, bus: Bus, who: UnitOrWorkTeam,
                   corr: CorrelationId) -> dict[str, Any]:
    return await bus.handle(ReportProgress(actor=who, ticket_no=ticket_no, note=body.note, correlation_id=corr))


@router.post("/work-orders/{ticket_no}/resolution", **_wo(
    "提交办理结果 / Submit the result",
    "办结：已解决、部分解决或无法解决，并附对诉求人的答复（无法办理须说明原因）。\n\n"
    "resolved / partially_resolved / unresolvable, with the reply to the person."))
async def resolve(ticket_no: str, body: ResolutionIn, bus: Bus, who: UnitOrWorkTeam,
                  corr: CorrelationId) -> dict[str, Any]:
    return await bus.handle(SubmitResolution(actor=who, ticket_no=ticket_no, outcome=body.outcome, reply=body.reply,
                                             correlation_id=corr))


@router.post("/work-orders/{ticket_no}/answer", **_wo(
    "直接答复 / Answer directly",
    "三级响应：简单咨询由话务员依知识库当场答复；不填则使用知识库建议答复。\n\n"
    "Response level 3: answered from the knowledge base; empty reuses the suggestion."))
async def answer(ticket_no: str, bus: Bus, who: OperatorOrWorkTeam, corr: CorrelationId,
                 body: AnswerIn = Body(default_factory=AnswerIn)) -> dict[str, Any]:
    return await bus.handle(Answer(actor=who, ticket_no=ticket_no, text=body.answer, correlation_id=corr))


@router.post("/work-orders/{ticket_no}/close", **_wo("办结归档 / Close as ruled",
                                                     "工作专班按规定关闭（如已答复、已转办、无法回访）。\n\n"
                                                     "The work team closes a ticket as ruled."))
async def close(ticket_no: str, body: CloseIn, bus: Bus, who: WorkTeam, corr: CorrelationId) -> dict[str, Any]:
    return await bus.handle(Close(actor=who, ticket_no=ticket_no, reason=body.reason, correlation_id=corr))


@router.post("/work-orders/{ticket_no}/tier", **_wo(
    "调整灯色 / Set the tier",
    "人工调整红黄绿灯；调低须工作专班或管理员并写明理由（自动规则只会调高）。\n\n"
    "Automatic rules only raise the tier; a person (work team/admin) may lower it with a reason."))
async def change_tier(ticket_no: str, body: TierIn, bus: Bus, who: WorkTeam, corr: CorrelationId) -> dict[str, Any]:
    return await bus.handle(ChangeTier(actor=who, ticket_no=ticket_no, tier=body.tier, reason=body.reason,
                                       correlation_id=corr))


@router.post("/work-orders/{ticket_no}/reclassify", **_wo(
    "纠正分类 / Correct the classification",
    "工作专班纠正部门类别、诉求类别或分流路径并写明理由；纠正被保存并用于训练，下一件相似诉求随之改变；"
    "尚未签收的工单同时改派。\n\n"
    "Stored as a correction the model learns from; a work order not yet signed is re-routed."))
async def reclassify(ticket_no: str, body: ReclassifyIn, bus: Bus, who: WorkTeam,
                     corr: CorrelationId) -> dict[str, Any]:
    if body.department_kind is None and body.category is None and body.route is None:
        raise Problem(422, "name at least one of department_kind, category, route", type_="validation",
                      errors=[{"field": "department_kind", "message": "nothing to correct"}])
    return await bus.handle(Reclassify(actor=who, ticket_no=ticket_no, kind=body.department_kind,
                                       category=body.category, route=body.route, reason=body.reason,
                                       correlation_id=corr))


@router.get("/corrections", tags=["catalogue"], summary="纠正记录 / Corrections",
            description="工作专班的分类纠正记录（最新在前）。\n\nThe work team's corrections, newest first.")
async def list_corrections(rt: RuntimeDep, _who: WorkTeam,
                           limit: int = Query(default=100, ge=1, le=1000)) -> list[dict[str, Any]]:
    return await queries.list_corrections(rt, limit)


# ------------------------------------------------------------------------------------------ directory

@router.get("/units", tags=["directory"], summary="组织目录 / List units of the org directory",
            description="按层级、类别、上级、区划筛选。\n\nFilter by level, kind, parent and region (prefix).")
async def list_units(
    rt: RuntimeDep, _who: DirectoryReader,
    level: int | None = Query(default=None, ge=1, le=4), kind: str | None = None, parent: str | None = None,
    region: str | None = None, active: bool | None = None,
    limit: int = Query(default=100, ge=1, le=5000), offset: int = Query(default=0, ge=0),
) -> list[dict[str, Any]]:
    return await queries.list_units(rt, level=level, kind=kind, region=region, parent=parent, active=active,
                                     limit=limit, offset=offset)


@router.get("/units:export", tags=["directory"], summary="导出组织目录 / Export the directory",
            description="CSV 或 JSON（可再导入）。\n\nCSV or JSON, re-importable.")
async def export_units(rt: RuntimeDep, _who: WorkTeam,
                       fmt: Literal["json", "csv"] = Query(default="json", alias="format")) -> Any:
    rows = await queries.export_units(rt)
    if fmt == "csv":
        return PlainTextResponse(to_csv(rows), media_type="text/csv; charset=utf-8")
    return JSONResponse(rows)


@router.post("/units:import", tags=["directory"], summary="导入组织目录 / Import the directory",
             description="JSON 数组（或 {\"units\": [...]}）或 CSV（text/csv）；"
                         "全部校验通过才导入（要么全部、要么不导），"
                         "错误列出行号与字段。mode=replace 替换整个目录。\n\n"
                         "JSON array or CSV; validated, all-or-nothing, errors name the row and field.")
async def import_units(request: Request, bus: Bus, who: WorkTeam, corr: CorrelationId,
                       mode: Literal["upsert", "replace"] = "upsert") -> dict[str, Any]:
    raw = await request.body()
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "text/csv":
        try:
            rows: Any = parse_csv(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise Problem(400, f"unreadable CSV: {exc}", type_="malformed-csv") from None
    else:
        try:
            rows = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise Problem(400, f"malformed JSON body: {exc}", type_="malformed-json") from None
        if isinstance(rows, dict):
            rows = rows.get("units")
    if not isinstance(rows, list) or not rows:
        raise Problem(422, "send a non-empty list of units", type_="validation",
                      errors=[{"field": "units", "message": "a non-empty list is required"}])
    return await bus.handle(ImportDirectory(actor=who, rows=rows, replace=mode == "replace", correlation_id=corr))


@router.get("/units/{code}", tags=["directory"], summary="查看单位 / Get a unit",
            description="单位详情及下级数量。\n\nOne unit and how many units it has below it.")
async def get_unit(code: str, rt: RuntimeDep, _who: DirectoryReader) -> dict[str, Any]:
    return await queries.get_unit(rt, code)


# ------------------------------------------------------------------------------------------ catalogue

@router.get("/catalogue", tags=["catalogue"], summary="派单目录 / The routing catalogue",
            description="当前生效的派单目录（或指定版本）。\n\nThe active routing catalogue (or a version).")
async def get_catalogue(rt: RuntimeDep, ctx: Context, _who: Reader,
                        version: int | None = Query(default=None, ge=0)) -> dict[str, Any]:
    return await queries.get_catalogue(rt, ctx.caches, version)


@router.put("/catalogue", tags=["catalogue"], summary="发布派单目录新版本 / Publish a catalogue version",
            description="校验后保存为新版本并立即生效；旧版本保留可回滚。\n\n"
                        "Validated, stored as a new version and made active; older versions are kept.")
async def put_catalogue(body: CatalogueIn, bus: Bus, who: WorkTeam, corr: CorrelationId) -> dict[str, Any]:
    return await bus.handle(PublishCatalogue(actor=who, catalogue=body.catalogue, note=body.note,
                                             correlation_id=corr))


@router.get("/catalogue/versions", tags=["catalogue"], summary="派单目录版本 / Catalogue versions",
            description="所有版本（0 为随服务发布的默认目录）。\n\nEvery version; 0 is the shipped default.")
async def catalogue_versions(rt: RuntimeDep, _who: Reader) -> list[dict[str, Any]]:
    return await queries.list_catalogue_versions(rt)


@router.post("/catalogue/versions/{version}:activate", tags=["catalogue"],
             summary="启用某一版本 / Activate a version",
             description="回滚到指定版本。\n\nRoll back to an earlier version.")
async def activate(version: int, bus: Bus, who: WorkTeam, corr: CorrelationId) -> dict[str, Any]:
    return await bus.handle(ActivateCatalogue(actor=who, version=version, correlation_id=corr))
