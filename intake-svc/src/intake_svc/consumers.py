"""intake consumes every topic: the timeline read model, callbacks to subscribers, SMS of the alert ladder."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bancheng_shared.contracts import EventEnvelope
from bancheng_shared.contracts.envelope import REGISTRY
from bancheng_shared.db import update_statement
from bancheng_shared.runtime import Runtime
from bancheng_shared.topics import INTAKE_TICKETS, OVERSIGHT_CASES, SLA_CLOCKS, TRIAGE_WORK_ORDERS
from intake_svc import callbacks, domain
from intake_svc.context import Intake
from intake_svc.sms import queue_sms
from intake_svc.store import tickets, timeline

# Statements built once: every event only brings parameters.
_INSERT_STEP = insert(timeline)
_UNIT_NAME = select(tickets.c.unit_name).where(tickets.c.ticket_no == bindparam("no"))


def _projection(env: EventEnvelope) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The timeline row of an event and the ticket columns it changes; None when it does not show."""
    if env.producer == "intake-svc":
        return None  # intake writes its own steps when it registers them
    step = domain.step_for(env)
    if step is None:
        return None
    row = dict(ticket_no=env.ticket_id, at=env.occurred_at, event_type=env.type, label=step.label,
               public=1 if step.public else 0, detail=None)
    values: dict[str, Any] = dict(step.changes or {})
    if step.status:
        values["status"] = step.status
        values["status_label"] = domain.STATUS_LABELS.get(step.status, step.status)
    if "deadline" in values and isinstance(values["deadline"], str):
        values["deadline"] = datetime.fromisoformat(values["deadline"])
    return row, values


async def _update_tickets(session: AsyncSession, changes: dict[str, dict[str, Any]]) -> None:
    """Set each ticket's changed columns (an unknown ticket, not registered here, updates nothing)."""
    now = datetime.now(UTC)
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for no, values in changes.items():
        if values:
            by_columns.setdefault((*sorted(values), "updated_at"), []).append(
                {**values, "updated_at": now, "k_ticket_no": no})
    for columns, rows in by_columns.items():
        await session.execute(update_statement(tickets, columns, ["ticket_no"]), rows)


def _reported(env: EventEnvelope) -> bool:
    return env.type == "AlertRaised" and env.payload.get("level") == "reported"


async def alert_sms(ctx: Intake, session: AsyncSession, env: EventEnvelope, unit_name: str | None = None) -> None:
    """`reported` goes by SMS to the unit's contact; intake does not know the number, so it records the unit.

    The unit's name is the ticket's (read from the read model unless the caller knows it)."""
    if not _reported(env):
        return
    unit = env.payload.get("unit", "")
    if unit_name is None:
        found = (await session.execute(_UNIT_NAME, {"no": env.ticket_id})).first()
        unit_name = found.unit_name if found else None
    text = (f"{ctx.settings.sms_signature}工单{env.ticket_id}已交办贵单位（{unit}"
            + (f" {unit_name}" if unit_name else "") + "），请及时签收办理。")
    await queue_sms(session, ctx.sms, kind="alert_reported", dedupe_key=f"evt:{env.event_id}",
                    ticket_no=env.ticket_id, text=text, unit_code=unit)


async def project_batch(ctx: Intake, session: AsyncSession, envs: list[EventEnvelope]) -> bool:
    """A batch of events at once, with the effect of applying them one by one: one insert of all timeline
    steps, one update per ticket with its final values; True when callbacks were queued."""
    steps: list[dict[str, Any]] = []
    changes: dict[str, dict[str, Any]] = {}
    sms: list[tuple[EventEnvelope, str | None]] = []
    for env in envs:
        found = _projection(env)
        if found is not None:
            steps.append(found[0])
            changes.setdefault(env.ticket_id, {}).update(found[1])
        if _reported(env):
            # the unit's name as it stands at this event: set earlier in the batch, or as stored before it
            sms.append((env, changes.get(env.ticket_id, {}).get("unit_name")))
    if steps:
        await session.execute(_INSERT_STEP, steps)
    for env, unit_name in sms:  # before the updates: the stored name is the one from before the batch
        await alert_sms(ctx, session, env, unit_name)
    await _update_tickets(session, changes)
    queued = 0
    for env in envs:
        queued += await callbacks.enqueue_deliveries(ctx, session, env)
    return queued > 0


def register(rt: Runtime, ctx: Intake) -> None:
    """One consumer over every topic; each event feeds the timeline, the callbacks and the SMS outbox."""

    async def handle(session: AsyncSession, env: EventEnvelope) -> None:
        # one event alone: the path a batch takes when one of its events fails (see IdempotentConsumer)
        if await project_batch(ctx, session, [env]):
            ctx.deliverer_wake()

    async def handle_batch(session: AsyncSession, envs: list[EventEnvelope]) -> None:
        if await project_batch(ctx, session, envs):
            ctx.deliverer_wake()

    rt.add_consumer(
        "timeline",
        [INTAKE_TICKETS, TRIAGE_WORK_ORDERS, SLA_CLOCKS, OVERSIGHT_CASES],
        {t: handle for t in sorted({t for t, _v in REGISTRY})},
        batch_handler=handle_batch,
    )
