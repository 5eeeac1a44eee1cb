"""Return visits of tickets and accountability records."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import Field

from bancheng_shared.contracts.limits import Name, Reason, TicketNo, UnitCode
from bancheng_shared.contracts.vocab import AccountabilityMeasure, ResolvedAnswer, Satisfaction
from oversight_svc import queries
from oversight_svc.api.deps import (
    AccountabilityReader,
    Body,
    Bus,
    CaseWriter,
    CorrelationId,
    Id,
    Moment,
    Offset,
    RuntimeDep,
    Visitor,
    VisitReader,
)
from oversight_svc.api.models import AccountabilityRecord, Visit, VisitDue, VisitRecorded
from oversight_svc.domain.commands import DecideAccountability, RecordAccountability, RecordReturnVisit

router = APIRouter()

ReasonCategory = Literal["不作为", "乱作为", "慢作为", "不正确履行监管职责", "推诿扯皮"]
TicketNoPath = Annotated[TicketNo, Path(description="工单号 / ticket number")]
RecordId = Annotated[Id, Path(description="问责记录编号 / record id (ACC-…)")]


class VisitIn(Body):
    """A return visit: the person's answers, and the cause when unsatisfied."""

    resolved: ResolvedAnswer | None = Field(None, description="in the person's words / 群众认为是否解决")
    satisfaction: Satisfaction
    cause: Literal["subjective", "objective"] | None = Field(
        None, description="when unsatisfied: subjective = the unit's fault (→ redo) / 主观原因发回重办")
    notes: Reason | None = None
    case_id: Id | None = None
    visited_at: Moment | None = Field(None, description="when the call was made (default now) / 回访时间")


@router.post("/tickets/{ticket_no}/return-visits", tags=["return visits"], status_code=201,
             response_model=VisitRecorded, summary="记录回访 / Record a return visit",
             description="对已办结工单回访：是否解决、是否满意、不满意原因。主观原因不满意 → 发回重办（RedoOrdered）。"
             "未接通可再次回访。\n\nFor a resolved ticket: resolved in the person's words, satisfaction, cause when "
             "unsatisfied; subjective → RedoOrdered. Unreachable may be retried. Publishes ReturnVisitRecorded.")
async def record_visit(ticket_no: TicketNoPath, body: VisitIn, bus: Bus, corr: CorrelationId,
                       who: Visitor) -> dict[str, Any]:
    return await bus.handle(RecordReturnVisit(
        actor=who, ticket_no=ticket_no, resolved=body.resolved, satisfaction=body.satisfaction, cause=body.cause,
        notes=body.notes, case_id=body.case_id, visited_at=body.visited_at, correlation_id=corr))


@router.get("/tickets/{ticket_no}/return-visits", tags=["return visits"], response_model=list[Visit],
            summary="回访记录 / Return visits",
            description="某工单的回访记录。\n\nThe return visits of a ticket.")
async def list_visits(ticket_no: TicketNoPath, rt: RuntimeDep, who: VisitReader) -> list[dict[str, Any]]:
    return await queries.list_visits(rt, who, ticket_no)


@router.get("/return-visits/due", tags=["return visits"], response_model=list[VisitDue], summary="待回访 / Visits due",
            description="已办结待回访的工单，按到期时间排序。\n\n"
            "Resolved rounds waiting for their visit, earliest due first.")
async def visits_due(rt: RuntimeDep, who: Visitor, limit: int = Query(100, ge=1, le=1000)) -> list[dict[str, Any]]:
    return await queries.visits_due(rt, limit)


class Person(Body):
    """The person held accountable: name and post."""

    name: Name = Field(min_length=1)
    post: Name = Field(min_length=1)


class AccountabilityIn(Body):
    """A measure decided for a person of a unit."""

    unit: UnitCode
    person: Person
    measure: AccountabilityMeasure
    reason_category: ReasonCategory
    reason: Reason | None = None
    case_ids: list[Id] = Field(default_factory=list, max_length=100)
    ticket_nos: list[TicketNo] = Field(default_factory=list, max_length=200)
    decided_by: Name | None = None
    decided_at: Moment | None = None


class DecideIn(Body):
    """Decide a proposed record (person, measure, reason category), or dismiss it."""

    person: Person | None = None
    measure: AccountabilityMeasure | None = None
    reason_category: ReasonCategory | None = None
    reason: Reason | None = None
    decided_by: Name | None = None
    dismiss: bool = False


@router.post("/accountability", tags=["accountability"], status_code=201, response_model=AccountabilityRecord,
             summary="问责记录 / Record accountability",
             description="单位、人员（姓名、职务）、问责措施、问责事由类别、关联案件与工单、决定人与时间。\n\n"
             "Unit, person (name, post), measure, reason category, linked cases and tickets, who decided, when.")
async def create_accountability(body: AccountabilityIn, bus: Bus, corr: CorrelationId,
                                who: CaseWriter) -> dict[str, Any]:
    return await bus.handle(RecordAccountability(
        actor=who, unit=body.unit, person_name=body.person.name, person_post=body.person.post, measure=body.measure,
        reason_category=body.reason_category, reason=body.reason, case_ids=body.case_ids, ticket_nos=body.ticket_nos,
        decided_by=body.decided_by, decided_at=body.decided_at, correlation_id=corr))


@router.post("/accountability/{record_id}/decision", tags=["accountability"], response_model=AccountabilityRecord,
             summary="决定问责建议 / Decide a proposal",
             description="对逾期未回复督办函提出的问责建议作出决定或不予问责。\n\n"
             "Decide (or dismiss) a proposed record.")
async def decide_accountability(record_id: RecordId, body: DecideIn, bus: Bus, corr: CorrelationId,
                                who: CaseWriter) -> dict[str, Any]:
    return await bus.handle(DecideAccountability(
        actor=who, record_id=record_id, person=(body.person.name, body.person.post) if body.person else None,
        measure=body.measure, reason_category=body.reason_category, reason=body.reason, decided_by=body.decided_by,
        dismiss=body.dismiss, correlation_id=corr))


@router.get("/accountability", tags=["accountability"], response_model=list[AccountabilityRecord],
            summary="问责记录列表 / Accountability records",
            description="单位密钥只能看到本单位的记录。\n\nA unit key sees only its own unit's records.")
async def list_accountability(rt: RuntimeDep, who: AccountabilityReader, unit: UnitCode | None = None,
                              status: Literal["proposed", "decided", "dismissed"] | None = None,
                              case_id: Id | None = None, limit: int = Query(100, ge=1, le=1000),
                              offset: Offset = 0) -> list[dict[str, Any]]:
    return await queries.list_accountability(rt, who, unit=unit, status=status, case_id=case_id, limit=limit,
                                             offset=offset)


@router.get("/accountability/{record_id}", tags=["accountability"], response_model=AccountabilityRecord,
            summary="问责记录 / One record",
            description="一条问责记录。\n\nOne accountability record.")
async def get_accountability(record_id: RecordId, rt: RuntimeDep, who: AccountabilityReader) -> dict[str, Any]:
    return await queries.get_accountability(rt, who, record_id)
