"""What other services' events do to a work order: repeats, sla's alerts and deemed signing, oversight's redo and
return visits. Unknown tickets, other rounds and states that do not allow it are ignored, not dead-lettered."""

from __future__ import annotations

import structlog

from bancheng_shared.contracts.intake import RepeatReceived, RepeatUnmerged, TicketMerged
from bancheng_shared.contracts.oversight import RedoOrdered, ReturnVisitRecorded
from bancheng_shared.contracts.sla import AlertRaised, DeemedSigned
from bancheng_shared.unit_of_work import UnitOfWork
from triage_svc.adapters.work_orders import WorkOrders
from triage_svc.context import Triage
from triage_svc.domain import handling, returns, tier_moves
from triage_svc.domain.lifecycle import TransitionRefused
from triage_svc.handlers.common import save

log = structlog.get_logger("triage")


async def on_repeat_received(event: RepeatReceived, uow: UnitOfWork, ctx: Triage) -> None:
    """A repeat was merged into the ticket: count it; repeats raise the tier."""
    ticket_no = uow.envelope.ticket_no
    orders = WorkOrders(uow.session)
    wo = await orders.get(ticket_no, lock=True)
    if wo is None:
        log.info("repeat_ignored", ticket_no=ticket_no, reason="unknown or closed")
        return
    catalogue, directory = await ctx.caches.current(uow.session)
    try:
        outcome = tier_moves.on_repeat(wo, event, rules=catalogue.tier_rules, directory=directory,
                                       now=uow.now())
    except TransitionRefused:
        log.info("repeat_ignored", ticket_no=ticket_no, reason="unknown or closed")
        return
    await save(uow, orders, ticket_no, outcome)


async def on_ticket_merged(event: TicketMerged, uow: UnitOfWork, ctx: Triage) -> None:
    """An operator merged the ticket into another (并单): its work order closes."""
    ticket_no = uow.envelope.ticket_no
    orders = WorkOrders(uow.session)
    wo = await orders.get(ticket_no, lock=True)
    if wo is None:
        return
    try:
        outcome = handling.merged_away(wo, event, now=uow.now())
    except TransitionRefused:
        log.info("merge_ignored", ticket_no=ticket_no, reason="closed")
        return
    await save(uow, orders, ticket_no, outcome)


async def on_repeat_unmerged(event: RepeatUnmerged, uow: UnitOfWork, ctx: Triage) -> None:
    """A merged request was taken back out (撤销并单): the repeat count follows intake's."""
    ticket_no = uow.envelope.ticket_no
    orders = WorkOrders(uow.session)
    wo = await orders.get(ticket_no, lock=True)
    outcome = handling.repeat_taken_back(wo, event, now=uow.now()) if wo is not None else None
    if outcome is not None:
        await save(uow, orders, ticket_no, outcome)


async def on_alert_raised(event: AlertRaised, uow: UnitOfWork, ctx: Triage) -> None:
    """sla's `urgent` (or `alarm`): the deadline is near; with repeats the ticket turns red."""
    if not tier_moves.deadline_near(event.level):
        return
    ticket_no = uow.envelope.ticket_no
    orders = WorkOrders(uow.session)
    wo = await orders.get(ticket_no, lock=True)
    if wo is None:
        return
    catalogue, directory = await ctx.caches.current(uow.session)
    try:
        outcome = tier_moves.on_deadline_near(wo, event, rules=catalogue.tier_rules, directory=directory,
                                               now=uow.now())
    except TransitionRefused:
        return
    if outcome is not None:
        await save(uow, orders, ticket_no, outcome)


async def on_deemed_signed(event: DeemedSigned, uow: UnitOfWork, ctx: Triage) -> None:
    """sla says the acceptance window passed: the work order counts as signed; the return window closes."""
    ticket_no = uow.envelope.ticket_no
    orders = WorkOrders(uow.session)
    wo = await orders.get(ticket_no, lock=True)
    if wo is None:
        return
    try:
        outcome = returns.deem_signed(wo, event, now=uow.now())
    except TransitionRefused:
        return  # signed already, or moved on
    if outcome is not None:
        await save(uow, orders, ticket_no, outcome)


async def on_redo_ordered(event: RedoOrdered, uow: UnitOfWork, ctx: Triage) -> None:
    """oversight's redo (发回重办): a new round with the same unit and a new clock."""
    ticket_no = uow.envelope.ticket_no
    orders = WorkOrders(uow.session)
    wo = await orders.get(ticket_no, lock=True)
    if wo is None:
        return
    directory = await ctx.caches.directory(uow.session)  # the unit's level for the new TicketDispatched
    try:
        outcome = handling.redo(wo, event, directory=directory, now=uow.now())
    except TransitionRefused as exc:
        log.warning("redo_refused", ticket_no=ticket_no, state=wo.state, error=str(exc))
        return
    if outcome is None:
        log.info("redo_stale", ticket_no=ticket_no, redo_round=event.round, round=wo.round)
        return
    await save(uow, orders, ticket_no, outcome)


async def on_return_visit(event: ReturnVisitRecorded, uow: UnitOfWork, ctx: Triage) -> None:
    """oversight's return visit: satisfied (and no redo) closes the ticket."""
    if not handling.closes(event):
        return
    ticket_no = uow.envelope.ticket_no
    orders = WorkOrders(uow.session)
    wo = await orders.get(ticket_no, lock=True)
    if wo is None:
        return
    try:
        outcome = handling.close_after_visit(wo, event, now=uow.now())
    except TransitionRefused:
        log.info("visit_close_ignored", ticket_no=ticket_no, state=wo.state)
        return
    if outcome is not None:
        await save(uow, orders, ticket_no, outcome)
