"""intake use cases: register a ticket, read it, project events onto the timeline."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bancheng_shared.contracts import EventEnvelope, make_event
from bancheng_shared.contracts.intake import TicketReceived
from bancheng_shared.problems import Problem
from bancheng_shared.runtime import Runtime
from bancheng_shared.topics import INTAKE_TICKETS
from intake_svc import domain
from intake_svc.models import TicketCreate, TicketCreated
from intake_svc.store import tickets, timeline

SERVICE = "intake-svc"


async def _existing(session: AsyncSession, idem_key: str | None, body: TicketCreate) -> Any:
    conds = []
    if idem_key:
        conds.append(tickets.c.idempotency_key == idem_key)
    if body.external_id:
        conds.append((tickets.c.channel == body.channel.value) & (tickets.c.external_id == body.external_id))
    for cond in conds:
        row = (await session.execute(select(tickets).where(cond))).first()
        if row is not None:
            return row
    return None


def _created(row: Any, base_url: str, replayed: bool) -> TicketCreated:
    return TicketCreated(
        ticket_no=row.ticket_no,
        status=row.status,
        status_label=row.status_label,
        received_at=row.received_at,
        tracking_url=f"{base_url}/v1/public/tickets/{row.ticket_no}",
        replayed=replayed,
    )


async def register_ticket(
    rt: Runtime, body: TicketCreate, *, idempotency_key: str | None, correlation_id: str
) -> TicketCreated:
    """Register a request as a ticket and publish TicketReceived, once per idempotency key / channel id."""
    fingerprint = domain.request_hash(body.model_dump(mode="json"))
    base = rt.settings.public_base_url or f"http://{rt.settings.host}:{rt.settings.port}"
    for _attempt in range(3):
        now = datetime.now(UTC)
        try:
            async with rt.sm() as session, session.begin():
                found = await _existing(session, idempotency_key, body)
                if found is not None:
                    if found.request_hash != fingerprint:
                        raise Problem(409, "this Idempotency-Key or channel id was used with a different body",
                                      type_="idempotency-conflict", ticket_no=found.ticket_no)
                    return _created(found, base, True)
                ticket_no = domain.new_ticket_no(now)
                row = {
                    "ticket_no": ticket_no,
                    "channel": body.channel.value,
                    "external_id": body.external_id,
                    "idempotency_key": idempotency_key,
                    "request_hash": fingerprint,
                    "title": body.title,
                    "content": body.content,
                    "region_code": body.location.region_code if body.location else None,
                    "address": body.location.address if body.location else None,
                    "received_at": now,
                    "status": "received",
                    "status_label": domain.STATUS_LABELS["received"],
                    "updated_at": now,
                }
                await session.execute(insert(tickets).values(**row))
                await session.execute(
                    insert(timeline).values(ticket_no=ticket_no, at=now, event_type="TicketReceived",
                                            label=f"已受理（{body.channel.value}）", public=1)
                )
                event = make_event(
                    TicketReceived(
                        channel=body.channel,
                        content=body.content,
                        title=body.title,
                        category_hint=body.category,
                        region_code=row["region_code"],
                        address=row["address"],
                        longitude=body.location.longitude if body.location else None,
                        latitude=body.location.latitude if body.location else None,
                        received_at=now,
                        happened_at=body.happened_at,
                        anonymous=body.complainant is None or body.complainant.anonymous,
                        enterprise_name=body.enterprise.name if body.enterprise else None,
                        external_id=body.external_id,
                        attachment_count=len(body.attachments),
                    ),
                    ticket_id=ticket_no,
                    producer=SERVICE,
                    correlation_id=correlation_id,
                    occurred_at=now,
                )
                await rt.publish(session, [event], INTAKE_TICKETS)
            rt.relay.wake()
            return TicketCreated(
                ticket_no=ticket_no, status="received", status_label=row["status_label"], received_at=now,
                tracking_url=f"{base}/v1/public/tickets/{ticket_no}", replayed=False,
            )
        except IntegrityError:
            # a concurrent request with the same key won the race: answer with its ticket
            continue
    raise Problem(409, "a concurrent request with the same Idempotency-Key is being registered; retry",
                  type_="idempotency-conflict")


async def get_ticket(rt: Runtime, ticket_no: str) -> dict[str, Any]:
    """The operator's view of a ticket with its whole timeline."""
    async with rt.sm() as session:
        row = (await session.execute(select(tickets).where(tickets.c.ticket_no == ticket_no))).first()
        if row is None:
            raise Problem(404, f"no ticket numbered {ticket_no!r}", type_="unknown-ticket")
        steps = (
            await session.execute(
                select(timeline).where(timeline.c.ticket_no == ticket_no).order_by(timeline.c.at, timeline.c.id)
            )
        ).all()
    data = dict(row._mapping)
    for k in ("idempotency_key", "request_hash"):
        data.pop(k, None)
    data["timeline"] = [
        {"at": s.at, "event": s.event_type, "label": s.label, "public": bool(s.public)} for s in steps
    ]
    return data


async def project_event(session: AsyncSession, env: EventEnvelope) -> None:
    """Apply one event of any topic to the ticket's read model and timeline."""
    step = domain.step_for(env)
    if step is None:
        return
    await session.execute(
        insert(timeline).values(
            ticket_no=env.ticket_id, at=env.occurred_at, event_type=env.type, label=step.label,
            public=1 if step.public else 0, detail=None,
        )
    )
    values: dict[str, Any] = dict(step.changes or {})
    if step.status:
        values["status"] = step.status
        values["status_label"] = domain.STATUS_LABELS.get(step.status, step.status)
    if "deadline" in values and isinstance(values["deadline"], str):
        values["deadline"] = datetime.fromisoformat(values["deadline"])
    values["updated_at"] = datetime.now(UTC)
    await session.execute(update(tickets).where(tickets.c.ticket_no == env.ticket_id).values(**values))
