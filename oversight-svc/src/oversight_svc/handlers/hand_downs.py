"""Hotspots handed down as work orders (交办) and 回头看 (re-checking closed tickets): the commands, and what the
consumed events add (a hotspot's ticket learnt from intake, a re-check owed when triage closes a sampled ticket)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError

from bancheng_shared.contracts.intake import TicketReceived
from bancheng_shared.contracts.triage import TicketClosed
from bancheng_shared.errors import Problem
from bancheng_shared.unit_of_work import UnitOfWork
from oversight_svc.adapters import hand_downs, hotspots, rechecks
from oversight_svc.adapters.writes import run
from oversight_svc.context import Oversight
from oversight_svc.domain import hand_down
from oversight_svc.domain import rechecks as recheck_rules
from oversight_svc.domain.commands import HandDownHotspot, RecordRecheck

# the tickets' texts the common phrase is looked for in (a phrase all share is found in a few as well)
PHRASE_TICKETS, PHRASE_CHARS = 50, 600


async def hand_down_hotspot(cmd: HandDownHotspot, uow: UnitOfWork, ox: Oversight) -> dict[str, Any]:
    """Hand a kept hotspot down as a work order (HotspotHandedDown → intake registers it); once per hotspot."""
    try:
        async with uow:
            s = uow.session
            h = await hotspots.get(s, cmd.hotspot_id)
            if h is None:
                raise Problem(404, f"hotspot {cmd.hotspot_id!r} is unknown; list /v1/hotspots first",
                              type_="unknown-hotspot")
            hand_down.refuse_twice(cmd.hotspot_id, await hand_downs.get(s, cmd.hotspot_id))
            texts = await hand_downs.texts(s, list(h.ticket_nos), limit=PHRASE_TICKETS, chars=PHRASE_CHARS)
            out = hand_down.hand_down(h, texts, level=cmd.level or ox.settings.hotspot_unit_level,
                                      by_name=cmd.actor.name, now=uow.now())
            await hand_downs.add(s, out.row)
            # keyed by the hotspot: the ticket number is intake's to give
            uow.emit(out.event, ticket_no=cmd.hotspot_id)
    except IntegrityError:  # handed down concurrently: the other request's order stands
        async with uow.rt.sm() as s:
            hand_down.refuse_twice(cmd.hotspot_id, await hand_downs.get(s, cmd.hotspot_id))
        raise
    async with uow.rt.sm() as s:
        return (await hand_downs.views(s, [cmd.hotspot_id]))[cmd.hotspot_id]


async def on_hotspot_ticket(event: TicketReceived, uow: UnitOfWork) -> None:
    """A ticket intake registered for a hotspot handed down: the order learns its number."""
    if event.hotspot_id:
        await hand_downs.link(uow.session, event.hotspot_id, uow.envelope.ticket_no)


async def on_closed_sample(event: TicketClosed, uow: UnitOfWork, ox: Oversight) -> None:
    """A closed ticket in the 回头看 sample owes a re-check visit, counted in its round's dispatch period."""
    ticket_no, st = uow.envelope.ticket_no, ox.settings
    if not recheck_rules.sampled(ticket_no, st.recheck_sample_rate):
        return
    s = uow.session
    r = await rechecks.closed_round(s, ticket_no, event.round)
    if r is None:
        return  # a ticket closed without a round (answered directly): nobody to re-check
    row, counts = recheck_rules.due(ticket_no, r.round, unit=r.resolve_unit or r.unit, dispatch_day=r.dispatch_day,
                                    closed_at=event.closed_at, after_days=st.recheck_after_days)
    if await rechecks.exists(s, ticket_no, r.round):
        return  # the closing seen again (a replayed copy): owed and counted once
    await run(s, [rechecks.owed_op(s, row), ox.rollups.increment_op(s, counts)])


async def record_recheck(cmd: RecordRecheck, uow: UnitOfWork, ox: Oversight) -> dict[str, Any]:
    """Record the re-check visit of a sampled closed ticket (counted in its round's dispatch period); the problem
    back through the unit's fault → RedoOrdered (triage reopens the work order)."""
    async with uow:
        s = uow.session
        r = await rechecks.latest(s, cmd.ticket_no)
        out = recheck_rules.record(r, ticket_no=cmd.ticket_no, resolved=cmd.resolved, satisfaction=cmd.satisfaction,
                                   cause=cmd.cause, notes=cmd.notes, visited_at=cmd.visited_at,
                                   by_name=cmd.actor.name, now=uow.now())
        await rechecks.record(s, cmd.ticket_no, r.round, out.values)
        await run(s, [ox.rollups.increment_op(s, out.counts)])
        for event in out.events:
            uow.emit(event, ticket_no=cmd.ticket_no)
        view = rechecks.view(await rechecks.latest(s, cmd.ticket_no))
    return view
