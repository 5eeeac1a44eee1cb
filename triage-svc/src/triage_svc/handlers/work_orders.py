"""The API's actions on a work order: load it (locked), decide (domain), save it and emit (one unit of work)."""

from __future__ import annotations

from typing import Any

from bancheng_shared.calendar import UnknownYearError
from bancheng_shared.errors import Problem
from bancheng_shared.unit_of_work import UnitOfWork
from triage_svc.adapters.catalogue import Catalogues
from triage_svc.adapters.work_orders import WorkOrders
from triage_svc.context import Triage
from triage_svc.domain import corrections, handling, returns, tier_moves
from triage_svc.domain.commands import (
    Answer,
    ChangeTier,
    Close,
    DecideReturn,
    Dispatch,
    Reclassify,
    ReportProgress,
    RequestReturn,
    Sign,
    SubmitResolution,
)
from triage_svc.handlers.common import save

Body = dict[str, Any]


async def dispatch(cmd: Dispatch, uow: UnitOfWork, ctx: Triage) -> Body:
    """The work team dispatches a work order that is not with a unit (manual dispatch)."""
    async with uow:
        orders = WorkOrders(uow.session)
        wo = await orders.get(cmd.ticket_no, lock=True)
        catalogue, directory = await ctx.caches.current(uow.session)
        outcome = handling.dispatch(wo, cmd.actor, lead_unit=cmd.lead_unit, co_units=cmd.co_units,
                                    reason=cmd.reason, ticket_no=cmd.ticket_no, rules=catalogue.tier_rules,
                                    directory=directory, now=uow.now())
        await save(uow, orders, cmd.ticket_no, outcome)
    return outcome.view


async def sign(cmd: Sign, uow: UnitOfWork, ctx: Triage) -> Body:
    """The lead unit signs for its work order."""
    async with uow:
        orders = WorkOrders(uow.session)
        wo = await orders.get(cmd.ticket_no, lock=True)
        outcome = handling.sign(wo, cmd.actor, ticket_no=cmd.ticket_no, now=uow.now())
        await save(uow, orders, cmd.ticket_no, outcome)
    return outcome.view


async def request_return(cmd: RequestReturn, uow: UnitOfWork, ctx: Triage) -> Body:
    """The lead unit asks to return a work order outside its remit (before it is signed or deemed signed, or
    within the working days after signing)."""
    async with uow:
        orders = WorkOrders(uow.session)
        wo = await orders.get(cmd.ticket_no, lock=True)
        now = uow.now()
        signed_year = (wo.signed_at if wo and wo.signed_at else now).astimezone(ctx.tz).year
        try:
            calendar = ctx.calendar(signed_year)
        except UnknownYearError as exc:
            raise Problem(409, f"the return window cannot be computed: {exc}", type_="calendar-unknown-year") from None
        outcome = returns.request_return(wo, cmd.actor, reason=cmd.reason, basis=cmd.basis, ticket_no=cmd.ticket_no,
                                         now=now, calendar=calendar,
                                         window_days=ctx.settings.return_after_signing_working_days, tz=ctx.tz)
        await save(uow, orders, cmd.ticket_no, outcome)
    return outcome.view


async def decide_return(cmd: DecideReturn, uow: UnitOfWork, ctx: Triage) -> Body:
    """The work team rules: approve → re-dispatch to the new unit (new round), reject → the unit keeps it."""
    async with uow:
        orders = WorkOrders(uow.session)
        wo = await orders.get(cmd.ticket_no, lock=True)
        catalogue, directory = await ctx.caches.current(uow.session)
        outcome = returns.decide_return(wo, cmd.actor, approved=cmd.approved, reason=cmd.reason,
                                        new_unit=cmd.new_unit, co_units=cmd.co_units, ticket_no=cmd.ticket_no,
                                        rules=catalogue.tier_rules, directory=directory, now=uow.now())
        await save(uow, orders, cmd.ticket_no, outcome)
    return outcome.view


async def report_progress(cmd: ReportProgress, uow: UnitOfWork, ctx: Triage) -> Body:
    """The lead unit (or a co-unit) reports progress."""
    async with uow:
        orders = WorkOrders(uow.session)
        wo = await orders.get(cmd.ticket_no, lock=True)
        outcome = handling.progress(wo, cmd.actor, note=cmd.note, ticket_no=cmd.ticket_no, now=uow.now())
        await save(uow, orders, cmd.ticket_no, outcome)
    return outcome.view


async def submit_resolution(cmd: SubmitResolution, uow: UnitOfWork, ctx: Triage) -> Body:
    """The lead unit submits its result and the reply to the person."""
    async with uow:
        orders = WorkOrders(uow.session)
        wo = await orders.get(cmd.ticket_no, lock=True)
        catalogue, directory = await ctx.caches.current(uow.session)
        outcome = handling.resolve(wo, cmd.actor, outcome=cmd.outcome.value, reply=cmd.reply, ticket_no=cmd.ticket_no,
                                   rules=catalogue.tier_rules, directory=directory, now=uow.now())
        await save(uow, orders, cmd.ticket_no, outcome)
    return outcome.view


async def answer(cmd: Answer, uow: UnitOfWork, ctx: Triage) -> Body:
    """The operator answers a simple consultation directly (response level 3)."""
    async with uow:
        orders = WorkOrders(uow.session)
        wo = await orders.get(cmd.ticket_no, lock=True)
        outcome = handling.answer(wo, cmd.actor, text=cmd.text, ticket_no=cmd.ticket_no, now=uow.now())
        await save(uow, orders, cmd.ticket_no, outcome)
    return outcome.view


async def close(cmd: Close, uow: UnitOfWork, ctx: Triage) -> Body:
    """The work team closes a ticket as ruled (e.g. the person could not be reached)."""
    async with uow:
        orders = WorkOrders(uow.session)
        wo = await orders.get(cmd.ticket_no, lock=True)
        outcome = handling.close(wo, cmd.actor, reason=cmd.reason, ticket_no=cmd.ticket_no, now=uow.now())
        await save(uow, orders, cmd.ticket_no, outcome)
    return outcome.view


async def change_tier(cmd: ChangeTier, uow: UnitOfWork, ctx: Triage) -> Body:
    """A person moves the tier (down needs the work team or an admin, always with a reason)."""
    async with uow:
        orders = WorkOrders(uow.session)
        wo = await orders.get(cmd.ticket_no, lock=True)
        catalogue, directory = await ctx.caches.current(uow.session)
        outcome = tier_moves.change_tier(wo, cmd.actor, tier=cmd.tier, reason=cmd.reason, ticket_no=cmd.ticket_no,
                                         rules=catalogue.tier_rules, directory=directory, now=uow.now())
        await save(uow, orders, cmd.ticket_no, outcome)
    return outcome.view


async def reclassify(cmd: Reclassify, uow: UnitOfWork, ctx: Triage) -> Body:
    """The work team corrects a decision: kept as a correction (the model learns from it) and, while the work
    order is not yet with a signing unit, re-routed."""
    async with uow:
        orders = WorkOrders(uow.session)
        wo = await orders.get(cmd.ticket_no, lock=True)
        catalogue, directory = await ctx.caches.current(uow.session)
        outcome, correction = corrections.reclassify(
            wo, cmd.actor, kind=cmd.kind, category=cmd.category, route=cmd.route, reason=cmd.reason,
            ticket_no=cmd.ticket_no, catalogue=catalogue, directory=directory, now=uow.now())
        await Catalogues(uow.session).add_correction(correction)
        await save(uow, orders, cmd.ticket_no, outcome)
    return outcome.view
