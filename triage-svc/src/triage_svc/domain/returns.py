"""Return requests (申请退回) and the work team's ruling (pure).

The window (签收后2个工作日内申请退回, 逾期视为签收): a unit may ask to return a work order outside its remit while
it has not signed for it and sla has not deemed it signed (sla's DeemedSigned, 2 working days after delivery), and
within `return_after_signing_working_days` (2) working days after it signed, by the working-day calendar: until
the end of that working day, local time. A deemed signing or a rejected request closes it. A request asked in
time is still ruled on after the window passed. Approved → re-dispatched to the unit the work
team names (or the next kind of the decision, or the local government of the place), a new round and clock;
rejected → the unit goes on with it, counted as signed.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bancheng_shared.calendar import UnknownYearError, WorkingCalendar
from bancheng_shared.contracts.envelope import EventPayload
from bancheng_shared.contracts.sla import DeemedSigned
from bancheng_shared.contracts.triage import ReturnDecided, ReturnRequested, TicketDispatched, TicketSigned
from bancheng_shared.contracts.vocab import Tier
from bancheng_shared.errors import Problem
from bancheng_shared.principal import Principal
from triage_svc.domain import bounds, routing
from triage_svc.domain.directory import DirectoryIndex
from triage_svc.domain.lifecycle import WAITS_FOR_RULING, Action, State, transition
from triage_svc.domain.tier_moves import raise_for_units
from triage_svc.domain.work_order import LogLine, Outcome, WorkOrder, acted, admit

SHANGHAI = ZoneInfo("Asia/Shanghai")


def last_day_after_signing(signed_at: datetime, calendar: WorkingCalendar, days: int,
                           tz: ZoneInfo = SHANGHAI) -> date:
    """The last local day a signed work order may still be asked back: the `days`-th working day after signing
    (UnknownYearError when the calendar does not know the year: never guessed)."""
    return calendar.add_working_days(signed_at.astimezone(tz).date(), days)


def window_closed(wo: WorkOrder, now: datetime, calendar: WorkingCalendar, days: int,
                  tz: ZoneInfo = SHANGHAI) -> str | None:
    """Why the return window of a work order is closed at `now`, or None while it is open."""
    if State(wo.state) != State.signed:
        return None  # dispatched: open until sla deems it signed; other states: the state machine answers
    if wo.deemed_signed or wo.signed_at is None:
        return "the work order counts as signed (逾期视为签收): no return request any more"
    rr = wo.return_request or {}
    if rr.get("round") == wo.round and rr.get("decision") == "rejected":
        return "a return request of this round was rejected: the unit goes on with it"
    try:
        last = last_day_after_signing(wo.signed_at, calendar, days, tz)
    except UnknownYearError as exc:
        raise Problem(409, f"the return window cannot be computed: {exc}", type_="calendar-unknown-year") from None
    if now.astimezone(tz).date() > last:
        return (f"the return window closed on {last.isoformat()} ({days} working days after signing, "
                "签收后2个工作日内)")
    return None


def request_return(found: WorkOrder | None, who: Principal, *, reason: str, basis: str, ticket_no: str,
                   now: datetime, calendar: WorkingCalendar, window_days: int, tz: ZoneInfo = SHANGHAI) -> Outcome:
    """The lead unit asks to return the work order, with the reason and the basis (三定方案, a regulation),
    before it signs or within the window after signing."""
    wo, to = admit(found, who, Action.request_return, ticket_no=ticket_no)
    why = window_closed(wo, now, calendar, window_days, tz)
    if why is not None:
        raise Problem(409, why, type_="return-window-closed", state=wo.state, action=Action.request_return.value)
    req = {"unit": wo.lead_unit, "reason": reason, "basis": basis, "requested_at": now.isoformat(),
           "round": wo.round}
    event = ReturnRequested(unit=wo.lead, reason=reason, basis=basis, requested_at=now, round=wo.round)
    return acted(wo, who, Action.request_return, to, now=now, changes={"return_request": req}, events=[event],
                 view={"return_request": req}, detail=req)


def decide_return(found: WorkOrder | None, who: Principal, *, approved: bool, reason: str, new_unit: str | None,
                  co_units: list[str], ticket_no: str, rules: dict[str, Any], directory: DirectoryIndex,
                  now: datetime) -> Outcome:
    """The work team rules: approve → re-dispatch to the new unit (new round), reject → the unit keeps it."""
    action = Action.approve_return if approved else Action.reject_return
    wo, to = admit(found, who, action, ticket_no=ticket_no)
    if not approved:
        events: list[EventPayload] = [
            ReturnDecided(unit=wo.lead, approved=False, reason=reason, decided_at=now, round=wo.round),
            # the unit goes on with it: counted as signed so the acceptance clock stops
            TicketSigned(unit=wo.lead, signed_at=now, deemed=True, round=wo.round, via="return_rejected")]
        # a unit that signed keeps its signing time (its window runs from it); else it counts as signed now
        changes: dict[str, Any] = {"signed_at": wo.signed_at or now, "return_request": {
            **(wo.return_request or {}), "decision": "rejected", "decision_reason": reason}}
        return acted(wo, who, action, to, now=now, changes=changes, events=events,
                     view={"decision": "rejected", "reason": reason}, detail={"reason": reason})
    target = routing.pick_unit(wo, directory, new_unit)
    cos = routing.known_units(directory, co_units)
    rnd = wo.round + 1
    returns = (wo.returns_count or 0) + 1
    events = [ReturnDecided(unit=wo.lead, approved=True, reason=reason, new_unit=target.code, decided_at=now,
                            round=wo.round)]
    tier_upd, tier_events = raise_for_units(wo, rules=rules, directory=directory, now=now, lead_unit=target.code,
                                            co_units=cos, returns_count=returns)
    events.append(TicketDispatched(lead_unit=target.code, lead_unit_name=bounds.name(target.name), co_units=cos,
                                   unit_level=target.level, region_code=wo.region_code,
                                   tier=Tier(tier_upd.get("tier", wo.tier)),
                                   response_level=tier_upd.get("response_level", wo.response_level),
                                   complex=tier_upd.get("complex", wo.complex), round=rnd, redispatch=True,
                                   dispatched_at=now, unit_contacts=directory.sms_numbers([target.code, *cos])))
    events += tier_events
    changes = {"lead_unit": target.code, "lead_unit_name": target.name, "co_units": cos, "round": rnd,
               "returns_count": returns, "dispatched_at": now, "signed_at": None, "deemed_signed": False,
               "urgent": False, "return_request": {**(wo.return_request or {}), "decision": "approved",
                                                   "decision_reason": reason, "new_unit": target.code},
               **tier_upd}
    changes["department_kinds"] = [target.kind, *[k for k in wo.department_kinds if k != target.kind]]
    return acted(wo, who, action, to, now=now, changes=changes, events=events,
                 view={"decision": "approved", "new_unit": target.code, "round": rnd},
                 detail={"reason": reason, "new_unit": target.code, "from": wo.lead_unit})


def deem_signed(wo: WorkOrder, event: DeemedSigned, *, now: datetime) -> Outcome | None:
    """sla says the acceptance window of the lead unit's round passed: the work order counts as signed and the
    return window closes. A request asked in time waits for its ruling (only the flag is kept). None: nothing
    to do (another unit or round); TransitionRefused when the state has moved on."""
    if wo.lead_unit != event.unit or event.round != wo.round:
        return None
    if State(wo.state) in WAITS_FOR_RULING:
        return Outcome({"deemed_signed": True, "updated_at": now})
    to = transition(wo.state, Action.deem_signed)
    line = LogLine(Action.deem_signed.value, "sla", wo.round, wo.state, to.value)
    signed = TicketSigned(unit=event.unit, signed_at=event.at, deemed=True, round=wo.round, via="deemed")
    return Outcome({"state": to.value, "deemed_signed": True, "signed_at": event.at, "updated_at": now}, [signed],
                   line)
