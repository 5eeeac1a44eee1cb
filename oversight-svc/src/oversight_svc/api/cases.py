"""Supervision cases: open by hand, list, read, and each step of the red ticket track."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import Field

from bancheng_shared.contracts.limits import Content, Name, Reason, TicketNo, Title, UnitCode
from bancheng_shared.contracts.vocab import ResolvedAnswer, Satisfaction
from oversight_svc import queries
from oversight_svc.api.deps import (
    Body,
    Bus,
    CaseReader,
    CaseWriter,
    CorrelationId,
    Id,
    Offset,
    RuntimeDep,
    UnitKey,
)
from oversight_svc.api.models import Case
from oversight_svc.domain.cases import TRANSITIONS
from oversight_svc.domain.commands import (
    ConcludeCase,
    Investigate,
    OpenCase,
    OrderRedo,
    PublishCase,
    RegisterCase,
    ReplyLetter,
    SendLetter,
    VisitComplainant,
)

router = APIRouter()


CaseId = Annotated[Id, Path(description="案件编号 / case id (CASE-…)")]
LetterId = Annotated[Id, Path(description="督办函编号 / letter id (LTR-…)")]
# a case as the caller may see it, with the keys it has (informant, documents and letters only where answered)
ONE_CASE: dict[str, Any] = {"tags": ["cases"], "response_model": Case, "response_model_exclude_unset": True}


class CaseIn(Body):
    """A supervision case opened by hand."""

    title: Title = Field(min_length=2)
    summary: Content | None = None
    ticket_nos: list[TicketNo] = Field(default_factory=list, max_length=200)
    units: list[UnitCode] = Field(default_factory=list, max_length=50)
    red: bool = False
    informant: Reason | None = Field(None, description="PII: never shown to units, never published")
    inspector: Name | None = None


class RegisterIn(Body):
    """登记备案."""

    inspector: Name | None = Field(None, description="inspector in charge / 承办检查人员")
    notes: Reason | None = None


class InvestigateIn(Body):
    """调查核实: notes and findings."""

    notes: Content = Field(min_length=1)
    findings: Content | None = None


class LetterIn(Body):
    """督办函: requirements and the reply's due date."""

    unit: UnitCode
    requirements: Content = Field(min_length=1)
    due_date: date | None = Field(None, description="reply due by the end of this local day")
    working_days: int | None = Field(None, ge=1, le=60, description="or: N statutory working days from today")


class ReplyIn(Body):
    """督办回复函 of the addressed unit."""

    content: Content = Field(min_length=1)
    measures: list[Reason] = Field(default_factory=list, max_length=100)


class CaseVisitIn(Body):
    """The inspectors' return visit to the person."""

    resolved: ResolvedAnswer
    satisfaction: Satisfaction
    rectification: Literal["sufficient", "insufficient"]
    method: Literal["phone", "on_site"] = "phone"
    notes: Reason | None = None


class RedoIn(Body):
    """Rectification insufficient: the reason (published to triage with RedoOrdered)."""

    reason: Reason = Field(min_length=1)


class ConcludeIn(Body):
    """The result feedback sheet."""

    result: Content = Field(min_length=1)
    solved: bool
    findings: Content | None = None


class PublishIn(Body):
    """What the public feed shows (personal data is stripped)."""

    title: Title = Field(min_length=2)
    summary: Content = Field(min_length=1)
    outcome: Content | None = None


CASE_DOC = ("状态机 / state machine: " + "; ".join(f"{s} → {', '.join(sorted(a))}"
                                                  for s, a in TRANSITIONS.items())
            + ". 不允许的操作返回 409，说明当前状态与允许的操作 / invalid transitions answer 409 naming the state "
              "and the allowed actions.")


@router.post("/cases", status_code=201, **ONE_CASE, summary="立案（人工）/ Open a case by hand",
             description="人工立案；红灯件与督办升级会自动立案。\n\nOpen a supervision case by hand (red tickets and "
             "escalations open cases automatically). " + CASE_DOC)
async def open_case(body: CaseIn, bus: Bus, corr: CorrelationId, who: CaseWriter) -> dict[str, Any]:
    return await bus.handle(OpenCase(
        actor=who, title=body.title, summary=body.summary, ticket_nos=body.ticket_nos, units=body.units,
        red=body.red, informant=body.informant, inspector=body.inspector, correlation_id=corr))


@router.get("/cases", tags=["cases"], response_model=list[Case], response_model_exclude_unset=True,
            summary="督办案件列表 / List supervision cases",
            description="纪检监察、督查室与营商办看到全部；单位密钥只看到涉及本单位的案件（不含举报人信息）。\n\n"
            "Inspectors, the supervision office and the business-environment office see all; a unit key only cases "
            "naming its unit, never the informant.")
async def list_cases(rt: RuntimeDep, who: CaseReader, state: Name | None = None, unit: UnitCode | None = None,
                     ticket_no: TicketNo | None = None, limit: int = Query(50, ge=1, le=500),
                     offset: Offset = 0) -> list[dict[str, Any]]:
    return await queries.list_cases(rt, who, state=state, unit=unit, ticket_no=ticket_no, limit=limit, offset=offset)


@router.get("/cases/{case_id}", **ONE_CASE, summary="案件详情与文书 / A case with its documents",
            description="案件、各环节文书、督办函及回复。单位密钥只看到发给本单位的督办函及其回复和发给本单位的文书。\n\n"
            "The case, the documents of each step, letters and replies. A unit key sees the letters addressed to "
            "it with their replies and the documents addressed to it (not the register, investigation, visit or "
            "copy notes).")
async def get_case(case_id: CaseId, rt: RuntimeDep, who: CaseReader) -> dict[str, Any]:
    return await queries.get_case(rt, case_id, who)


@router.post("/cases/{case_id}/register", **ONE_CASE, summary="登记备案 / Register",
             description="登记备案并指定承办检查人员。\n\n"
             "Register the case and name the inspector in charge. " + CASE_DOC)
async def register(case_id: CaseId, body: RegisterIn, bus: Bus, corr: CorrelationId, who: CaseWriter) -> dict[str, Any]:
    return await bus.handle(RegisterCase(
        actor=who, case_id=case_id, inspector=body.inspector, notes=body.notes, correlation_id=corr))


@router.post("/cases/{case_id}/investigations", **ONE_CASE, summary="调查核实 / Investigation notes",
             description="记录调查情况与发现。\n\nRecord investigation notes and findings. " + CASE_DOC)
async def investigate(case_id: CaseId, body: InvestigateIn, bus: Bus, corr: CorrelationId,
                      who: CaseWriter) -> dict[str, Any]:
    return await bus.handle(Investigate(
        actor=who, case_id=case_id, notes=body.notes, findings=body.findings, correlation_id=corr))


@router.post("/cases/{case_id}/letters", **ONE_CASE, summary="下发督办函 / Send a supervision letter",
             description="督办函：整改要求与回复期限（日期，或法定工作日数）。逾期未回复，案件升级并提出问责建议。\n\n"
             "Supervision letter with requirements and a reply due date (a date, or N statutory working days). "
             "Unanswered by the due date: the case is raised and accountability proposed. " + CASE_DOC)
async def send_letter(case_id: CaseId, body: LetterIn, bus: Bus, corr: CorrelationId,
                      who: CaseWriter) -> dict[str, Any]:
    return await bus.handle(SendLetter(
        actor=who, case_id=case_id, unit=body.unit, requirements=body.requirements, due_date=body.due_date,
        working_days=body.working_days, correlation_id=corr))


@router.post("/cases/{case_id}/letters/{letter_id}/reply", **ONE_CASE,
             summary="督办回复函 / The unit's reply letter",
             description="由被督办单位用本单位密钥提交。\n\nSubmitted by the addressed unit with its own unit key. "
             + CASE_DOC)
async def reply_letter(case_id: CaseId, letter_id: LetterId, body: ReplyIn, bus: Bus, corr: CorrelationId,
                       who: UnitKey) -> dict[str, Any]:
    return await bus.handle(ReplyLetter(
        actor=who, case_id=case_id, letter_id=letter_id, content=body.content, measures=body.measures,
        correlation_id=corr))


@router.post("/cases/{case_id}/return-visits", **ONE_CASE, summary="回访投诉人 / Return visit (inspectors)",
             description="纪检监察人员回访投诉人，判断整改是否到位。\n\nThe inspectors call the person back and judge "
             "whether the rectification is sufficient. " + CASE_DOC)
async def case_visit(case_id: CaseId, body: CaseVisitIn, bus: Bus, corr: CorrelationId,
                     who: CaseWriter) -> dict[str, Any]:
    return await bus.handle(VisitComplainant(
        actor=who, case_id=case_id, resolved=body.resolved, satisfaction=body.satisfaction,
        rectification=body.rectification, method=body.method, notes=body.notes, correlation_id=corr))


@router.post("/cases/{case_id}/redo", **ONE_CASE, summary="整改不到位，再次办理 / Order a redo",
             description="发布 RedoOrdered，工单经分拨服务退回承办单位重新办理。\n\n"
             "Publishes RedoOrdered for the case's "
             "tickets; triage reopens them to the unit. " + CASE_DOC)
async def order_redo(case_id: CaseId, body: RedoIn, bus: Bus, corr: CorrelationId, who: CaseWriter) -> dict[str, Any]:
    return await bus.handle(OrderRedo(
        actor=who, case_id=case_id, reason=body.reason, correlation_id=corr))


@router.post("/cases/{case_id}/conclusion", **ONE_CASE, summary="办结并出具反馈单 / Conclude with feedback sheet",
             description="出具调查办理结果反馈单，送热线中心及承办单位。\n\nConclude with the result feedback sheet "
             "(调查办理结果反馈单) sent to the hotline centre and the units. " + CASE_DOC)
async def conclude(case_id: CaseId, body: ConcludeIn, bus: Bus, corr: CorrelationId, who: CaseWriter) -> dict[str, Any]:
    return await bus.handle(ConcludeCase(
        actor=who, case_id=case_id, result=body.result, solved=body.solved, findings=body.findings,
        correlation_id=corr))


@router.post("/cases/{case_id}/publication", **ONE_CASE, summary="公开督查结果 / Publish (督查回声)",
             description="选择已办结案件公开；自动去除电话、证件号、邮箱、人名（姓+某）。\n\nPublish a concluded case; "
             "phone numbers, ID numbers, e-mails and known personal names (→ surname + 某) are stripped. " + CASE_DOC)
async def publish(case_id: CaseId, body: PublishIn, bus: Bus, corr: CorrelationId, who: CaseWriter) -> dict[str, Any]:
    return await bus.handle(PublishCase(
        actor=who, case_id=case_id, title=body.title, summary=body.summary, outcome=body.outcome,
        correlation_id=corr))
