"""Every event about a ticket, from every topic: its timeline step and ticket changes, the SMS of a `reported`
alert to the unit, the unit's reply and the rulings texted to the person who asked, and callbacks queued for the
subscriptions that receive it."""

from __future__ import annotations

from typing import Any

import structlog

from bancheng_shared.contracts.envelope import EventEnvelope, EventPayload, parse_payload
from bancheng_shared.unit_of_work import UnitOfWork
from intake_svc.adapters import callbacks as deliveries
from intake_svc.adapters import read_model
from intake_svc.adapters import sms as sms_outbox
from intake_svc.context import Intake
from intake_svc.domain import sms, timeline
from intake_svc.domain.pii import mask_phone

log = structlog.get_logger("intake.sms")
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
    if outcome.contacts:  # before the alerts: a dispatch and its `reported` alert may come in one batch
        await _keep_numbers(uow, ctx, outcome.contacts)
    if outcome.alerts:
        await _text_units(uow, ctx, outcome.alerts)
    if outcome.notices:
        await _text_people(uow, ctx, outcome.notices)
    await read_model.update_tickets(session, outcome.changes, now)
    if await deliveries.enqueue(session, [env for env, _ in events], now):
        uow.after_commit(ctx.wake_deliverer)


async def _keep_numbers(uow: UnitOfWork, ctx: Intake, contacts: dict[tuple[str, str], str | None]) -> None:
    """Store each dispatched unit's SMS number (encrypted; masked beside it) and release the messages parked for
    want of it."""
    now = uow.now()
    rows: list[dict[str, Any]] = [
        {"ticket_no": t, "unit_code": u, "phone_enc": ctx.vault.encrypt(n, "phone"), "phone_masked": mask_phone(n),
         "updated_at": now} for (t, u), n in contacts.items()]
    await sms_outbox.keep_numbers(uow.session, rows)
    known = {(r["ticket_no"], r["unit_code"]): r for r in rows if r["phone_enc"]}
    status = sms.initial_status(records_only=ctx.sms.records_only)
    for p in await sms_outbox.parked(uow.session, sms.NO_RECIPIENT, [t for t, _u in known]):
        if (r := known.get((p.ticket_no, p.unit_code))) is not None:
            await sms_outbox.mark(uow.session, p.id, {"recipient_enc": r["phone_enc"],
                                                      "recipient_masked": r["phone_masked"], "status": status,
                                                      "last_error": None})
            uow.after_commit(lambda: sms_outbox.NO_RECIPIENT_TOTAL.labels("released").inc())
            log.info("sms_released", sms_id=p.id, ticket_no=p.ticket_no, unit_code=p.unit_code,
                     to=r["phone_masked"])


async def _text_units(uow: UnitOfWork, ctx: Intake, alerts: list[timeline.AlertNotice]) -> None:
    """Queue each `reported` alert's SMS to the unit's number from the directory; parked (`no_recipient`) without."""
    session = uow.session
    # before the updates: a name not set in this run is the one stored before it
    stored = await read_model.unit_names(session, [a.ticket_no for a in alerts if a.unit_name is None])
    found = await sms_outbox.numbers(session, {(a.ticket_no, a.unit) for a in alerts})
    signature, initial = ctx.settings.sms_signature, sms.initial_status(records_only=ctx.sms.records_only)
    rows = []
    for a in alerts:
        number = found.get((a.ticket_no, a.unit))
        status, reason = sms.unit_status(initial, has_number=number is not None)
        rows.append(sms_outbox.message(
            kind="alert_reported", dedupe_key=f"evt:{a.event_id}", ticket_no=a.ticket_no, unit_code=a.unit,
            recipient_enc=number.phone_enc if number else None,
            recipient_masked=number.phone_masked if number else None,
            text=sms.alert_text(signature, a.ticket_no, a.unit,
                                a.unit_name if a.unit_name is not None else stored.get(a.ticket_no)),
            status=status, reason=reason, now=uow.now()))
        if number is None:
            log.warning("sms_no_recipient", ticket_no=a.ticket_no, unit_code=a.unit, kind="alert_reported")
    await sms_outbox.queue(session, rows)
    parked = sum(1 for r in rows if r["status"] == sms.NO_RECIPIENT)
    if parked:
        uow.after_commit(lambda: sms_outbox.NO_RECIPIENT_TOTAL.labels("parked").inc(parked))


async def _text_people(uow: UnitOfWork, ctx: Intake, notices: list[timeline.PersonNotice]) -> None:
    """Queue each notice to the complainant's number (encrypted as stored; masked for the outbox's readers)."""
    phones = await read_model.phones(uow.session, [n.ticket_no for n in notices])
    status = sms.initial_status(records_only=ctx.sms.records_only)
    rows = []
    for n in notices:
        phone_enc = phones.get(n.ticket_no)
        if not phone_enc:  # anonymous, or a ticket not registered here
            continue
        rows.append(sms_outbox.message(
            kind=n.kind, dedupe_key=f"evt:{n.event_id}:person", ticket_no=n.ticket_no, recipient_enc=phone_enc,
            recipient_masked=mask_phone(ctx.vault.decrypt(phone_enc, "phone")),
            text=ctx.settings.sms_signature + n.text, status=status, now=uow.now()))
    await sms_outbox.queue(uow.session, rows)
