"""A received ticket (intake's TicketReceived) becomes a work order: the consumer's hot path."""

from __future__ import annotations

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
