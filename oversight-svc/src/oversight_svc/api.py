"""oversight HTTP routes (thin: validate, check roles, call the use cases)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from bancheng_shared.app import runtime_of
from bancheng_shared.auth import Principal, Role, require
from bancheng_shared.contracts.vocab import AccountabilityMeasure, ResolvedAnswer, Satisfaction
from bancheng_shared.problems import Problem
from bancheng_shared.runtime import Runtime
from oversight_svc import cases as case_ops
from oversight_svc import domain, reports, service

router = APIRouter(prefix="/v1")

STATS_ROLES = (Role.leader, Role.inspector, Role.supervision_office, Role.business_environment, Role.work_team,
               Role.unit)
CASE_READERS = (Role.inspector, Role.supervision_office, Role.business_environment, Role.unit)
CASE_WRITERS = (Role.inspector, Role.supervision_office)
VISITORS = (Role.work_team, Role.inspector, Role.supervision_office)
REPORT_ROLES = (Role.leader, Role.inspector, Role.supervision_office, Role.business_environment, Role.work_team)

RATES_DOC = "\n\n".join(f"- **{k}**: {v}" for k, v in domain.RATE_DEFINITIONS.items())
ReasonCategory = Literal["不作为", "乱作为", "慢作为", "不正确履行监管职责", "推诿扯皮"]


class Body(BaseModel):
    """Request bodies refuse unknown fields."""

    model_config = ConfigDict(extra="forbid")


# ---- statistics ----

@router.get("/stats/units", tags=["stats"], summary="单位统计与三率 / Per-unit statistics and the three rates",
            description="按单位统计某期间（含首尾日，本地日期）的各项计数与三率。单位密钥只能看到本单位。\n\n"
            "Per-unit counters and rates for [from, to] (local dates, inclusive), from incremental rollups. "
            "A unit key sees only its own unit.\n\n" + RATES_DOC)
async def unit_stats(
    start: date = Query(alias="from"),
    end: date = Query(alias="to"),
    unit: str | None = None,
    region: str | None = Query(None, description="region code prefix of the units / 单位所属区划代码前缀"),
    rt: Runtime = Depends(runtime_of),
    who: Principal = Depends(require(*STATS_ROLES)),
) -> list[dict[str, Any]]:
    if who.role == Role.unit:
        unit, region = who.unit_code, None
    return await service.unit_stats(rt, start, end, unit, region)


@router.get("/stats/overview", tags=["stats"], summary="总览、排名与红灯件数据 / Overview, rankings, red-track figures",
            description="某区划某期间的合计、分区划数据、三率排名（样本不足不排名）、“办结未解决”单位标记、红灯件数据。\n\n"
            "Totals, per-region figures, rankings (units under the minimum sample are not ranked), units that "
            "close without solving, red-track figures (red tickets investigated, problems solved, people held "
            "accountable).\n\n" + RATES_DOC)
async def overview(
    start: date = Query(alias="from"),
    end: date = Query(alias="to"),
    region: str | None = None,
    rt: Runtime = Depends(runtime_of),
    who: Principal = Depends(require(*REPORT_ROLES)),
) -> dict[str, Any]:
    return await service.overview(rt, start, end, region)


# ---- reports ----

@router.get("/reports", tags=["reports"], summary="定期分析报告 / Periodic analysis report",
            description="周/月/季/年报告：HTML（内嵌 SVG 图表，不依赖外网）、XLSX 或 CSV 下载。\n\n"
            "Week, month, quarter or year report for a region: HTML with inline SVG charts (nothing loaded from "
            "the internet), XLSX or CSV download. `start` is any day inside the period.")
async def report(
    period: Literal["week", "month", "quarter", "year"] = "month",
    start: date = Query(description="a day in the period / 期间内任一天"),
    region: str | None = None,
    format: Literal["html", "xlsx", "csv", "json"] = "html",
    rt: Runtime = Depends(runtime_of),
    who: Principal = Depends(require(*REPORT_ROLES)),
) -> Response:
    data = await reports.build(rt, period, start, region)
    return reports.render(data, format)


# ---- tier copies ----

COPY_READERS = (Role.business_environment, Role.supervision_office, Role.inspector, Role.leader)


@router.get("/copies", tags=["copies"], summary="分级抄送件 / Tier copies (archive, joint scheduling, supervision)",
            description="分诊服务按红黄绿分级规则抄送的诉求件：绿灯件办结后抄送营商办备案（archive），黄灯件抄送营商办"
            "联合调度（joint_scheduling），红灯件抄送营商办与纪委监委督办（supervision，同时确保存在督办案件，"
            "case_id 为其案件）。可按用途、等级、工单号、接收单位（to_units 中的单位代码）和抄送日期（本地日期，"
            "含首尾日）筛选，按抄送时间倒序。\n\n"
            "Copies triage sent under the tier rules: green → archive copy to the business-environment office "
            "after completion; yellow → joint-scheduling copy to the business-environment office; red → "
            "supervision by the business-environment office and discipline inspection (oversight makes sure a "
            "supervision case exists; `case_id` names it). Filter by purpose, tier, ticket number, receiving "
            "unit (a code in `to_units`) and issue date (local dates, inclusive); newest first.")
async def list_copies(
    purpose: Literal["archive", "joint_scheduling", "supervision"] | None = Query(
        None, description="用途 / purpose"),
    tier: Literal["green", "yellow", "red"] | None = Query(None, description="等级 / tier"),
    ticket_no: str | None = Query(None, description="工单号 / ticket number"),
    unit: str | None = Query(None, description="接收单位代码 / receiving unit code"),
    start: date | None = Query(None, alias="from", description="抄送日期起 / issued from (local date)"),
    end: date | None = Query(None, alias="to", description="抄送日期止 / issued to (local date, inclusive)"),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
    rt: Runtime = Depends(runtime_of),
    who: Principal = Depends(require(*COPY_READERS)),
) -> list[dict[str, Any]]:
    return await service.list_copies(rt, purpose=purpose, tier=tier, ticket_no=ticket_no, unit=unit,
                                     start=start, end=end, limit=limit, offset=offset)


# ---- cases ----

class CaseIn(Body):
    title: str = Field(min_length=2, max_length=300)
    summary: str | None = Field(None, max_length=5000)
    ticket_nos: list[str] = Field(default_factory=list, max_length=200)
    units: list[str] = Field(default_factory=list, max_length=50)
    red: bool = False
    informant: str | None = Field(None, max_length=500, description="PII: never shown to units, never published")
    inspector: str | None = None


class RegisterIn(Body):
    inspector: str | None = Field(None, description="inspector in charge / 承办检查人员")
    notes: str | None = None


class InvestigateIn(Body):
    notes: str = Field(min_length=1, max_length=20000)
    findings: str | None = Field(None, max_length=20000)


class LetterIn(Body):
    unit: str
    requirements: str = Field(min_length=1, max_length=20000)
    due_date: date | None = Field(None, description="reply due by the end of this local day")
    working_days: int | None = Field(None, ge=1, le=60, description="or: N statutory working days from today")


class ReplyIn(Body):
    content: str = Field(min_length=1, max_length=20000)
    measures: list[str] = Field(default_factory=list)


class CaseVisitIn(Body):
    resolved: ResolvedAnswer
    satisfaction: Satisfaction
    rectification: Literal["sufficient", "insufficient"]
    method: Literal["phone", "on_site"] = "phone"
    notes: str | None = None


class RedoIn(Body):
    reason: str = Field(min_length=1, max_length=5000)


class ConcludeIn(Body):
    result: str = Field(min_length=1, max_length=20000)
    solved: bool
    findings: str | None = None


class PublishIn(Body):
    title: str = Field(min_length=2, max_length=300)
    summary: str = Field(min_length=1, max_length=20000)
    outcome: str | None = None


CASE_DOC = ("状态机 / state machine: " + "; ".join(f"{s} → {', '.join(sorted(a))}"
                                                  for s, a in domain.TRANSITIONS.items())
            + ". 不允许的操作返回 409，说明当前状态与允许的操作 / invalid transitions answer 409 naming the state "
              "and the allowed actions.")


@router.post("/cases", tags=["cases"], status_code=201, summary="立案（人工）/ Open a case by hand",
             description="人工立案；红灯件与督办升级会自动立案。\n\nOpen a supervision case by hand (red tickets and "
             "escalations open cases automatically). " + CASE_DOC)
async def open_case(body: CaseIn, rt: Runtime = Depends(runtime_of),
                    who: Principal = Depends(require(*CASE_WRITERS))) -> dict[str, Any]:
    async with rt.sm() as session, session.begin():
        case_id = await case_ops.create_case(
            rt, session, title=body.title, source="manual", at=datetime.now().astimezone(), ticket_nos=body.ticket_nos,
            unit_codes=body.units, red=body.red, summary=body.summary, informant=body.informant,
            inspector=body.inspector, who=who)
        view = await case_ops.case_view(session, await case_ops.load_case(session, case_id), who)
    rt.relay.wake()
    return view


@router.get("/cases", tags=["cases"], summary="督办案件列表 / List supervision cases",
            description="督查人员与督查室看到全部；单位密钥只看到涉及本单位的案件（不含举报人信息）。\n\n"
            "Inspectors and the supervision office see all; a unit key only cases naming its unit, never the "
            "informant.")
async def list_cases(state: str | None = None, unit: str | None = None, ticket_no: str | None = None,
                     limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0),
                     rt: Runtime = Depends(runtime_of),
                     who: Principal = Depends(require(*CASE_READERS))) -> list[dict[str, Any]]:
    if state and state not in domain.STATES:
        raise Problem(422, f"state: unknown, one of {', '.join(domain.STATES)}", type_="validation")
    async with rt.sm() as session:
        return await case_ops.list_cases(session, who, state=state, unit=unit, ticket_no=ticket_no,
                                         limit=limit, offset=offset)


@router.get("/cases/{case_id}", tags=["cases"], summary="案件详情与文书 / A case with its documents",
            description="案件、各环节文书、督办函及回复。\n\n"
            "The case, the documents of each step, letters and replies.")
async def get_case(case_id: str, rt: Runtime = Depends(runtime_of),
                   who: Principal = Depends(require(*CASE_READERS))) -> dict[str, Any]:
    async with rt.sm() as session:
        return await case_ops.case_view(session, await case_ops.load_case(session, case_id), who)


async def _act(rt: Runtime, case_id: str, action: str, body: dict[str, Any], who: Principal) -> dict[str, Any]:
    async with rt.sm() as session, session.begin():
        view = await case_ops.act(rt, session, case_id, action, body, who)
    rt.relay.wake()
    return view


@router.post("/cases/{case_id}/register", tags=["cases"], summary="登记备案 / Register",
             description="登记备案并指定承办检查人员。\n\n"
             "Register the case and name the inspector in charge. " + CASE_DOC)
async def register(case_id: str, body: RegisterIn, rt: Runtime = Depends(runtime_of),
                   who: Principal = Depends(require(*CASE_WRITERS))) -> dict[str, Any]:
    return await _act(rt, case_id, "register", body.model_dump(), who)


@router.post("/cases/{case_id}/investigations", tags=["cases"], summary="调查核实 / Investigation notes",
             description="记录调查情况与发现。\n\nRecord investigation notes and findings. " + CASE_DOC)
async def investigate(case_id: str, body: InvestigateIn, rt: Runtime = Depends(runtime_of),
                      who: Principal = Depends(require(*CASE_WRITERS))) -> dict[str, Any]:
    return await _act(rt, case_id, "investigate", body.model_dump(), who)


@router.post("/cases/{case_id}/letters", tags=["cases"], summary="下发督办函 / Send a supervision letter",
             description="督办函：整改要求与回复期限（日期，或法定工作日数）。逾期未回复，案件升级并提出问责建议。\n\n"
             "Supervision letter with requirements and a reply due date (a date, or N statutory working days). "
             "Unanswered by the due date: the case is raised and accountability proposed. " + CASE_DOC)
async def send_letter(case_id: str, body: LetterIn, rt: Runtime = Depends(runtime_of),
                      who: Principal = Depends(require(*CASE_WRITERS))) -> dict[str, Any]:
    return await _act(rt, case_id, "send_letter", body.model_dump(), who)


@router.post("/cases/{case_id}/letters/{letter_id}/reply", tags=["cases"],
             summary="督办回复函 / The unit's reply letter",
             description="由被督办单位用本单位密钥提交。\n\nSubmitted by the addressed unit with its own unit key. "
             + CASE_DOC)
async def reply_letter(case_id: str, letter_id: str, body: ReplyIn, rt: Runtime = Depends(runtime_of),
                       who: Principal = Depends(require(Role.unit))) -> dict[str, Any]:
    return await _act(rt, case_id, "reply", {"letter_id": letter_id, **body.model_dump()}, who)


@router.post("/cases/{case_id}/return-visits", tags=["cases"], summary="回访投诉人 / Return visit (inspectors)",
             description="纪检监察人员回访投诉人，判断整改是否到位。\n\nThe inspectors call the person back and judge "
             "whether the rectification is sufficient. " + CASE_DOC)
async def case_visit(case_id: str, body: CaseVisitIn, rt: Runtime = Depends(runtime_of),
                     who: Principal = Depends(require(*CASE_WRITERS))) -> dict[str, Any]:
    return await _act(rt, case_id, "return_visit", body.model_dump(mode="json"), who)


@router.post("/cases/{case_id}/redo", tags=["cases"], summary="整改不到位，再次办理 / Order a redo",
             description="发布 RedoOrdered，工单经分拨服务退回承办单位重新办理。\n\n"
             "Publishes RedoOrdered for the case's "
             "tickets; triage reopens them to the unit. " + CASE_DOC)
async def order_redo(case_id: str, body: RedoIn, rt: Runtime = Depends(runtime_of),
                     who: Principal = Depends(require(*CASE_WRITERS))) -> dict[str, Any]:
    return await _act(rt, case_id, "order_redo", body.model_dump(), who)


@router.post("/cases/{case_id}/conclusion", tags=["cases"], summary="办结并出具反馈单 / Conclude with feedback sheet",
             description="出具调查办理结果反馈单，送热线中心及承办单位。\n\nConclude with the result feedback sheet "
             "(调查办理结果反馈单) sent to the hotline centre and the units. " + CASE_DOC)
async def conclude(case_id: str, body: ConcludeIn, rt: Runtime = Depends(runtime_of),
                   who: Principal = Depends(require(*CASE_WRITERS))) -> dict[str, Any]:
    return await _act(rt, case_id, "conclude", body.model_dump(), who)


@router.post("/cases/{case_id}/publication", tags=["cases"], summary="公开督查结果 / Publish (督查回声)",
             description="选择已办结案件公开；自动去除电话、证件号、邮箱、人名（姓+某）。\n\nPublish a concluded case; "
             "phone numbers, ID numbers, e-mails and known personal names (→ surname + 某) are stripped. " + CASE_DOC)
async def publish(case_id: str, body: PublishIn, rt: Runtime = Depends(runtime_of),
                  who: Principal = Depends(require(Role.supervision_office, Role.inspector))) -> dict[str, Any]:
    return await _act(rt, case_id, "publish", body.model_dump(), who)


# ---- return visits of tickets ----

class VisitIn(Body):
    resolved: ResolvedAnswer | None = Field(None, description="in the person's words / 群众认为是否解决")
    satisfaction: Satisfaction
    cause: Literal["subjective", "objective"] | None = Field(
        None, description="when unsatisfied: subjective = the unit's fault (→ redo) / 主观原因发回重办")
    notes: str | None = Field(None, max_length=5000)
    case_id: str | None = None
    visited_at: datetime | None = Field(None, description="when the call was made (default now) / 回访时间")


@router.post("/tickets/{ticket_no}/return-visits", tags=["return visits"], status_code=201,
             summary="记录回访 / Record a return visit",
             description="对已办结工单回访：是否解决、是否满意、不满意原因。主观原因不满意 → 发回重办（RedoOrdered）。"
             "未接通可再次回访。\n\nFor a resolved ticket: resolved in the person's words, satisfaction, cause when "
             "unsatisfied; subjective → RedoOrdered. Unreachable may be retried. Publishes ReturnVisitRecorded.")
async def record_visit(ticket_no: str, body: VisitIn, rt: Runtime = Depends(runtime_of),
                       who: Principal = Depends(require(*VISITORS))) -> dict[str, Any]:
    return await service.record_visit(rt, who, ticket_no, body.model_dump(mode="json"))


@router.get("/tickets/{ticket_no}/return-visits", tags=["return visits"], summary="回访记录 / Return visits",
            description="某工单的回访记录。\n\nThe return visits of a ticket.")
async def list_visits(ticket_no: str, rt: Runtime = Depends(runtime_of),
                      who: Principal = Depends(require(*VISITORS, Role.unit, Role.leader))) -> list[dict[str, Any]]:
    return await service.list_visits(rt, who, ticket_no)


@router.get("/return-visits/due", tags=["return visits"], summary="待回访 / Visits due",
            description="已办结待回访的工单，按到期时间排序。\n\n"
            "Resolved rounds waiting for their visit, earliest due first.")
async def visits_due(limit: int = Query(100, ge=1, le=1000), rt: Runtime = Depends(runtime_of),
                     who: Principal = Depends(require(*VISITORS))) -> list[dict[str, Any]]:
    return await service.visits_due(rt, limit)


# ---- accountability ----

class Person(Body):
    name: str = Field(min_length=1, max_length=100)
    post: str = Field(min_length=1, max_length=200)


class AccountabilityIn(Body):
    unit: str
    person: Person
    measure: AccountabilityMeasure
    reason_category: ReasonCategory
    reason: str | None = None
    case_ids: list[str] = Field(default_factory=list)
    ticket_nos: list[str] = Field(default_factory=list)
    decided_by: str | None = None
    decided_at: datetime | None = None


class DecideIn(Body):
    person: Person | None = None
    measure: AccountabilityMeasure | None = None
    reason_category: ReasonCategory | None = None
    reason: str | None = None
    decided_by: str | None = None
    dismiss: bool = False


@router.post("/accountability", tags=["accountability"], status_code=201, summary="问责记录 / Record accountability",
             description="单位、人员（姓名、职务）、问责措施、问责事由类别、关联案件与工单、决定人与时间。\n\n"
             "Unit, person (name, post), measure, reason category, linked cases and tickets, who decided, when.")
async def create_accountability(body: AccountabilityIn, rt: Runtime = Depends(runtime_of),
                                who: Principal = Depends(require(*CASE_WRITERS))) -> dict[str, Any]:
    if body.decided_at is not None and body.decided_at.tzinfo is None:
        raise Problem(422, "decided_at: needs a time zone offset", type_="validation")
    return await service.create_accountability(rt, who, body.model_dump(mode="python"))


@router.post("/accountability/{record_id}/decision", tags=["accountability"],
             summary="决定问责建议 / Decide a proposal",
             description="对逾期未回复督办函提出的问责建议作出决定或不予问责。\n\n"
             "Decide (or dismiss) a proposed record.")
async def decide_accountability(record_id: str, body: DecideIn, rt: Runtime = Depends(runtime_of),
                                who: Principal = Depends(require(*CASE_WRITERS))) -> dict[str, Any]:
    return await service.decide_accountability(rt, who, record_id, body.model_dump(mode="python"))


@router.get("/accountability", tags=["accountability"], summary="问责记录列表 / Accountability records",
            description="单位密钥只能看到本单位的记录。\n\nA unit key sees only its own unit's records.")
async def list_accountability(unit: str | None = None,
                              status: Literal["proposed", "decided", "dismissed"] | None = None,
                              case_id: str | None = None, limit: int = Query(100, ge=1, le=1000),
                              offset: int = Query(0, ge=0), rt: Runtime = Depends(runtime_of),
                              who: Principal = Depends(require(*CASE_READERS, Role.leader))) -> list[dict[str, Any]]:
    return await service.list_accountability(rt, who, unit=unit, status=status, case_id=case_id, limit=limit,
                                             offset=offset)


@router.get("/accountability/{record_id}", tags=["accountability"], summary="问责记录 / One record",
            description="一条问责记录。\n\nOne accountability record.")
async def get_accountability(record_id: str, rt: Runtime = Depends(runtime_of),
                             who: Principal = Depends(require(*CASE_READERS, Role.leader))) -> dict[str, Any]:
    return await service.get_accountability(rt, who, record_id)


# ---- hotspots ----

class HotspotCaseIn(Body):
    title: str | None = None
    summary: str | None = None
    units: list[str] = Field(default_factory=list, description="e.g. the city department responsible")


@router.get("/hotspots", tags=["hotspots"], summary="高频共性问题 / Hotspots",
            description="同类事项（部门类别+诉求类别+文本相似）在多个街道/区县于时间窗内出现，列出其工单。\n\n"
            "Same kind of matter (department kind + category + similar text) in several places within a window, "
            "with its tickets.")
async def list_hotspots(start: date | None = Query(None, alias="from"), end: date | None = Query(None, alias="to"),
                        min_places: int | None = Query(None, ge=2, le=1000), kind: str | None = None,
                        rt: Runtime = Depends(runtime_of),
                        who: Principal = Depends(require(*REPORT_ROLES))) -> list[dict[str, Any]]:
    return await service.find_hotspots(rt, start, end, min_places, kind)


@router.post("/hotspots/{hotspot_id}/case", tags=["hotspots"], status_code=201,
             summary="热点立案督办 / Open a case for a hotspot",
             description="把面上问题交给负责的市级部门督办，单件仍由属地办理。\n\nHand the systemic problem to the "
             "responsible department as a supervision case; each ticket still goes to its local unit.")
async def hotspot_case(hotspot_id: str, body: HotspotCaseIn, rt: Runtime = Depends(runtime_of),
                       who: Principal = Depends(require(*CASE_WRITERS))) -> dict[str, Any]:
    return await service.case_from_hotspot(rt, who, hotspot_id, body.model_dump())


# ---- public ----

public = APIRouter(prefix="/v1", tags=["public"])


@public.get("/disclosures", summary="督查回声（公开）/ Published outcomes (public)",
            description="无需凭证。已办结并选定公开的督办结果，已去除个人信息。\n\n"
            "No credential. Concluded cases chosen "
            "for publication, stripped of personal data.")
async def disclosures(limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0),
                      rt: Runtime = Depends(runtime_of)) -> list[dict[str, Any]]:
    return await service.list_disclosures(rt, limit, offset)
