"""回头看: the queue of closed tickets due for a re-check visit, and recording one."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import Field

from bancheng_shared.contracts.limits import Reason, TicketNo, UnitCode
from bancheng_shared.contracts.vocab import ResolvedAnswer, Satisfaction
from oversight_svc import queries
from oversight_svc.api.deps import Body, Bus, CorrelationId, Moment, Offset, RuntimeDep, Visitor
from oversight_svc.api.models import Recheck
from oversight_svc.domain.commands import RecordRecheck

router = APIRouter()
TicketNoPath = Annotated[TicketNo, Path(description="工单号 / ticket number")]


class RecheckIn(Body):
    """A re-check visit: is the problem still solved in the person's words, and are they satisfied."""

    resolved: ResolvedAnswer | None = Field(None, description="still solved? (yes, partly, no) / 问题是否仍解决")
    satisfaction: Satisfaction
    cause: Literal["subjective", "objective"] | None = Field(
        None, description="problem back and unsatisfied: subjective = the unit's fault (→ redo) / 主观原因发回重办")
    notes: Reason | None = None
    visited_at: Moment | None = Field(None, description="when the visit was made (default now) / 回访时间")


@router.get("/rechecks", tags=["rechecks"], response_model=list[Recheck], summary="回头看 / Re-checks",
            description="按比例抽取的已办结工单，在办结后若干天（日历日）需再次回访，最早到期在前。due=true：已到期未回访；"
            "due=false：未到期；done=true/false：已/未回访。\n\nClosed tickets sampled for a re-check visit some "
            "(calendar) days after closing, earliest due first. due=true: due and not yet made; due=false: not due "
            "yet; done: made or not.")
async def list_rechecks(rt: RuntimeDep, who: Visitor, due: bool | None = None, done: bool | None = None,
                        unit: UnitCode | None = None, limit: int = Query(100, ge=1, le=1000),
                        offset: Offset = 0) -> list[dict[str, Any]]:
    return await queries.list_rechecks(rt, due=due, done=done, unit=unit, limit=limit, offset=offset)


@router.post("/tickets/{ticket_no}/recheck", tags=["rechecks"], response_model=Recheck,
             summary="记录回头看 / Record a re-check",
             description="对抽中的已办结工单再次回访：问题是否仍解决（未解决或部分解决即“问题反弹”）、是否满意；"
             "计入该轮派单所在期间的单位统计（recheck_due、rechecked、recheck_relapsed）。"
             "问题反弹且因主观原因不满意 → 发回重办（RedoOrdered）。未接通可再次回访。\n\n"
             "The re-check visit of a sampled closed ticket: is the problem still solved (no or partly: it came "
             "back), is the person satisfied; counted for the unit in the period of the round's dispatch. Back and "
             "unsatisfied through the unit's fault (cause subjective) → RedoOrdered, as a return visit. Unreachable: "
             "try again.")
async def record_recheck(ticket_no: TicketNoPath, body: RecheckIn, bus: Bus, corr: CorrelationId,
                         who: Visitor) -> dict[str, Any]:
    return await bus.handle(RecordRecheck(actor=who, ticket_no=ticket_no, resolved=body.resolved,
                                          satisfaction=body.satisfaction, cause=body.cause, notes=body.notes,
                                          visited_at=body.visited_at, correlation_id=corr))
