"""The save-and-emit step every work-order handler ends with."""

from __future__ import annotations

from bancheng_shared.unit_of_work import UnitOfWork
from triage_svc.adapters.work_orders import WorkOrders
from triage_svc.domain.work_order import Outcome


async def save(uow: UnitOfWork, orders: WorkOrders, ticket_no: str, outcome: Outcome) -> None:
    """Apply an outcome to the work order and its log, and emit its events, in the unit's transaction."""
    await orders.save(ticket_no, outcome, uow.now())
    for event in outcome.events:
        uow.emit(event, ticket_no=ticket_no)
