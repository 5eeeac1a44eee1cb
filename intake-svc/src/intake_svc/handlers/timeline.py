"""Every event about a ticket, from every topic: its timeline step and ticket changes, the SMS of a `reported`
alert to the unit, and callbacks queued for the subscriptions that receive it."""

from __future__ import annotations

from bancheng_shared.contracts.envelope import EventEnvelope, EventPayload, parse_payload
from bancheng_shared.unit_of_work import UnitOfWork
from intake_svc.adapters import callbacks as deliveries
from intake_svc.adapters import read_model
from intake_svc.adapters import sms as sms_outbox
from intake_svc.context import Intake
from intake_svc.domain import sms, timeline

_CONTRACTS: dict[str, type[EventPayload]] = {m.__event_type__: m for m in timeline.FOLLOWED}  # type: ignore[attr-defined]


async def on_ticket_event(event: EventPayload, uow: UnitOfWork, ctx: Intake) -> None:
    """One event alone (also the path of a batch that has to be applied event by event)."""
    await _project(uow, ctx, [(uow.envelope, event)])


async def project_batch(envs: list[EventEnvelope], uow: UnitOfWork, ctx: Intake) -> None:
    """A consumer batch at once, with the effect of its events one by one: one insert of all timeline steps, one
    update per ticket with its final values, one insert of the alerts' messages."""
    await _project(uow, ctx, [(env, parse_payload(env, _CONTRACTS[env.type])) for env in envs])


async def _project(uow: UnitOfWork, ctx: Intake, events: list[tuple[EventEnvelope, EventPayload]]) -> None:
    session = uow.session
    now = uow.now()
    outcome = timeline.project(events)
    await read_model.add_steps(session, outcome.steps)
    if outcome.alerts:
        # before the updates: a name not set in this run is the one stored before it
        stored = await read_model.unit_names(session, [a.ticket_no for a in outcome.alerts if a.unit_name is None])
        signature, status = ctx.settings.sms_signature, sms.initial_status(records_only=ctx.sms.records_only)
        await sms_outbox.queue(session, [sms_outbox.message(
            kind="alert_reported", dedupe_key=f"evt:{a.event_id}", ticket_no=a.ticket_no, unit_code=a.unit,
            text=sms.alert_text(signature, a.ticket_no, a.unit,
                                a.unit_name if a.unit_name is not None else stored.get(a.ticket_no)),
            status=status, now=now) for a in outcome.alerts])
    await read_model.update_tickets(session, outcome.changes, now)
    if await deliveries.enqueue(session, [env for env, _ in events], now):
        uow.after_commit(ctx.wake_deliverer)
