"""Pauses: the unit asks, the work team rules (or pauses itself), within the round's limits; a pause ends when its
approved working days are up (the scheduler fires `resume`) or earlier when the unit or the work team resumes.

Events: ClockPaused when a pause starts, ClockResumed and DeadlineChanged when it ends. A request and a rejection
are kept in `pause_requests` (shown with the clock and at GET /v1/pause-requests); the contracts have no event for
them yet.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from bancheng_shared.contracts.sla import ClockPaused, ClockResumed
from bancheng_shared.errors import Problem
from bancheng_shared.unit_of_work import UnitOfWork
from sla_svc.adapters.clocks import ClockStore
from sla_svc.context import Sla
from sla_svc.domain import pauses
from sla_svc.domain.commands import DecidePause, PauseClock, RequestPause, ResumeClock
from sla_svc.domain.ladder import PAUSED
from sla_svc.handlers.clocks import replan_and_save
from sla_svc.handlers.requests import deadline_changed, own_clock

AUTOMATIC = "sla-svc (automatic)"


async def request_pause(cmd: RequestPause, uow: UnitOfWork, sla: Sla) -> dict[str, Any]:
    """The unit asks to pause its clock for some working days; the work team rules."""
    pauses.check_days(cmd.days, sla.policy)
    async with uow:
        store = ClockStore(uow.session)
        c = await own_clock(store, cmd.ticket_no, cmd.actor)
        now = uow.now()
        pauses.check_request(c, now, pending=await store.pending_pause_request(cmd.ticket_no, c["round"]),
                             taken=await store.pauses_of(cmd.ticket_no, c["round"]), days=cmd.days,
                             policy=sla.policy)
        row = {"id": uuid.uuid4().hex, "ticket_no": cmd.ticket_no, "round": c["round"], "unit": c["unit"],
               "days": cmd.days, "reason": cmd.reason, "state": "pending", "requested_at": now,
               "requested_by": cmd.actor.name}
        await store.add_pause_request(row)
    return row


async def decide_pause(cmd: DecidePause, uow: UnitOfWork, sla: Sla) -> dict[str, Any]:
    """The work team rules; approved pauses the clock now, for the days asked (or fewer)."""
    async with uow:
        store = ClockStore(uow.session)
        req = await store.pause_request_by_id(cmd.ticket_no, cmd.request_id)
        if req is None:
            raise Problem(404, f"no pause request {cmd.request_id!r} for ticket {cmd.ticket_no!r}",
                          type_="unknown-pause-request")
        c = await store.get(cmd.ticket_no, req["round"], lock=True)
        assert c is not None
        pauses.check_decision(req, c, approved=cmd.approved)
        now = uow.now()
        days = req["days"] if cmd.days is None else cmd.days
        if cmd.approved:
            pauses.check_days(days, sla.policy, most=req["days"])
            await _pause(uow, store, c, sla, days=days, reason=req["reason"], by=cmd.actor.name, request_id=req["id"])
        decided = {"state": "approved" if cmd.approved else "rejected", "decided_at": now,
                   "decided_by": cmd.actor.name, "decision_reason": cmd.reason,
                   "approved_days": days if cmd.approved else None}
        await store.decide_pause_request(cmd.request_id, **decided)
    return {**req, **decided}


async def pause(cmd: PauseClock, uow: UnitOfWork, sla: Sla) -> None:
    """The work team pauses a clock itself (within the round's limits)."""
    pauses.check_days(cmd.days, sla.policy)
    async with uow:
        store = ClockStore(uow.session)
        c = await own_clock(store, cmd.ticket_no, cmd.actor)
        await _pause(uow, store, c, sla, days=cmd.days, reason=cmd.reason, by=cmd.actor.name, request_id=None)


async def _pause(uow: UnitOfWork, store: ClockStore, c: dict[str, Any], sla: Sla, *, days: int, reason: str, by: str,
                 request_id: str | None) -> None:
    now = uow.now()
    pauses.check_may_pause(c, now, taken=await store.pauses_of(c["ticket_no"], c["round"]), days=days,
                           policy=sla.policy)
    resume_at = pauses.pause(c, now, days, book=sla.book, policy=sla.policy)
    # urgent/alarm are not planned while paused; the resume is (flagged when its day is in an unknown year)
    await replan_and_save(uow, store, c, sla)
    await store.add_pause({"ticket_no": c["ticket_no"], "round": c["round"], "reason": reason, "paused_at": now,
                           "paused_by": by, "days": days, "resume_at": resume_at, "request_id": request_id})
    uow.emit(ClockPaused(unit=c["unit"], round=c["round"], reason=reason, at=now), ticket_no=c["ticket_no"])


async def resume(cmd: ResumeClock, uow: UnitOfWork, sla: Sla) -> None:
    """The unit or the work team runs a paused clock again before its pause is up."""
    async with uow:
        store = ClockStore(uow.session)
        c = await own_clock(store, cmd.ticket_no, cmd.actor)
        await resume_clock(uow, store, c, uow.now(), sla, by=cmd.actor.name, reason=cmd.reason)
        uow.after_commit(sla.wake)


async def resume_clock(uow: UnitOfWork, store: ClockStore, c: dict[str, Any], at: datetime, sla: Sla, *, by: str,
                       reason: str) -> None:
    """End a clock's pause at `at`: the working days in (pause date, resume date] are added to its deadline, the
    ladder is re-armed (the scheduler's `resume` timer and a manual resume both come here)."""
    old_due = c["resolve_due"]
    added, stale = pauses.resume(c, at, book=sla.book, policy=sla.policy)
    now = uow.now()
    if stale:
        await store.close_alerts(c, now, stale)
    await replan_and_save(uow, store, c, sla)
    await store.end_pause(c["ticket_no"], c["round"], resumed_at=at, resumed_by=by, resume_reason=reason,
                          working_days=added)
    uow.emit(ClockResumed(unit=c["unit"], round=c["round"], reason=reason, at=at, paused_working_days=added,
                          resolve_due=c["resolve_due"]), ticket_no=c["ticket_no"])
    uow.emit(deadline_changed(c, old_due, f"resumed after a pause of {added} working day(s)", sla, at),
             ticket_no=c["ticket_no"])


async def resume_due(uow: UnitOfWork, store: ClockStore, c: dict[str, Any], due_at: datetime, sla: Sla) -> bool:
    """The scheduler's `resume` timer: the approved pause is up (False when the clock no longer is paused)."""
    if c["state"] != PAUSED:
        return False
    await resume_clock(uow, store, c, due_at, sla, by=AUTOMATIC,
                       reason="the approved pause ended: resumed automatically")
    return True
