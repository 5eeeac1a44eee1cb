"""The work order's events (triage.work-orders) start, restart and stop each round's clocks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from bancheng_shared.contracts.envelope import EventEnvelope, parse_payload
from bancheng_shared.contracts.sla import ClockFlagged
from bancheng_shared.contracts.triage import (
    ResolutionSubmitted,
    ReturnDecided,
    ReturnRequested,
    TicketAnswered,
    TicketClosed,
    TicketDispatched,
    TicketReopened,
    TicketSigned,
    TicketTransferred,
    TicketTriaged,
)
from bancheng_shared.unit_of_work import UnitOfWork
from sla_svc.adapters.clocks import ClockStore
from sla_svc.context import Sla
from sla_svc.domain import rounds, unknown_years
from sla_svc.domain.ladder import plan_timers


def new_plan(c: dict[str, Any], sla: Sla, now: datetime) -> tuple[list[dict[str, Any]], list[ClockFlagged]]:
    """Bump the clock's generation (older timers become no-ops); the timer rows to plan under it, and a
    ClockFlagged for each step that newly waits for a calendar year (marked on the clock)."""
    c["gen"] = int(c.get("gen") or 0) + 1
    flags = unknown_years.flag(c, sla.book, sla.policy, now)
    return [{"ticket_no": c["ticket_no"], "round": c["round"], "gen": c["gen"], "kind": k, "due_at": due,
             "status": "pending"} for k, due in plan_timers(sla.book, sla.policy, c)], flags


async def replan_and_save(uow: UnitOfWork, store: ClockStore, c: dict[str, Any], sla: Sla) -> None:
    """Store a changed clock with its timers planned afresh (a step that needs an unknown year is flagged)."""
    now = uow.now()
    rows, flags = new_plan(c, sla, now)
    await store.replan(c, rows)
    await store.save(c, now)
    for event in flags:
        uow.emit(event, ticket_no=c["ticket_no"])


async def stop(uow: UnitOfWork, store: ClockStore, c: dict[str, Any], reason: str, at: datetime, sla: Sla) -> None:
    """Stop a round's clocks: no more steps, its alerts closed."""
    uow.emit(rounds.stop(c, reason, at), ticket_no=c["ticket_no"])
    await close(uow, store, c, sla)


async def close(uow: UnitOfWork, store: ClockStore, c: dict[str, Any], sla: Sla) -> None:
    """Store a stopped clock: pending timers dropped, alerts closed (a return visit that needs an unknown year is
    flagged)."""
    await store.close_alerts(c, uow.now())
    await replan_and_save(uow, store, c, sla)


async def _start(uow: UnitOfWork, store: ClockStore, sla: Sla, *, round_: int, unit: str, region_code: str | None,
                 complex_: bool, response_level: int, started_at: datetime, existing: dict[str, Any] | None,
                 supersede: bool, accepted: bool = False, transfer_route: str | None = None) -> None:
    ticket_no = uow.envelope.ticket_no
    now = uow.now()
    if supersede:  # a higher round stops what still runs of the earlier ones
        for earlier in await store.active(ticket_no, before_round=round_):
            await stop(uow, store, earlier, "superseded", now, sla)
    started = rounds.start_round(ticket_no=ticket_no, round_=round_, unit=unit, region_code=region_code,
                                 complex_=complex_, response_level=response_level, started_at=started_at,
                                 existing=existing, now=now, book=sla.book, policy=sla.policy, accepted=accepted,
                                 transfer_route=transfer_route)
    c = started.clock
    rows, _ = new_plan(c, sla, now)  # (a new round can only wait for its deadline: start_round flagged that)
    if existing:
        await store.close_alerts(existing, now)
        await store.replan(c, rows)
        await store.save(c, now)
    else:
        await store.add(c, rows)  # a new clock has no timers to drop: stored once, complete
    await store.add_alerts([started.alert])
    for event in started.events:
        uow.emit(event, ticket_no=ticket_no)


async def on_dispatched(event: TicketDispatched, uow: UnitOfWork, sla: Sla) -> None:
    """Start the round's clocks; a higher round supersedes the earlier ones; a re-dispatch restarts them."""
    store = ClockStore(uow.session)
    latest = await store.get(uow.envelope.ticket_no, lock=True)
    decision = rounds.on_dispatch(latest, event)
    if decision == "ignore":
        return
    await _start(uow, store, sla, round_=event.round, unit=event.lead_unit, region_code=event.region_code,
                 complex_=event.complex, response_level=event.response_level, started_at=event.dispatched_at,
                 existing=latest if decision == "restart" else None,
                 supersede=latest is not None and latest["round"] < event.round)


async def on_starts(envs: list[EventEnvelope], uow: UnitOfWork, sla: Sla) -> None:
    """A run of TicketTriaged and TicketDispatched of a consumer batch in order, each decided as its own handler
    decides it: a matter not answered directly does nothing (on_triaged); a ticket's first round (no clock yet) is
    started here, its rows stored with the others' at once (one statement per table, not four per ticket); any
    other event (a ticket with a clock, or met earlier in the run) goes through its own handler once what came
    before it is stored."""
    store = ClockStore(uow.session)
    latest = await store.latest_of(list({env.ticket_no for env in envs}))
    new: list[tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]] = []
    seen: set[str] = set()
    now = uow.now()
    for env in envs:
        event: TicketTriaged | TicketDispatched = (
            parse_payload(env, TicketTriaged) if env.type == _TRIAGED else parse_payload(env, TicketDispatched))
        if isinstance(event, TicketTriaged) and event.answer_unit is None:
            continue
        if isinstance(event, TicketTriaged) or env.ticket_no in latest or env.ticket_no in seen:
            await store.add_many(new)
            new = []
            await uow.flush()  # the events emitted so far go to the outbox first (a ticket's order)
            after: list[Callable[[], None]] = []
            async with UnitOfWork.bound(uow.rt, uow.session, cause=env, after=after) as one:
                if isinstance(event, TicketTriaged):
                    await on_triaged(event, one, sla)
                else:
                    await on_dispatched(event, one, sla)
            for fn in after:
                uow.after_commit(fn)
        elif rounds.on_dispatch(None, event) != "ignore":
            started = rounds.start_round(ticket_no=env.ticket_no, round_=event.round, unit=event.lead_unit,
                                         region_code=event.region_code, complex_=event.complex,
                                         response_level=event.response_level, started_at=event.dispatched_at,
                                         existing=None, now=now, book=sla.book, policy=sla.policy, accepted=False,
                                         transfer_route=None)
            rows, _ = new_plan(started.clock, sla, now)  # (as in _start: start_round flagged what waits)
            new.append((started.clock, rows, started.alert))
            for payload in started.events:
                uow.emit(payload, ticket_no=env.ticket_no, cause=env)
        seen.add(env.ticket_no)
    await store.add_many(new)


_TRIAGED: str = TicketTriaged.__event_type__  # type: ignore[attr-defined]


async def on_triaged(event: TicketTriaged, uow: UnitOfWork, sla: Sla) -> None:
    """A matter answered directly: the answering unit's (hotline centre's) level-3 clock starts, with no signing
    step; the answer stops it (a later dispatch to a unit restarts it for that unit)."""
    if event.answer_unit is None:  # most matters: nothing to start, and no clock to read (a round trip saved)
        return
    store = ClockStore(uow.session)
    latest = await store.get(uow.envelope.ticket_no, lock=True)
    if not rounds.on_triaged(latest, event):
        return
    await _start(uow, store, sla, round_=1, unit=event.answer_unit, region_code=event.region_code, complex_=False,
                 response_level=event.response_level, started_at=uow.envelope.occurred_at, existing=None,
                 supersede=False, accepted=True)


async def on_reopened(event: TicketReopened, uow: UnitOfWork, sla: Sla) -> None:
    """Redo: a new round with its own clocks (the previous round's policy applies)."""
    store = ClockStore(uow.session)
    latest = await store.get(uow.envelope.ticket_no, lock=True)
    if latest is not None and latest["round"] >= event.round:
        return  # the round already has clocks (its dispatch came first) or the event is stale
    await _start(uow, store, sla, round_=event.round, unit=event.unit,
                 region_code=latest["region_code"] if latest else None,
                 complex_=bool(latest["complex"]) if latest else False,
                 response_level=int(latest["response_level"]) if latest else 2, started_at=event.reopened_at,
                 existing=None, supersede=True)


async def on_signed(event: TicketSigned, uow: UnitOfWork, sla: Sla) -> None:
    """The unit signed: the acceptance window is closed; a transfer's receiving organ signed: its clock stops."""
    store = ClockStore(uow.session)
    c = await store.get(uow.envelope.ticket_no, event.round, lock=True)
    decision = rounds.on_signed(c, event.unit)
    if c is None or decision == "ignore":
        return
    if decision == "received":
        await stop(uow, store, c, "transfer_received", event.signed_at, sla)
    elif rounds.sign(c, event.unit):
        await replan_and_save(uow, store, c, sla)


async def on_return_requested(event: ReturnRequested, uow: UnitOfWork, sla: Sla) -> None:
    """The unit asked to return it in time: not deemed signed while the work team rules."""
    store = ClockStore(uow.session)
    c = await store.get(uow.envelope.ticket_no, event.round, lock=True)
    if c is not None and rounds.ask_return(c, event.unit):
        await replan_and_save(uow, store, c, sla)


async def on_return_decided(event: ReturnDecided, uow: UnitOfWork, sla: Sla) -> None:
    """Approved: the unit's clocks stop (a re-dispatch restarts them); rejected: the unit goes on, signed."""
    store = ClockStore(uow.session)
    c = await store.get(uow.envelope.ticket_no, event.round, lock=True)
    if c is None or not rounds.is_running_for(c, event.unit):
        return
    if event.approved:
        await stop(uow, store, c, "returned", event.decided_at, sla)
        return
    rounds.return_rejected(c)
    await replan_and_save(uow, store, c, sla)


async def on_resolution(event: ResolutionSubmitted, uow: UnitOfWork, sla: Sla) -> None:
    """The unit submitted its result: the clock stops and the return visit falls due."""
    store = ClockStore(uow.session)
    c = await store.get(uow.envelope.ticket_no, event.round, lock=True)
    if c is None or not rounds.is_running_for(c):
        return
    for payload in rounds.resolve(c, event.submitted_at, book=sla.book, policy=sla.policy):
        uow.emit(payload, ticket_no=c["ticket_no"])
    await close(uow, store, c, sla)


async def _stop_all(uow: UnitOfWork, sla: Sla, reason: str, at: datetime) -> None:
    store = ClockStore(uow.session)
    for c in await store.active(uow.envelope.ticket_no):
        await stop(uow, store, c, reason, at, sla)


async def on_answered(event: TicketAnswered, uow: UnitOfWork, sla: Sla) -> None:
    """Answered directly: every running clock of the ticket stops."""
    await _stop_all(uow, sla, "answered", event.answered_at)


async def on_transferred(event: TicketTransferred, uow: UnitOfWork, sla: Sla) -> None:
    """Transferred to 信访 / 涉法涉诉: the clocks running so far stop and the receiving organ's clock starts (it is
    due to sign for the item within the transfer's working days); with no organ named, the transfer is flagged."""
    store = ClockStore(uow.session)
    ticket_no = uow.envelope.ticket_no
    latest = await store.get(ticket_no, lock=True)
    decision = rounds.on_transfer(latest, event)
    if decision == "ignore":
        return
    await _stop_all(uow, sla, "transferred", event.transferred_at)
    latest = await store.get(ticket_no, lock=True)  # as stopped just now
    if decision == "no_organ" or event.to_unit is None:
        uow.emit(rounds.no_organ(event, latest["round"] if latest else 1, uow.now()), ticket_no=ticket_no)
        return
    await _start(uow, store, sla, round_=latest["round"] if latest else 1, unit=event.to_unit,
                 region_code=latest["region_code"] if latest else None,
                 complex_=bool(latest["complex"]) if latest else False,
                 response_level=int(latest["response_level"]) if latest else 2, started_at=event.transferred_at,
                 # the organ's receipt is the one step it is due for: no separate signing window (no warning, no
                 # deemed signing); the ladder's urgent and alarm apply
                 existing=latest, supersede=False, accepted=True, transfer_route=event.route.value)


async def on_closed(event: TicketClosed, uow: UnitOfWork, sla: Sla) -> None:
    """Closed: every running clock stops."""
    await _stop_all(uow, sla, "closed", event.closed_at)
