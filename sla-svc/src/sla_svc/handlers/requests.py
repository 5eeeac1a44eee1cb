"""What the unit and the work team ask of a clock: extensions (asked, ruled on). Pauses: handlers/pauses.py."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from bancheng_shared.contracts.sla import DeadlineChanged, ExtensionDecided, ExtensionRequested
from bancheng_shared.errors import Problem
from bancheng_shared.principal import Principal
from bancheng_shared.unit_of_work import UnitOfWork
from sla_svc.adapters.clocks import ClockStore
from sla_svc.context import Sla
from sla_svc.domain import extensions
from sla_svc.domain.commands import DecideExtension, RequestExtension
from sla_svc.domain.ladder import move_deadline
from sla_svc.handlers.clocks import replan_and_save


async def own_clock(store: ClockStore, ticket_no: str, who: Principal) -> dict[str, Any]:
    """The ticket's latest clock, locked, if the caller may see it (a unit sees only its own)."""
    c = await store.get(ticket_no, lock=True)
    if c is None or not who.can_see_unit(c["unit"]):
        raise Problem(404, f"no clock for ticket {ticket_no!r}", type_="unknown-ticket")
    return c


def deadline_changed(c: dict[str, Any], old_due: Any, reason: str, sla: Sla,
                     at: datetime | None = None) -> DeadlineChanged:
    """The event of a moved deadline (at `at`, else now)."""
    return DeadlineChanged(unit=c["unit"], round=c["round"], reason=reason, at=at or sla.time.now(),
                           old_resolve_due=old_due, resolve_due=c["resolve_due"],
                           resolve_due_date=c["resolve_due_date"], calendar_version=c["calendar_version"],
                           explanation=c["explanation"], unknown_year=c["unknown_year"])


async def _move(uow: UnitOfWork, store: ClockStore, c: dict[str, Any], sla: Sla) -> None:
    now = uow.now()
    stale = move_deadline(c, now, book=sla.book, policy=sla.policy)
    if stale:
        await store.close_alerts(c, now, stale)
    await replan_and_save(uow, store, c, sla)  # a deadline moved into an unknown year is flagged


async def request_extension(cmd: RequestExtension, uow: UnitOfWork, sla: Sla) -> dict[str, Any]:
    """The unit asks for more working days, before the deadline, once per round."""
    extensions.check_days(cmd.days, sla.policy.max_extension_days)
    async with uow:
        store = ClockStore(uow.session)
        c = await own_clock(store, cmd.ticket_no, cmd.actor)
        now = uow.now()
        prior = await store.extension_request(cmd.ticket_no, c["round"], c["unit"])
        extensions.check_request(c, now=now, prior=prior, tz=sla.tz)
        row = {"id": uuid.uuid4().hex, "ticket_no": cmd.ticket_no, "round": c["round"], "unit": c["unit"],
               "days": cmd.days, "reason": cmd.reason, "state": "pending", "requested_at": now,
               "requested_by": cmd.actor.name, "deadline_at_request": c["resolve_due"]}
        await store.add_extension_request(row)
        uow.emit(ExtensionRequested(request_id=row["id"], unit=c["unit"], round=c["round"], days=cmd.days,
                                    reason=cmd.reason, requested_at=now, resolve_due=c["resolve_due"]),
                 ticket_no=cmd.ticket_no)
    return row


async def decide_extension(cmd: DecideExtension, uow: UnitOfWork, sla: Sla) -> dict[str, Any]:
    """The work team rules; approved moves the deadline and the pending alerts."""
    async with uow:
        store = ClockStore(uow.session)
        req = await store.extension_request_by_id(cmd.ticket_no, cmd.request_id)
        if req is None:
            raise Problem(404, f"no extension request {cmd.request_id!r} for ticket {cmd.ticket_no!r}",
                          type_="unknown-extension-request")
        c = await store.get(cmd.ticket_no, req["round"], lock=True)
        assert c is not None
        extensions.check_decision(req, c, approved=cmd.approved)
        now = uow.now()
        old_due = c["resolve_due"]
        state = "approved" if cmd.approved else "rejected"
        await store.decide_extension_request(cmd.request_id, state=state, decided_at=now,
                                             decided_by=cmd.actor.name, decision_reason=cmd.reason)
        if cmd.approved:
            c["extension_days"] = req["days"]
            await _move(uow, store, c, sla)
        uow.emit(ExtensionDecided(request_id=cmd.request_id, unit=req["unit"], round=req["round"], days=req["days"],
                                  approved=cmd.approved, reason=cmd.reason, decided_at=now, old_resolve_due=old_due,
                                  resolve_due=c["resolve_due"]), ticket_no=cmd.ticket_no)
        if cmd.approved:
            uow.emit(deadline_changed(c, old_due, f"extension of {req['days']} working day(s) approved", sla),
                     ticket_no=cmd.ticket_no)
        uow.after_commit(sla.wake)
    return {"id": cmd.request_id, "ticket_no": cmd.ticket_no, "round": req["round"], "days": req["days"],
            "state": state, "old_resolve_due": old_due, "resolve_due": c["resolve_due"]}
