"""Routes of 并单 by hand (thin: authorise, build a command): merge a ticket into another, take a merged request
back out as its own ticket, reject a possible repeat."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from bancheng_shared.app import CorrelationId
from bancheng_shared.auth import Principal, Role, require
from bancheng_shared.query_params import known_query_only
from intake_svc.api.deps import Bus
from intake_svc.api.params import PathTicketNo
from intake_svc.domain.commands import MergeTicket, RejectPossibleRepeat, UnmergeRequest
from intake_svc.models import MergeCreate, RejectCreate, UnmergeCreate
from intake_svc.models_tickets import MergeDone, PossibleRepeatDecided, UnmergeDone

# a GET with a parameter its operation does not take is a 400 naming it
router = APIRouter(prefix="/v1", tags=["tickets"], dependencies=[Depends(known_query_only)])

# the hotline's operators and the work team decide what is one matter (admins too)
Merger = Annotated[Principal, Depends(require(Role.operator, Role.work_team))]
WHO = ("时间线记录操作人与理由（仅工作人员可见）。话务员、工作专班与管理员可用。\n\n"
       "Both timelines record who and why (staff steps). Operators, the work team and admins.")


@router.post(
    "/tickets/{ticket_no}/merge",
    response_model=MergeDone,
    summary="人工并单 / Merge into another ticket",
    description="将本工单作为重复诉求并入另一件未办结工单"
    "（与自动并单效果相同：目标工单重复次数加一并发布 RepeatReceived），本工单状态变为“已并单”，"
    "不再单独办理（发布 TicketMerged），其待确认的疑似重复随之确认或作废。"
    "已并单、已办结或本身有重复诉求的工单不能并入（409）。" + WHO.split("\n\n")[0] + "\n\n"
    "Merge this ticket into another open ticket as its repeat (并单), as an automatic merge does (the target's "
    "repeat count goes up, `RepeatReceived` is published); this ticket becomes `merged` and is no longer worked on "
    "its own (`TicketMerged` is published); its open possible repeats are confirmed or dropped. A ticket merged "
    "already, closed, or with repeats of its own is refused (409). " + WHO.split("\n\n")[1],
)
async def merge_ticket(ticket_no: PathTicketNo, body: MergeCreate, bus: Bus, who: Merger,
                       corr: CorrelationId) -> dict[str, Any]:
    done: dict[str, Any] = await bus.handle(MergeTicket(actor=who, ticket_no=ticket_no, into=body.into,
                                                        reason=body.reason, correlation_id=corr))
    return done


@router.post(
    "/tickets/{ticket_no}/unmerge",
    status_code=201,
    response_model=UnmergeDone,
    summary="撤销并单 / Take a merged request out",
    description="将并入本工单的第 seq 次重复诉求另立新工单：按新登记办理（新编号、TicketReceived：单独的工单与时限），"
    "本工单重复次数减一（发布 RepeatUnmerged），诉求人的查询凭证随之指向新工单。每件只能撤销一次（再次撤销 409）。"
    + WHO.split("\n\n")[0] + "\n\n"
    "The request merged into this ticket as its repeat number `seq` becomes a ticket of its own, registered as a "
    "fresh request would be (a new number and `TicketReceived`: its own work order and clock); this ticket's "
    "repeat count goes down (`RepeatUnmerged`), and the person's tracking token follows the new ticket. Once per "
    "request (409 the second time). " + WHO.split("\n\n")[1],
)
async def unmerge_request(ticket_no: PathTicketNo, body: UnmergeCreate, bus: Bus, who: Merger,
                          corr: CorrelationId) -> dict[str, Any]:
    done: dict[str, Any] = await bus.handle(UnmergeRequest(actor=who, ticket_no=ticket_no, seq=body.seq,
                                                           reason=body.reason, correlation_id=corr))
    return done


@router.post(
    "/tickets/{ticket_no}/possible-repeats/{candidate_no}/reject",
    response_model=PossibleRepeatDecided,
    summary="否定疑似重复 / Reject a possible repeat",
    description="核实后确认两件工单不是同一诉求：疑似重复关闭，不再出现在 possible_repeat=true 列表中。"
    "确认重复请用人工并单。"
    + WHO.split("\n\n")[0] + "\n\n"
    "After checking, the two tickets are different matters: the possible repeat is closed and the ticket leaves the "
    "`possible_repeat=true` list. To confirm one, merge the tickets. " + WHO.split("\n\n")[1],
)
async def reject_possible_repeat(ticket_no: PathTicketNo, candidate_no: PathTicketNo, body: RejectCreate, bus: Bus,
                                 who: Merger, corr: CorrelationId) -> dict[str, Any]:
    done: dict[str, Any] = await bus.handle(RejectPossibleRepeat(
        actor=who, ticket_no=ticket_no, candidate_no=candidate_no, reason=body.reason, correlation_id=corr))
    return done
