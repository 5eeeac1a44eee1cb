"""intake consumes every topic: the timeline read model, callbacks to subscribers, SMS of the alert ladder."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bancheng_shared.contracts import EventEnvelope
from bancheng_shared.contracts.envelope import REGISTRY
from bancheng_shared.runtime import Runtime
from bancheng_shared.topics import INTAKE_TICKETS, OVERSIGHT_CASES, SLA_CLOCKS, TRIAGE_WORK_ORDERS
from intake_svc import callbacks, domain
from intake_svc.context import Intake
from intake_svc.sms import queue_sms
from intake_svc.store import tickets, timeline

# Statements built once (per set of changed columns): every event only brings parameters.
_INSERT_STEP = insert(timeline)
_UNIT_NAME = select(tickets.c.unit_name).where(tickets.c.ticket_no == bindparam("no"))
_UPDATES: dict[tuple[str, ...], Any] = {}


def _update_for(columns: tuple[str, ...]) -> Any:
    stmt = _UPDATES.get(columns)
    if stmt is None:
        stmt = _UPDATES[columns] = update(tickets).where(tickets.c.ticket_no == bindparam("no")).values(
            {c: bindparam(c, type_=tickets.c[c].type) for c in columns})
    return stmt


async def project_event(session: AsyncSession, env: EventEnvelope) -> None:
    """Apply one event of another service to the ticket's read model and timeline."""
    if env.producer == "intake-svc":
        return  # intake writes its own steps when it registers them
    step = domain.step_for(env)
    if step is None:
        return
    await session.execute(_INSERT_STEP, dict(
        ticket_no=env.ticket_id, at=env.occurred_at, event_type=env.type, label=step.label,
        public=1 if step.public else 0, detail=None,
    ))
    values: dict[str, Any] = dict(step.changes or {})
    if step.status:
        values["status"] = step.status
        values["status_label"] = domain.STATUS_LABELS.get(step.status, step.status)
    if "deadline" in values and isinstance(values["deadline"], str):
        values["deadline"] = datetime.fromisoformat(values["deadline"])
    if values:
        values["updated_at"] = datetime.now(UTC)
        # an unknown ticket (not registered here) updates nothing; that is not an error
        await session.execute(_update_for(tuple(sorted(values))), {**values, "no": env.ticket_id})


async def alert_sms(ctx: Intake, session: AsyncSession, env: EventEnvelope) -> None:
    """`reported` goes by SMS to the unit's contact; intake does not know the number, so it records the unit."""
    if env.type != "AlertRaised" or env.payload.get("level") != "reported":
        return
    unit = env.payload.get("unit", "")
    name = (await session.execute(_UNIT_NAME, {"no": env.ticket_id})).first()
    text = (f"{ctx.settings.sms_signature}工单{env.ticket_id}已交办贵单位（{unit}"
            + (f" {name.unit_name}" if name and name.unit_name else "") + "），请及时签收办理。")
    await queue_sms(session, ctx.sms, kind="alert_reported", dedupe_key=f"evt:{env.event_id}",
                    ticket_no=env.ticket_id, text=text, unit_code=unit)


def register(rt: Runtime, ctx: Intake) -> None:
    """One consumer over every topic; each event feeds the timeline, the callbacks and the SMS outbox."""

    async def handle(session: AsyncSession, env: EventEnvelope) -> None:
        await project_event(session, env)
        await alert_sms(ctx, session, env)
        if await callbacks.enqueue_deliveries(ctx, session, env):
            ctx.deliverer_wake()

    rt.add_consumer(
        "timeline",
        [INTAKE_TICKETS, TRIAGE_WORK_ORDERS, SLA_CLOCKS, OVERSIGHT_CASES],
        {t: handle for t in sorted({t for t, _v in REGISTRY})},
    )
