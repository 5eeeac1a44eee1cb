"""A received ticket (intake's TicketReceived) becomes a work order: the consumer's hot path."""

from __future__ import annotations

from bancheng_shared.contracts.envelope import EventEnvelope, parse_payload
from bancheng_shared.contracts.intake import TicketReceived
from bancheng_shared.unit_of_work import UnitOfWork
from triage_svc.adapters.work_orders import WorkOrders
from triage_svc.context import Triage
from triage_svc.domain import triage


async def on_ticket_received(event: TicketReceived, uow: UnitOfWork, ctx: Triage) -> None:
    """Classify, tier, route and dispatch a new ticket."""
    ticket_no = uow.envelope.ticket_no
    orders = WorkOrders(uow.session)
    known, stamps = await orders.received(ticket_no)  # one round trip: the check and the caches' stamps
    if known:
        return  # already triaged (a replayed copy under a new event id)
    catalogue, directory = await ctx.caches.current(uow.session, stamps)
    now = uow.now()
    decided = triage.triage(ticket_no, event, catalogue=catalogue, directory=directory, now=now)
    await orders.add(decided.work_order, decided.log, now)
    for payload in decided.events:
        uow.emit(payload, ticket_no=ticket_no)


async def on_tickets_received(envs: list[EventEnvelope], uow: UnitOfWork, ctx: Triage) -> None:
    """Several TicketReceived of a consumer batch at once: the same decisions as on_ticket_received, event by event
    in order, with one check of the known tickets and one insert per table for all of them (not three statements
    per ticket: each is a round trip on PostgreSQL)."""
    orders = WorkOrders(uow.session)
    known = await orders.known([env.ticket_no for env in envs])
    catalogue, directory = await ctx.caches.current(uow.session)
    now = uow.now()
    new = []
    for env in envs:
        if env.ticket_no in known:
            continue  # already triaged (a replayed copy under a new event id, or earlier in this batch)
        known.add(env.ticket_no)
        decided = triage.triage(env.ticket_no, parse_payload(env, TicketReceived), catalogue=catalogue,
                                directory=directory, now=now)
        new.append((decided.work_order, decided.log))
        for payload in decided.events:
            uow.emit(payload, ticket_no=env.ticket_no, cause=env)
    if new:
        await orders.add_many(new, now)
