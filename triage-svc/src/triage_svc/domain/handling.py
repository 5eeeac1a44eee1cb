"""Handling a work order (pure): manual dispatch, signing, progress, the result, a direct answer, closing,
oversight's redo (发回重办) and satisfied return visit, and intake's merges by hand (并单, 撤销并单)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bancheng_shared.contracts.envelope import EventPayload
from bancheng_shared.contracts.intake import RepeatUnmerged, TicketMerged
from bancheng_shared.contracts.oversight import RedoOrdered, ReturnVisitRecorded
from bancheng_shared.contracts.triage import (
    ProgressReported,
    ResolutionSubmitted,
    TicketAnswered,
    TicketClosed,
    TicketDispatched,
    TicketReopened,
    TicketSigned,
)
from bancheng_shared.contracts.vocab import ResolutionOutcome, Route, Satisfaction, Tier
from bancheng_shared.errors import Problem
from bancheng_shared.principal import Principal, Role
from triage_svc.domain import bounds, routing, tiers
from triage_svc.domain.directory import DirectoryIndex
from triage_svc.domain.lifecycle import Action, State, transition
from triage_svc.domain.tier_moves import copies_for, raise_for_units
from triage_svc.domain.work_order import LogLine, Outcome, WorkOrder, acted, admit

# a return visit that closes the ticket (unless oversight ordered a redo)
SATISFIED = frozenset({Satisfaction.satisfied, Satisfaction.basically_satisfied})


def dispatch(found: WorkOrder | None, who: Principal, *, lead_unit: str, co_units: list[str], reason: str,
             ticket_no: str, rules: dict[str, Any], directory: DirectoryIndex, now: datetime) -> Outcome:
    """The work team dispatches a work order that is not with a unit to a lead unit and co-units."""
    wo, to = admit(found, who, Action.dispatch, ticket_no=ticket_no)
    lead = routing.pick_unit(wo, directory, lead_unit, "lead_unit")
    cos = [c for c in routing.known_units(directory, co_units) if c != lead.code]
    tier_upd, tier_events = raise_for_units(wo, rules=rules, directory=directory, now=now, lead_unit=lead.code,
                                            co_units=cos)
    tier = Tier(tier_upd.get("tier", wo.tier))
    level = tier_upd.get("response_level", tiers.level_for_unit(wo.response_level, tier, rules, wo.category,
                                                                        wo.content))
    events: list[EventPayload] = [
        TicketDispatched(lead_unit=lead.code, lead_unit_name=bounds.name(lead.name), co_units=cos,
                         unit_level=lead.level, region_code=wo.region_code, tier=tier, response_level=level,
                         complex=tier_upd.get("complex", wo.complex), round=wo.round, dispatched_at=now,
                         unit_contacts=directory.sms_numbers([lead.code, *cos])),
        *tier_events]
    changes = {"lead_unit": lead.code, "lead_unit_name": lead.name, "co_units": cos, "dispatched_at": now,
               "route": Route.dispatch.value, "response_level": level, "transfer_unit": None,
               **{k: v for k, v in tier_upd.items() if k != "response_level"}}
    return acted(wo, who, Action.dispatch, to, now=now, changes=changes, events=events,
                 view={"lead_unit": lead.code, "co_units": cos}, detail={"reason": reason, "lead_unit": lead.code})


def sign(found: WorkOrder | None, who: Principal, *, ticket_no: str, now: datetime) -> Outcome:
    """The lead unit signs for its work order (签收; the return window closes), or the receiving organ signs for a
    transferred one (its transfer clock stops)."""
    wo, to = admit(found, who, Action.sign, ticket_no=ticket_no)
    if to == State.transfer_received:
        return receive_transfer(wo, who, to, now=now)
    event = TicketSigned(unit=wo.lead, signed_at=now, round=wo.round)
    return acted(wo, who, Action.sign, to, now=now, changes={"signed_at": now}, events=[event],
                 view={"signed_at": now})


def receive_transfer(wo: WorkOrder, who: Principal, to: State, *, now: datetime) -> Outcome:
    """The receiving organ (or the work team for it) signs for a transferred work order: recorded as its sign
    (`via="transfer"`), which stops the transfer's clock; 409 when no organ was found to receive it."""
    if wo.transfer_unit is None:
        raise Problem(409, f"ticket {wo.ticket_no}: transferred to {wo.route} with no receiving organ in the "
                           "directory; the work team re-routes or dispatches it", type_="no-receiving-organ",
                      state=wo.state)
    event = TicketSigned(unit=wo.transfer_unit, signed_at=now, round=wo.round, via="transfer")
    return acted(wo, who, Action.sign, to, now=now, changes={"signed_at": now}, events=[event],
                 view={"signed_at": now, "transfer_unit": wo.transfer_unit}, detail={"unit": wo.transfer_unit})


def progress(found: WorkOrder | None, who: Principal, *, note: str, ticket_no: str, now: datetime) -> Outcome:
    """The lead unit or a co-unit reports progress."""
    wo, to = admit(found, who, Action.progress, ticket_no=ticket_no, lead_only=False)
    unit = who.unit_code if who.role == Role.unit and who.unit_code else wo.lead
    event = ProgressReported(unit=unit, note=note, reported_at=now, round=wo.round)
    return acted(wo, who, Action.progress, to, now=now, events=[event], detail={"unit": unit, "note": note})


def resolve(found: WorkOrder | None, who: Principal, *, outcome: str, reply: str, ticket_no: str,
            rules: dict[str, Any], directory: DirectoryIndex, now: datetime) -> Outcome:
    """The lead unit submits its result and the reply to the person; a green ticket is copied for the archive."""
    wo, to = admit(found, who, Action.resolve, ticket_no=ticket_no)
    res = {"outcome": outcome, "reply": reply, "submitted_at": now.isoformat(), "unit": wo.lead_unit}
    events: list[EventPayload] = [ResolutionSubmitted(unit=wo.lead, outcome=ResolutionOutcome(outcome),
                                                      reply=reply, submitted_at=now, round=wo.round)]
    copy_events, copies = copies_for(directory, Tier(wo.tier), on="resolution", rules=rules,
                                     region_code=wo.region_code, copies=list(wo.copies or []), rnd=wo.round,
                                     reason=f"{wo.tier} ticket completed: {outcome}", now=now)
    return acted(wo, who, Action.resolve, to, now=now, changes={"resolution": res, "copies": copies},
                 events=events + copy_events, view={"resolution": res}, detail=res)


def answer(found: WorkOrder | None, who: Principal, *, text: str | None, ticket_no: str, now: datetime) -> Outcome:
    """The operator answers a simple consultation directly (response level 3), or reuses the knowledge base's."""
    wo, to = admit(found, who, Action.answer, ticket_no=ticket_no)
    reply = text or wo.suggested_answer
    if not reply:
        raise Problem(422, "answer: no knowledge-base answer to reuse; write the answer", type_="validation",
                      errors=[{"field": "answer", "message": "required"}])
    event = TicketAnswered(answer=bounds.content(reply), answered_at=now,
                           knowledge_id=wo.knowledge_id if not text else None)
    return acted(wo, who, Action.answer, to, now=now,
                 changes={"answer": reply, "route": Route.answer.value, "response_level": tiers.ANSWERED_LEVEL},
                 events=[event], view={"answer": reply}, detail={"answer": reply})


def close(found: WorkOrder | None, who: Principal, *, reason: str, ticket_no: str, now: datetime) -> Outcome:
    """The work team closes a ticket as ruled (e.g. the person could not be reached)."""
    wo, to = admit(found, who, Action.close, ticket_no=ticket_no)
    event = TicketClosed(reason=bounds.reason(reason), closed_at=now, round=wo.round)
    return acted(wo, who, Action.close, to, now=now, changes={"closed_at": now}, events=[event],
                 detail={"reason": reason})


def merged_away(wo: WorkOrder, event: TicketMerged, *, now: datetime) -> Outcome:
    """intake merged this ticket into another by hand: closed, naming the other ticket (sla stops its clocks on the
    TicketClosed; the other ticket counts the repeat). TransitionRefused once closed."""
    to = transition(wo.state, Action.merge_away)
    reason = bounds.reason(f"merged into {event.into_ticket_no} (并单): {event.reason}")
    closed = TicketClosed(reason=reason, closed_at=now, round=wo.round)
    line = LogLine(Action.merge_away.value, "intake", wo.round, wo.state, to.value,
                   {"into": event.into_ticket_no, "by": event.by, "reason": event.reason})
    return Outcome({"state": to.value, "closed_at": now, "updated_at": now}, [closed], line)


def repeat_taken_back(wo: WorkOrder, event: RepeatUnmerged, *, now: datetime) -> Outcome | None:
    """intake took a merged request back out (撤销并单; it is its own ticket now): the repeat count follows intake's.
    A tier a repeat raised stays (a person's ruling, not a count, lowers it). None when nothing changes."""
    if event.repeat_count >= wo.repeat_count:
        return None
    line = LogLine("unmerge_repeat", "intake", wo.round, wo.state, wo.state,
                   {"new_ticket_no": event.new_ticket_no, "by": event.by, "reason": event.reason})
    changes = {"repeat_count": event.repeat_count,
               "own_repeat_count": min(wo.own_repeat_count, event.repeat_count), "updated_at": now}
    return Outcome(changes, [], line)


def redo(wo: WorkOrder, event: RedoOrdered, *, directory: DirectoryIndex, now: datetime) -> Outcome | None:
    """oversight's redo: a new round with the same unit and a new clock (a new TicketDispatched makes sla start
    it); without a unit the work order waits for a manual dispatch. None for a stale round; TransitionRefused
    when the state does not allow it."""
    if event.round < wo.round:
        return None
    to = transition(wo.state, Action.reopen, has_unit=bool(wo.lead_unit))
    rnd = wo.round + 1
    events: list[EventPayload] = [TicketReopened(unit=wo.lead_unit or "", round=rnd, reason=bounds.reason(event.reason),
                                                 reopened_at=now)]
    if to == State.dispatched:
        events.append(TicketDispatched(lead_unit=wo.lead, lead_unit_name=bounds.name(wo.lead_unit_name or wo.lead),
                                       co_units=list(wo.co_units or []),
                                       unit_level=routing.unit_level(directory, wo.lead_unit),
                                       region_code=wo.region_code, tier=Tier(wo.tier),
                                       response_level=wo.response_level, complex=wo.complex, round=rnd,
                                       redispatch=False, dispatched_at=now,
                                       unit_contacts=directory.sms_numbers([wo.lead, *(wo.co_units or [])])))
    changes = {"state": to.value, "round": rnd, "signed_at": None, "deemed_signed": False, "return_request": None,
               "resolution": None, "closed_at": None,
               "dispatched_at": now if to == State.dispatched else wo.dispatched_at, "urgent": False,
               "updated_at": now}
    line = LogLine(Action.reopen.value, "oversight", rnd, wo.state, to.value, {"reason": event.reason})
    return Outcome(changes, events, line)


def closes(visit: ReturnVisitRecorded) -> bool:
    """Whether a return visit closes the ticket: satisfied (or basically) and no redo ordered."""
    return visit.satisfaction in SATISFIED and not visit.redo


def close_after_visit(wo: WorkOrder, visit: ReturnVisitRecorded, *, now: datetime) -> Outcome | None:
    """A satisfied return visit of the current round closes the ticket. None for an earlier round;
    TransitionRefused when the state does not allow closing."""
    if visit.round < wo.round:
        return None
    to = transition(wo.state, Action.close)
    line = LogLine(Action.close.value, "oversight", wo.round, wo.state, to.value,
                   {"satisfaction": visit.satisfaction.value})
    event = TicketClosed(reason=f"return visit: {visit.satisfaction.value}", closed_at=now, round=wo.round)
    return Outcome({"state": to.value, "closed_at": now, "updated_at": now}, [event], line)
